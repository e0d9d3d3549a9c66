package sqlstore

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/geneguard/geneguard/algorithm"
	"github.com/geneguard/geneguard/platform"
	"github.com/geneguard/geneguard/result"
)

// Governance storage (issue 5): validation reports, batch jobs, runs,
// result changes, clinical events, test orders, scheduler marks.

func (t *tx) RecordValidation(hash string, r algorithm.Report) error {
	b, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("sqlstore: validation report: %w", err)
	}
	res, err := t.exec(`UPDATE algorithm_versions SET validation = ? WHERE hash = ?`, string(b), hash)
	if err != nil {
		return fmt.Errorf("sqlstore: record validation: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return &platform.Error{Code: platform.CodeNotFound, Message: "no algorithm version " + algorithm.ShortHash(hash), Err: platform.ErrNotFound}
	}
	return nil
}

func (t *tx) RecordActivator(hash, actor string) error {
	res, err := t.exec(`UPDATE algorithm_versions SET activated_by = ? WHERE hash = ?`, actor, hash)
	if err != nil {
		return fmt.Errorf("sqlstore: record activator: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return &platform.Error{Code: platform.CodeNotFound, Message: "no algorithm version " + algorithm.ShortHash(hash), Err: platform.ErrNotFound}
	}
	return nil
}

// consentedLatest selects, for each person whose latest consent event for
// the algorithm (?) is a grant, the newest dataset sample.
const consentedLatest = `SELECT s.person_id, s.dataset_id, s.sample_index, s.sample_id FROM consent_events c
	JOIN dataset_samples s ON s.person_id = c.person_id
	WHERE c.algorithm_id = ? AND c.action = 'grant'
	  AND c.id = (SELECT MAX(id) FROM consent_events l WHERE l.person_id = c.person_id AND l.algorithm_id = c.algorithm_id)
	  AND s.dataset_id = (SELECT MAX(dataset_id) FROM dataset_samples m WHERE m.person_id = s.person_id)`

func (t *tx) ConsentedSamples(algorithmID string) ([]platform.DatasetSample, error) {
	rows, err := t.query(consentedLatest+` ORDER BY s.dataset_id, s.sample_index`, algorithmID)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: consented samples: %w", err)
	}
	defer rows.Close()
	var out []platform.DatasetSample
	for rows.Next() {
		var d platform.DatasetSample
		if err := rows.Scan(&d.Person, &d.DatasetID, &d.Index, &d.SampleID); err != nil {
			return nil, fmt.Errorf("sqlstore: consented samples: %w", err)
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

func (t *tx) ConsentedPersonsWithGenotypes(algorithmID string) ([]platform.Person, error) {
	rows, err := t.query(`SELECT `+personCols+` FROM persons WHERE id IN (SELECT x.person_id FROM (`+consentedLatest+`) x) ORDER BY id`, algorithmID)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: consented persons: %w", err)
	}
	defer rows.Close()
	var out []platform.Person
	for rows.Next() {
		p, err := scanPerson(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlstore: consented persons: %w", err)
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

func (t *tx) CurrentResult(person, algorithmID string) (*result.Result, error) {
	rs, err := t.scanResults(`WHERE r.person_id = ? AND r.algorithm_id = ? AND r.superseded_by IS NULL ORDER BY r.id DESC LIMIT 1`, person, algorithmID)
	if err != nil {
		return nil, err
	}
	if len(rs) == 0 {
		return nil, &platform.Error{Code: platform.CodeNotFound, Message: fmt.Sprintf("no current %s result for %s", algorithmID, person), Err: platform.ErrNotFound}
	}
	return &rs[0], nil
}

// ---- batch jobs

// batchArgs is the River job for platform.BatchJob.
//
// Its persons are stored as one JSON string (person_list), not as an
// array: River keeps args in a jsonb column with a GIN index, and GIN
// indexes every element of an array, so a 2,000-person job row would be
// re-indexed 2,000 times each time it changes state (fetched, completed)
// — hundreds of milliseconds of database CPU per job, which the clinical
// API then waits behind during a recomputation. One string is one index
// entry. Jobs queued with the array form are still read.
type batchArgs struct {
	platform.BatchJob
}

// batchArgsJSON is batchArgs as stored.
type batchArgsJSON struct {
	AlgorithmID string         `json:"algorithm_id"`
	VersionHash string         `json:"version_hash"`
	Trigger     result.Trigger `json:"trigger"`
	DatasetID   int64          `json:"dataset_id"`
	PersonList  string         `json:"person_list,omitempty"` // a JSON array, as a string
	Persons     []string       `json:"persons,omitempty"`     // the earlier form
}

func (a batchArgs) MarshalJSON() ([]byte, error) {
	list, err := json.Marshal(a.Persons)
	if err != nil {
		return nil, err
	}
	return json.Marshal(batchArgsJSON{AlgorithmID: a.AlgorithmID, VersionHash: a.VersionHash, Trigger: a.Trigger, DatasetID: a.DatasetID, PersonList: string(list)})
}

func (a *batchArgs) UnmarshalJSON(b []byte) error {
	var j batchArgsJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	a.BatchJob = platform.BatchJob{AlgorithmID: j.AlgorithmID, VersionHash: j.VersionHash, Trigger: j.Trigger, DatasetID: j.DatasetID, Persons: j.Persons}
	if j.PersonList != "" {
		if err := json.Unmarshal([]byte(j.PersonList), &a.Persons); err != nil {
			return fmt.Errorf("person_list: %w", err)
		}
	}
	return nil
}

func (batchArgs) Kind() string { return "compute-batch" }

func (batchArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{
		MaxAttempts: 10,
		UniqueOpts: river.UniqueOpts{
			ByArgs:  true,
			ByState: []rivertype.JobState{rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateRunning, rivertype.JobStateRetryable, rivertype.JobStateScheduled},
		},
	}
}

// BatchArgs wraps a batch job for the worker's registration.
type BatchArgs = batchArgs

func (t *tx) EnqueueBatches(jobs []platform.BatchJob) error {
	if len(jobs) == 0 {
		return nil
	}
	params := make([]river.InsertManyParams, len(jobs))
	for i, j := range jobs {
		params[i] = river.InsertManyParams{Args: batchArgs{j}}
	}
	for start := 0; start < len(params); start += 100 {
		end := min(start+100, len(params))
		if _, err := t.s.inserter.InsertManyTx(t.ctx, t.tx, params[start:end]); err != nil {
			return fmt.Errorf("sqlstore: enqueue batches: %w", err)
		}
	}
	return nil
}

// ---- runs and usage

func (t *tx) RecordRun(r platform.Run) error {
	var res sql.NullInt64
	if r.ResultID != 0 {
		res = sql.NullInt64{Int64: r.ResultID, Valid: true}
	}
	at := r.At
	if at.IsZero() {
		at = t.now
	}
	if _, err := t.exec(`INSERT INTO runs (at, person_id, algorithm_id, version_hash, trigger_kind, input_fingerprint, outcome, duration_ms, worker, result_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		at.UTC(), r.Person, r.AlgorithmID, r.VersionHash, string(r.Trigger), r.InputFingerprint, r.Outcome, r.DurationMS, r.Worker, res); err != nil {
		return fmt.Errorf("sqlstore: record run: %w", err)
	}
	return nil
}

func (t *tx) Usage(since time.Time) ([]platform.UsageRow, error) {
	// Grouping by day happens here rather than in SQL: the two dialects
	// spell date truncation differently, and a period's rows per version,
	// trigger and outcome are few once grouped by them.
	rows, err := t.query(`SELECT at, algorithm_id, version_hash, trigger_kind, outcome, duration_ms, person_id FROM runs WHERE at >= ? ORDER BY id`, since.UTC())
	if err != nil {
		return nil, fmt.Errorf("sqlstore: usage: %w", err)
	}
	defer rows.Close()
	type key struct{ day, alg, hash, trig, outcome string }
	idx := map[key]int{}
	persons := map[key]map[string]bool{}
	var out []platform.UsageRow
	for rows.Next() {
		var at time.Time
		var k key
		var ms int64
		var person string
		if err := rows.Scan(&at, &k.alg, &k.hash, &k.trig, &k.outcome, &ms, &person); err != nil {
			return nil, fmt.Errorf("sqlstore: usage: %w", err)
		}
		k.day = at.UTC().Format("2006-01-02")
		i, ok := idx[k]
		if !ok {
			i = len(out)
			idx[k] = i
			persons[k] = map[string]bool{}
			out = append(out, platform.UsageRow{Day: k.day, AlgorithmID: k.alg, VersionHash: k.hash, Trigger: result.Trigger(k.trig), Outcome: k.outcome})
		}
		out[i].Runs++
		out[i].DurationMS += ms
		persons[k][person] = true
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: usage: %w", err)
	}
	for k, i := range idx {
		out[i].Persons = len(persons[k])
	}
	return out, nil
}

// ---- result changes

func (t *tx) RecordResultChange(c platform.ResultChange) error {
	if _, err := t.exec(`INSERT INTO result_changes (person_id, algorithm_id, version_hash, result_id, previous_id, old_category, new_category, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (result_id) DO NOTHING`,
		c.Person, c.AlgorithmID, c.VersionHash, c.ResultID, c.PreviousID, c.OldCategory, c.NewCategory, t.now); err != nil {
		return fmt.Errorf("sqlstore: record result change: %w", err)
	}
	return nil
}

func (t *tx) ResultChanges(versionHash string) ([]platform.ResultChange, error) {
	rows, err := t.query(`SELECT person_id, algorithm_id, version_hash, result_id, previous_id, old_category, new_category, created_at FROM result_changes WHERE version_hash = ? ORDER BY id`, versionHash)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: result changes: %w", err)
	}
	defer rows.Close()
	var out []platform.ResultChange
	for rows.Next() {
		var c platform.ResultChange
		if err := rows.Scan(&c.Person, &c.AlgorithmID, &c.VersionHash, &c.ResultID, &c.PreviousID, &c.OldCategory, &c.NewCategory, &c.At); err != nil {
			return nil, fmt.Errorf("sqlstore: result changes: %w", err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// ---- clinical events and test orders

func (t *tx) InsertClinicalEvent(e *platform.ClinicalEvent) (bool, error) {
	err := t.queryRow(`SELECT id, person_id, drug, outcome, created_at FROM clinical_events WHERE kind = ? AND source_id = ?`, e.Kind, e.SourceID).
		Scan(&e.ID, &e.Person, &e.Drug, &e.Outcome, &e.CreatedAt)
	if err == nil {
		return false, nil
	}
	if err != sql.ErrNoRows {
		return false, fmt.Errorf("sqlstore: clinical event: %w", err)
	}
	e.CreatedAt = t.now
	e.ID, err = t.insertID(`INSERT INTO clinical_events (kind, source_id, person_id, drug, outcome, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
		e.Kind, e.SourceID, e.Person, e.Drug, e.Outcome, t.now)
	if err != nil {
		return false, fmt.Errorf("sqlstore: clinical event: %w", err)
	}
	return true, nil
}

const orderCols = `id, person_id, algorithm_id, source_id, status, ordered_by, created_at, fulfilled_at, dataset_id`

func scanOrder(sc interface{ Scan(...any) error }) (platform.TestOrder, error) {
	var o platform.TestOrder
	var ful sql.NullTime
	var ds sql.NullInt64
	err := sc.Scan(&o.ID, &o.Person, &o.AlgorithmID, &o.SourceID, &o.Status, &o.OrderedBy, &o.CreatedAt, &ful, &ds)
	o.FulfilledAt, o.DatasetID = ful.Time, ds.Int64
	return o, err
}

func (t *tx) InsertTestOrder(o *platform.TestOrder) (bool, error) {
	got, err := scanOrder(t.queryRow(`SELECT `+orderCols+` FROM test_orders WHERE source_id = ?`, o.SourceID))
	if err == nil {
		*o = got
		return false, nil
	}
	if err != sql.ErrNoRows {
		return false, fmt.Errorf("sqlstore: test order: %w", err)
	}
	o.CreatedAt, o.Status = t.now, "pending"
	o.ID, err = t.insertID(`INSERT INTO test_orders (person_id, algorithm_id, source_id, status, ordered_by, created_at) VALUES (?, ?, ?, 'pending', ?, ?)`,
		o.Person, o.AlgorithmID, o.SourceID, o.OrderedBy, t.now)
	if err != nil {
		return false, fmt.Errorf("sqlstore: test order: %w", err)
	}
	return true, nil
}

func (t *tx) TestOrders(person string) ([]platform.TestOrder, error) {
	rows, err := t.query(`SELECT `+orderCols+` FROM test_orders WHERE person_id = ? ORDER BY id`, person)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: test orders: %w", err)
	}
	defer rows.Close()
	var out []platform.TestOrder
	for rows.Next() {
		o, err := scanOrder(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlstore: test orders: %w", err)
		}
		out = append(out, o)
	}
	return out, rows.Err()
}

func (t *tx) FulfilTestOrders(person string, datasetID int64) ([]platform.TestOrder, error) {
	pending, err := t.TestOrders(person)
	if err != nil {
		return nil, err
	}
	var out []platform.TestOrder
	for _, o := range pending {
		if o.Status != "pending" {
			continue
		}
		if _, err := t.exec(`UPDATE test_orders SET status = 'genotyped', fulfilled_at = ?, dataset_id = ? WHERE id = ?`, t.now, datasetID, o.ID); err != nil {
			return nil, fmt.Errorf("sqlstore: fulfil test order: %w", err)
		}
		o.Status, o.FulfilledAt, o.DatasetID = "genotyped", t.now, datasetID
		out = append(out, o)
	}
	return out, nil
}

// ---- scheduler marks

func (t *tx) Mark(name string) (string, error) {
	var v string
	err := t.queryRow(`SELECT mark FROM scheduler_marks WHERE name = ?`, name).Scan(&v)
	if err == sql.ErrNoRows {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("sqlstore: mark %s: %w", name, err)
	}
	return v, nil
}

func (t *tx) SetMark(name, value string) error {
	if _, err := t.exec(`INSERT INTO scheduler_marks (name, mark) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET mark = excluded.mark`, name, value); err != nil {
		return fmt.Errorf("sqlstore: set mark %s: %w", name, err)
	}
	return nil
}
