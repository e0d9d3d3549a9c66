// Package result owns computed results and their provenance. A result is
// never changed after it is written: a recomputation supersedes it, and a
// withdrawal hides it from clinical view, but the row stays for the audit
// trail.
package result

import (
	"encoding/json"
	"time"
)

// Trigger says why a computation ran.
type Trigger string

const (
	TriggerGenotype     Trigger = "genotype"     // a new genotype dataset arrived
	TriggerConsent      Trigger = "consent"      // the person opted in
	TriggerNewVersion   Trigger = "new-version"  // a new algorithm version became active
	TriggerPrescription Trigger = "prescription" // a drug with PGx guidance was prescribed
	TriggerAge          Trigger = "age"          // an age milestone for age-dependent risk
	TriggerManual       Trigger = "manual"       // an operator asked
	TriggerTestOrder    Trigger = "test-order"   // genotypes arrived for a patient's test order
)

// Result is one algorithm output for one person.
type Result struct {
	ID          int64  `json:"id"`
	Person      string `json:"person"`
	AlgorithmID string `json:"algorithm_id"`
	VersionHash string `json:"version_hash"`
	Version     string `json:"version"`
	// InputFingerprint is the SHA-256 of the exact input the algorithm
	// saw (the declared genotypes and attributes), so the same input
	// never yields two results and a result can be reproduced.
	InputFingerprint string          `json:"input_fingerprint"`
	DatasetID        int64           `json:"dataset_id"`
	Trigger          Trigger         `json:"trigger"`
	Summary          string          `json:"summary"`  // one line for lists and cards
	Category         string          `json:"category"` // e.g. "Poor Metabolizer", "high"
	Output           json.RawMessage `json:"output"`   // the engine's full output
	CreatedAt        time.Time       `json:"created_at"`
	DurationMS       int64           `json:"duration_ms"`
	Worker           string          `json:"worker"`
	SupersededBy     int64           `json:"superseded_by,omitempty"`
	// Withdrawn is set while the person's consent for the algorithm is not
	// in force; such results are out of clinical view.
	Withdrawn bool `json:"withdrawn"`
	// VersionRetired is set when the version that computed the result
	// has been retired: it stays in clinical view until a newer version's
	// result supersedes it, and says so. Not part of the content hash.
	VersionRetired bool `json:"version_retired,omitempty"`
}
