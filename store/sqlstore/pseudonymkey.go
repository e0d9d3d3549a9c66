package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// ErrPseudonymKeyMismatch is returned by CheckPseudonymKey when the key
// offered is not the one the database was set up with.
var ErrPseudonymKeyMismatch = errors.New("its fingerprint differs from the one the database recorded")

// PseudonymKeyFingerprint returns the fingerprint of the pseudonym key the
// database was set up with, or "" when none is recorded yet (a new
// database, or one set up before migration 00008).
func (s *Store) PseudonymKeyFingerprint(ctx context.Context) (string, error) {
	var fp string
	err := s.db.QueryRowContext(ctx, `SELECT fingerprint FROM pseudonym_key WHERE id = 1`).Scan(&fp)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("sqlstore: pseudonym key fingerprint: %w", err)
	}
	return fp, nil
}

// CheckPseudonymKey compares fingerprint (identity.Pseudonymizer.Fingerprint
// of the key a process is about to use) with the one recorded, and records
// it when there is none: at a database's first set-up, and in a database
// set up before migration 00008, which thereby adopts the key it is first
// opened with after the upgrade (the key it has been used with, unless the
// data directory was already mixed up; nothing recorded could tell). It
// reports whether it recorded it. A different recorded fingerprint is
// ErrPseudonymKeyMismatch, and nothing is written. Two processes setting a
// database up at once both succeed only when their keys are the same: the
// insert of the second is a no-op, and its comparison sees the first's.
func (s *Store) CheckPseudonymKey(ctx context.Context, fingerprint string) (recorded bool, err error) {
	if fingerprint == "" {
		return false, errors.New("sqlstore: empty pseudonym key fingerprint")
	}
	res, err := s.db.ExecContext(ctx, s.rebind(`INSERT INTO pseudonym_key (id, fingerprint, recorded_at) VALUES (1, ?, ?) ON CONFLICT (id) DO NOTHING`), fingerprint, s.now())
	if err != nil {
		return false, fmt.Errorf("sqlstore: record pseudonym key fingerprint: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("sqlstore: record pseudonym key fingerprint: %w", err)
	}
	if n == 1 {
		return true, nil
	}
	have, err := s.PseudonymKeyFingerprint(ctx)
	if err != nil {
		return false, err
	}
	if have != fingerprint {
		return false, fmt.Errorf("%w (the key's is %.12s…, the database's %.12s…)", ErrPseudonymKeyMismatch, fingerprint, have)
	}
	return false, nil
}

// Holdings counts the persons and datasets the database holds. A database
// holding either is in use: a process must not bind it to a key it has just
// made (it was used with another), nor remove it as a set-up of its own that
// failed (another process has written to it).
func (s *Store) Holdings(ctx context.Context) (persons, datasets int64, err error) {
	err = s.db.QueryRowContext(ctx, `SELECT (SELECT COUNT(*) FROM persons), (SELECT COUNT(*) FROM datasets)`).Scan(&persons, &datasets)
	if err != nil {
		return 0, 0, fmt.Errorf("sqlstore: count persons and datasets: %w", err)
	}
	return persons, datasets, nil
}
