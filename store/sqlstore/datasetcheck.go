package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/geneguard/geneguard/audit"
	"github.com/geneguard/geneguard/platform"
)

// Genotype datasets are protected by the audit log through their "ingest"
// events: ingest writes the dataset row, its sample mapping and, in the
// same transaction, an event naming "dataset N" with the file's identity
// (details sha256, file_sha256, build, source) and the mapping's hash
// (samples_sha256, platform.SamplesHash). VerifyAudit checks every dataset
// against its event, so a dataset inserted, deleted or edited in SQL —
// above all a column re-filed under another person, which would give one
// person another's genotypes — fails verification, and deleting the ingest
// event itself (say the newest, not yet signed) leaves a dataset no event
// records. Details an older event lacks are not checked.

// datasetRef is what the verified log says about one dataset: its ingest
// event.
type datasetRef struct {
	seq     uint64
	at      time.Time
	details map[string]string
	used    bool
}

// datasetLog collects the ingest events of the verified log by dataset id.
type datasetLog map[int64]*datasetRef

// note records row, an event the log verification accepted, if it is an
// ingest event. Rows that are not ingest events are not parsed.
func (dl datasetLog) note(row indexedRow) {
	if row.action != "ingest" {
		return
	}
	e, err := audit.ParseCanonical(row.Canonical)
	if err != nil {
		return // audit.Verify reports it
	}
	id, ok := datasetObject(e)
	if !ok || dl[id] != nil {
		return
	}
	dl[id] = &datasetRef{seq: row.Seq, at: e.Time, details: e.Details}
}

// datasetObject is the id in an ingest event's object "dataset N".
func datasetObject(e audit.Event) (int64, bool) {
	s, ok := strings.CutPrefix(e.Object, "dataset ")
	if !ok {
		return 0, false
	}
	id, err := strconv.ParseInt(s, 10, 64)
	return id, err == nil
}

// datasetColumns is the verified mapping of every dataset checked: each
// person's column, by dataset. Results are checked against it: each run
// event records the column it read.
type datasetColumns map[int64]map[string]int

// of is person's column in dataset; false when the dataset was not
// checked (ingested while verify ran, or before mappings were hashed) or
// does not map the person.
func (dc datasetColumns) of(dataset int64, person string) (int, bool) {
	c, ok := dc[dataset][person]
	return c, ok
}

// datasetRow is a stored dataset with the hash of its sample mapping.
type datasetRow struct {
	records                     int
	id                          int64
	sha256, file, build, source string
	at                          time.Time
	samplesHash                 string
	columns                     map[string]int // person -> column
}

// mismatch is why row c disagrees with the event, "" when it agrees.
func (ref *datasetRef) mismatch(c datasetRow) string {
	file, ok := ref.details["file_sha256"]
	if !ok && ref.details["sample_map_sha256"] == "" {
		// Older events: without a sample map the file's hash is the
		// dataset's (and the row's file_sha256, which finds earlier
		// mappings of the same file and so decides what leaves view).
		file, ok = ref.details["sha256"]
	}
	if ok && file != c.file {
		return fmt.Sprintf("file sha256 %q, but the event records %q: the row was altered", c.file, file)
	}
	for _, f := range []struct{ name, key, got string }{
		{"sha256", "sha256", c.sha256},
		{"records", "records", fmt.Sprint(c.records)},
		{"build", "build", c.build},
		{"source", "source", c.source},
	} {
		if want, ok := ref.details[f.key]; ok && want != f.got {
			return fmt.Sprintf("%s %q, but the event records %q: the row was altered", f.name, f.got, want)
		}
	}
	if d := c.at.Sub(ref.at); d < -time.Microsecond || d > time.Microsecond {
		return fmt.Sprintf("created_at %s, but the event's time is %s: the row was altered", c.at.UTC().Format(time.RFC3339Nano), ref.at.UTC().Format(time.RFC3339Nano))
	}
	if want, ok := ref.details["samples_sha256"]; ok && want != c.samplesHash {
		return fmt.Sprintf("its sample mapping hashes to %s, but the event recorded %s: a column was re-filed under another person or the mapping was altered", c.samplesHash, want)
	}
	return ""
}

// maxDatasetID is the largest dataset id, 0 when there is none.
func (s *Store) maxDatasetID(ctx context.Context) (int64, error) {
	var max sql.NullInt64
	if err := s.db.QueryRowContext(ctx, `SELECT MAX(id) FROM datasets`).Scan(&max); err != nil {
		return 0, fmt.Errorf("sqlstore: verify datasets: %w", err)
	}
	return max.Int64, nil
}

// verifyDatasets checks every dataset with id <= upto (the largest id
// before the log was sequenced and read) against the ingest events of the
// verified log, and that every event's dataset is still there; the first
// *platform.DatasetTamperError it finds. size is the number of events the
// verification read: a dataset whose event came later (ingested while
// verify ran) is counted in sum.DatasetsNew, not failed.
func (s *Store) verifyDatasets(ctx context.Context, dl datasetLog, upto int64, size uint64, sum *platform.AuditSummary, columns datasetColumns) error {
	ids, err := s.datasetIDs(ctx, upto)
	if err != nil {
		return err
	}
	for _, id := range ids {
		c, _, err := s.datasetRow(ctx, id)
		if err != nil {
			return err
		}
		ref := dl[id]
		if ref == nil {
			later, err := s.laterEvent(ctx, "datasets", []string{"ingest"}, "", size, func(e audit.Event) bool {
				got, ok := datasetObject(e)
				return ok && got == id
			})
			if err != nil {
				return err
			}
			if later {
				sum.DatasetsNew++
				continue
			}
			return &platform.DatasetTamperError{Dataset: id, Reason: "no ingest event in the audit log records this dataset: the row was inserted outside ingest, or its event was deleted"}
		}
		ref.used = true
		if why := ref.mismatch(c); why != "" {
			return &platform.DatasetTamperError{Dataset: id, Event: ref.seq, HasEvent: true, Reason: why}
		}
		if _, hashed := ref.details["samples_sha256"]; hashed {
			columns[id] = c.columns // verified: the event recorded its hash
		}
		sum.Datasets++
	}
	// A dataset the log records must still be there. Its event committed
	// with the row, so one with id > upto (ingested after upto was read,
	// before the log was) is read now — else deleting the newest dataset
	// would go unseen.
	var missing int64
	var miss *datasetRef
	for id, ref := range dl {
		if ref.used || (miss != nil && ref.seq > miss.seq) {
			continue
		}
		if id > upto {
			c, ok, err := s.datasetRow(ctx, id)
			if err != nil {
				return err
			}
			if ok {
				if why := ref.mismatch(c); why != "" {
					return &platform.DatasetTamperError{Dataset: id, Event: ref.seq, HasEvent: true, Reason: why}
				}
				sum.Datasets++
				continue
			}
		}
		missing, miss = id, ref
	}
	if miss != nil {
		return &platform.DatasetTamperError{Dataset: missing, Event: miss.seq, HasEvent: true, Reason: "the ingest event records this dataset, but no such row is stored: deleted"}
	}
	return nil
}

// DatasetFiles lists every dataset's id, file hash and recorded path: what
// `audit verify --genotypes` needs to hash the stored files.
func (s *Store) DatasetFiles(ctx context.Context) ([]platform.Dataset, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, file_sha256, path FROM datasets ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: dataset files: %w", err)
	}
	defer rows.Close()
	var out []platform.Dataset
	for rows.Next() {
		var d platform.Dataset
		if err := rows.Scan(&d.ID, &d.FileSHA256, &d.Path); err != nil {
			return nil, fmt.Errorf("sqlstore: dataset files: %w", err)
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// datasetIDs lists the dataset ids up to upto. Datasets are files, not
// persons: few enough to list.
func (s *Store) datasetIDs(ctx context.Context, upto int64) ([]int64, error) {
	rows, err := s.db.QueryContext(ctx, s.rebind(`SELECT id FROM datasets WHERE id <= ? ORDER BY id`), upto)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: verify datasets: %w", err)
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("sqlstore: verify datasets: %w", err)
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// datasetRow reads dataset id and hashes its sample mapping; false when
// there is no such dataset.
func (s *Store) datasetRow(ctx context.Context, id int64) (datasetRow, bool, error) {
	c := datasetRow{id: id}
	err := s.db.QueryRowContext(ctx, s.rebind(`SELECT sha256, file_sha256, build, source, records, created_at FROM datasets WHERE id = ?`), id).
		Scan(&c.sha256, &c.file, &c.build, &c.source, &c.records, &c.at)
	if errors.Is(err, sql.ErrNoRows) {
		return c, false, nil
	}
	if err != nil {
		return c, false, fmt.Errorf("sqlstore: verify datasets: %w", err)
	}
	rows, err := s.db.QueryContext(ctx, s.rebind(`SELECT sample_index, sample_id, person_id FROM dataset_samples WHERE dataset_id = ?`), id)
	if err != nil {
		return c, false, fmt.Errorf("sqlstore: verify datasets: %w", err)
	}
	defer rows.Close()
	var samples []platform.DatasetSample
	for rows.Next() {
		smp := platform.DatasetSample{DatasetID: id}
		if err := rows.Scan(&smp.Index, &smp.SampleID, &smp.Person); err != nil {
			return c, false, fmt.Errorf("sqlstore: verify datasets: %w", err)
		}
		samples = append(samples, smp)
	}
	if err := rows.Err(); err != nil {
		return c, false, fmt.Errorf("sqlstore: verify datasets: %w", err)
	}
	c.samplesHash = platform.SamplesHash(samples)
	c.columns = make(map[string]int, len(samples))
	for _, smp := range samples {
		c.columns[smp.Person] = smp.Index
	}
	return c, true, nil
}
