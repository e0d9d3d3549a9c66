package web

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
)

func TestCaveatsFrom(t *testing.T) {
	note := "1 of 12 CYP2C19 positions missing: rs12248560 (*17) — call may be *1/*1 only because *17 could not be tested"
	newOut := json.RawMessage(`{"calls":[{"gene":"CYP2C19","missingPositions":["rs12248560"]}],"caveats":["` + note + `"]}`)
	if got := caveatsFrom(newOut, "CYP2C19 *1/*1 — Normal Metabolizer"); !slices.Equal(got, []string{note}) {
		t.Errorf("caveats %q", got)
	}
	// The summary already says it: not twice on the card.
	if got := caveatsFrom(newOut, "CYP2C19 *1/*1 — Normal Metabolizer (caution: "+note+")"); len(got) != 0 {
		t.Errorf("repeated caveat %q", got)
	}
	// A result stored before caveats were: derived from the call.
	old := json.RawMessage(`{"calls":[{"gene":"CYP2C19","missingPositions":["rs12248560","rs4244285"]}]}`)
	got := caveatsFrom(old, "CYP2C19 *1/*1 — Normal Metabolizer")
	if len(got) != 1 || !strings.Contains(got[0], "2 CYP2C19 position(s)") || !strings.Contains(got[0], "rs12248560, rs4244285") {
		t.Errorf("legacy caveats %q", got)
	}
	for _, raw := range []string{`{"calls":[{"gene":"CYP2C19"}]}`, `{"assessment":{}}`, `not json`} {
		if got := caveatsFrom(json.RawMessage(raw), ""); len(got) != 0 {
			t.Errorf("%s: caveats %q", raw, got)
		}
	}
}
