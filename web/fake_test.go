package web_test

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"time"

	"github.com/geneguard/geneguard/algorithm"
	"github.com/geneguard/geneguard/consent"
	"github.com/geneguard/geneguard/identity"
	"github.com/geneguard/geneguard/platform"
	"github.com/geneguard/geneguard/result"
	"github.com/geneguard/geneguard/web"
	"github.com/geneguard/geneguard/web/reqmeta"
)

// fakeService is an in-memory web.Service with simplified versions of the
// platform's rules: patients see and change only their own record,
// physicians read anyone's results, governance reads audit trails. Giving
// consent "computes" a canned result at once; withdrawing hides it.
type fakeService struct {
	mu        sync.Mutex
	pseudo    *identity.Pseudonymizer
	persons   map[string]*platform.Person // by pseudonym
	genotyped map[string]bool             // pseudonyms with genotype data
	algs      []*algorithm.Version
	events    map[string][]consent.Event // person+"/"+algorithm
	audit     []platform.AuditEntry
	now       time.Time

	// fail, when set for a method name, is returned by that method.
	fail map[string]error
	// panicIn makes the named method panic.
	panicIn string
	// metas records the request metadata each call saw.
	metas []reqmeta.Meta
	// sessions is the session store every server over this service
	// shares, as replicas share the database (web.SessionKeeper).
	sessions platform.SessionStore
}

// Sessions implements web.SessionKeeper.
func (f *fakeService) Sessions() platform.SessionStore { return f.sessions }

const (
	codeMari  = "60001019906" // patient with genotype data
	codeJaan  = "37605030299" // patient without genotype data
	physician = "dr-tamm"
	officer   = "gov-kask"
)

var demoIdentities = []web.DemoIdentity{
	{Subject: "EE" + codeMari, Role: identity.RolePatient, Label: "Mari Maasikas", Note: "has genotype data"},
	{Subject: "EE" + codeJaan, Role: identity.RolePatient, Label: "Jaan Tamm", Note: "no genotype data yet"},
	{Subject: physician, Role: identity.RolePhysician, Label: "Dr Kristi Tamm", Note: "family physician"},
	{Subject: officer, Role: identity.RoleGovernance, Label: "Peeter Kask", Note: "governance board"},
}

func newFakeService() *fakeService {
	ps, err := identity.NewPseudonymizer([]byte("web-test-pseudonym-key"))
	if err != nil {
		panic(err)
	}
	f := &fakeService{
		pseudo:    ps,
		persons:   map[string]*platform.Person{},
		genotyped: map[string]bool{},
		events:    map[string][]consent.Event{},
		fail:      map[string]error{},
		now:       time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC),
		sessions:  web.MemorySessions(),
	}
	f.addPerson(codeMari, "Mari Maasikas", true)
	f.addPerson(codeJaan, "Jaan Tamm", false)
	for _, m := range []algorithm.Manifest{
		{ID: "pgx-cyp2c19", Version: "2025.11-1", Kind: algorithm.KindPGx, Title: "How your body handles clopidogrel and some antidepressants",
			Purpose:     "Reads your CYP2C19 gene to tell your doctor whether medicines such as clopidogrel will work for you.",
			IntendedUse: "Guide clopidogrel, voriconazole and SSRI prescribing (CPIC).", Drugs: []string{"clopidogrel"}, Inputs: algorithm.InputSpec{Genotypes: true}},
		{ID: "prs-breast", Version: "1.0", Kind: algorithm.KindPRS, Title: "Inherited risk of breast cancer",
			Purpose:     "Adds up many small genetic differences to estimate your risk of breast cancer, so screening can start earlier if you need it.",
			IntendedUse: "Risk-stratified mammography screening.", Inputs: algorithm.InputSpec{Genotypes: true, Attributes: []string{"age", "sex"}}},
	} {
		v, err := algorithm.New(m, map[string][]byte{"table.tsv": []byte("a large bundle file\n")}, "provider")
		if err != nil {
			panic(err)
		}
		v.Status = algorithm.StatusActive
		f.algs = append(f.algs, v)
	}
	return f
}

func (f *fakeService) addPerson(code, name string, genotyped bool) *platform.Person {
	pc, err := identity.ParsePersonalCode(code)
	if err != nil {
		panic(err)
	}
	p := &platform.Person{ID: f.pseudo.Pseudonym(pc), BirthDate: pc.BirthDate(), Sex: pc.Sex(), DisplayName: name, CreatedAt: f.now}
	f.persons[p.ID] = p
	f.genotyped[p.ID] = genotyped
	return p
}

func (f *fakeService) pseudonym(code string) string {
	pc, err := identity.ParsePersonalCode(code)
	if err != nil {
		panic(err)
	}
	return f.pseudo.Pseudonym(pc)
}

// enter is every method's prologue: record metadata, inject failures.
func (f *fakeService) enter(ctx context.Context, method string) error {
	f.metas = append(f.metas, reqmeta.From(ctx))
	if f.panicIn == method {
		panic("fake: boom in " + method)
	}
	return f.fail[method]
}

func forbidden(msg string) error { return &platform.Error{Code: platform.CodeForbidden, Message: msg} }

// ownOrForbidden is the fake's consent/audit rule: patients their own
// record, nobody else.
func ownOrForbidden(p identity.Principal, person string) error {
	if p.Role != identity.RolePatient || p.Person != person {
		return forbidden("You may only see or change your own record.")
	}
	return nil
}

func (f *fakeService) SignIn(ctx context.Context, subject string, role identity.Role) (identity.Principal, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter(ctx, "SignIn"); err != nil {
		return identity.Principal{}, err
	}
	switch role {
	case identity.RolePatient:
		pc, err := identity.ParsePersonalCode(subject)
		if err != nil {
			return identity.Principal{}, platform.Errorf(platform.CodeInvalid, "%w", err)
		}
		id := f.pseudo.Pseudonym(pc)
		p, ok := f.persons[id]
		if !ok {
			p = f.addPerson(string(pc), "Patient "+string(pc)[7:], false)
		}
		return identity.Principal{Subject: "EE" + string(pc), Name: p.DisplayName, Role: role, Person: id}, nil
	case identity.RolePhysician:
		return identity.Principal{Subject: subject, Name: "Dr Kristi Tamm", Role: role}, nil
	case identity.RoleGovernance:
		return identity.Principal{Subject: subject, Name: "Peeter Kask", Role: role}, nil
	}
	return identity.Principal{}, forbidden("No such role.")
}

func (f *fakeService) PersonByCode(ctx context.Context, p identity.Principal, code string) (*platform.Person, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter(ctx, "PersonByCode"); err != nil {
		return nil, err
	}
	if p.Role != identity.RolePhysician {
		return nil, forbidden("Only physicians may look patients up.")
	}
	pc, err := identity.ParsePersonalCode(code)
	if err != nil {
		return nil, platform.Errorf(platform.CodeInvalid, "%w", err)
	}
	if per, ok := f.persons[f.pseudo.Pseudonym(pc)]; ok {
		return per, nil
	}
	return nil, &platform.Error{Code: platform.CodeNotFound, Message: "No patient with this personal code is in the biobank."}
}

func (f *fakeService) Person(ctx context.Context, p identity.Principal, id string) (*platform.Person, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter(ctx, "Person"); err != nil {
		return nil, err
	}
	if p.Role != identity.RolePhysician && p.Person != id {
		return nil, forbidden("You may not see this person.")
	}
	if per, ok := f.persons[id]; ok {
		return per, nil
	}
	return nil, &platform.Error{Code: platform.CodeNotFound, Message: "No such person."}
}

func (f *fakeService) Consents(ctx context.Context, p identity.Principal, person string) ([]platform.ConsentState, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter(ctx, "Consents"); err != nil {
		return nil, err
	}
	if err := ownOrForbidden(p, person); err != nil {
		return nil, err
	}
	var out []platform.ConsentState
	for _, v := range f.algs {
		h := f.events[person+"/"+v.Manifest.ID]
		out = append(out, platform.ConsentState{
			AlgorithmID: v.Manifest.ID, Title: v.Manifest.Title, Purpose: v.Manifest.Purpose, Kind: v.Manifest.Kind,
			Granted: consent.Granted(h), History: append([]consent.Event(nil), h...), Active: v,
		})
	}
	return out, nil
}

func (f *fakeService) changeConsent(ctx context.Context, method string, p identity.Principal, person, alg, channel string, a consent.Action) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter(ctx, method); err != nil {
		return err
	}
	if err := ownOrForbidden(p, person); err != nil {
		return err
	}
	if f.version(alg) == nil {
		return &platform.Error{Code: platform.CodeNotFound, Message: "No algorithm " + alg + "."}
	}
	f.now = f.now.Add(time.Minute)
	f.events[person+"/"+alg] = append(f.events[person+"/"+alg], consent.Event{Person: person, Algorithm: alg, Action: a, Actor: p.Subject, Channel: channel, At: f.now})
	f.audit = append(f.audit, platform.AuditEntry{Seq: uint64(len(f.audit) + 1), Time: f.now, Actor: p.Name, Role: string(p.Role),
		Person: person, Action: "consent." + string(a), Object: alg, Purpose: "consent", RequestID: reqmeta.RequestID(ctx)})
	return nil
}

func (f *fakeService) GrantConsent(ctx context.Context, p identity.Principal, person, alg, channel string) error {
	return f.changeConsent(ctx, "GrantConsent", p, person, alg, channel, consent.Grant)
}

func (f *fakeService) WithdrawConsent(ctx context.Context, p identity.Principal, person, alg, channel string) error {
	return f.changeConsent(ctx, "WithdrawConsent", p, person, alg, channel, consent.Withdraw)
}

func (f *fakeService) version(id string) *algorithm.Version {
	for _, v := range f.algs {
		if v.Manifest.ID == id {
			return v
		}
	}
	return nil
}

// cannedCaveat is a PGx output's note on what the data could not show.
const cannedCaveat = "1 of 12 CYP2C19 positions missing: rs12248560 (*17) — call may be *2/*2 only because *17 could not be tested"

// cannedResults is what the "computation" yields for a genotyped person.
var cannedResults = map[string]struct{ summary, category, output string }{
	"pgx-cyp2c19": {"CYP2C19 *2/*2: clopidogrel will not work well for this person; choose another antiplatelet medicine.", "Poor Metabolizer",
		`{"gene":"CYP2C19","diplotype":"*2/*2","phenotype":"Poor Metabolizer","activity_score":0,"caveats":["` + cannedCaveat + `"]}`},
	"prs-breast": {"Risk of breast cancer in the next 10 years is about twice the average: start mammography at 40.", "high",
		`{"z":1.9,"percentile":97,"absolute_risk_10y":0.041}`},
}

func (f *fakeService) Results(ctx context.Context, p identity.Principal, person, purpose string) ([]result.Result, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter(ctx, "Results"); err != nil {
		return nil, err
	}
	if p.Role != identity.RolePhysician && (p.Role != identity.RolePatient || p.Person != person) {
		return nil, forbidden("You may not see this person's results.")
	}
	if _, ok := f.persons[person]; !ok {
		return nil, &platform.Error{Code: platform.CodeNotFound, Message: "No such person."}
	}
	f.now = f.now.Add(time.Minute)
	f.audit = append(f.audit, platform.AuditEntry{Seq: uint64(len(f.audit) + 1), Time: f.now, Actor: p.Name, Role: string(p.Role),
		Person: person, Action: "results.view", Object: person, Purpose: purpose, RequestID: reqmeta.RequestID(ctx)})
	var out []result.Result
	for i, v := range f.algs {
		h := f.events[person+"/"+v.Manifest.ID]
		if !f.genotyped[person] || !consent.Granted(h) {
			continue
		}
		c := cannedResults[v.Manifest.ID]
		out = append(out, result.Result{
			ID: int64(i + 1), Person: person, AlgorithmID: v.Manifest.ID, VersionHash: v.Hash, Version: v.Manifest.Version,
			Trigger: result.TriggerConsent, Summary: c.summary, Category: c.category, Output: json.RawMessage(c.output),
			CreatedAt: h[len(h)-1].At.Add(20 * time.Second), Worker: "fake",
		})
	}
	return out, nil
}

// BreakGlass is the fake's emergency access: physicians only, a reason
// required, the same consent-filtered results as Results.
func (f *fakeService) BreakGlass(ctx context.Context, p identity.Principal, person, reason string) ([]result.Result, error) {
	f.mu.Lock()
	if err := f.enter(ctx, "BreakGlass"); err != nil {
		f.mu.Unlock()
		return nil, err
	}
	reason = strings.TrimSpace(reason)
	switch {
	case p.Role != identity.RolePhysician:
		f.mu.Unlock()
		return nil, forbidden("Only a physician may use emergency access.")
	case reason == "":
		f.mu.Unlock()
		return nil, &platform.Error{Code: platform.CodeInvalid, Message: "Emergency access needs a reason."}
	}
	f.mu.Unlock()
	rs, err := f.Results(ctx, p, person, platform.PurposeEmergency)
	if err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	e := &f.audit[len(f.audit)-1]
	e.Action, e.Reason = "break-glass", reason
	return rs, nil
}

func (f *fakeService) Algorithms(ctx context.Context, p identity.Principal) ([]*algorithm.Version, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter(ctx, "Algorithms"); err != nil {
		return nil, err
	}
	return f.algs, nil
}

func (f *fakeService) AuditTrail(ctx context.Context, p identity.Principal, person string) ([]platform.AuditEntry, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter(ctx, "AuditTrail"); err != nil {
		return nil, err
	}
	if p.Role != identity.RoleGovernance {
		if err := ownOrForbidden(p, person); err != nil {
			return nil, err
		}
	}
	var out []platform.AuditEntry
	for _, e := range f.audit {
		if e.Person == person {
			out = append(out, e)
		}
	}
	return out, nil
}

func (f *fakeService) JobStats(ctx context.Context) (platform.JobStats, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter(ctx, "JobStats"); err != nil {
		return platform.JobStats{}, err
	}
	return platform.JobStats{Available: 1200, Running: 8, Completed: 3650, Retryable: 3, Discarded: 1}, nil
}

// lastMeta returns the request metadata of the latest service call.
func (f *fakeService) lastMeta() reqmeta.Meta {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.metas) == 0 {
		return reqmeta.Meta{}
	}
	return f.metas[len(f.metas)-1]
}

var _ web.Service = (*fakeService)(nil)

// SignOut records a "logout" entry, filed under a patient's pseudonym.
func (f *fakeService) SignOut(ctx context.Context, p identity.Principal) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter(ctx, "SignOut"); err != nil {
		return err
	}
	f.audit = append(f.audit, platform.AuditEntry{Seq: uint64(len(f.audit) + 1), Time: f.now, Actor: p.Name, Role: string(p.Role),
		Person: p.Person, Action: "logout", Object: "portal"})
	return nil
}

// RefuseSignIn records a "login.refused" entry with the reason; a
// patient's refusal is filed under their pseudonym.
func (f *fakeService) RefuseSignIn(ctx context.Context, role identity.Role, subject, reason string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter(ctx, "RefuseSignIn"); err != nil {
		return err
	}
	e := platform.AuditEntry{Seq: uint64(len(f.audit) + 1), Time: f.now, Actor: "unknown", Role: string(role), Action: "login.refused", Object: "portal", Reason: reason}
	if pc, err := identity.ParsePersonalCode(subject); err == nil && role == identity.RolePatient {
		e.Person = f.pseudo.Pseudonym(pc)
		e.Actor = e.Person
	} else if subject != "" {
		e.Actor = subject
	}
	f.audit = append(f.audit, e)
	return nil
}

// auditActions lists the actions recorded so far, in order.
func (f *fakeService) auditActions() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, e := range f.audit {
		out = append(out, e.Action)
	}
	return out
}

// auditEntries returns a copy of every entry recorded so far.
func (f *fakeService) auditEntries() []platform.AuditEntry {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]platform.AuditEntry(nil), f.audit...)
}
