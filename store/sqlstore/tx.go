package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/geneguard/geneguard/algorithm"
	"github.com/geneguard/geneguard/audit"
	"github.com/geneguard/geneguard/consent"
	"github.com/geneguard/geneguard/platform"
	"github.com/geneguard/geneguard/result"
)

// tx implements platform.Tx. Its clock is fixed when the transaction
// starts, so every row it writes carries the same time.
type tx struct {
	s   *Store
	tx  *sql.Tx
	ctx context.Context
	now time.Time
}

func (t *tx) Now() time.Time { return t.now }

func (t *tx) exec(q string, args ...any) (sql.Result, error) {
	return t.tx.ExecContext(t.ctx, t.s.rebind(q), args...)
}

func (t *tx) query(q string, args ...any) (*sql.Rows, error) {
	return t.tx.QueryContext(t.ctx, t.s.rebind(q), args...)
}

func (t *tx) queryRow(q string, args ...any) *sql.Row {
	return t.tx.QueryRowContext(t.ctx, t.s.rebind(q), args...)
}

// insertID inserts and returns the new identity column value.
func (t *tx) insertID(q string, args ...any) (int64, error) {
	var id int64
	err := t.queryRow(q+" RETURNING id", args...).Scan(&id)
	return id, err
}

// ---- persons

func (t *tx) UpsertPerson(p platform.Person) error {
	_, err := t.exec(`INSERT INTO persons (id, birth_date, sex, display_name, created_at) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET display_name = CASE WHEN excluded.display_name = '' THEN persons.display_name ELSE excluded.display_name END`,
		p.ID, p.BirthDate.Format("2006-01-02"), p.Sex, p.DisplayName, t.now)
	if err != nil {
		return fmt.Errorf("sqlstore: upsert person: %w", err)
	}
	return nil
}

const personCols = `id, birth_date, sex, display_name, created_at`

func scanPerson(sc interface{ Scan(...any) error }) (platform.Person, error) {
	var p platform.Person
	var bd string
	if err := sc.Scan(&p.ID, &bd, &p.Sex, &p.DisplayName, &p.CreatedAt); err != nil {
		return p, err
	}
	p.BirthDate, _ = time.Parse("2006-01-02", bd)
	return p, nil
}

func (t *tx) Person(id string) (*platform.Person, error) {
	p, err := scanPerson(t.queryRow(`SELECT `+personCols+` FROM persons WHERE id = ?`, id))
	if err != nil {
		return nil, notFound(err, "no person %s: nothing (no genotypes, consent or order) is recorded under this pseudonym", id)
	}
	return &p, nil
}

func (t *tx) Persons() ([]platform.Person, error) {
	rows, err := t.query(`SELECT ` + personCols + ` FROM persons ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: persons: %w", err)
	}
	defer rows.Close()
	var out []platform.Person
	for rows.Next() {
		p, err := scanPerson(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlstore: persons: %w", err)
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// ---- datasets

func (t *tx) InsertDataset(d *platform.Dataset, samples []platform.DatasetSample) error {
	var existing int64
	err := t.queryRow(`SELECT id FROM datasets WHERE sha256 = ?`, d.SHA256).Scan(&existing)
	if err == nil {
		return &platform.Error{Code: platform.CodeConflict, Message: fmt.Sprintf("this genotype file (sha256 %s) was already ingested as dataset %d", d.SHA256[:12], existing)}
	}
	if err != sql.ErrNoRows {
		return fmt.Errorf("sqlstore: insert dataset: %w", err)
	}
	d.CreatedAt = t.now
	file := d.FileSHA256
	if file == "" {
		file = d.SHA256
	}
	d.ID, err = t.insertID(`INSERT INTO datasets (sha256, file_sha256, path, build, samples, records, source, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		d.SHA256, file, d.Path, d.Build, d.Samples, d.Records, d.Source, t.now)
	if err != nil {
		return fmt.Errorf("sqlstore: insert dataset: %w", err)
	}
	for _, smp := range samples {
		if _, err := t.exec(`INSERT INTO dataset_samples (dataset_id, sample_index, sample_id, person_id) VALUES (?, ?, ?, ?)`,
			d.ID, smp.Index, smp.SampleID, smp.Person); err != nil {
			return fmt.Errorf("sqlstore: insert dataset sample %s: %w", smp.SampleID, err)
		}
	}
	return nil
}

func (t *tx) LatestSample(person string) (*platform.Dataset, *platform.DatasetSample, error) {
	var d platform.Dataset
	var smp platform.DatasetSample
	err := t.queryRow(`SELECT d.id, d.sha256, d.file_sha256, d.path, d.build, d.samples, d.records, d.source, d.created_at, s.sample_index, s.sample_id
		FROM dataset_samples s JOIN datasets d ON d.id = s.dataset_id
		WHERE s.person_id = ?
		AND NOT EXISTS (SELECT 1 FROM datasets n WHERE n.file_sha256 = d.file_sha256 AND n.id > d.id)
		ORDER BY d.id DESC LIMIT 1`, person).
		Scan(&d.ID, &d.SHA256, &d.FileSHA256, &d.Path, &d.Build, &d.Samples, &d.Records, &d.Source, &d.CreatedAt, &smp.Index, &smp.SampleID)
	if err != nil {
		return nil, nil, notFound(err, "no genotypes for person %s", person)
	}
	smp.DatasetID, smp.Person = d.ID, person
	return &d, &smp, nil
}

func (t *tx) MappingReplaced(person string, datasetID int64) (int64, error) {
	var newer int64
	var now, was sql.NullInt64
	err := t.queryRow(`SELECT n.id,
		(SELECT ns.sample_index FROM dataset_samples ns WHERE ns.dataset_id = n.id AND ns.person_id = ?),
		(SELECT os.sample_index FROM dataset_samples os WHERE os.dataset_id = d.id AND os.person_id = ?)
		FROM datasets d JOIN datasets n ON n.file_sha256 = d.file_sha256 AND n.id > d.id
		WHERE d.id = ? ORDER BY n.id DESC LIMIT 1`, person, person, datasetID).Scan(&newer, &now, &was)
	if err == sql.ErrNoRows {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("sqlstore: mapping of dataset %d: %w", datasetID, err)
	}
	if now.Valid && was.Valid && now.Int64 == was.Int64 {
		return 0, nil // the same column: the same genotypes
	}
	return newer, nil
}

func (t *tx) EarlierSamples(fileSHA256 string, before int64) ([]platform.DatasetSample, error) {
	rows, err := t.query(`SELECT s.dataset_id, s.sample_index, s.sample_id, s.person_id
		FROM dataset_samples s JOIN datasets d ON d.id = s.dataset_id
		WHERE d.file_sha256 = ? AND d.id < ? ORDER BY s.dataset_id, s.sample_index`, fileSHA256, before)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: earlier samples: %w", err)
	}
	defer rows.Close()
	var out []platform.DatasetSample
	for rows.Next() {
		var s platform.DatasetSample
		if err := rows.Scan(&s.DatasetID, &s.Index, &s.SampleID, &s.Person); err != nil {
			return nil, fmt.Errorf("sqlstore: earlier samples: %w", err)
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

func (t *tx) DatasetPersons(datasetID int64) ([]string, error) {
	return t.strings(`SELECT person_id FROM dataset_samples WHERE dataset_id = ? ORDER BY sample_index`, datasetID)
}

func (t *tx) strings(q string, args ...any) ([]string, error) {
	rows, err := t.query(q, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, fmt.Errorf("sqlstore: %w", err)
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// ---- algorithms

func (t *tx) InsertAlgorithm(v *algorithm.Version) error {
	m, err := json.Marshal(v.Manifest)
	if err != nil {
		return fmt.Errorf("sqlstore: manifest: %w", err)
	}
	var sameHash, sameLabel string
	if err := t.queryRow(`SELECT COALESCE(MAX(CASE WHEN hash = ? THEN algorithm_id || '@' || version END), ''),
		COALESCE(MAX(CASE WHEN algorithm_id = ? AND version = ? THEN hash END), '')
		FROM algorithm_versions WHERE hash = ? OR (algorithm_id = ? AND version = ?)`, v.Hash, v.Manifest.ID, v.Manifest.Version, v.Hash, v.Manifest.ID, v.Manifest.Version).Scan(&sameHash, &sameLabel); err != nil {
		return fmt.Errorf("sqlstore: insert algorithm: %w", err)
	}
	switch {
	case sameHash != "":
		return &platform.Error{Code: platform.CodeConflict, Message: fmt.Sprintf("this content (%s) is already registered, as %s", algorithm.ShortHash(v.Hash), sameHash)}
	case sameLabel != "":
		return &platform.Error{Code: platform.CodeConflict, Message: fmt.Sprintf("algorithm %s version %s is already registered with other content (%s); give the new content a new version label", v.Manifest.ID, v.Manifest.Version, algorithm.ShortHash(sameLabel))}
	}
	v.CreatedAt = t.now
	if _, err := t.exec(`INSERT INTO algorithm_versions (hash, algorithm_id, version, kind, manifest, status, submitted_by, approved_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		v.Hash, v.Manifest.ID, v.Manifest.Version, string(v.Manifest.Kind), string(m), string(v.Status), v.SubmittedBy, v.ApprovedBy, t.now); err != nil {
		return fmt.Errorf("sqlstore: insert algorithm: %w", err)
	}
	for name, content := range v.Files {
		if _, err := t.exec(`INSERT INTO algorithm_files (hash, name, content) VALUES (?, ?, ?)`, v.Hash, name, content); err != nil {
			return fmt.Errorf("sqlstore: insert algorithm file %s: %w", name, err)
		}
	}
	return nil
}

func (t *tx) scanVersions(q string, args ...any) ([]*algorithm.Version, error) {
	rows, err := t.query(`SELECT hash, manifest, status, submitted_by, approved_by, activated_by, created_at, validation, validated_at, approved_at, activated_at, retired_at FROM algorithm_versions `+q, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: algorithms: %w", err)
	}
	var out []*algorithm.Version
	for rows.Next() {
		v := &algorithm.Version{}
		var m, st, val string
		var at [4]sql.NullTime
		if err := rows.Scan(&v.Hash, &m, &st, &v.SubmittedBy, &v.ApprovedBy, &v.ActivatedBy, &v.CreatedAt, &val, &at[0], &at[1], &at[2], &at[3]); err != nil {
			rows.Close()
			return nil, fmt.Errorf("sqlstore: algorithms: %w", err)
		}
		if err := json.Unmarshal([]byte(m), &v.Manifest); err != nil {
			rows.Close()
			return nil, fmt.Errorf("sqlstore: algorithm %s manifest: %w", v.Hash, err)
		}
		if val != "" {
			v.Validation = &algorithm.Report{}
			if err := json.Unmarshal([]byte(val), v.Validation); err != nil {
				rows.Close()
				return nil, fmt.Errorf("sqlstore: algorithm %s validation report: %w", v.Hash, err)
			}
		}
		v.ValidatedAt, v.ApprovedAt, v.ActivatedAt, v.RetiredAt = at[0].Time, at[1].Time, at[2].Time, at[3].Time
		v.Status = algorithm.Status(st)
		out = append(out, v)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: algorithms: %w", err)
	}
	for _, v := range out {
		if err := t.loadFiles(v); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (t *tx) loadFiles(v *algorithm.Version) error {
	rows, err := t.query(`SELECT name, content FROM algorithm_files WHERE hash = ?`, v.Hash)
	if err != nil {
		return fmt.Errorf("sqlstore: algorithm files: %w", err)
	}
	defer rows.Close()
	v.Files = map[string][]byte{}
	for rows.Next() {
		var name string
		var content []byte
		if err := rows.Scan(&name, &content); err != nil {
			return fmt.Errorf("sqlstore: algorithm files: %w", err)
		}
		v.Files[name] = content
	}
	return rows.Err()
}

func (t *tx) Algorithm(hash string) (*algorithm.Version, error) {
	vs, err := t.scanVersions(`WHERE hash = ?`, hash)
	if err != nil {
		return nil, err
	}
	if len(vs) == 0 {
		return nil, &platform.Error{Code: platform.CodeNotFound, Message: "no algorithm version " + algorithm.ShortHash(hash), Err: platform.ErrNotFound}
	}
	return vs[0], nil
}

func (t *tx) ActiveAlgorithms() ([]*algorithm.Version, error) {
	return t.scanVersions(`WHERE status = 'active' ORDER BY algorithm_id`)
}

func (t *tx) AllAlgorithms() ([]*algorithm.Version, error) {
	return t.scanVersions(`ORDER BY algorithm_id, created_at`)
}

func (t *tx) AlgorithmIDs() ([]string, error) {
	rows, err := t.query(`SELECT DISTINCT algorithm_id FROM algorithm_versions ORDER BY algorithm_id`)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: algorithm ids: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("sqlstore: algorithm ids: %w", err)
		}
		out = append(out, id)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: algorithm ids: %w", err)
	}
	return out, nil
}

func (t *tx) SetAlgorithmStatus(hash string, st algorithm.Status, approver string) error {
	q := `UPDATE algorithm_versions SET status = ?`
	args := []any{string(st)}
	if approver != "" {
		q += `, approved_by = ?`
		args = append(args, approver)
	}
	if col, ok := statusStamp[st]; ok {
		q += `, ` + col + ` = ?`
		args = append(args, t.now)
	}
	res, err := t.exec(q+` WHERE hash = ?`, append(args, hash)...)
	if err != nil {
		return fmt.Errorf("sqlstore: set algorithm status: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return &platform.Error{Code: platform.CodeNotFound, Message: "no algorithm version " + algorithm.ShortHash(hash), Err: platform.ErrNotFound}
	}
	return nil
}

// statusStamp names the column recording when a version entered a state.
var statusStamp = map[algorithm.Status]string{
	algorithm.StatusValidated: "validated_at",
	algorithm.StatusApproved:  "approved_at",
	algorithm.StatusActive:    "activated_at",
	algorithm.StatusRetired:   "retired_at",
}

// ---- consent

func (t *tx) AppendConsent(e consent.Event) (int64, error) {
	id, err := t.insertID(`INSERT INTO consent_events (person_id, algorithm_id, action, actor, channel, at) VALUES (?, ?, ?, ?, ?, ?)`,
		e.Person, e.Algorithm, string(e.Action), e.Actor, e.Channel, t.now)
	if err != nil {
		return 0, fmt.Errorf("sqlstore: append consent: %w", err)
	}
	return id, nil
}

func (t *tx) ConsentHistory(person, algorithmID string) ([]consent.Event, error) {
	rows, err := t.query(`SELECT person_id, algorithm_id, action, actor, channel, at FROM consent_events WHERE person_id = ? AND algorithm_id = ? ORDER BY id`, person, algorithmID)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: consent history: %w", err)
	}
	defer rows.Close()
	var out []consent.Event
	for rows.Next() {
		var e consent.Event
		var a string
		if err := rows.Scan(&e.Person, &e.Algorithm, &a, &e.Actor, &e.Channel, &e.At); err != nil {
			return nil, fmt.Errorf("sqlstore: consent history: %w", err)
		}
		e.Action = consent.Action(a)
		out = append(out, e)
	}
	return out, rows.Err()
}

func (t *tx) ConsentedPersons(algorithmID string) ([]string, error) {
	return t.strings(`SELECT c.person_id FROM consent_events c
		WHERE c.algorithm_id = ? AND c.action = 'grant'
		  AND c.id = (SELECT MAX(id) FROM consent_events l WHERE l.person_id = c.person_id AND l.algorithm_id = c.algorithm_id)
		ORDER BY c.person_id`, algorithmID)
}

// ---- results

const resultCols = `r.id, r.person_id, r.algorithm_id, r.version_hash, v.version, r.input_fingerprint, r.dataset_id, r.trigger_kind, r.summary, r.category, r.output, r.created_at, r.duration_ms, r.worker, r.superseded_by, v.status`

// LockResults takes a transaction-scoped advisory lock on PostgreSQL, keyed
// by hashes of the person and the algorithm (the two-key form: its own
// lock space, apart from the audit sequencer's one-key lock). A hash
// collision only makes two unrelated writers wait for each other. SQLite
// needs none: a write transaction holds the database (BEGIN IMMEDIATE).
func (t *tx) LockResults(person, algorithmID string) error {
	if t.s.dialect != Postgres {
		return nil
	}
	if _, err := t.exec(`SELECT pg_advisory_xact_lock(hashtext(?), hashtext(?))`, person, algorithmID); err != nil {
		return fmt.Errorf("sqlstore: lock results of %s for %s: %w", person, algorithmID, err)
	}
	return nil
}

func (t *tx) InsertResult(r *result.Result) (bool, error) {
	var id int64
	err := t.queryRow(`SELECT id FROM results WHERE person_id = ? AND version_hash = ? AND input_fingerprint = ?`, r.Person, r.VersionHash, r.InputFingerprint).Scan(&id)
	if err == nil {
		r.ID = id
		return false, nil
	}
	if err != sql.ErrNoRows {
		return false, fmt.Errorf("sqlstore: insert result: %w", err)
	}
	r.CreatedAt = t.now
	// A twin running concurrently (a job rescued while its first worker
	// still runs) may insert between the check and here: on PostgreSQL the
	// insert then waits for it and does nothing, and the twin's row is the
	// result, as if the check had found it.
	r.ID, err = t.insertID(`INSERT INTO results (person_id, algorithm_id, version_hash, input_fingerprint, dataset_id, trigger_kind, summary, category, output, created_at, duration_ms, worker) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (person_id, version_hash, input_fingerprint) DO NOTHING`,
		r.Person, r.AlgorithmID, r.VersionHash, r.InputFingerprint, r.DatasetID, string(r.Trigger), r.Summary, r.Category, string(r.Output), t.now, r.DurationMS, r.Worker)
	if err == sql.ErrNoRows {
		if err := t.queryRow(`SELECT id FROM results WHERE person_id = ? AND version_hash = ? AND input_fingerprint = ?`, r.Person, r.VersionHash, r.InputFingerprint).Scan(&r.ID); err != nil {
			return false, fmt.Errorf("sqlstore: insert result: %w", err)
		}
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("sqlstore: insert result: %w", err)
	}
	if _, err := t.exec(`UPDATE results SET superseded_by = ? WHERE person_id = ? AND algorithm_id = ? AND id <> ? AND superseded_by IS NULL`, r.ID, r.Person, r.AlgorithmID, r.ID); err != nil {
		return false, fmt.Errorf("sqlstore: supersede results: %w", err)
	}
	return true, nil
}

func (t *tx) RestoreResult(person, algorithmID string, id int64) (bool, error) {
	var sup sql.NullInt64
	err := t.queryRow(`SELECT superseded_by FROM results WHERE id = ? AND person_id = ? AND algorithm_id = ?`, id, person, algorithmID).Scan(&sup)
	if err != nil {
		return false, notFound(err, "no result %d of person %s for %s", id, person, algorithmID)
	}
	if !sup.Valid {
		return false, nil // current already
	}
	if _, err := t.exec(`UPDATE results SET superseded_by = ? WHERE person_id = ? AND algorithm_id = ? AND id <> ? AND superseded_by IS NULL`, id, person, algorithmID, id); err != nil {
		return false, fmt.Errorf("sqlstore: restore result: %w", err)
	}
	if _, err := t.exec(`UPDATE results SET superseded_by = NULL WHERE id = ?`, id); err != nil {
		return false, fmt.Errorf("sqlstore: restore result: %w", err)
	}
	return true, nil
}

func (t *tx) scanResults(where string, args ...any) ([]result.Result, error) {
	rows, err := t.query(`SELECT `+resultCols+` FROM results r JOIN algorithm_versions v ON v.hash = r.version_hash `+where, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: results: %w", err)
	}
	defer rows.Close()
	var out []result.Result
	for rows.Next() {
		var r result.Result
		var trig, output string
		var sup sql.NullInt64
		var status string
		if err := rows.Scan(&r.ID, &r.Person, &r.AlgorithmID, &r.VersionHash, &r.Version, &r.InputFingerprint, &r.DatasetID, &trig, &r.Summary, &r.Category, &output, &r.CreatedAt, &r.DurationMS, &r.Worker, &sup, &status); err != nil {
			return nil, fmt.Errorf("sqlstore: results: %w", err)
		}
		r.VersionRetired = status == string(algorithm.StatusRetired)
		r.Trigger = result.Trigger(trig)
		r.Output = json.RawMessage(output)
		r.SupersededBy = sup.Int64
		out = append(out, r)
	}
	return out, rows.Err()
}

func (t *tx) CurrentResults(person string) ([]result.Result, error) {
	return t.scanResults(`WHERE r.person_id = ? AND r.superseded_by IS NULL ORDER BY r.algorithm_id`, person)
}

func (t *tx) AllResults(person string) ([]result.Result, error) {
	return t.scanResults(`WHERE r.person_id = ? ORDER BY r.id`, person)
}

// ---- queue

// computeArgs is the River job for platform.ComputeJob.
type computeArgs struct {
	platform.ComputeJob
}

func (computeArgs) Kind() string { return "compute" }

// InsertOpts dedupes a job against a waiting or running twin; a completed
// twin does not block a new run, because a new trigger must be able to
// ask again (the result table makes the repeat harmless).
func (computeArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{
		MaxAttempts: 10,
		UniqueOpts: river.UniqueOpts{
			ByArgs:  true,
			ByState: []rivertype.JobState{rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateRunning, rivertype.JobStateRetryable, rivertype.JobStateScheduled},
		},
	}
}

// ComputeArgs wraps a job for the worker's registration.
type ComputeArgs = computeArgs

func (t *tx) Enqueue(jobs []platform.ComputeJob) error {
	if len(jobs) == 0 {
		return nil
	}
	// River refuses a batch that holds the same unique job twice (and
	// PostgreSQL's ON CONFLICT cannot touch a row twice), so twins within
	// the batch are dropped here as twins already waiting are by River.
	params := make([]river.InsertManyParams, 0, len(jobs))
	seen := make(map[platform.ComputeJob]bool, len(jobs))
	for _, j := range jobs {
		if seen[j] {
			continue
		}
		seen[j] = true
		params = append(params, river.InsertManyParams{Args: computeArgs{j}})
	}
	for start := 0; start < len(params); start += 1000 {
		end := min(start+1000, len(params))
		if _, err := t.s.inserter.InsertManyTx(t.ctx, t.tx, params[start:end]); err != nil {
			return fmt.Errorf("sqlstore: enqueue: %w", err)
		}
	}
	return nil
}

func (t *tx) CancelJobs(person, algorithmID string) (int, error) {
	args := "args"
	if t.s.dialect == SQLite {
		args = "json(args)" // River keeps args as binary JSONB on SQLite
	}
	rows, err := t.query(`SELECT id, kind, ` + args + ` FROM river_job WHERE kind IN ('compute', 'compute-batch') AND state IN ('available', 'scheduled', 'retryable', 'pending')`)
	if err != nil {
		return 0, fmt.Errorf("sqlstore: cancel jobs: %w", err)
	}
	var ids []int64
	shrunk := map[int64]platform.BatchJob{} // batch jobs to rewrite without the person
	for rows.Next() {
		var id int64
		var kind string
		var args []byte
		if err := rows.Scan(&id, &kind, &args); err != nil {
			rows.Close()
			return 0, fmt.Errorf("sqlstore: cancel jobs: %w", err)
		}
		if kind == "compute-batch" {
			var ba batchArgs
			if err := json.Unmarshal(args, &ba); err != nil {
				rows.Close()
				return 0, fmt.Errorf("sqlstore: cancel jobs: job %d args: %w", id, err)
			}
			b := ba.BatchJob
			if b.AlgorithmID != algorithmID {
				continue
			}
			keep := b.Persons[:0:0]
			for _, p := range b.Persons {
				if p != person {
					keep = append(keep, p)
				}
			}
			switch {
			case len(keep) == len(b.Persons):
			case len(keep) == 0:
				ids = append(ids, id)
			default:
				b.Persons = keep
				shrunk[id] = b
			}
			continue
		}
		var j platform.ComputeJob
		if err := json.Unmarshal(args, &j); err != nil {
			rows.Close()
			return 0, fmt.Errorf("sqlstore: cancel jobs: job %d args: %w", id, err)
		}
		if j.Person == person && j.AlgorithmID == algorithmID {
			ids = append(ids, id)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("sqlstore: cancel jobs: %w", err)
	}
	for _, id := range ids {
		if _, err := t.exec(`UPDATE river_job SET state = 'cancelled', finalized_at = ? WHERE id = ? AND state IN ('available', 'scheduled', 'retryable', 'pending')`, t.now, id); err != nil {
			return 0, fmt.Errorf("sqlstore: cancel job %d: %w", id, err)
		}
	}
	// A waiting batch goes on for the others without the person.
	set := "CAST(? AS jsonb)"
	if t.s.dialect == SQLite {
		set = "jsonb(?)"
	}
	for id, b := range shrunk {
		args, err := json.Marshal(batchArgs{b})
		if err != nil {
			return 0, fmt.Errorf("sqlstore: cancel jobs: %w", err)
		}
		if _, err := t.exec(`UPDATE river_job SET args = `+set+` WHERE id = ? AND state IN ('available', 'scheduled', 'retryable', 'pending')`, string(args), id); err != nil {
			return 0, fmt.Errorf("sqlstore: remove person from batch job %d: %w", id, err)
		}
	}
	return len(ids) + len(shrunk), nil
}

// ---- audit

// Audit queues one event in audit_pending, in the action's transaction: it
// commits or rolls back with the action, and takes no log-wide lock, so
// concurrent actions commit (and fsync) in parallel. The sequencer
// (Store.SequenceAudit) gives it its seq later; see auditlog.go.
func (t *tx) Audit(e platform.AuditEntry, details map[string]string) error {
	ev := audit.Event{
		Time: t.now, Actor: e.Actor, Role: e.Role, Person: e.Person, Action: e.Action,
		Object: e.Object, Purpose: e.Purpose, RequestID: e.RequestID,
	}
	for k, v := range details {
		switch k {
		case "xroad_client":
			ev.XRoadClient = v
		case "xroad_user":
			ev.XRoadUser = v
		default:
			if ev.Details == nil {
				ev.Details = make(map[string]string, len(details))
			}
			ev.Details[k] = v
		}
	}
	if err := ev.Validate(); err != nil {
		return err
	}
	if _, err := t.exec(`INSERT INTO audit_pending (person_id, body) VALUES (?, ?)`, e.Person, ev.Canonical()); err != nil {
		return fmt.Errorf("sqlstore: audit append: %w", err)
	}
	return nil
}

// AuditTrail lists the person's sequenced events in log order, then the
// ones still waiting for the sequencer (Pending, no seq yet) in the order
// they were queued. One statement reads both tables, so an event the
// sequencer moves meanwhile is seen exactly once.
func (t *tx) AuditTrail(person string) ([]platform.AuditEntry, error) {
	rows, err := t.query(`SELECT 0 AS pending, seq, canonical FROM audit_events WHERE person_id = ?
		UNION ALL SELECT 1, id, body FROM audit_pending WHERE person_id = ?
		ORDER BY 1, 2`, person, person)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: audit trail: %w", err)
	}
	defer rows.Close()
	var out []platform.AuditEntry
	for rows.Next() {
		var pending, id int64
		var b []byte
		if err := rows.Scan(&pending, &id, &b); err != nil {
			return nil, fmt.Errorf("sqlstore: audit trail: %w", err)
		}
		ev, err := audit.ParseCanonical(b)
		if err != nil {
			if pending == 1 {
				return nil, fmt.Errorf("sqlstore: audit trail: pending event %d: %w", id, err)
			}
			return nil, fmt.Errorf("sqlstore: audit trail: event %d: %w", id, err)
		}
		e := platform.AuditEntry{Seq: ev.Seq, Time: ev.Time, Actor: ev.Actor, Role: ev.Role, Person: ev.Person, Action: ev.Action, Object: ev.Object, Purpose: ev.Purpose, RequestID: ev.RequestID, Reason: ev.Details["reason"]}
		if pending == 1 {
			e.Seq, e.Pending = 0, true
		}
		out = append(out, e)
	}
	return out, rows.Err()
}
