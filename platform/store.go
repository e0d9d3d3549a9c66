package platform

import (
	"context"
	"time"

	"github.com/geneguard/geneguard/algorithm"
	"github.com/geneguard/geneguard/consent"
	"github.com/geneguard/geneguard/result"
)

// Store is the persistence the service needs. Every write happens inside
// InTx so that an action, its audit event and the jobs it triggers commit
// together or not at all. Implementations: store/sqlstore (SQLite and
// PostgreSQL).
type Store interface {
	// InTx runs fn in a transaction; it may run fn more than once when the
	// database asks for a retry, so fn must not have outside effects.
	InTx(ctx context.Context, fn func(Tx) error) error
	// Read runs fn with a read-only view (no retries, no writes).
	Read(ctx context.Context, fn func(Tx) error) error
	JobStats(ctx context.Context) (JobStats, error)
	Close() error
}

// AuditSequencer is implemented by a Store whose Tx.Audit queues events
// that a sequencer numbers after commit (store/sqlstore). SequenceAudit
// numbers every event committed so far and returns how many it numbered.
type AuditSequencer interface {
	SequenceAudit(ctx context.Context) (int, error)
}

// ErrNotFound is returned by Tx getters when nothing matches; the service
// turns it into a CodeNotFound error with a message for the user.
var ErrNotFound = &Error{Code: CodeNotFound, Message: "not found"}

// ErrNotCheckpointed is the reason a receipt cannot be issued yet: the event
// (or the whole log) is not covered by a signed checkpoint. It is a
// CodeNotFound error that will resolve itself, unlike an event that does not
// exist or is someone else's.
var ErrNotCheckpointed = &Error{Code: CodeNotFound, Message: "not covered by a signed checkpoint yet"}

// Tx is one transaction's view of the store.
type Tx interface {
	Now() time.Time

	// UpsertPerson creates a person or updates the display name; an empty
	// DisplayName (an ingest that carries no names) keeps the stored one.
	UpsertPerson(p Person) error
	Person(id string) (*Person, error)
	Persons() ([]Person, error)

	// InsertDataset records a dataset and its samples' persons; it fails
	// with a CodeConflict error when the same dataset (by SHA256: the
	// same file read with the same sample map) is there.
	InsertDataset(d *Dataset, samples []DatasetSample) error
	// LatestSample returns the newest dataset sample of a person. A
	// dataset whose file was ingested again (with a corrected sample map)
	// no longer counts: the newer dataset's mapping replaces it.
	LatestSample(person string) (*Dataset, *DatasetSample, error)
	// MappingReplaced returns the id of a newer dataset of the same file
	// that no longer maps the person to the column it had in datasetID
	// (a corrected sample map), or 0: results computed from datasetID
	// for the person then came from another person's genotypes.
	MappingReplaced(person string, datasetID int64) (int64, error)
	// EarlierSamples returns the samples of the datasets of a file
	// (FileSHA256, or SHA256 without a map) older than dataset before.
	EarlierSamples(fileSHA256 string, before int64) ([]DatasetSample, error)
	DatasetPersons(datasetID int64) ([]string, error)

	InsertAlgorithm(v *algorithm.Version) error
	Algorithm(hash string) (*algorithm.Version, error)
	// ActiveAlgorithms returns the one active version of each algorithm.
	ActiveAlgorithms() ([]*algorithm.Version, error)
	AllAlgorithms() ([]*algorithm.Version, error)
	// AlgorithmIDs lists the ids with at least one registered version
	// (any state), sorted, without loading manifests or files.
	AlgorithmIDs() ([]string, error)
	// SetAlgorithmStatus moves a version to s, stamping the time it
	// entered s (validated_at, approved_at, activated_at, retired_at).
	SetAlgorithmStatus(hash string, s algorithm.Status, approver string) error
	// RecordActivator records who made the version active.
	RecordActivator(hash, actor string) error
	// RecordValidation stores a validation report on a version.
	RecordValidation(hash string, r algorithm.Report) error

	// AppendConsent records e and returns its row id, which the consent
	// audit event names (details "consent") so that audit verify can check
	// the consent table against the log.
	AppendConsent(e consent.Event) (int64, error)
	ConsentHistory(person, algorithmID string) ([]consent.Event, error)
	// ConsentedPersons lists persons whose latest consent event for the
	// algorithm is a grant.
	ConsentedPersons(algorithmID string) ([]string, error)
	// ConsentedSamples returns, for every person whose consent to the
	// algorithm is in force and who has genotypes, their newest dataset
	// sample, ordered by dataset and sample index.
	ConsentedSamples(algorithmID string) ([]DatasetSample, error)

	// LockResults holds, until the transaction ends, the right to write
	// the person's results for the algorithm: a second writer waits. Call
	// it before reading the current result a write will supersede.
	// Without it two concurrent writers (a rescued job's twin, a consent
	// trigger during a recomputation) on PostgreSQL each supersede only
	// what they saw, and both new results stay current.
	LockResults(person, algorithmID string) error
	// InsertResult stores r unless a result for the same person, version
	// and input already exists; it reports whether it inserted, and marks
	// the person's previous current result for the algorithm superseded.
	InsertResult(r *result.Result) (bool, error)
	// RestoreResult makes the person's stored result id for the
	// algorithm (one InsertResult found rather than inserted) current
	// again when a later result supersedes it: the person's current
	// result for the algorithm becomes superseded by it and its own
	// superseded_by is cleared, so one result stays current. It reports
	// whether the result was superseded (and so restored).
	RestoreResult(person, algorithmID string, id int64) (bool, error)
	// CurrentResults returns the person's results that nothing supersedes.
	CurrentResults(person string) ([]result.Result, error)
	// CurrentResult returns the person's current result for an algorithm.
	CurrentResult(person, algorithmID string) (*result.Result, error)
	AllResults(person string) ([]result.Result, error)

	// Enqueue adds compute jobs to the durable queue in this transaction;
	// a job that is already waiting with the same arguments is not added
	// twice.
	Enqueue(jobs []ComputeJob) error
	// EnqueueBatches adds batch compute jobs (many persons of one
	// dataset, one version) in this transaction.
	EnqueueBatches(jobs []BatchJob) error
	// CancelJobs cancels waiting compute jobs of a person and algorithm.
	// Batch jobs are not cancelled: the runner re-checks each person's
	// consent when it starts and when it writes.
	CancelJobs(person, algorithmID string) (int, error)

	// RecordRun stores one run's usage record.
	RecordRun(r Run) error
	// Usage lists run counts since a time, grouped by day, version,
	// trigger and outcome.
	Usage(since time.Time) ([]UsageRow, error)
	// RecordResultChange notes that a new result changed a person's
	// category; ResultChanges lists them for a version.
	RecordResultChange(c ResultChange) error
	ResultChanges(versionHash string) ([]ResultChange, error)

	// InsertClinicalEvent records an event by (kind, source id); when one
	// is there already it returns it and false.
	InsertClinicalEvent(e *ClinicalEvent) (bool, error)
	// InsertTestOrder records an order by source id; a repeat returns the
	// stored one and false.
	InsertTestOrder(o *TestOrder) (bool, error)
	TestOrders(person string) ([]TestOrder, error)
	// FulfilTestOrders marks a person's pending orders genotyped by a
	// dataset and returns them.
	FulfilTestOrders(person string, datasetID int64) ([]TestOrder, error)
	// ConsentedPersonsWithGenotypes is ConsentedSamples' persons.
	ConsentedPersonsWithGenotypes(algorithmID string) ([]Person, error)
	// Mark and SetMark keep a scheduler's high-water mark by name ("" when
	// never set).
	Mark(name string) (string, error)
	SetMark(name, value string) error

	// Audit records an event for the tamper-evident log in this
	// transaction: it commits or rolls back with the action. Its seq is
	// assigned when the store sequences it, shortly after commit (see
	// AuditSequencer), so it is not known here.
	Audit(e AuditEntry, details map[string]string) error
	// AuditTrail lists the events about a person: sequenced ones in log
	// order, then any still Pending.
	AuditTrail(person string) ([]AuditEntry, error)
}

// DatasetSample maps a VCF sample column to a person.
type DatasetSample struct {
	DatasetID int64  `json:"dataset_id"`
	Index     int    `json:"index"`
	SampleID  string `json:"sample_id"` // empty when the column was named by a personal code
	Person    string `json:"person"`
}

// BatchJob asks the runner to compute one algorithm version for many
// persons whose genotypes are in one dataset: the runner streams the file
// once for all of them. Idempotency stays per (person, version, input
// fingerprint), so a batch rerun after a crash writes only what is missing.
type BatchJob struct {
	AlgorithmID string         `json:"algorithm_id"`
	VersionHash string         `json:"version_hash"`
	Trigger     result.Trigger `json:"trigger"`
	DatasetID   int64          `json:"dataset_id"`
	Persons     []string       `json:"persons"`
}

// ComputeJob asks the runner to compute one algorithm version for one
// person. It is the durable queue's job payload.
type ComputeJob struct {
	Person      string         `json:"person"`
	AlgorithmID string         `json:"algorithm_id"`
	VersionHash string         `json:"version_hash"`
	Trigger     result.Trigger `json:"trigger"`
}
