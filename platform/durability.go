package platform

import "context"

type lazyCommitKey struct{}

// WithLazyCommit marks the transactions run with ctx as ones whose commit
// need not wait for the disk (PostgreSQL's synchronous_commit = off; SQLite
// ignores it). The runner uses it for the write transactions of a
// computation, which are many and small during a recomputation: their
// fsyncs queued in front of every clinical request's commit and made the
// API's tail latency (see bench/recompute).
//
// It is safe only for writes that are recomputed when lost and that nobody
// can have relied on before they reach the disk, which holds for results:
//   - the job is marked done by River in a later, synchronous commit, and
//     PostgreSQL's WAL is flushed in order, so a completed job's results
//     are on disk; a crash before that loses at most results of a job that
//     is still running, which River rescues and the runner writes again
//     (idempotently, decision 3);
//   - a result, its run record and its audit event are in one transaction,
//     so they are lost together: never an action without its event;
//   - whoever reads a result commits a synchronous transaction after the
//     read (the audited clinical view), which flushes the WAL up to and
//     past the result's commit, so a result that was seen is durable.
//
// Consent changes, audit sequencing, checkpoints and every user action keep
// synchronous commits.
func WithLazyCommit(ctx context.Context) context.Context {
	return context.WithValue(ctx, lazyCommitKey{}, true)
}

// LazyCommit reports whether ctx allows a lazy commit (see WithLazyCommit).
func LazyCommit(ctx context.Context) bool {
	v, _ := ctx.Value(lazyCommitKey{}).(bool)
	return v
}
