package platform

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/geneguard/geneguard/algorithm"
	"github.com/geneguard/geneguard/consent"
	"github.com/geneguard/geneguard/identity"
	"github.com/geneguard/geneguard/result"
)

// Triggers that come from outside the platform: a prescription, a test
// order, the calendar. Each is idempotent: the same event twice records
// nothing new and queues nothing new, and whatever it queues goes through
// the durable queue, where results are unique per (person, version, input).

// ClinicalEvent is a recorded clinical event and what the platform did
// about it.
type ClinicalEvent struct {
	ID        int64     `json:"id"`
	Kind      string    `json:"kind"`      // "medication-request"
	SourceID  string    `json:"source_id"` // the resource's id (or its content hash)
	Person    string    `json:"person"`
	Drug      string    `json:"drug"`
	Outcome   string    `json:"outcome"` // see PrescriptionOutcome
	CreatedAt time.Time `json:"created_at"`
}

// Outcomes of a prescription event, per algorithm that lists the drug.
const (
	RxCurrentResult = "current-result" // a result of the active version exists
	RxQueued        = "queued"         // consented and genotyped: computation queued
	RxSuggestTest   = "suggest-test"   // no genotypes: suggest a genetic test
	RxNeedsConsent  = "needs-consent"  // genotyped but not opted in: the patient may opt in
	RxNoGuidance    = "no-pgx-guidance"
)

// PrescriptionAnswer is what a prescription event led to.
type PrescriptionAnswer struct {
	EventID   string            `json:"event_id"`
	Person    string            `json:"person"`
	Drug      string            `json:"drug"`
	Outcomes  map[string]string `json:"outcomes"` // algorithm id → outcome
	Duplicate bool              `json:"duplicate"`
	// Ignored explains why the event queued nothing and was not recorded:
	// the order is not active (cancelled, stopped, completed, ...).
	Ignored string `json:"ignored,omitempty"`
}

// MedicationRequested handles a prescription (a FHIR R4 MedicationRequest,
// parsed by ParseMedicationRequest): for every active PGx algorithm that
// lists the drug, it makes sure a current result exists — queuing one when
// the person consented and has genotypes — or records that a test (or an
// opt-in) should be suggested. The EHR is the physician's system; the
// event is recorded once per MedicationRequest id, and the same id for
// another person or drug is a CodeConflict (see sameRequest).
func (s *Service) MedicationRequested(ctx context.Context, p identity.Principal, mr *MedicationRequest) (*PrescriptionAnswer, error) {
	if p.Role != identity.RolePhysician && p.Role != identity.RoleOperator && p.Role != identity.RoleSystem {
		return nil, &Error{Code: CodeForbidden, Message: "only a prescriber's system posts prescription events"}
	}
	person := s.pseudo.Pseudonym(mr.Patient)
	ans := &PrescriptionAnswer{EventID: mr.ID, Person: person, Outcomes: map[string]string{}}
	if !mr.Triggers() {
		// A withdrawn or finished order is no prescription about to be
		// given: nothing is computed, suggested or recorded for it.
		if len(mr.Drugs) > 0 {
			ans.Drug = mr.Drugs[0]
		}
		ans.Ignored = fmt.Sprintf("MedicationRequest %s has status %q: only active or draft orders trigger PGx guidance; nothing was queued", mr.ID, mr.Status)
		return ans, nil
	}
	err := s.store.InTx(ctx, func(tx Tx) error {
		ans.Outcomes, ans.Duplicate, ans.Drug = map[string]string{}, false, ""
		if _, err := tx.Person(person); IsNotFound(err) {
			if err := tx.UpsertPerson(Person{ID: person, BirthDate: mr.Patient.BirthDate(), Sex: mr.Patient.Sex()}); err != nil {
				return err
			}
		} else if err != nil {
			return err
		}
		algs, err := tx.ActiveAlgorithms()
		if err != nil {
			return err
		}
		var matched []*algorithm.Version
		for _, a := range algs {
			if a.Manifest.Kind != algorithm.KindPGx {
				continue
			}
			for _, d := range mr.Drugs {
				if a.Manifest.ListsDrug(d) {
					matched = append(matched, a)
					if ans.Drug == "" {
						ans.Drug = d
					}
					break
				}
			}
		}
		if ans.Drug == "" && len(mr.Drugs) > 0 {
			ans.Drug = mr.Drugs[0]
		}
		_, _, sampleErr := tx.LatestSample(person)
		if sampleErr != nil && !IsNotFound(sampleErr) {
			return sampleErr
		}
		var jobs []ComputeJob
		for _, a := range matched {
			h, err := tx.ConsentHistory(person, a.Manifest.ID)
			if err != nil {
				return err
			}
			cur, err := tx.CurrentResult(person, a.Manifest.ID)
			if err != nil && !IsNotFound(err) {
				return err
			}
			if cur != nil {
				// A result from a column a corrected sample map no
				// longer gives the person is not theirs: not current.
				if newer, err := tx.MappingReplaced(person, cur.DatasetID); err != nil {
					return err
				} else if newer != 0 {
					cur = nil
				}
			}
			switch {
			case sampleErr != nil:
				ans.Outcomes[a.Manifest.ID] = RxSuggestTest
			case !consent.Granted(h):
				ans.Outcomes[a.Manifest.ID] = RxNeedsConsent
			case cur != nil && cur.VersionHash == a.Hash:
				ans.Outcomes[a.Manifest.ID] = RxCurrentResult
			default:
				ans.Outcomes[a.Manifest.ID] = RxQueued
				jobs = append(jobs, ComputeJob{Person: person, AlgorithmID: a.Manifest.ID, VersionHash: a.Hash, Trigger: result.TriggerPrescription})
			}
		}
		outcome := summarizeOutcomes(ans.Outcomes)
		ev := &ClinicalEvent{Kind: "medication-request", SourceID: mr.ID, Person: person, Drug: ans.Drug, Outcome: outcome}
		inserted, err := tx.InsertClinicalEvent(ev)
		if err != nil {
			return err
		}
		if !inserted {
			// Seen before. A resource id names one prescription: the
			// same id again is a retry only when it is about the same
			// person and names the drug recorded then (its display
			// text may differ; the drugs the platform reads from it may
			// not). Anything else would be silently dropped as a retry,
			// so it is refused, and the transaction writes nothing.
			if err := sameRequest(mr, person, ans.Drug, ev); err != nil {
				return err
			}
			// A retry: answer as then (what was queued or suggested
			// then, not what would be now, since nothing is queued now),
			// queue nothing, audit nothing.
			ans.Duplicate, ans.Drug, ans.Outcomes = true, ev.Drug, parseOutcomes(ev.Outcome)
			return nil
		}
		if err := tx.Enqueue(jobs); err != nil {
			return err
		}
		return audit(ctx, tx, p, person, "event.medication-request", mr.ID, "prescribing", map[string]string{"drug": ans.Drug, "outcome": outcome})
	})
	if err != nil {
		return nil, err
	}
	return ans, nil
}

// sameRequest reports, as a CodeConflict, a MedicationRequest whose id
// was recorded (as ev) for another person or another drug. The recorded
// drug is the one the first request's answer was about, picked from its
// drugs, so a true retry always names it again; drug is this request's.
// Whose the recorded request was is not said: the sender may not know
// that person.
func sameRequest(mr *MedicationRequest, person, drug string, ev *ClinicalEvent) error {
	if ev.Person != person {
		return &Error{Code: CodeConflict, Message: fmt.Sprintf("MedicationRequest %s was already recorded for another person; a resource id names one prescription, so nothing was recorded or queued for this one", mr.ID)}
	}
	for _, d := range mr.Drugs {
		if d == ev.Drug {
			return nil
		}
	}
	return &Error{Code: CodeConflict, Message: fmt.Sprintf("MedicationRequest %s was already recorded for this person with drug %s, not %s; a resource id names one prescription, so nothing was recorded or queued for this one", mr.ID, ev.Drug, drug)}
}

func summarizeOutcomes(m map[string]string) string {
	if len(m) == 0 {
		return RxNoGuidance
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := ""
	for i, k := range keys {
		if i > 0 {
			out += ","
		}
		out += k + "=" + m[k]
	}
	return out
}

// parseOutcomes reads summarizeOutcomes' text back into a map.
func parseOutcomes(s string) map[string]string {
	m := map[string]string{}
	if s == RxNoGuidance {
		return m
	}
	for _, kv := range strings.Split(s, ",") {
		if k, v, ok := strings.Cut(kv, "="); ok {
			m[k] = v
		}
	}
	return m
}

// TestOrder is a patient's genetic test order, tracked until genotypes
// arrive; the ingest that brings them marks it genotyped and queues the
// consented computations with trigger "test-order".
type TestOrder struct {
	ID          int64     `json:"id"`
	Person      string    `json:"person"`
	AlgorithmID string    `json:"algorithm_id"`
	SourceID    string    `json:"source_id"`
	Status      string    `json:"status"` // "pending", "genotyped"
	OrderedBy   string    `json:"ordered_by"`
	CreatedAt   time.Time `json:"created_at"`
	FulfilledAt time.Time `json:"fulfilled_at,omitzero"`
	DatasetID   int64     `json:"dataset_id,omitempty"`
}

// OrderTest records a test order for a person (by personal code) and an
// algorithm. sourceID makes it idempotent (the EHR's order id); empty
// means one order per person and algorithm. If the person already has
// genotypes the order is fulfilled at once: a consented computation is
// queued like a prescription's.
func (s *Service) OrderTest(ctx context.Context, p identity.Principal, code identity.PersonalCode, algorithmID, sourceID string) (*TestOrder, bool, error) {
	if p.Role != identity.RolePhysician && p.Role != identity.RoleOperator && p.Role != identity.RoleSystem && !(p.Role == identity.RolePatient && p.Person == s.pseudo.Pseudonym(code)) {
		return nil, false, &Error{Code: CodeForbidden, Message: "only the patient, their physician or an operator orders a test"}
	}
	person := s.pseudo.Pseudonym(code)
	if sourceID == "" {
		sourceID = person + "/" + algorithmID
	}
	var o *TestOrder
	var inserted bool
	err := s.store.InTx(ctx, func(tx Tx) error {
		active, err := activeVersion(tx, algorithmID)
		if err != nil {
			return err
		}
		if _, err := tx.Person(person); IsNotFound(err) {
			if err := tx.UpsertPerson(Person{ID: person, BirthDate: code.BirthDate(), Sex: code.Sex()}); err != nil {
				return err
			}
		} else if err != nil {
			return err
		}
		o = &TestOrder{Person: person, AlgorithmID: algorithmID, SourceID: sourceID, Status: "pending", OrderedBy: actorID(p)}
		inserted, err = tx.InsertTestOrder(o)
		if err != nil || !inserted {
			return err
		}
		details := map[string]string{"order": sourceID}
		if ds, _, err := tx.LatestSample(person); err == nil {
			if _, err := tx.FulfilTestOrders(person, ds.ID); err != nil {
				return err
			}
			o.Status, o.DatasetID = "genotyped", ds.ID
			h, err := tx.ConsentHistory(person, algorithmID)
			if err != nil {
				return err
			}
			if consent.Granted(h) {
				if err := tx.Enqueue([]ComputeJob{{Person: person, AlgorithmID: algorithmID, VersionHash: active.Hash, Trigger: result.TriggerTestOrder}}); err != nil {
					return err
				}
				details["queued"] = "true"
			}
		} else if !IsNotFound(err) {
			return err
		}
		return audit(ctx, tx, p, person, "event.test-order", algorithmID, "testing", details)
	})
	return o, inserted, err
}

// TestOrders lists a person's test orders.
func (s *Service) TestOrders(ctx context.Context, p identity.Principal, person string) ([]TestOrder, error) {
	if err := mayReadPerson(p, person); err != nil {
		return nil, err
	}
	var out []TestOrder
	err := s.store.Read(ctx, func(tx Tx) error {
		var err error
		out, err = tx.TestOrders(person)
		return err
	})
	return out, err
}

// AgeMilestoneReport says what a daily age-milestone pass did.
type AgeMilestoneReport struct {
	From, To time.Time
	Checked  int            // consented, genotyped persons looked at
	Queued   map[string]int // algorithm id → persons queued
	// First is the day the first pass ever ran for (zero when no pass
	// has run, or the first one ran before it was recorded); Last is the
	// last day covered before this call (zero before the first pass).
	First, Last time.Time
}

// Skipped says why the pass looked at nothing, "" when it ran. The mark
// only says the passes have covered days up to Last; the days before
// the first pass were never looked at (it looks at its own day only), so
// a day before it is not "done" but out of reach.
func (r *AgeMilestoneReport) Skipped() string {
	if !r.From.After(r.To) {
		return ""
	}
	const d = "2006-01-02"
	day, last := r.To.Format(d), r.Last.Format(d)
	switch {
	case r.First.IsZero():
		return fmt.Sprintf("nothing queued for %s: the passes have covered the days up to %s (the first pass's day is not recorded) and never go back; the next one covers the days after %s", day, last, last)
	case r.To.Before(r.First):
		return fmt.Sprintf("nothing queued for %s: it is before the first pass (%s), which looked at its own day only; passes never go back, and the next one covers the days after %s", day, r.First.Format(d), last)
	}
	return fmt.Sprintf("%s was already done (the passes have covered %s to %s); nothing queued", day, r.First.Format(d), last)
}

const (
	ageMark      = "age-milestones"
	ageFirstMark = "age-milestones-first" // the first pass's day
)

// AgeMilestones queues a recomputation of every active algorithm that
// declares the "age" attribute for each consented, genotyped person whose
// age crossed one of the algorithm's milestones (every birthday when it
// lists none) in the days after the last pass up to and including day.
// The pass's high-water mark is stored in the same transaction as the
// jobs, so running it twice for a day queues nothing the second time; the
// first pass ever looks at day alone, and its day is kept too, so that a
// later call for a day before it is not reported as done
// (AgeMilestoneReport.Skipped). A day after today (by the service's
// clock, UTC) is refused.
func (s *Service) AgeMilestones(ctx context.Context, p identity.Principal, day time.Time) (*AgeMilestoneReport, error) {
	if p.Role != identity.RoleSystem && p.Role != identity.RoleOperator {
		return nil, &Error{Code: CodeForbidden, Message: "only the platform's scheduler or an operator runs the age-milestone pass"}
	}
	day = time.Date(day.Year(), day.Month(), day.Day(), 0, 0, 0, 0, time.UTC)
	now := s.now()
	if today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC); day.After(today) {
		// The pass's mark would move past days not yet lived, and every
		// daily pass until then would silently do nothing.
		return nil, &Error{Code: CodeInvalid, Message: fmt.Sprintf("the age-milestone pass cannot run for %s: it is after today (%s, UTC)", day.Format("2006-01-02"), today.Format("2006-01-02"))}
	}
	rep := &AgeMilestoneReport{To: day}
	err := s.store.InTx(ctx, func(tx Tx) error {
		rep.Checked, rep.Queued = 0, map[string]int{}
		mark, err := tx.Mark(ageMark)
		if err != nil {
			return err
		}
		first, err := tx.Mark(ageFirstMark)
		if err != nil {
			return err
		}
		from := day // the first day not yet looked at
		if mark != "" {
			if rep.Last, err = time.Parse("2006-01-02", mark); err != nil {
				return fmt.Errorf("platform: age-milestone mark %q: %w", mark, err)
			}
			from = rep.Last.AddDate(0, 0, 1)
		}
		switch {
		case first != "":
			if rep.First, err = time.Parse("2006-01-02", first); err != nil {
				return fmt.Errorf("platform: age-milestone first mark %q: %w", first, err)
			}
		case mark == "":
			// The first pass: remember its day, so a day before it
			// is not later reported as done.
			rep.First = day
			if err := tx.SetMark(ageFirstMark, day.Format("2006-01-02")); err != nil {
				return err
			}
		}
		rep.From = from
		if from.After(day) {
			return nil // covered before, or before the first pass (see Skipped)
		}
		algs, err := tx.ActiveAlgorithms()
		if err != nil {
			return err
		}
		total := 0
		for _, a := range algs {
			if !a.Manifest.DeclaresAttribute("age") {
				continue
			}
			persons, err := tx.ConsentedPersonsWithGenotypes(a.Manifest.ID)
			if err != nil {
				return err
			}
			var jobs []ComputeJob
			for _, person := range persons {
				rep.Checked++
				before := AgeOn(person.BirthDate, from.AddDate(0, 0, -1))
				after := AgeOn(person.BirthDate, day)
				if crossed(a.Manifest.AgeMilestones, before, after) {
					jobs = append(jobs, ComputeJob{Person: person.ID, AlgorithmID: a.Manifest.ID, VersionHash: a.Hash, Trigger: result.TriggerAge})
				}
			}
			if err := tx.Enqueue(jobs); err != nil {
				return err
			}
			rep.Queued[a.Manifest.ID] = len(jobs)
			total += len(jobs)
		}
		if err := tx.SetMark(ageMark, day.Format("2006-01-02")); err != nil {
			return err
		}
		return audit(ctx, tx, p, "", "event.age-milestones", day.Format("2006-01-02"), "scheduled recomputation", map[string]string{"from": from.Format("2006-01-02"), "queued": strconv.Itoa(total)})
	})
	return rep, err
}

// crossed reports whether going from age before to age after passes a
// milestone; with no milestones every birthday counts.
func crossed(milestones []int, before, after int) bool {
	if after <= before {
		return false
	}
	if len(milestones) == 0 {
		return true
	}
	for _, m := range milestones {
		if before < m && m <= after {
			return true
		}
	}
	return false
}

// AgeOn is the age in whole years on day of a person born on birth (the
// runner uses the same rule for the "age" attribute).
func AgeOn(birth, day time.Time) int {
	age := day.Year() - birth.Year()
	if day.Month() < birth.Month() || (day.Month() == birth.Month() && day.Day() < birth.Day()) {
		age--
	}
	return age
}

// eventID names an event without an id by its content.
func eventID(b []byte) string {
	s := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(s[:16])
}
