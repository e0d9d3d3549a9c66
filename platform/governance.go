package platform

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/geneguard/geneguard/algorithm"
	"github.com/geneguard/geneguard/identity"
	"github.com/geneguard/geneguard/result"
)

// The registry lifecycle: draft → validated → approved → active → retired.
// Each step is one transaction with its audit event.

// Validator runs a version's validation cases through the engines the
// runner would use. The runner implements it; the service cannot import
// the runner (it imports the service's Store), so it is injected.
type Validator interface {
	Validate(ctx context.Context, v *algorithm.Version) (algorithm.Report, error)
}

// SetValidator installs the validator ValidateAlgorithm uses.
func (s *Service) SetValidator(v Validator) { s.validator = v }

// BatchSize is how many persons one batch job computes (see BatchJob).
const BatchSize = 2000

// batchThreshold: a trigger that queues more persons than this for one
// algorithm queues batch jobs; fewer get one job each, which a withdrawal
// cancels outright and a progress display counts one by one.
const batchThreshold = 64

// enqueueSamples queues computations for persons' samples: one job each
// when they are few, batches of one dataset when many.
func enqueueSamples(tx Tx, samples []DatasetSample, algorithmID, hash string, trig result.Trigger) (jobs int, err error) {
	if len(samples) > batchThreshold {
		b := Batches(samples, algorithmID, hash, trig, BatchSize)
		return len(b), tx.EnqueueBatches(b)
	}
	q := make([]ComputeJob, len(samples))
	for i, smp := range samples {
		q[i] = ComputeJob{Person: smp.Person, AlgorithmID: algorithmID, VersionHash: hash, Trigger: trig}
	}
	return len(q), tx.Enqueue(q)
}

// ResultChange is a person whose category (phenotype, risk category)
// changed when a new result superseded the previous one: the list of
// persons to notify after a new version is activated.
type ResultChange struct {
	Person      string    `json:"person"`
	AlgorithmID string    `json:"algorithm_id"`
	VersionHash string    `json:"version_hash"`
	ResultID    int64     `json:"result_id"`
	PreviousID  int64     `json:"previous_id"`
	OldCategory string    `json:"old_category"`
	NewCategory string    `json:"new_category"`
	At          time.Time `json:"at"`
}

func mayGovern(p identity.Principal, what string) error {
	if p.Role == identity.RoleGovernance || p.Role == identity.RoleSystem {
		return nil
	}
	return &Error{Code: CodeForbidden, Message: "only the governance board " + what}
}

func label(v *algorithm.Version) string { return v.Manifest.ID + "@" + v.Manifest.Version }

// SubmitAlgorithm stores a new version as a draft submitted by p: the
// submitter is the principal, not whatever the bundle says, so the four
// eyes rule compares accounts.
func (s *Service) SubmitAlgorithm(ctx context.Context, p identity.Principal, v *algorithm.Version) error {
	v.Status = algorithm.StatusDraft
	v.ApprovedBy = ""
	return s.RegisterAlgorithm(ctx, p, v)
}

// ValidateAlgorithm runs the version's validation cases through the
// engines. All passing moves a draft to validated; any failure keeps it a
// draft, stores the report (so reviewers see it) and returns a conflict
// error naming each failing case. Running the cases happens outside any
// transaction.
func (s *Service) ValidateAlgorithm(ctx context.Context, p identity.Principal, hash string) (algorithm.Report, error) {
	if p.Role != identity.RoleOperator && p.Role != identity.RoleGovernance && p.Role != identity.RoleSystem {
		return algorithm.Report{}, &Error{Code: CodeForbidden, Message: "only an operator or the governance board validates algorithms"}
	}
	if _, err := staffAccount(p); err != nil {
		return algorithm.Report{}, err
	}
	if s.validator == nil {
		return algorithm.Report{}, Errorf(CodeInternal, "platform: no validator configured")
	}
	var v *algorithm.Version
	if err := s.store.Read(ctx, func(tx Tx) error {
		var err error
		v, err = tx.Algorithm(hash)
		return err
	}); err != nil {
		return algorithm.Report{}, err
	}
	if v.Status != algorithm.StatusDraft {
		return algorithm.Report{}, &Error{Code: CodeConflict, Message: fmt.Sprintf("%s (%s) is %s; only a draft is validated", label(v), algorithm.ShortHash(hash), v.Status)}
	}
	rep, err := s.validator.Validate(ctx, v)
	if err != nil {
		return rep, fmt.Errorf("platform: validate %s: %w", label(v), err)
	}
	passed := rep.Passed()
	err = s.store.InTx(ctx, func(tx Tx) error {
		cur, err := tx.Algorithm(hash)
		if err != nil {
			return err
		}
		if cur.Status != algorithm.StatusDraft {
			return &Error{Code: CodeConflict, Message: fmt.Sprintf("%s changed to %s while its cases ran", label(v), cur.Status)}
		}
		rep.At = tx.Now()
		if err := tx.RecordValidation(hash, rep); err != nil {
			return err
		}
		details := map[string]string{"hash": hash, "cases": fmt.Sprint(len(rep.Cases)), "passed": fmt.Sprint(passed)}
		if passed {
			if err := tx.SetAlgorithmStatus(hash, algorithm.StatusValidated, ""); err != nil {
				return err
			}
		} else {
			details["failures"] = rep.Failures()
		}
		return audit(ctx, tx, p, "", "algorithm.validate", label(v), "registry", details)
	})
	if err != nil {
		return rep, err
	}
	if !passed {
		return rep, &Error{Code: CodeConflict, Message: fmt.Sprintf("%s failed validation; it stays a draft and cannot be approved: %s", label(v), rep.Failures())}
	}
	return rep, nil
}

// ApproveAlgorithm records the governance board's approval of a validated
// version. Four eyes: the approver must not be the submitter, however
// either account name is spelled (NormalizeAccount).
func (s *Service) ApproveAlgorithm(ctx context.Context, p identity.Principal, hash string) error {
	if p.Role != identity.RoleGovernance {
		return &Error{Code: CodeForbidden, Message: "only a member of the governance board approves algorithms"}
	}
	approver, err := staffAccount(p)
	if err != nil {
		return err
	}
	return s.store.InTx(ctx, func(tx Tx) error {
		v, err := tx.Algorithm(hash)
		if err != nil {
			return err
		}
		switch {
		case v.Status == algorithm.StatusDraft && v.Validation != nil && !v.Validation.Passed():
			return &Error{Code: CodeConflict, Message: fmt.Sprintf("%s failed validation and cannot be approved: %s", label(v), v.Validation.Failures())}
		case v.Status == algorithm.StatusDraft:
			return &Error{Code: CodeConflict, Message: fmt.Sprintf("%s has not been validated; run its validation cases first", label(v))}
		case v.Status != algorithm.StatusValidated:
			return &Error{Code: CodeConflict, Message: fmt.Sprintf("%s is %s; only a validated version can be approved", label(v), v.Status)}
		case sameAccount(approver, v.SubmittedBy):
			return &Error{Code: CodeConflict, Message: fmt.Sprintf("four eyes: %s submitted %s and cannot also approve it; another member of the governance board must", v.SubmittedBy, label(v))}
		}
		if err := tx.SetAlgorithmStatus(hash, algorithm.StatusApproved, approver); err != nil {
			return err
		}
		return audit(ctx, tx, p, "", "algorithm.approve", label(v), "registry", map[string]string{"hash": hash, "submitted_by": v.SubmittedBy})
	})
}

// ActivationReport says what activating a version set in motion.
type ActivationReport struct {
	Hash    string `json:"hash"`
	Retired string `json:"retired,omitempty"` // the previously active version
	Persons int    `json:"persons"`           // consented persons with genotypes
	Jobs    int    `json:"jobs"`              // batch jobs queued for them
}

// BuiltinApprover is recorded as the approver of a built-in version: one
// the platform itself registered and activated (see ActivateAlgorithm),
// so the registry says how it came to be active instead of showing no
// approver.
const BuiltinApprover = "system (built-in)"

// Activate makes an approved version the active one (retiring the previous
// active version) and queues a recomputation for every consented person
// with genotypes. The system principal may activate its own draft
// without the board: that is how the built-in versions are bootstrapped
// (demo, tests). Their validation cases, if they have any, run first and
// must pass, and BuiltinApprover is recorded as their approver.
func (s *Service) Activate(ctx context.Context, p identity.Principal, hash string) error {
	_, err := s.ActivateAlgorithm(ctx, p, hash)
	return err
}

// ActivateAlgorithm is Activate with its report. The recomputation is
// queued (as batch jobs of BatchSize persons of one dataset each when many)
// in the activation's transaction: either the version is active and every
// recomputation is queued, or neither.
func (s *Service) ActivateAlgorithm(ctx context.Context, p identity.Principal, hash string) (ActivationReport, error) {
	if err := mayGovern(p, "activates algorithms"); err != nil {
		return ActivationReport{}, err
	}
	activator, err := staffAccount(p)
	if err != nil {
		return ActivationReport{}, err
	}
	if p.Role == identity.RoleSystem {
		if err := s.validateBuiltin(ctx, p, hash); err != nil {
			return ActivationReport{}, err
		}
	}
	var rep ActivationReport
	err = s.store.InTx(ctx, func(tx Tx) error {
		rep = ActivationReport{Hash: hash}
		v, err := tx.Algorithm(hash)
		if err != nil {
			return err
		}
		builtin := isBuiltinBootstrap(p, v)
		if v.Status != algorithm.StatusApproved && !builtin {
			return &Error{Code: CodeConflict, Message: fmt.Sprintf("version %s is %s; only an approved version can be activated", algorithm.ShortHash(hash), v.Status)}
		}
		if builtin && v.Validation != nil && !v.Validation.Passed() {
			return &Error{Code: CodeConflict, Message: fmt.Sprintf("built-in %s failed validation and is not activated: %s", label(v), v.Validation.Failures())}
		}
		if old, err := activeVersion(tx, v.Manifest.ID); err == nil {
			if err := tx.SetAlgorithmStatus(old.Hash, algorithm.StatusRetired, ""); err != nil {
				return err
			}
			rep.Retired = old.Hash
		} else if ErrorCode(err) != CodeNotFound {
			return err
		}
		details := map[string]string{"hash": hash}
		if builtin {
			// Recorded as approved (with its time stamp) by the system's
			// built-in rule before it becomes active.
			if err := tx.SetAlgorithmStatus(hash, algorithm.StatusApproved, BuiltinApprover); err != nil {
				return err
			}
			details["approved_by"] = BuiltinApprover
		}
		if err := tx.SetAlgorithmStatus(hash, algorithm.StatusActive, ""); err != nil {
			return err
		}
		if err := tx.RecordActivator(hash, activator); err != nil {
			return err
		}
		samples, err := tx.ConsentedSamples(v.Manifest.ID)
		if err != nil {
			return err
		}
		jobs, err := enqueueSamples(tx, samples, v.Manifest.ID, hash, result.TriggerNewVersion)
		if err != nil {
			return err
		}
		rep.Persons, rep.Jobs = len(samples), jobs
		details["persons"], details["jobs"] = fmt.Sprint(len(samples)), fmt.Sprint(jobs)
		if rep.Retired != "" {
			details["retired"] = rep.Retired
		}
		return audit(ctx, tx, p, "", "algorithm.activate", label(v), "registry", details)
	})
	return rep, err
}

// isBuiltinBootstrap reports whether p activating v is the platform
// bootstrapping a built-in version: the system principal, a version the
// system itself registered, not yet approved by the board.
func isBuiltinBootstrap(p identity.Principal, v *algorithm.Version) bool {
	return p.Role == identity.RoleSystem && sameAccount(v.SubmittedBy, actorID(p)) &&
		(v.Status == algorithm.StatusDraft || v.Status == algorithm.StatusValidated)
}

// validateBuiltin runs a built-in draft's validation cases (if it has any)
// before the system activates it; a failure keeps it a draft, with its
// report stored, and is returned.
func (s *Service) validateBuiltin(ctx context.Context, p identity.Principal, hash string) error {
	var v *algorithm.Version
	if err := s.store.Read(ctx, func(tx Tx) error {
		var err error
		v, err = tx.Algorithm(hash)
		return err
	}); err != nil {
		return err
	}
	if !isBuiltinBootstrap(p, v) || v.Status != algorithm.StatusDraft || len(v.Manifest.Validation) == 0 {
		return nil
	}
	if s.validator == nil {
		return &Error{Code: CodeConflict, Message: fmt.Sprintf("built-in %s has %d validation cases but no validator is configured to run them; it is not activated", label(v), len(v.Manifest.Validation))}
	}
	_, err := s.ValidateAlgorithm(ctx, p, hash)
	return err
}

// Batches groups dataset samples into batch jobs of persons of one dataset
// each: at most size persons, in batches of even size, and — when a
// dataset has enough persons (batchThreshold per batch) — in at least
// spreadBatches of them, so that a recompute of a few hundred persons is
// shared by every worker instead of falling to one (each batch reads its
// dataset's file once, a small cost at that size).
func Batches(samples []DatasetSample, algorithmID, hash string, trig result.Trigger, size int) []BatchJob {
	var order []int64
	by := map[int64][]string{}
	for _, smp := range samples {
		if _, ok := by[smp.DatasetID]; !ok {
			order = append(order, smp.DatasetID)
		}
		by[smp.DatasetID] = append(by[smp.DatasetID], smp.Person)
	}
	var out []BatchJob
	for _, ds := range order {
		persons := by[ds]
		k := max((len(persons)+size-1)/size, min(spreadBatches, len(persons)/batchThreshold), 1)
		per := (len(persons) + k - 1) / k
		for chunk := range slices.Chunk(persons, per) {
			out = append(out, BatchJob{AlgorithmID: algorithmID, VersionHash: hash, Trigger: trig, DatasetID: ds, Persons: chunk})
		}
	}
	return out
}

// spreadBatches is how many batches a dataset with enough persons is at
// least split into: more than the workers one deployment runs.
const spreadBatches = 8

// RetireAlgorithm takes a version out of use. A retired version never runs
// again (the runner computes only active versions); its results stay, and
// stay in clinical view until a newer version supersedes them.
func (s *Service) RetireAlgorithm(ctx context.Context, p identity.Principal, hash, reason string) error {
	if err := mayGovern(p, "retires algorithms"); err != nil {
		return err
	}
	return s.store.InTx(ctx, func(tx Tx) error {
		v, err := tx.Algorithm(hash)
		if err != nil {
			return err
		}
		if !algorithm.CanMove(v.Status, algorithm.StatusRetired) {
			return &Error{Code: CodeConflict, Message: fmt.Sprintf("%s is already %s", label(v), v.Status)}
		}
		if err := tx.SetAlgorithmStatus(hash, algorithm.StatusRetired, ""); err != nil {
			return err
		}
		return audit(ctx, tx, p, "", "algorithm.retire", label(v), "registry", map[string]string{"hash": hash, "was": string(v.Status), "reason": reason})
	})
}

// AlgorithmVersion returns one version by hash, or by a unique prefix of
// at least 8 hex digits.
func (s *Service) AlgorithmVersion(ctx context.Context, p identity.Principal, hashOrPrefix string) (*algorithm.Version, error) {
	var out *algorithm.Version
	err := s.store.Read(ctx, func(tx Tx) error {
		var err error
		out, err = resolveVersion(tx, hashOrPrefix)
		return err
	})
	return out, err
}

// ResolveHash turns a hash prefix (as `algorithm list` prints it) into
// the full hash.
func (s *Service) ResolveHash(ctx context.Context, hashOrPrefix string) (string, error) {
	v, err := s.AlgorithmVersion(ctx, identity.System, hashOrPrefix)
	if err != nil {
		return "", err
	}
	return v.Hash, nil
}

func resolveVersion(tx Tx, h string) (*algorithm.Version, error) {
	if len(h) == 64 {
		return tx.Algorithm(h)
	}
	if len(h) < 8 {
		return nil, &Error{Code: CodeInvalid, Message: fmt.Sprintf("version hash %q is too short: give at least 8 hex digits", h)}
	}
	all, err := tx.AllAlgorithms()
	if err != nil {
		return nil, err
	}
	var found *algorithm.Version
	for _, v := range all {
		if len(v.Hash) >= len(h) && v.Hash[:len(h)] == h {
			if found != nil {
				return nil, &Error{Code: CodeInvalid, Message: fmt.Sprintf("version hash prefix %q is ambiguous", h)}
			}
			found = v
		}
	}
	if found == nil {
		return nil, &Error{Code: CodeNotFound, Message: "no algorithm version " + h, Err: ErrNotFound}
	}
	return found, nil
}

// ResultChanges lists the persons whose category a version's results
// changed: whom to notify after it was activated. Governance and
// operators only (the list is pseudonymous).
func (s *Service) ResultChanges(ctx context.Context, p identity.Principal, hash string) ([]ResultChange, error) {
	if p.Role != identity.RoleGovernance && p.Role != identity.RoleOperator && p.Role != identity.RoleSystem {
		return nil, &Error{Code: CodeForbidden, Message: "only the governance board and operators list result changes"}
	}
	var out []ResultChange
	err := s.store.Read(ctx, func(tx Tx) error {
		var err error
		out, err = tx.ResultChanges(hash)
		return err
	})
	return out, err
}
