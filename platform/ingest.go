package platform

import (
	"fmt"
	"strings"

	"github.com/geneguard/geneguard/algorithm"
)

// BuildChecker says whether an algorithm version can run on genotypes
// called on a genome build ("" = not stated); an error says why not. The
// runner implements it from each engine's bundle.
type BuildChecker interface {
	CheckBuild(v *algorithm.Version, build string) error
}

// SetBuildChecker installs the checker Ingest asks about each active
// algorithm. Without one every algorithm is taken to fit, and a mismatch
// shows only when its job runs (and is cancelled as a permanent failure).
func (s *Service) SetBuildChecker(c BuildChecker) { s.builds = c }

// AlgorithmFit is whether one active algorithm can use an ingested file.
type AlgorithmFit struct {
	AlgorithmID string `json:"algorithm_id"`
	Version     string `json:"version"`
	Fits        bool   `json:"fits"`
	// Reason says why not, or what is unchecked (a file that states no
	// build).
	Reason string `json:"reason,omitempty"`
}

// IngestReport is what an ingest did.
type IngestReport struct {
	Jobs int `json:"jobs"`
	// Algorithms lists every active algorithm and whether the file's
	// genome build fits it. Algorithms that do not fit get no jobs.
	Algorithms []AlgorithmFit `json:"algorithms"`
	// Replaces lists the earlier datasets of the same file whose sample
	// mapping this one replaces (a corrected sample map), and Remapped
	// counts the persons whose column changed or who are no longer named.
	Replaces []int64 `json:"replaces,omitempty"`
	Remapped int     `json:"remapped,omitempty"`
}

// Unfit names the algorithms that cannot use the file.
func (r *IngestReport) Unfit() []string {
	var out []string
	for _, a := range r.Algorithms {
		if !a.Fits {
			out = append(out, a.AlgorithmID)
		}
	}
	return out
}

// fitBuild checks the dataset's build against every active algorithm,
// records the answers in rep, and returns the algorithms that fit. The
// policy: a file no active algorithm can use is refused (nothing is
// ingested: its jobs could only fail); a file some can use is ingested and
// queued for those only, and the report names the others and why.
func (s *Service) fitBuild(d *Dataset, algs []*algorithm.Version, rep *IngestReport) ([]*algorithm.Version, error) {
	var fit []*algorithm.Version
	var why []string
	for _, a := range algs {
		f := AlgorithmFit{AlgorithmID: a.Manifest.ID, Version: a.Manifest.Version, Fits: true}
		if d.Build == "" {
			f.Reason = "the file states no genome build (no ##reference or ##contig assembly): not checked before running"
		} else if s.builds != nil {
			if err := s.builds.CheckBuild(a, d.Build); err != nil {
				f.Fits, f.Reason = false, err.Error()
				why = append(why, fmt.Sprintf("%s@%s: %s", a.Manifest.ID, a.Manifest.Version, f.Reason))
			}
		}
		rep.Algorithms = append(rep.Algorithms, f)
		if f.Fits {
			fit = append(fit, a)
		}
	}
	if len(algs) > 0 && len(fit) == 0 {
		return nil, &Error{Code: CodeInvalid, Message: fmt.Sprintf("the genotypes are on %s, which no active algorithm can use (%s); nothing was ingested", d.Build, strings.Join(why, "; "))}
	}
	return fit, nil
}
