package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/geneguard/geneguard/prs"
	"github.com/geneguard/geneguard/risk"
)

// writeReference stores the cohort's mean and SD as a prs bundle's
// reference.json. Only people with every scored genotype called count:
// under no imputation a missing call lowers the sum, and the runner
// refuses to place such a person on the distribution too.
func writeReference(path string, s prs.ScoreResult, cohort, input string) error {
	var sums []float64
	for _, x := range s.Samples {
		if x.Missing == 0 || x.Imputed == x.Missing {
			sums = append(sums, x.Sum)
		}
	}
	ref, err := risk.Empirical(sums, s.Matched, cohort, string(s.Policy.Missing),
		fmt.Sprintf("geneguard score --reference-out: %s scored on %s (%d of %d samples complete)", s.ID, filepath.Base(input), len(sums), len(s.Samples)))
	if err != nil {
		return fmt.Errorf("reference for %s: %w", s.ID, err)
	}
	b, err := json.MarshalIndent(ref, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}
