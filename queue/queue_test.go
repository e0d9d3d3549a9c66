package queue

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/riverqueue/river"

	"github.com/geneguard/geneguard/runner"
)

// TestRetryOrCancel: a permanent failure cancels the job (River will not
// run it again); a transient one is returned as is, for River to retry.
func TestRetryOrCancel(t *testing.T) {
	perm := fmt.Errorf("runner: x: %w", &runner.PermanentError{Err: errors.New("pgx: genome build mismatch")})
	var ce *river.JobCancelError
	if err := retryOrCancel(nil, 1, perm); !errors.As(err, &ce) || !errors.Is(err, perm) {
		t.Errorf("permanent: %v (%T); want a JobCancelError wrapping it", err, err)
	}
	for _, transient := range []error{errors.New("database is locked"), context.DeadlineExceeded} {
		if err := retryOrCancel(nil, 1, transient); err != transient {
			t.Errorf("transient %v: got %v; want it returned unchanged", transient, err)
		}
	}
}
