package result

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"
)

// ContentHashVersion names the encoding ContentHash hashes; it is the
// first line of that encoding, so a verifier can tell which rules apply.
const ContentHashVersion = "geneguard result v1"

// ContentHash is the SHA-256, in lowercase hex, of the result's content as
// stored, in this canonical encoding:
//
//	"geneguard result v1\n"
//	then for each field, in this order:
//	person, algorithm_id, version_hash, input_fingerprint, dataset_id,
//	trigger, summary, category, output, duration_ms, worker
//	the field's name, "=", the value's length in bytes (decimal), ":",
//	the value's bytes, "\n"
//
// Numbers (dataset_id, duration_ms) are written in decimal; output is the
// stored JSON bytes verbatim; every other value is the stored string. The
// length prefix makes the encoding unambiguous whatever the values hold.
//
// Not covered: the id (the run event names it next to this hash), created_at
// (equal to the run event's time for a new result; SQLite and PostgreSQL
// keep it at different precisions), the version label (read from the
// algorithm registry; version_hash is covered), superseded_by (the one
// column that legitimately changes when a later result replaces this one)
// and Withdrawn (derived from consent, not stored).
//
// The runner records it in the "run" audit event as details "result_sha256",
// so an edit of a result row after it was written shows in `audit verify`.
func (r *Result) ContentHash() string {
	h := sha256.New()
	h.Write([]byte(ContentHashVersion + "\n"))
	field := func(name, v string) {
		h.Write([]byte(name + "=" + strconv.Itoa(len(v)) + ":"))
		h.Write([]byte(v))
		h.Write([]byte{'\n'})
	}
	field("person", r.Person)
	field("algorithm_id", r.AlgorithmID)
	field("version_hash", r.VersionHash)
	field("input_fingerprint", r.InputFingerprint)
	field("dataset_id", strconv.FormatInt(r.DatasetID, 10))
	field("trigger", string(r.Trigger))
	field("summary", r.Summary)
	field("category", r.Category)
	field("output", string(r.Output))
	field("duration_ms", strconv.FormatInt(r.DurationMS, 10))
	field("worker", r.Worker)
	return hex.EncodeToString(h.Sum(nil))
}
