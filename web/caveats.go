package web

import (
	"encoding/json"
	"fmt"
	"strings"
)

// caveatsFrom pulls out of a stored PGx output what must be read with the
// call: which allele-defining positions had no usable data and which
// alleles that leaves untested. Newer outputs carry them as "caveats"
// (pgx.Definitions.MissingNote); for results stored before that, they are
// derived from each call's "missingPositions". A caveat the summary
// already states is not repeated.
func caveatsFrom(raw json.RawMessage, summary string) []string {
	var out struct {
		Caveats []string `json:"caveats"`
		Calls   []struct {
			Gene             string   `json:"gene"`
			MissingPositions []string `json:"missingPositions"`
		} `json:"calls"`
	}
	if json.Unmarshal(raw, &out) != nil {
		return nil
	}
	cs := out.Caveats
	if cs == nil {
		for _, c := range out.Calls {
			if n := len(c.MissingPositions); n > 0 {
				cs = append(cs, fmt.Sprintf("%d %s position(s) had no usable data and were not assumed reference: %s; an allele defined only there could not be tested, so the call may miss it", n, c.Gene, strings.Join(c.MissingPositions, ", ")))
			}
		}
	}
	var shown []string
	for _, c := range cs {
		if !strings.Contains(summary, c) {
			shown = append(shown, c)
		}
	}
	return shown
}
