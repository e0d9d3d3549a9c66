package platform

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/geneguard/geneguard/algorithm"
	"github.com/geneguard/geneguard/consent"
	"github.com/geneguard/geneguard/identity"
	"github.com/geneguard/geneguard/result"
	"github.com/geneguard/geneguard/web/reqmeta"
)

// Service implements the platform's use cases on a Store.
type Service struct {
	store     Store
	pseudo    *identity.Pseudonymizer
	validator Validator
	builds    BuildChecker
	// Now is the service's clock (tests set it); nil means time.Now. It
	// decides what "today" is for checks such as the age-milestone pass
	// refusing future days; records are stamped by the store's clock.
	Now func() time.Time
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

// NewService returns a service on store; pseudo turns personal codes into
// the pseudonyms records are kept under.
func NewService(store Store, pseudo *identity.Pseudonymizer) *Service {
	return &Service{store: store, pseudo: pseudo}
}

// Store returns the underlying store (for the runner and the CLI).
func (s *Service) Store() Store { return s.store }

// PseudonymFor returns the pseudonym of a personal code.
func (s *Service) PseudonymFor(code identity.PersonalCode) string { return s.pseudo.Pseudonym(code) }

// audit appends an event for principal p.
func audit(ctx context.Context, tx Tx, p identity.Principal, person, action, object, purpose string, details map[string]string) error {
	m := reqmeta.From(ctx)
	if details == nil {
		details = map[string]string{}
	}
	if m.XRoadClient != "" {
		details["xroad_client"] = m.XRoadClient
	}
	if m.XRoadUserID != "" {
		details["xroad_user"] = m.XRoadUserID
	}
	actor, err := staffAccount(p)
	if err != nil {
		return err
	}
	return tx.Audit(AuditEntry{Actor: actor, Role: string(p.Role), Person: person, Action: action, Object: object, Purpose: purpose, RequestID: m.RequestID}, details)
}

// actorID is how a principal is named in stored records: a patient by
// pseudonym, because the personal code must never be stored; staff and
// systems by their account, in its one spelling (NormalizeAccount).
func actorID(p identity.Principal) string {
	if a, err := staffAccount(p); err == nil {
		return a
	}
	return p.Subject
}

// SignIn turns an authenticated subject into a principal. For a patient,
// subject is a personal code (bare or "EE"-prefixed, as TARA sends it).
func (s *Service) SignIn(ctx context.Context, subject string, role identity.Role) (identity.Principal, error) {
	p := identity.Principal{Subject: subject, Name: subject, Role: role}
	switch role {
	case identity.RolePatient:
		code, err := identity.ParsePersonalCode(subject)
		if err != nil {
			return p, &Error{Code: CodeInvalid, Message: err.Error(), Err: err}
		}
		p.Subject = "EE" + string(code)
		p.Person = s.pseudo.Pseudonym(code)
		err = s.store.InTx(ctx, func(tx Tx) error {
			person, err := tx.Person(p.Person)
			switch {
			case err == nil:
				p.Name = person.DisplayName
			case IsNotFound(err):
				// A citizen may opt in before any genotype arrives; the
				// record holds only what the code itself says.
				if err := tx.UpsertPerson(Person{ID: p.Person, BirthDate: code.BirthDate(), Sex: code.Sex()}); err != nil {
					return err
				}
			default:
				return err
			}
			return audit(ctx, tx, p, p.Person, "login", "portal", "patient self-service", nil)
		})
		return p, err
	case identity.RolePhysician, identity.RoleGovernance, identity.RoleOperator:
		err := s.store.InTx(ctx, func(tx Tx) error {
			return audit(ctx, tx, p, "", "login", "portal", string(role), nil)
		})
		return p, err
	}
	return p, Errorf(CodeInvalid, "unknown role %q", role)
}

// mayReadPerson is the one place that says who may see a person's record:
// the person themself, a physician (treatment relationship is asserted by
// the EHR in production; recorded as the purpose), or the system.
func mayReadPerson(p identity.Principal, person string) error {
	switch p.Role {
	case identity.RolePatient:
		if p.Person == person {
			return nil
		}
	case identity.RolePhysician, identity.RoleSystem, identity.RoleOperator:
		return nil
	}
	return &Error{Code: CodeForbidden, Message: "you may not read this person's record"}
}

// mayConsent: only the person (or the operator recording a paper consent).
func mayConsent(p identity.Principal, person string) error {
	switch p.Role {
	case identity.RolePatient:
		if p.Person == person {
			return nil
		}
	case identity.RoleOperator:
		return nil
	}
	return &Error{Code: CodeForbidden, Message: "only the person themself can give or withdraw consent"}
}

// PersonByCode finds a person by personal code.
func (s *Service) PersonByCode(ctx context.Context, p identity.Principal, code string) (*Person, error) {
	c, err := identity.ParsePersonalCode(code)
	if err != nil {
		return nil, &Error{Code: CodeInvalid, Message: err.Error(), Err: err}
	}
	return s.Person(ctx, p, s.pseudo.Pseudonym(c))
}

// Person returns a person's record.
func (s *Service) Person(ctx context.Context, p identity.Principal, id string) (*Person, error) {
	if err := mayReadPerson(p, id); err != nil {
		return nil, s.refused(ctx, p, id, "view.refused", "record", "", err)
	}
	var out *Person
	err := s.store.Read(ctx, func(tx Tx) error {
		var err error
		out, err = tx.Person(id)
		return err
	})
	return out, err
}

// Consents lists every active algorithm with the person's consent state.
func (s *Service) Consents(ctx context.Context, p identity.Principal, person string) ([]ConsentState, error) {
	if err := mayReadPerson(p, person); err != nil {
		return nil, s.refused(ctx, p, person, "view.refused", "consents", "", err)
	}
	var out []ConsentState
	err := s.store.Read(ctx, func(tx Tx) error {
		if _, err := tx.Person(person); err != nil {
			return err
		}
		algs, err := tx.ActiveAlgorithms()
		if err != nil {
			return err
		}
		active := map[string]bool{}
		for _, a := range algs {
			active[a.Manifest.ID] = true
			h, err := tx.ConsentHistory(person, a.Manifest.ID)
			if err != nil {
				return err
			}
			out = append(out, ConsentState{AlgorithmID: a.Manifest.ID, Title: a.Manifest.Title, Purpose: a.Manifest.Purpose, Kind: a.Manifest.Kind, Granted: consent.Granted(h), History: h, Active: a})
		}
		// An algorithm with no active version (all retired) that the
		// person ever consented to stays listed: they must be able to see
		// and withdraw a consent whose results may still be in view.
		ids, err := tx.AlgorithmIDs()
		if err != nil {
			return err
		}
		var latest map[string]*algorithm.Version
		for _, id := range ids {
			if active[id] {
				continue
			}
			h, err := tx.ConsentHistory(person, id)
			if err != nil || len(h) == 0 {
				if err != nil {
					return err
				}
				continue
			}
			if latest == nil {
				// Rare (a retired algorithm someone consented to), so
				// the whole registry is read only then.
				all, err := tx.AllAlgorithms()
				if err != nil {
					return err
				}
				latest = map[string]*algorithm.Version{}
				for _, v := range all {
					if l := latest[v.Manifest.ID]; l == nil || v.CreatedAt.After(l.CreatedAt) {
						latest[v.Manifest.ID] = v
					}
				}
			}
			st := ConsentState{AlgorithmID: id, Title: id, Granted: consent.Granted(h), History: h}
			if v := latest[id]; v != nil {
				st.Title, st.Purpose, st.Kind = v.Manifest.Title, v.Manifest.Purpose, v.Manifest.Kind
			}
			out = append(out, st)
		}
		return nil
	})
	return out, err
}

// GrantConsent records an opt-in and, in the same transaction, queues the
// computation it allows when the person has genotypes.
func (s *Service) GrantConsent(ctx context.Context, p identity.Principal, person, algorithmID, channel string) error {
	if err := mayConsent(p, person); err != nil {
		return s.refused(ctx, p, person, "consent.refused", algorithmID, "consent", err)
	}
	return s.store.InTx(ctx, func(tx Tx) error {
		if _, err := tx.Person(person); err != nil {
			return err
		}
		if err := knownAlgorithm(tx, algorithmID); err != nil {
			return err
		}
		active, err := activeVersion(tx, algorithmID)
		if err != nil {
			return err
		}
		h, err := tx.ConsentHistory(person, algorithmID)
		if err != nil {
			return err
		}
		if consent.Granted(h) {
			return nil // already in force: nothing changes, nothing to audit
		}
		id, err := tx.AppendConsent(consent.Event{Person: person, Algorithm: algorithmID, Action: consent.Grant, Actor: actorID(p), Channel: channel})
		if err != nil {
			return err
		}
		if err := audit(ctx, tx, p, person, "consent.grant", algorithmID, "consent", map[string]string{"channel": channel, "consent": fmt.Sprint(id)}); err != nil {
			return err
		}
		if _, _, err := tx.LatestSample(person); err != nil {
			if ErrorCode(err) == CodeNotFound {
				return nil // no genotypes yet; ingest will trigger
			}
			return err
		}
		return tx.Enqueue([]ComputeJob{{Person: person, AlgorithmID: algorithmID, VersionHash: active.Hash, Trigger: result.TriggerConsent}})
	})
}

// WithdrawConsent records an opt-out. It takes effect at once: waiting jobs
// are cancelled in the same transaction, the runner re-checks consent when
// it writes, and reads filter on consent, so results leave clinical view.
func (s *Service) WithdrawConsent(ctx context.Context, p identity.Principal, person, algorithmID, channel string) error {
	if err := mayConsent(p, person); err != nil {
		return s.refused(ctx, p, person, "consent.refused", algorithmID, "consent", err)
	}
	return s.store.InTx(ctx, func(tx Tx) error {
		if _, err := tx.Person(person); err != nil {
			return err
		}
		// A retired algorithm may still be opted out of; one never
		// registered is a mistake, not a withdrawal with nothing to do.
		if err := knownAlgorithm(tx, algorithmID); err != nil {
			return err
		}
		h, err := tx.ConsentHistory(person, algorithmID)
		if err != nil {
			return err
		}
		if !consent.Granted(h) {
			return nil
		}
		id, err := tx.AppendConsent(consent.Event{Person: person, Algorithm: algorithmID, Action: consent.Withdraw, Actor: actorID(p), Channel: channel})
		if err != nil {
			return err
		}
		n, err := tx.CancelJobs(person, algorithmID)
		if err != nil {
			return err
		}
		return audit(ctx, tx, p, person, "consent.withdraw", algorithmID, "consent", map[string]string{"channel": channel, "jobs_cancelled": fmt.Sprint(n), "consent": fmt.Sprint(id)})
	})
}

// knownAlgorithm returns a CodeNotFound error naming the registered ids
// when no version of algorithmID was ever registered. Without it a typo
// reads as an answer: an empty consent history ("default deny") or a
// withdrawal that "worked" because nothing was in force.
func knownAlgorithm(tx Tx, algorithmID string) error {
	ids, err := tx.AlgorithmIDs()
	if err != nil {
		return err
	}
	if slices.Contains(ids, algorithmID) {
		return nil
	}
	known := "none is registered yet"
	if len(ids) > 0 {
		known = "registered: " + strings.Join(ids, ", ")
	}
	return &Error{Code: CodeNotFound, Message: fmt.Sprintf("no algorithm %q (%s)", algorithmID, known), Err: ErrNotFound}
}

func activeVersion(tx Tx, algorithmID string) (*algorithm.Version, error) {
	algs, err := tx.ActiveAlgorithms()
	if err != nil {
		return nil, err
	}
	for _, a := range algs {
		if a.Manifest.ID == algorithmID {
			return a, nil
		}
	}
	return nil, &Error{Code: CodeNotFound, Message: fmt.Sprintf("no active algorithm %q", algorithmID)}
}

// Results returns the person's current results in clinical view: only
// algorithms whose consent is in force. The view is audited with purpose,
// which must pass CheckPurpose ("" records "treatment").
func (s *Service) Results(ctx context.Context, p identity.Principal, person, purpose string) ([]result.Result, error) {
	if err := mayReadPerson(p, person); err != nil {
		return nil, s.refused(ctx, p, person, "view.refused", "results", "", err)
	}
	if purpose == "" {
		// A caller stating none (the service's own pages) views to treat.
		purpose = "treatment"
	}
	purpose, err := CheckPurpose(purpose)
	if err != nil {
		return nil, err
	}
	return s.clinicalView(ctx, p, person, "view", purpose, map[string]string{})
}

// PurposeEmergency is the purpose recorded for break-glass access.
const PurposeEmergency = "emergency"

// MaxBreakGlassReason is the longest break-glass reason, in characters.
const MaxBreakGlassReason = 500

// BreakGlass is emergency access: a physician with no treatment
// relationship with the person (so no purpose the normal view could
// record) opens the person's results, stating why. The reason is
// mandatory; the access is audited as "break-glass" with it and shown
// prominently in the person's access log. It shows exactly what Results
// shows: break-glass stands in for the missing care relationship, never
// for consent, so results whose consent was withdrawn (or never given)
// stay hidden.
func (s *Service) BreakGlass(ctx context.Context, p identity.Principal, person, reason string) ([]result.Result, error) {
	if p.Role != identity.RolePhysician {
		return nil, s.refused(ctx, p, person, "view.refused", "results (break-glass)", PurposeEmergency, &Error{Code: CodeForbidden, Message: "Only a physician may use emergency (break-glass) access."})
	}
	reason = strings.TrimSpace(reason)
	switch {
	case reason == "":
		return nil, &Error{Code: CodeInvalid, Message: "Emergency access needs a reason: say why you must see this patient's results now. It is shown to the patient."}
	case !utf8.ValidString(reason):
		return nil, &Error{Code: CodeInvalid, Message: "The reason is not valid text (UTF-8)."}
	case utf8.RuneCountInString(reason) > MaxBreakGlassReason:
		return nil, &Error{Code: CodeInvalid, Message: fmt.Sprintf("The reason is longer than %d characters.", MaxBreakGlassReason)}
	}
	return s.clinicalView(ctx, p, person, "break-glass", PurposeEmergency, map[string]string{"reason": reason})
}

// clinicalView reads the person's current results with consent in force
// and audits the read as action, with purpose and details, in one
// transaction.
func (s *Service) clinicalView(ctx context.Context, p identity.Principal, person, action, purpose string, details map[string]string) ([]result.Result, error) {
	var out []result.Result
	err := s.store.InTx(ctx, func(tx Tx) error {
		out = nil
		if _, err := tx.Person(person); err != nil {
			return err
		}
		rs, err := tx.CurrentResults(person)
		if err != nil {
			return err
		}
		var withdrawn []string
		for _, r := range rs {
			h, err := tx.ConsentHistory(person, r.AlgorithmID)
			if err != nil {
				return err
			}
			if !consent.Granted(h) {
				continue
			}
			// A result computed from a column a corrected sample map
			// no longer gives this person is another person's: it
			// leaves the clinical view (recorded in the audit event).
			if newer, err := tx.MappingReplaced(person, r.DatasetID); err != nil {
				return err
			} else if newer != 0 {
				withdrawn = append(withdrawn, fmt.Sprint(r.ID))
				continue
			}
			out = append(out, r)
		}
		ids := make([]string, len(out))
		for i, r := range out {
			ids[i] = fmt.Sprint(r.ID)
		}
		details["results"] = fmt.Sprint(ids)
		if len(withdrawn) > 0 {
			details["withdrawn_sample_map_corrected"] = fmt.Sprint(withdrawn)
		}
		return audit(ctx, tx, p, person, action, "results", purpose, details)
	})
	return out, err
}

// Algorithms lists registered algorithm versions.
func (s *Service) Algorithms(ctx context.Context, p identity.Principal) ([]*algorithm.Version, error) {
	var out []*algorithm.Version
	err := s.store.Read(ctx, func(tx Tx) error {
		var err error
		out, err = tx.AllAlgorithms()
		return err
	})
	return out, err
}

// AuditTrail lists the audit events about a person.
func (s *Service) AuditTrail(ctx context.Context, p identity.Principal, person string) ([]AuditEntry, error) {
	if p.Role != identity.RolePatient && p.Role != identity.RoleGovernance && p.Role != identity.RoleOperator {
		return nil, s.refused(ctx, p, person, "view.refused", "access log", "", &Error{Code: CodeForbidden, Message: "only the person and the governance board read an access log"})
	}
	if p.Role == identity.RolePatient && p.Person != person {
		return nil, s.refused(ctx, p, person, "view.refused", "access log", "", &Error{Code: CodeForbidden, Message: "you may read only your own access log"})
	}
	// Number what is queued first, so that the person sees every entry
	// with its log number (and a receipt once the next checkpoint covers
	// it), including an access made a moment ago. If that fails, the
	// entries are still listed, marked pending: a person must see every
	// access to their data, sealed or not. The failure itself is reported
	// by the periodic sequencer, checkpoint signing and verification.
	if sq, ok := s.store.(AuditSequencer); ok {
		sq.SequenceAudit(ctx)
	}
	var out []AuditEntry
	err := s.store.Read(ctx, func(tx Tx) error {
		var err error
		out, err = tx.AuditTrail(person)
		return err
	})
	return out, err
}

// JobStats reports queue progress.
func (s *Service) JobStats(ctx context.Context) (JobStats, error) { return s.store.JobStats(ctx) }

// RegisterAlgorithm stores a new version as a draft submitted by p.
func (s *Service) RegisterAlgorithm(ctx context.Context, p identity.Principal, v *algorithm.Version) error {
	if p.Role != identity.RoleOperator && p.Role != identity.RoleSystem {
		return &Error{Code: CodeForbidden, Message: "only an operator submits algorithms"}
	}
	// The submitter is the principal, not whatever the bundle says, so the
	// four-eyes rule compares accounts.
	submitter, err := staffAccount(p)
	if err != nil {
		return err
	}
	// algorithm.New validated the manifest, but a Version can be built by
	// hand: the manifest rules hold for whatever is registered.
	if err := v.Manifest.Validate(); err != nil {
		return &Error{Code: CodeInvalid, Message: err.Error(), Err: err}
	}
	v.SubmittedBy = submitter
	return s.store.InTx(ctx, func(tx Tx) error {
		if err := tx.InsertAlgorithm(v); err != nil {
			return err
		}
		return audit(ctx, tx, p, "", "algorithm.submit", v.Manifest.ID+"@"+v.Manifest.Version, "registry", map[string]string{"hash": v.Hash})
	})
}

// storedSampleID is the sample ID kept for a column: empty when it is a
// personal code (a file whose columns are named by the persons' codes),
// because personal codes are never stored — the pseudonym stands beside it
// and the column index says which column is the person's.
func storedSampleID(id string) string {
	if _, err := identity.ParsePersonalCode(id); err == nil {
		return ""
	}
	return id
}

// IngestDataset records a validated genotype dataset, creating persons for
// its samples, and queues every consented active algorithm for them, all in
// one transaction.
func (s *Service) IngestDataset(ctx context.Context, p identity.Principal, d *Dataset, samples []IngestSample) (jobs int, err error) {
	rep, err := s.Ingest(ctx, p, d, samples)
	if err != nil {
		return 0, err
	}
	return rep.Jobs, nil
}

// Ingest is IngestDataset, reporting per active algorithm whether it can
// use the file's genome build (see IngestReport).
func (s *Service) Ingest(ctx context.Context, p identity.Principal, d *Dataset, samples []IngestSample) (*IngestReport, error) {
	if p.Role != identity.RoleOperator && p.Role != identity.RoleSystem {
		return nil, &Error{Code: CodeForbidden, Message: "only an operator ingests genotypes"}
	}
	rep := &IngestReport{}
	err := s.store.InTx(ctx, func(tx Tx) error {
		*rep = IngestReport{}
		algs, err := tx.ActiveAlgorithms()
		if err != nil {
			return err
		}
		algs, err = s.fitBuild(d, algs, rep)
		if err != nil {
			return err
		}
		ds := make([]DatasetSample, len(samples))
		for i, smp := range samples {
			person := Person{ID: s.pseudo.Pseudonym(smp.Code), BirthDate: smp.Code.BirthDate(), Sex: smp.Code.Sex(), DisplayName: smp.DisplayName}
			if err := tx.UpsertPerson(person); err != nil {
				return err
			}
			ds[i] = DatasetSample{Index: smp.Index, SampleID: storedSampleID(smp.SampleID), Person: person.ID}
		}
		if err := tx.InsertDataset(d, ds); err != nil {
			return err
		}
		// The same file ingested again (a corrected sample map): the
		// persons its earlier mapping gave another column, or named
		// though they are not in it, are recomputed from what is now
		// their data, and their results from the old mapping leave the
		// clinical view (Tx.MappingReplaced).
		file := d.FileSHA256
		if file == "" {
			file = d.SHA256
		}
		earlier, err := tx.EarlierSamples(file, d.ID)
		if err != nil {
			return err
		}
		column := make(map[string]int, len(ds))
		for _, smp := range ds {
			column[smp.Person] = smp.Index
		}
		remapped := map[string]bool{}
		var dropped []string
		for _, e := range earlier {
			if !slices.Contains(rep.Replaces, e.DatasetID) {
				rep.Replaces = append(rep.Replaces, e.DatasetID)
			}
			if i, ok := column[e.Person]; (!ok || i != e.Index) && !remapped[e.Person] {
				remapped[e.Person] = true
				if !ok {
					dropped = append(dropped, e.Person)
				}
			}
		}
		rep.Remapped = len(remapped)
		// A person with a pending test order gets it marked genotyped; their
		// computations say the order triggered them.
		ordered := map[string]bool{}
		for _, smp := range ds {
			orders, err := tx.FulfilTestOrders(smp.Person, d.ID)
			if err != nil {
				return err
			}
			for _, o := range orders {
				ordered[smp.Person+"\x00"+o.AlgorithmID] = true
			}
		}
		var q []ComputeJob
		var batches []BatchJob
		for _, a := range algs {
			consented, err := tx.ConsentedPersons(a.Manifest.ID)
			if err != nil {
				return err
			}
			in := make(map[string]bool, len(consented))
			for _, c := range consented {
				in[c] = true
			}
			var single, bulk []DatasetSample
			for _, smp := range ds {
				if !in[smp.Person] {
					continue
				}
				if ordered[smp.Person+"\x00"+a.Manifest.ID] {
					q = append(q, ComputeJob{Person: smp.Person, AlgorithmID: a.Manifest.ID, VersionHash: a.Hash, Trigger: result.TriggerTestOrder})
					continue
				}
				s := smp
				s.DatasetID = d.ID
				single = append(single, s)
			}
			if len(single) > batchThreshold {
				single, bulk = nil, single
			}
			batches = append(batches, Batches(bulk, a.Manifest.ID, a.Hash, result.TriggerGenotype, BatchSize)...)
			for _, smp := range single {
				q = append(q, ComputeJob{Person: smp.Person, AlgorithmID: a.Manifest.ID, VersionHash: a.Hash, Trigger: result.TriggerGenotype})
			}
			for _, person := range dropped {
				if in[person] {
					q = append(q, ComputeJob{Person: person, AlgorithmID: a.Manifest.ID, VersionHash: a.Hash, Trigger: result.TriggerGenotype})
				}
			}
		}
		if err := tx.Enqueue(q); err != nil {
			return err
		}
		if err := tx.EnqueueBatches(batches); err != nil {
			return err
		}
		rep.Jobs = len(q)
		for _, b := range batches {
			rep.Jobs += len(b.Persons) // counted per person computed
		}
		details := map[string]string{"sha256": d.SHA256, "samples": fmt.Sprint(len(samples)), "source": d.Source, "jobs": fmt.Sprint(len(q)), "build": d.Build,
			"samples_sha256": SamplesHash(ds), "file_sha256": file, "records": fmt.Sprint(d.Records)}
		if u := rep.Unfit(); len(u) > 0 {
			details["build_unfit"] = strings.Join(u, ",")
		}
		if len(rep.Replaces) > 0 {
			details["replaces_mapping_of"] = fmt.Sprint(rep.Replaces)
			details["persons_remapped"] = fmt.Sprint(rep.Remapped)
		}
		if d.SampleMapSHA256 != "" {
			// The dataset is the file read with this map: the map is
			// part of what was ingested, and of the record.
			details["sample_map_sha256"] = d.SampleMapSHA256
		}
		return audit(ctx, tx, p, "", "ingest", fmt.Sprintf("dataset %d", d.ID), "biobank ingest", details)
	})
	if ErrorCode(err) == CodeConflict && len(d.SHA256) >= 12 {
		// A dataset is the file read with its mapping: the same file
		// with the same mapping again is a duplicate, but a corrected
		// mapping is a new dataset.
		msg := ErrorMessage(err)
		if d.FileSHA256 != "" {
			if rest, ok := strings.CutPrefix(msg, fmt.Sprintf("this genotype file (sha256 %s)", d.SHA256[:12])); ok {
				msg = fmt.Sprintf("this genotype file (sha256 %s) with this sample map", d.FileSHA256[:12]) + rest
			}
		} else {
			msg += " with the same sample IDs"
		}
		return nil, &Error{Code: CodeConflict, Message: msg + "; to correct a wrong mapping, ingest the file again with the corrected sample map (the new dataset then holds the persons it names)", Err: err}
	}
	if err != nil {
		return nil, err
	}
	return rep, nil
}

// IngestSample is one VCF sample column identified as a person.
type IngestSample struct {
	Index       int
	SampleID    string
	Code        identity.PersonalCode
	DisplayName string
}

// IsNotFound reports whether err is a not-found error.
func IsNotFound(err error) bool { return ErrorCode(err) == CodeNotFound || errors.Is(err, ErrNotFound) }
