package queue

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/geneguard/geneguard/runner"
)

// TestRetryOrCancel: a permanent failure cancels the job (River will not
// run it again); a transient one is returned as is, for River to retry.
func TestRetryOrCancel(t *testing.T) {
	var logged bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logged, nil))
	job := &rivertype.JobRow{ID: 1, Attempt: 2, MaxAttempts: 10}
	perm := fmt.Errorf("runner: x: %w", &runner.PermanentError{Err: errors.New("pgx: genome build mismatch")})
	var ce *river.JobCancelError
	if err := retryOrCancel(log, job, perm); !errors.As(err, &ce) || !errors.Is(err, perm) {
		t.Errorf("permanent: %v (%T); want a JobCancelError wrapping it", err, err)
	}
	for _, transient := range []error{errors.New("database is locked"), context.DeadlineExceeded} {
		if err := retryOrCancel(log, job, transient); err != transient {
			t.Errorf("transient %v: got %v; want it returned unchanged", transient, err)
		}
	}
	last := &rivertype.JobRow{ID: 2, Attempt: 10, MaxAttempts: 10}
	if err := retryOrCancel(log, last, errors.New("disk gone")); err == nil {
		t.Error("a transient failure on the last attempt was swallowed")
	}
	for _, want := range []string{"job cancelled: permanent failure", "job failed, will be retried", "attempt=2", "database is locked", "job failed on its last attempt: discarded"} {
		if !strings.Contains(logged.String(), want) {
			t.Errorf("log does not say %q:\n%s", want, logged.String())
		}
	}
}
