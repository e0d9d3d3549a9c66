// Package platform is the service layer: the use cases (ingest genotypes,
// give or withdraw consent, compute, read results, read the audit trail)
// with their authorisation rules, written once against a Store so that the
// web, the CLI and the job worker all enforce the same policy.
package platform

import (
	"encoding/json"
	"time"

	"github.com/geneguard/geneguard/algorithm"
	"github.com/geneguard/geneguard/consent"
	"github.com/geneguard/geneguard/result"
)

// Person is a pseudonymous record. The personal code itself is never
// stored; the pseudonym is a keyed hash of it.
type Person struct {
	ID        string    `json:"id"` // pseudonym, "P-..."
	BirthDate time.Time `json:"birth_date"`
	Sex       string    `json:"sex"`
	// DisplayName is shown to the person and their physicians only.
	DisplayName string    `json:"display_name"`
	CreatedAt   time.Time `json:"created_at"`
}

// Dataset is one ingested genotype file, read with one sample mapping.
type Dataset struct {
	ID int64 `json:"id"`
	// SHA256 identifies the dataset: the file's SHA-256 when its sample
	// IDs are the persons' codes, else the SHA-256 of the file's hash and
	// the sample map (ingest.Identity), so the same file may be ingested
	// again with a corrected map, but not twice with the same one.
	SHA256 string `json:"sha256"`
	// FileSHA256 is the file's own SHA-256 when SHA256 also covers a
	// sample map (at ingest); read back from the store it is always set
	// (the datasets.file_sha256 column, checked by audit verify), and the
	// runner opens and checks the stored copy by it, never trusting the
	// recorded path to name the right file.
	FileSHA256 string `json:"file_sha256,omitempty"`
	// SampleMapSHA256 is the hash of the canonical sample map, when one
	// was given; not stored.
	SampleMapSHA256 string    `json:"sample_map_sha256,omitempty"`
	Path            string    `json:"path"`
	Build           string    `json:"build"`
	Samples         int       `json:"samples"`
	Records         int       `json:"records"`
	Source          string    `json:"source"` // the file name as given
	CreatedAt       time.Time `json:"created_at"`
}

// ConsentState is one algorithm as a person sees it on the consent page.
type ConsentState struct {
	AlgorithmID string             `json:"algorithm_id"`
	Title       string             `json:"title"`
	Purpose     string             `json:"purpose"`
	Kind        algorithm.Kind     `json:"kind"`
	Granted     bool               `json:"granted"`
	History     []consent.Event    `json:"history"`
	Active      *algorithm.Version `json:"-"`
	Results     []result.Result    `json:"-"`
}

// JobStats counts queue jobs by state, for progress displays.
type JobStats struct {
	Available int `json:"available"`
	Running   int `json:"running"`
	Completed int `json:"completed"`
	Retryable int `json:"retryable"`
	Cancelled int `json:"cancelled"`
	Discarded int `json:"discarded"`
}

// AuditEntry is one audit-log event as a person or auditor reads it.
type AuditEntry struct {
	// Seq is the event's index in the log. It is assigned by the
	// sequencer shortly after the action commits; until then the entry
	// is Pending and has no seq (omitted in JSON) and no receipt.
	Seq       uint64    `json:"seq"`
	Time      time.Time `json:"time"`
	Actor     string    `json:"actor"`
	Role      string    `json:"role"`
	Person    string    `json:"person,omitempty"`
	Action    string    `json:"action"`
	Object    string    `json:"object"`
	Purpose   string    `json:"purpose"`
	RequestID string    `json:"request_id,omitempty"`
	// Reason is the free text a person gave for the action, when the
	// action requires one (break-glass access).
	Reason string `json:"reason,omitempty"`
	// Pending: recorded with the action but not yet sequenced into the
	// hashed log ("not yet sealed").
	Pending bool `json:"pending,omitempty"`
}

// MarshalJSON omits seq for a pending entry, which has none yet.
func (e AuditEntry) MarshalJSON() ([]byte, error) {
	type plain AuditEntry
	if !e.Pending {
		return json.Marshal(plain(e))
	}
	return json.Marshal(struct {
		plain
		Seq *uint64 `json:"seq,omitempty"`
	}{plain: plain(e)})
}
