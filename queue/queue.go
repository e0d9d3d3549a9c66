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
	"github.com/riverqueue/river/rivertype"

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
		return retryOrCancel(w.Log, job.JobRow, err)
	}
	if w.Log != nil {
		w.Log.Debug("computed", "job", job.ID, "person", job.Args.Person, "algorithm", job.Args.AlgorithmID, "outcome", out)
	}
	return nil
}

// BatchWorker works batch compute jobs (many persons of one dataset).
type BatchWorker struct {
	river.WorkerDefaults[sqlstore.BatchArgs]
	Runner *runner.Runner
	Log    *slog.Logger
	// Limit is how long a batch may run; a batch running longer (its
	// worker died) is rescued after it. It must stay finite: River never
	// rescues a job without a timeout.
	Limit time.Duration
}

// Work implements river.Worker.
func (w *BatchWorker) Work(ctx context.Context, job *river.Job[sqlstore.BatchArgs]) error {
	out, err := w.Runner.ComputeBatch(ctx, job.Args.BatchJob)
	if err != nil {
		return retryOrCancel(w.Log, job.JobRow, err)
	}
	if w.Log != nil {
		w.Log.Debug("computed batch", "job", job.ID, "algorithm", job.Args.AlgorithmID, "persons", len(job.Args.Persons), "outcomes", out)
	}
	return nil
}

// retryOrCancel returns a transient error for River to retry, and cancels
// the job on a permanent one (a genome build the bundle is not for, a
// malformed bundle or input): every retry would fail the same way, and the
// runner has recorded the failed run once already.
//
// A transient failure is said too (a changed genotype file, an unmounted
// volume): an operator watching a worker must not see silence while jobs
// keep failing.
func retryOrCancel(log *slog.Logger, job *rivertype.JobRow, err error) error {
	if !runner.IsPermanent(err) {
		if log != nil {
			what := "job failed, will be retried"
			if job.Attempt >= job.MaxAttempts {
				what = "job failed on its last attempt: discarded, not retried"
			}
			log.Warn(what, "job", job.ID, "attempt", job.Attempt, "of", job.MaxAttempts, "error", err)
		}
		return err
	}
	if log != nil {
		log.Warn("job cancelled: permanent failure, not retried", "job", job.ID, "error", err)
	}
	return river.JobCancel(err)
}

// Timeout lets a batch run as long as the rescue interval, twice a single
// job's limit.
func (w *BatchWorker) Timeout(*river.Job[sqlstore.BatchArgs]) time.Duration { return w.Limit }

// ageArgs is the daily age-milestone pass, a River periodic job: River's
// elected leader inserts it, so N workers run it once a day between them.
type ageArgs struct{}

func (ageArgs) Kind() string { return "age-milestones" }

// AgeWorker runs the age-milestone pass for the day it runs.
type AgeWorker struct {
	river.WorkerDefaults[ageArgs]
	Pass func(ctx context.Context, day time.Time) error
}

// Work implements river.Worker.
func (w *AgeWorker) Work(ctx context.Context, job *river.Job[ageArgs]) error {
	return w.Pass(ctx, time.Now().UTC())
}

// Config tunes a worker client.
type Config struct {
	Workers int // concurrent jobs; default 2 (one per core here)
	// RescueAfter is how long a job may stay running before another worker
	// takes it over (a worker killed mid-job leaves it running).
	RescueAfter time.Duration
	Log         *slog.Logger
	ID          string
	// AgeMilestones, when set, is run daily (and at start) as a River
	// periodic job: the scheduled age-milestone trigger.
	AgeMilestones func(ctx context.Context, day time.Time) error
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
	if err := river.AddWorkerSafely(workers, &BatchWorker{Runner: r, Log: cfg.Log, Limit: cfg.RescueAfter}); err != nil {
		return nil, fmt.Errorf("queue: %w", err)
	}
	var periodic []*river.PeriodicJob
	if cfg.AgeMilestones != nil {
		if err := river.AddWorkerSafely(workers, &AgeWorker{Pass: cfg.AgeMilestones}); err != nil {
			return nil, fmt.Errorf("queue: %w", err)
		}
		periodic = append(periodic, river.NewPeriodicJob(river.PeriodicInterval(24*time.Hour),
			func() (river.JobArgs, *river.InsertOpts) { return ageArgs{}, nil },
			&river.PeriodicJobOpts{RunOnStart: true}))
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
		PeriodicJobs:         periodic,
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
