package algorithm

import (
	"fmt"
	"strings"
	"time"
)

// CaseResult is the outcome of one validation case.
type CaseResult struct {
	Name   string `json:"name"`
	Expect string `json:"expect"`
	Got    string `json:"got,omitempty"`
	// Error is set when the engine failed on the case's input.
	Error string `json:"error,omitempty"`
	Pass  bool   `json:"pass"`
}

// Report is what running a version's validation cases found. A version
// is validated only by a report whose every case passed.
type Report struct {
	Cases []CaseResult `json:"cases"`
	At    time.Time    `json:"at"`
}

// Passed reports whether the report holds at least one case and every
// case passed. A version without cases cannot be validated: nobody has
// shown it computes what its provider claims.
func (r Report) Passed() bool {
	if len(r.Cases) == 0 {
		return false
	}
	for _, c := range r.Cases {
		if !c.Pass {
			return false
		}
	}
	return true
}

// Failures describes the failing cases, one per line, naming each.
func (r Report) Failures() string {
	if len(r.Cases) == 0 {
		return "the manifest has no validation cases"
	}
	var out []string
	for _, c := range r.Cases {
		switch {
		case c.Pass:
		case c.Error != "":
			out = append(out, fmt.Sprintf("case %q: the engine failed: %s", c.Name, c.Error))
		default:
			out = append(out, fmt.Sprintf("case %q: expected %q, got %q", c.Name, c.Expect, c.Got))
		}
	}
	return strings.Join(out, "; ")
}

// FirstFailure describes the first failing case (or the lack of cases);
// empty when the report passed.
func (r Report) FirstFailure() string {
	if r.Passed() {
		return ""
	}
	f := r.Failures()
	if i := strings.Index(f, "; "); i >= 0 {
		f = f[:i]
	}
	return f
}

// ValidationSummary says in one line where a version's validation
// stands: "2/2 passed", "FAILED: 1 of 2 cases failed; first: case
// …", "no validation cases in the manifest", or "not run (2 cases)".
func ValidationSummary(v *Version) string {
	r := v.Validation
	switch {
	case r != nil && r.Passed():
		return fmt.Sprintf("%d/%d passed", len(r.Cases), len(r.Cases))
	case r != nil && len(r.Cases) == 0:
		return "FAILED: " + r.Failures()
	case r != nil:
		failed := 0
		for _, c := range r.Cases {
			if !c.Pass {
				failed++
			}
		}
		return fmt.Sprintf("FAILED: %d of %d cases failed; first: %s", failed, len(r.Cases), r.FirstFailure())
	case len(v.Manifest.Validation) == 0:
		return "no validation cases in the manifest"
	}
	if n := len(v.Manifest.Validation); n != 1 {
		return fmt.Sprintf("not run (%d cases)", n)
	}
	return "not run (1 case)"
}

// Matches reports whether an engine's output satisfies a case: its
// expectation equals the one-line summary or the category exactly.
func (c Case) Matches(summary, category string) bool {
	return c.Expect == summary || c.Expect == category
}

// Transitions are the lifecycle's allowed steps: draft → validated →
// approved → active → retired; a version that never became active may be
// retired (withdrawn) from any earlier state.
var transitions = map[Status][]Status{
	StatusDraft:     {StatusValidated, StatusRetired},
	StatusValidated: {StatusApproved, StatusRetired},
	StatusApproved:  {StatusActive, StatusRetired},
	StatusActive:    {StatusRetired},
}

// CanMove reports whether a version may go from one status to another.
func CanMove(from, to Status) bool {
	for _, s := range transitions[from] {
		if s == to {
			return true
		}
	}
	return false
}
