package main

import (
	"context"
	"log/slog"
	"time"
)

// auditSequenceEvery is how often serve, worker and demo processes move
// queued audit events into the hashed log (ARCHITECTURE.md decision 8). It
// bounds the window in which a committed event is not yet hashed; a run
// with nothing queued costs one short transaction.
const auditSequenceEvery = 200 * time.Millisecond

// startAuditSequencer sequences queued audit events every
// auditSequenceEvery until ctx ends. Every long-running process runs one;
// one sequences at a time, the others skip that tick.
func (a *app) startAuditSequencer(ctx context.Context) {
	go a.store.RunAuditSequencer(ctx, auditSequenceEvery, func(err error) {
		a.log.Error("audit: sequencing queued events failed", slog.Any("err", err))
	})
}

// sequenceAtExit sequences what this process queued, so that a one-shot
// command leaves nothing pending behind it.
func (a *app) sequenceAtExit() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := a.store.SequenceAudit(ctx); err != nil {
		a.log.Warn("audit: sequencing queued events at exit", slog.Any("err", err))
	}
}
