package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/geneguard/geneguard/platform"
)

// Web sessions (platform.SessionStore): one short statement each, outside
// any action's transaction. The rows hold only a token hash and sealed
// data; see migration 00006.

var _ platform.SessionStore = (*Store)(nil)

// CreateSession implements platform.SessionStore.
func (s *Store) CreateSession(ctx context.Context, r platform.SessionRecord) error {
	if _, err := s.db.ExecContext(ctx, s.rebind(`INSERT INTO web_sessions (id, data, created_at, seen_at, expires_at) VALUES (?, ?, ?, ?, ?)`),
		r.ID, r.Data, r.Created.UTC(), r.Seen.UTC(), r.Expires.UTC()); err != nil {
		return fmt.Errorf("sqlstore: create session: %w", err)
	}
	return nil
}

// Session implements platform.SessionStore.
func (s *Store) Session(ctx context.Context, id string) (platform.SessionRecord, error) {
	r := platform.SessionRecord{ID: id}
	err := s.db.QueryRowContext(ctx, s.rebind(`SELECT data, created_at, seen_at, expires_at FROM web_sessions WHERE id = ?`), id).
		Scan(&r.Data, &r.Created, &r.Seen, &r.Expires)
	if errors.Is(err, sql.ErrNoRows) {
		return r, platform.ErrNotFound
	}
	if err != nil {
		return r, fmt.Errorf("sqlstore: session: %w", err)
	}
	return r, nil
}

// TouchSession implements platform.SessionStore.
func (s *Store) TouchSession(ctx context.Context, id string, seen time.Time) error {
	if _, err := s.db.ExecContext(ctx, s.rebind(`UPDATE web_sessions SET seen_at = ? WHERE id = ?`), seen.UTC(), id); err != nil {
		return fmt.Errorf("sqlstore: touch session: %w", err)
	}
	return nil
}

// DeleteSession implements platform.SessionStore.
func (s *Store) DeleteSession(ctx context.Context, id string) error {
	if _, err := s.db.ExecContext(ctx, s.rebind(`DELETE FROM web_sessions WHERE id = ?`), id); err != nil {
		return fmt.Errorf("sqlstore: delete session: %w", err)
	}
	return nil
}

// PurgeSessions implements platform.SessionStore.
func (s *Store) PurgeSessions(ctx context.Context, now, idleSince time.Time) (int, error) {
	res, err := s.db.ExecContext(ctx, s.rebind(`DELETE FROM web_sessions WHERE expires_at <= ? OR seen_at < ?`), now.UTC(), idleSince.UTC())
	if err != nil {
		return 0, fmt.Errorf("sqlstore: purge sessions: %w", err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}
