package runner

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strings"

	"github.com/geneguard/geneguard/algorithm"
	"github.com/geneguard/geneguard/platform"
	"github.com/geneguard/geneguard/prs"
)

// PermanentError is a failure that running the job again cannot mend: a
// genome build the bundle is not for, a malformed bundle or input, an
// undeclared or missing input, a version that does not exist. The queue
// cancels such a job instead of retrying it; everything else (a busy
// database, an unreadable file, a cancelled context) is transient and
// retried.
type PermanentError struct{ Err error }

func (e *PermanentError) Error() string { return e.Err.Error() }
func (e *PermanentError) Unwrap() error { return e.Err }

// IsPermanent reports whether err (or an error it wraps) is permanent.
func IsPermanent(err error) bool {
	var p *PermanentError
	return errors.As(err, &p)
}

// permanent marks err permanent unless it is a context error, an I/O
// error on a file or a changed genotype file, which another attempt may
// not meet (the volume mounted, the file restored).
func permanent(err error) error {
	if err == nil || IsPermanent(err) {
		return err
	}
	var pe *fs.PathError
	var ce *ChangedFileError
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) || errors.As(err, &pe) || errors.As(err, &ce) {
		return err
	}
	return &PermanentError{Err: err}
}

// BuildChecker is implemented by engines that can tell, before any
// genotypes are read, whether a version's bundle is for genotypes on a
// genome build.
type BuildChecker interface {
	CheckBuild(v *algorithm.Version, build string) error
}

// CheckBuild reports whether version v can run on genotypes called on
// build ("" = not stated, which only the run itself can check). It
// implements platform.BuildChecker; an error says why not.
func (r *Runner) CheckBuild(v *algorithm.Version, build string) error {
	eng, ok := r.Engines[v.Manifest.Kind]
	if !ok {
		return fmt.Errorf("no engine for kind %s", v.Manifest.Kind)
	}
	bc, ok := eng.(BuildChecker)
	if !ok || build == "" {
		return nil
	}
	return bc.CheckBuild(v, build)
}

// CheckBuild implements BuildChecker: every gene's definitions must be on
// the build (as the caller checks at run time).
func (e *PGxEngine) CheckBuild(v *algorithm.Version, build string) error {
	b, err := e.bundle(v)
	if err != nil {
		return err
	}
	for _, g := range b.Definitions.Genes {
		if g.GenomeBuild != "" && !strings.HasPrefix(g.GenomeBuild, build) {
			return fmt.Errorf("%s definitions are on %s, the genotypes are %s", g.Gene, g.GenomeBuild, build)
		}
	}
	return nil
}

// CheckBuild implements BuildChecker: the scoring file, and the
// pathogenic-variant list when there is one.
func (e *PRSEngine) CheckBuild(v *algorithm.Version, build string) error {
	b, err := e.bundle(v)
	if err != nil {
		return err
	}
	if err := prs.CheckBuild(b.score, build); err != nil {
		return err
	}
	if b.list != nil && b.list.Build != "" && b.list.Build != build {
		return fmt.Errorf("variant list %s is on %s, the genotypes are %s", b.list.Version, b.list.Build, build)
	}
	return nil
}

// CheckBuild implements BuildChecker: the variant list's build.
func (e *MonogenicEngine) CheckBuild(v *algorithm.Version, build string) error {
	b, err := e.bundle(v)
	if err != nil {
		return err
	}
	if b.list.Build != "" && b.list.Build != build {
		return fmt.Errorf("variant list %s is on %s, the genotypes are %s", b.list.Version, b.list.Build, build)
	}
	return nil
}

var _ platform.BuildChecker = (*Runner)(nil)
