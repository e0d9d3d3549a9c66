package platform

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"iter"
	"slices"
	"time"

	"golang.org/x/mod/sumdb/note"

	// Aliased: this package already has a func named audit.
	auditlog "github.com/geneguard/geneguard/audit"
	"github.com/geneguard/geneguard/identity"
)

// AuditLog is what the [Auditor] needs from a store beyond [Tx.Audit]:
// reading the stored log, signing checkpoints over it, and building proofs.
// Implemented by *sqlstore.Store. Kept apart from Store/Tx because these
// run outside any action's transaction.
type AuditLog interface {
	// HashSource gives the proof functions the stored leaf hashes; a store
	// that also implements auditlog.NodeSource gets O(log n) proofs.
	auditlog.HashSource
	// AuditSize is the number of sequenced events (the next seq).
	AuditSize(ctx context.Context) (uint64, error)
	// AuditRows yields the stored events with from <= seq < to.
	AuditRows(ctx context.Context, from, to uint64) iter.Seq2[auditlog.Row, error]
	// SignCheckpoint sequences pending events, then signs a checkpoint
	// over every sequenced event, stores it and returns the note (the latest one unchanged when nothing was
	// appended since). It refuses when the stored log does not extend the
	// latest stored checkpoint, which v must open.
	SignCheckpoint(ctx context.Context, signer *auditlog.Signer, v note.Verifier) ([]byte, error)
	// Checkpoints returns the stored signed notes, smallest size first.
	Checkpoints(ctx context.Context) ([][]byte, error)
	// Receipt proves event seq against the latest checkpoint covering it.
	Receipt(ctx context.Context, seq uint64, v note.Verifier) (auditlog.Receipt, error)
	// VerifyAudit recomputes the tree from the stored events and checks
	// every stored checkpoint (and the external ones) against it; see
	// auditlog.Verify for the errors.
	VerifyAudit(ctx context.Context, v note.Verifier, external ...[]byte) (AuditSummary, error)
}

// AuditSummary is what a successful verification saw.
type AuditSummary struct {
	Events      uint64              `json:"events"`      // stored events, all verified
	Root        []byte              `json:"root"`        // RFC 6962 root of all Events
	Checkpoints int                 `json:"checkpoints"` // stored checkpoints, all verified
	Latest      auditlog.Checkpoint `json:"latest"`      // largest stored checkpoint (Size 0 when none)
	External    int                 `json:"external"`    // external checkpoints checked consistent
	// Results is how many result rows were checked against the content
	// hash their "run" event recorded (result.ContentHash).
	Results uint64 `json:"results"`
	// ResultsUnhashed is how many result rows only have run events from
	// before the hash was recorded: they exist and are named by the log,
	// but their content cannot be checked.
	ResultsUnhashed uint64 `json:"results_unhashed,omitempty"`
	// ResultsNew is how many result rows were written while verification
	// ran (their run event sequenced after it read the log): not checked.
	ResultsNew uint64 `json:"results_new,omitempty"`
	// Consents is how many consent rows were checked against the consent
	// audit event (consent.grant, consent.withdraw) that recorded them.
	Consents uint64 `json:"consents"`
	// ConsentsUnlinked is how many of them were matched to an event from
	// before events named their consent row: by person, algorithm and
	// order, not by row id.
	ConsentsUnlinked uint64 `json:"consents_unlinked,omitempty"`
	// ConsentsNew is how many consent rows were written while verification
	// ran (their event sequenced after it read the log): not checked.
	ConsentsNew uint64 `json:"consents_new,omitempty"`
	// Datasets is how many genotype dataset rows were checked against the
	// ingest event that recorded them.
	Datasets uint64 `json:"datasets"`
	// DatasetsNew is how many dataset rows were written while
	// verification ran: not checked.
	DatasetsNew uint64 `json:"datasets_new,omitempty"`
}

// ConsentTamperError reports a consent row that no longer matches the
// audit log: it differs from the consent event (consent.grant,
// consent.withdraw) that recorded it (person, algorithm, action, time,
// actor, channel), no event records it, or an event records a row that
// is gone. The log itself verified; the consent table was altered —
// which changes whose results are in clinical view.
type ConsentTamperError struct {
	// Consent is the consent row's id; 0 when an event from before events
	// named their row has no row left to match.
	Consent int64
	// Event is the index of the consent event; meaningless when HasEvent
	// is false (a row no event records).
	Event    uint64
	HasEvent bool
	Reason   string
}

func (e *ConsentTamperError) Error() string {
	switch {
	case !e.HasEvent:
		return fmt.Sprintf("audit: consent row %d: %s", e.Consent, e.Reason)
	case e.Consent == 0:
		return fmt.Sprintf("audit: the consent event at index %d: %s", e.Event, e.Reason)
	}
	return fmt.Sprintf("audit: consent row %d does not match its consent event at index %d: %s", e.Consent, e.Event, e.Reason)
}

// ResultTamperError reports a result row that no longer matches the audit
// log: its content hash differs from the one its "run" event recorded, its
// creation time differs from that event's, the event names a result that
// is gone, or no event names the result at all. The log itself verified;
// the results table was altered.
type ResultTamperError struct {
	Result int64 // the result's id
	// Event is the index of the run event that recorded the result; it is
	// meaningless when HasEvent is false (a result no event names).
	Event    uint64
	HasEvent bool
	Reason   string
}

func (e *ResultTamperError) Error() string {
	if !e.HasEvent {
		return fmt.Sprintf("audit: result %d: %s", e.Result, e.Reason)
	}
	return fmt.Sprintf("audit: result %d does not match its run event at index %d: %s", e.Result, e.Event, e.Reason)
}

// DatasetTamperError reports a genotype dataset row (or its sample
// mapping) that no longer matches the ingest event that recorded it, an
// ingest event whose dataset is gone, or a dataset no event records. The
// log itself verified; the datasets tables were altered. A dataset matters
// as much as a result: its sample mapping says whose genotypes a column is.
type DatasetTamperError struct {
	Dataset int64 // the dataset's id
	// Event is the index of the ingest event; meaningless when HasEvent is
	// false (a dataset no event records).
	Event    uint64
	HasEvent bool
	Reason   string
}

func (e *DatasetTamperError) Error() string {
	if !e.HasEvent {
		return fmt.Sprintf("audit: dataset %d: %s", e.Dataset, e.Reason)
	}
	return fmt.Sprintf("audit: dataset %d does not match its ingest event at index %d: %s", e.Dataset, e.Event, e.Reason)
}

// SamplesHash is the SHA-256 of a dataset's sample mapping (column index,
// sample ID, person pseudonym; one line each, in column order). The ingest
// event records it (details "samples_sha256") so that re-filing a column
// under another person in SQL fails `audit verify`.
func SamplesHash(samples []DatasetSample) string {
	s := slices.Clone(samples)
	slices.SortFunc(s, func(a, b DatasetSample) int { return cmp.Compare(a.Index, b.Index) })
	h := sha256.New()
	for _, smp := range s {
		fmt.Fprintf(h, "%d\t%s\t%s\n", smp.Index, smp.SampleID, smp.Person)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// Unsigned is the number of events no checkpoint covers yet: their
// deletion or alteration is undetectable until the next checkpoint.
func (s AuditSummary) Unsigned() uint64 { return s.Events - s.Latest.Size }

// Auditor is the audit log's use cases for the CLI and the web: sign a
// checkpoint, verify the whole log, hand out receipts. It holds the log's
// verifier key and, where this process may sign, the signer.
type Auditor struct {
	log      AuditLog
	signer   *auditlog.Signer // nil: verify and receipts only
	verifier note.Verifier
	vkey     string
}

// NewAuditor returns an Auditor for log whose checkpoints verify under
// vkey. signer may be nil; when set it must be vkey's private half.
//
// vkey may be empty when the log has no key yet (nothing was ever signed,
// as after `ingest` and `worker` alone): Verify then checks the events and
// the rows they record, and fails with ErrNoVerifierKey if a checkpoint is
// stored after all; receipts are refused.
func NewAuditor(log AuditLog, vkey string, signer *auditlog.Signer) (*Auditor, error) {
	var v note.Verifier
	if vkey != "" || signer != nil {
		var err error
		if v, err = auditlog.NewVerifier(vkey); err != nil {
			return nil, err
		}
	}
	if signer != nil && signer.Origin() != v.Name() {
		return nil, fmt.Errorf("platform: auditor: signing key %q and verifier key %q name different logs", signer.Origin(), v.Name())
	}
	return &Auditor{log: log, signer: signer, verifier: v, vkey: vkey}, nil
}

// VerifierKey is the log's public key (a signed-note vkey) to publish to
// patients and auditors; receipts verify offline under it.
func (a *Auditor) VerifierKey() string { return a.vkey }

// Verifier is the parsed [Auditor.VerifierKey].
func (a *Auditor) Verifier() note.Verifier { return a.verifier }

// ErrNoVerifierKey is returned by an Auditor made without a verifier key
// when a checkpoint must be opened: one is stored, or a receipt is asked.
var ErrNoVerifierKey = errors.New("no verifier key was given to check the log's signed checkpoints")

// ErrInconsistent is wrapped when the stored log does not extend a
// checkpoint signed earlier: the log or its checkpoint table was rolled
// back or rewritten.
var ErrInconsistent = errors.New("stored audit log is inconsistent with an earlier checkpoint")

// Checkpoint signs a checkpoint over every stored event and returns the
// signed note and its contents. last, when not nil, is a checkpoint this
// log signed earlier and that was kept outside the database (a witness's
// copy, or the operator's state file): signing is refused unless the
// stored log provably extends it, which catches a database restored to an
// older state or rewritten together with its checkpoint table.
func (a *Auditor) Checkpoint(ctx context.Context, last []byte) ([]byte, auditlog.Checkpoint, error) {
	if a.signer == nil {
		return nil, auditlog.Checkpoint{}, errors.New("platform: checkpoint: this process has no signing key")
	}
	if last != nil {
		if err := a.consistentWith(ctx, last); err != nil {
			return nil, auditlog.Checkpoint{}, fmt.Errorf("platform: checkpoint: refusing to sign: %w", err)
		}
	}
	n, err := a.log.SignCheckpoint(ctx, a.signer, a.verifier)
	if err != nil {
		return nil, auditlog.Checkpoint{}, err
	}
	cp, err := auditlog.OpenCheckpoint(n, a.verifier)
	if err != nil {
		return nil, auditlog.Checkpoint{}, fmt.Errorf("platform: checkpoint: %w", err)
	}
	return n, cp, nil
}

// consistentWith checks that the latest stored checkpoint extends last
// (with a consistency proof from the stored hashes, checked against both
// signed roots, so altered hashes can only make it fail).
func (a *Auditor) consistentWith(ctx context.Context, last []byte) error {
	lc, err := auditlog.OpenCheckpoint(last, a.verifier)
	if err != nil {
		return fmt.Errorf("earlier checkpoint: %w", err)
	}
	notes, err := a.log.Checkpoints(ctx)
	if err != nil {
		return err
	}
	if len(notes) == 0 {
		if lc.Size == 0 {
			return nil
		}
		return fmt.Errorf("%w: no checkpoint is stored, but one of size %d was signed", ErrInconsistent, lc.Size)
	}
	cur, err := auditlog.OpenCheckpoint(notes[len(notes)-1], a.verifier)
	if err != nil {
		return fmt.Errorf("latest stored checkpoint: %w", err)
	}
	switch {
	case cur.Size < lc.Size:
		return fmt.Errorf("%w: stored checkpoints end at size %d, but one of size %d was signed", ErrInconsistent, cur.Size, lc.Size)
	case cur.Size == lc.Size:
		if !bytes.Equal(cur.Root, lc.Root) {
			return fmt.Errorf("%w: two different roots signed for size %d", ErrInconsistent, lc.Size)
		}
		return nil
	case lc.Size == 0:
		return nil
	}
	p, err := auditlog.ConsistencyProof(ctx, a.log, lc.Size, cur.Size)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrInconsistent, err)
	}
	if err := auditlog.VerifyConsistency(lc.Size, cur.Size, p, lc.Root, cur.Root); err != nil {
		return fmt.Errorf("%w: %w", ErrInconsistent, err)
	}
	return nil
}

// Verify audits the whole stored log (see [AuditLog.VerifyAudit]); external
// checkpoints (e.g. one a patient or witness kept) must be consistent with
// it too. Errors: *auditlog.TamperError naming the first bad index,
// *auditlog.CheckpointError for a stored checkpoint that does not open.
func (a *Auditor) Verify(ctx context.Context, external ...[]byte) (AuditSummary, error) {
	if a.verifier == nil && len(external) > 0 {
		return AuditSummary{}, fmt.Errorf("a checkpoint kept outside the database was given: %w", ErrNoVerifierKey)
	}
	return a.log.VerifyAudit(ctx, a.verifier, external...)
}

// Receipt returns an offline-verifiable receipt for event seq, for the
// person the event is about (their access-log page) or the governance
// board and operators. An event no checkpoint covers yet is CodeNotFound
// with a message saying so; it gets a receipt after the next checkpoint.
// An index past the log is CodeNotFound saying there is no such event.
func (a *Auditor) Receipt(ctx context.Context, p identity.Principal, seq uint64) (auditlog.Receipt, error) {
	if p.Role != identity.RolePatient && p.Role != identity.RoleGovernance && p.Role != identity.RoleOperator {
		return auditlog.Receipt{}, &Error{Code: CodeForbidden, Message: "only the person and the governance board get access-log receipts"}
	}
	if a.verifier == nil {
		return auditlog.Receipt{}, ErrNoVerifierKey
	}
	r, err := a.log.Receipt(ctx, seq, a.verifier)
	if p.Role == identity.RolePatient && errors.Is(err, ErrNotCheckpointed) && !a.eventOf(ctx, seq, p.Person) {
		// Someone else's event, not yet signed: answered like any event
		// not in the patient's log (the log's size is not theirs either).
		return auditlog.Receipt{}, &Error{Code: CodeNotFound, Message: fmt.Sprintf("no event %d in your access log", seq), Err: ErrNotFound}
	}
	if p.Role == identity.RolePatient && errors.Is(err, ErrNotFound) && !errors.Is(err, ErrNotCheckpointed) {
		// The log's size is not the patient's business: an index past
		// the log reads like any other event not in their access log.
		return auditlog.Receipt{}, &Error{Code: CodeNotFound, Message: fmt.Sprintf("no event %d in your access log", seq), Err: ErrNotFound}
	}
	if err != nil {
		return auditlog.Receipt{}, err
	}
	if p.Role == identity.RolePatient {
		e, err := auditlog.ParseCanonical(r.Event)
		if err != nil {
			return auditlog.Receipt{}, fmt.Errorf("platform: receipt %d: %w", seq, err)
		}
		if e.Person != p.Person {
			// Same answer as a missing event: do not confirm that an
			// event about someone else exists.
			return auditlog.Receipt{}, &Error{Code: CodeNotFound, Message: fmt.Sprintf("no event %d in your access log", seq), Err: ErrNotFound}
		}
	}
	return r, nil
}

// eventOf reports whether stored event seq is about person (false when it
// cannot be read: the caller then answers as for someone else's).
func (a *Auditor) eventOf(ctx context.Context, seq uint64, person string) bool {
	for row, err := range a.log.AuditRows(ctx, seq, seq+1) {
		if err != nil {
			return false
		}
		e, err := auditlog.ParseCanonical(row.Canonical)
		return err == nil && e.Person == person
	}
	return false
}

// RunCheckpoints signs a checkpoint every interval until ctx ends (for
// `geneguard serve`). last is the last checkpoint signed before (e.g. read
// from the CLI's state file; nil if none); each new one must extend the one
// before, so a database rolled back while the server runs is refused.
// onSigned (may be nil) gets each new note, to persist it outside the
// database. A failed signing goes to onErr and is retried at the next
// tick; a refusal means tampering and must reach an operator.
func (a *Auditor) RunCheckpoints(ctx context.Context, every time.Duration, last []byte, onSigned func([]byte), onErr func(error)) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			n, _, err := a.Checkpoint(ctx, last)
			if err != nil {
				if ctx.Err() == nil && onErr != nil {
					onErr(err)
				}
				continue
			}
			if !bytes.Equal(n, last) && onSigned != nil {
				onSigned(n)
			}
			last = n
		}
	}
}
