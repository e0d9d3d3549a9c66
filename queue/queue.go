// Package queue runs compute jobs from the durable River queue that the
// store writes them to. Any number of workers, in any number of processes,
// may share one database: River hands each job to one worker at a time, and
// a job whose worker died is rescued and run again, which the runner makes
// harmless.
package queue

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"time"

	"github.com/riverqueue/river"

	"github.com/geneguard/geneguard/runner"
	"github.com/geneguard/geneguard/store/sqlstore"
)

// Worker works compute jobs with a runner.
type Worker struct {
	river.WorkerDefaults[sqlstore.ComputeArgs]
	Runner *runner.Runner
	Log    *slog.Logger
}

// Work implements river.Worker.
func (w *Worker) Work(ctx context.Context, job *river.Job[sqlstore.ComputeArgs]) error {
	out, err := w.Runner.Compute(ctx, job.Args.ComputeJob)
	if err != nil {
		return err
	}
	if w.Log != nil {
		w.Log.Debug("computed", "job", job.ID, "person", job.Args.Person, "algorithm", job.Args.AlgorithmID, "outcome", out)
	}
	return nil
}

// Config tunes a worker client.
type Config struct {
	Workers int // concurrent jobs; default 2 (one per core here)
	// RescueAfter is how long a job may stay running before another worker
	// takes it over (a worker killed mid-job leaves it running).
	RescueAfter time.Duration
	Log         *slog.Logger
	ID          string
}

// Start starts a River client working compute jobs on the store's pool.
// Stop it with StopAndCancel or Stop.
func Start(ctx context.Context, st *sqlstore.Store, r *runner.Runner, cfg Config) (*river.Client[*sql.Tx], error) {
	if cfg.Workers <= 0 {
		cfg.Workers = 2
	}
	if cfg.RescueAfter <= 0 {
		cfg.RescueAfter = 2 * time.Minute
	}
	workers := river.NewWorkers()
	if err := river.AddWorkerSafely(workers, &Worker{Runner: r, Log: cfg.Log}); err != nil {
		return nil, fmt.Errorf("queue: %w", err)
	}
	rc := &river.Config{
		ID:                   cfg.ID,
		Queues:               map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: cfg.Workers}},
		Workers:              workers,
		FetchPollInterval:    250 * time.Millisecond,
		FetchCooldown:        50 * time.Millisecond,
		JobTimeout:           cfg.RescueAfter / 2,
		RescueStuckJobsAfter: cfg.RescueAfter,
		Logger:               cfg.Log,
	}
	if rc.Logger == nil {
		rc.Logger = slog.New(slog.DiscardHandler)
	}
	client, err := river.NewClient(st.Driver(), rc)
	if err != nil {
		return nil, fmt.Errorf("queue: %w", err)
	}
	if err := client.Start(ctx); err != nil {
		return nil, fmt.Errorf("queue: start: %w", err)
	}
	return client, nil
}
