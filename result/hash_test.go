package result

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"testing"
)

// TestContentHashEncoding pins the documented encoding, so an auditor's
// own implementation of it agrees with the platform's.
func TestContentHashEncoding(t *testing.T) {
	r := Result{
		ID: 7, Person: "P-1", AlgorithmID: "pgx-cyp2c19", VersionHash: "abc", InputFingerprint: "fp",
		DatasetID: 3, Trigger: TriggerConsent, Summary: "*1/*2", Category: "Intermediate Metabolizer",
		Output: json.RawMessage(`{"a":1}`), DurationMS: 12, Worker: "w1", SupersededBy: 9, Withdrawn: true,
	}
	enc := "geneguard result v1\n" +
		"person=3:P-1\n" + "algorithm_id=11:pgx-cyp2c19\n" + "version_hash=3:abc\n" + "input_fingerprint=2:fp\n" +
		"dataset_id=1:3\n" + "trigger=7:consent\n" + "summary=5:*1/*2\n" + "category=24:Intermediate Metabolizer\n" +
		"output=7:{\"a\":1}\n" + "duration_ms=2:12\n" + "worker=2:w1\n"
	sum := sha256.Sum256([]byte(enc))
	if got, want := r.ContentHash(), hex.EncodeToString(sum[:]); got != want {
		t.Fatalf("ContentHash = %s, want %s", got, want)
	}
	// Not covered: id, superseded_by, withdrawn, created_at, version.
	same := r
	same.ID, same.SupersededBy, same.Withdrawn, same.Version = 8, 0, false, "1.0.0"
	if same.ContentHash() != r.ContentHash() {
		t.Error("hash depends on a column it does not cover")
	}
	// Covered, and unambiguous across field boundaries.
	for name, mutate := range map[string]func(*Result){
		"summary":  func(x *Result) { x.Summary = "*1/*1" },
		"output":   func(x *Result) { x.Output = json.RawMessage(`{"a":2}`) },
		"person":   func(x *Result) { x.Person = "P-2" },
		"boundary": func(x *Result) { x.Summary, x.Category = "*1/*2I", "ntermediate Metabolizer" },
		"duration": func(x *Result) { x.DurationMS = 13 },
	} {
		m := r
		mutate(&m)
		if m.ContentHash() == r.ContentHash() {
			t.Errorf("%s: changing it does not change the hash", name)
		}
	}
}
