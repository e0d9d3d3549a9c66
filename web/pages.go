package web

import (
	"cmp"
	"net/http"
	"net/url"
	"strings"

	"github.com/geneguard/geneguard/algorithm"
	"github.com/geneguard/geneguard/identity"
	"github.com/geneguard/geneguard/platform"
	"github.com/geneguard/geneguard/result"
)

func (s *server) home(w http.ResponseWriter, r *http.Request) {
	s.render(w, r, http.StatusOK, "home.html", &view{Title: "Welcome"})
}

func (s *server) notFound(w http.ResponseWriter, r *http.Request) {
	s.renderError(w, r, &platform.Error{Code: platform.CodeNotFound, Message: "There is no page at this address."})
}

// statusBar is one segment of the job-progress bar.
type statusBar struct {
	Label string
	Class string
	Count int
	X, W  float64 // percent of the bar
}

// status shows job-queue progress; it is public (counts only, nobody's
// data) so a demo audience can watch it from any screen.
func (s *server) status(w http.ResponseWriter, r *http.Request) {
	st, err := s.svc.JobStats(r.Context())
	if err != nil {
		s.logError(r, err)
		s.renderError(w, r, err)
		return
	}
	segs := []statusBar{
		{Label: "Completed", Class: "completed", Count: st.Completed},
		{Label: "Running", Class: "running", Count: st.Running},
		{Label: "Waiting", Class: "available", Count: st.Available},
		{Label: "Retrying", Class: "retryable", Count: st.Retryable},
		{Label: "Cancelled", Class: "cancelled", Count: st.Cancelled},
		{Label: "Failed", Class: "discarded", Count: st.Discarded},
	}
	total := 0
	for _, sg := range segs {
		total += sg.Count
	}
	x := 0.0
	for i := range segs {
		if total > 0 {
			segs[i].X, segs[i].W = x, 100*float64(segs[i].Count)/float64(total)
			x += segs[i].W
		}
	}
	done := 0
	if total > 0 {
		done = 100 * (st.Completed + st.Cancelled + st.Discarded) / total
	}
	s.render(w, r, http.StatusOK, "status.html", &view{
		Title:   "Computation progress",
		Refresh: 5,
		Data: struct {
			Stats   platform.JobStats
			Total   int
			Done    int
			Pending int
			Bars    []statusBar
		}{st, total, done, st.Available + st.Running + st.Retryable, segs},
	})
}

// ownRecord returns the signed-in patient's pseudonym. Only principals
// signed in with a personal code have one; for anyone else the patient
// pages have nothing to show.
func ownRecord(sess *session) (string, error) {
	if sess.Person == "" {
		return "", &platform.Error{Code: platform.CodeForbidden,
			Message: "These pages are for patients signed in with their personal code."}
	}
	return sess.Person, nil
}

type patientAlgorithm struct {
	platform.ConsentState
	Version string // label of the active version, if any
	Hash    string
	Changed bool // just changed: the flash message points here
}

type patientResult struct {
	result.Result
	Title string
}

func (s *server) patient(w http.ResponseWriter, r *http.Request, sess *session) error {
	person, err := ownRecord(sess)
	if err != nil {
		return err
	}
	p := sess.principal()
	states, err := s.svc.Consents(r.Context(), p, person)
	if err != nil {
		return err
	}
	results, err := s.svc.Results(r.Context(), p, person, PurposeSelfAccess)
	if err != nil {
		return err
	}
	changed := r.URL.Query().Get("changed")
	var flash string
	titles := map[string]string{}
	algs := make([]patientAlgorithm, 0, len(states))
	for _, st := range states {
		a := patientAlgorithm{ConsentState: st, Changed: st.AlgorithmID == changed}
		if st.Active != nil {
			a.Version, a.Hash = st.Active.Manifest.Version, st.Active.Hash
		}
		if a.Changed {
			// Worded from the state read back, not from the link, so the
			// message cannot claim something that did not happen.
			if st.Granted {
				flash = "Saved. You have given consent for “" + st.Title + "”. It will run on your data, and your doctors can see its results."
			} else {
				flash = "Saved. You have withdrawn consent for “" + st.Title + "”. Its results are no longer shown to your doctors."
			}
		}
		titles[st.AlgorithmID] = st.Title
		algs = append(algs, a)
	}
	res := make([]patientResult, 0, len(results))
	for _, rs := range results {
		t := titles[rs.AlgorithmID]
		if t == "" {
			t = rs.AlgorithmID
		}
		res = append(res, patientResult{Result: rs, Title: t})
	}
	s.render(w, r, http.StatusOK, "patient.html", &view{
		Title: "My genomic algorithms",
		Flash: flash,
		Data: struct {
			Algorithms []patientAlgorithm
			Results    []patientResult
		}{algs, res},
	})
	return nil
}

// patientConsent is the Give/Withdraw button. It redirects back (POST,
// redirect, GET) so a reload does not repeat the change.
func (s *server) patientConsent(w http.ResponseWriter, r *http.Request, sess *session) error {
	person, err := ownRecord(sess)
	if err != nil {
		return err
	}
	alg := r.PathValue("algorithm")
	if err := s.setConsent(r, sess.principal(), person, alg, r.PostFormValue("action"), ChannelPortal); err != nil {
		return err
	}
	http.Redirect(w, r, "/patient?changed="+url.QueryEscape(alg)+"#alg-"+url.PathEscape(alg), http.StatusSeeOther)
	return nil
}

func (s *server) patientAccessLog(w http.ResponseWriter, r *http.Request, sess *session) error {
	person, err := ownRecord(sess)
	if err != nil {
		return err
	}
	entries, err := s.svc.AuditTrail(r.Context(), sess.principal(), person)
	if err != nil {
		return err
	}
	v := accessLogView{Entries: entries, Receipts: s.receipts != nil, Me: person}
	for _, e := range entries {
		if e.Action == "break-glass" {
			v.BreakGlass++
		}
		if refusedAction(e.Action) {
			v.Refused++
		}
	}
	s.render(w, r, http.StatusOK, "accesslog.html", &view{Title: "Who looked at my data", Data: v})
	return nil
}

// physicianOnly turns away other roles from the physician's pages before
// they show a search form they could not use. (Opening a patient's page is
// decided, and a refusal audited, by the service.)
func physicianOnly(sess *session) error {
	if sess.principal().Role != identity.RolePhysician {
		return &platform.Error{Code: platform.CodeForbidden, Message: "These pages are for physicians."}
	}
	return nil
}

func (s *server) physician(w http.ResponseWriter, r *http.Request, sess *session) error {
	if err := physicianOnly(sess); err != nil {
		return err
	}
	s.render(w, r, http.StatusOK, "physician.html", &view{Title: "Find a patient", Data: ""})
	return nil
}

// physicianSearch takes the personal code by POST, so it never appears in
// a URL, a browser history or an access log; the patient page that
// follows is addressed by pseudonym.
func (s *server) physicianSearch(w http.ResponseWriter, r *http.Request, sess *session) error {
	if err := physicianOnly(sess); err != nil {
		return err
	}
	code := strings.TrimSpace(r.PostFormValue("code"))
	msg := ""
	if pc, err := identity.ParsePersonalCode(code); err != nil {
		msg = personalCodeMessage(err)
	} else {
		person, err := s.svc.PersonByCode(r.Context(), sess.principal(), string(pc))
		if err == nil {
			http.Redirect(w, r, "/physician/patients/"+url.PathEscape(person.ID), http.StatusSeeOther)
			return nil
		}
		switch platform.ErrorCode(err) {
		case platform.CodeNotFound:
			// Worded here: the service's message names the pseudonym it
			// looked for, which means nothing to the physician.
			msg = "No patient with this personal code has data in geneguard. Check the code, or the patient has not given a sample to the biobank."
		case platform.CodeInvalid:
			msg = toPublic(err).Message
		default:
			return err
		}
	}
	s.render(w, r, http.StatusBadRequest, "physician.html", &view{Title: "Find a patient", Error: msg, Data: code})
	return nil
}

type physicianResult struct {
	result.Result
	Title       string
	IntendedUse string
}

// patientView is the physician's page of one patient.
type patientView struct {
	Person  *platform.Person
	Results []physicianResult
	// BreakGlass is the reason given when the page was opened by
	// emergency access; empty for the ordinary (treatment) view.
	BreakGlass string
}

func patientTitle(p *platform.Person) string { return cmp.Or(p.DisplayName, "Patient "+p.ID) }

func (s *server) physicianPatient(w http.ResponseWriter, r *http.Request, sess *session) error {
	p, id := sess.principal(), r.PathValue("id")
	person, err := s.svc.Person(r.Context(), p, id)
	if err != nil {
		return err
	}
	results, err := s.svc.Results(r.Context(), p, id, PurposeTreatment)
	if err != nil {
		return err
	}
	s.render(w, r, http.StatusOK, "patientview.html", &view{
		Title: patientTitle(person),
		Data:  patientView{Person: person, Results: s.physicianResults(r, p, results)},
	})
	return nil
}

// physicianResults adds each result's algorithm title and intended use.
func (s *server) physicianResults(r *http.Request, p identity.Principal, results []result.Result) []physicianResult {
	known := s.algorithmIndex(r, p)
	res := make([]physicianResult, 0, len(results))
	for _, rs := range results {
		pr := physicianResult{Result: rs, Title: rs.AlgorithmID}
		if v, ok := known[rs.VersionHash]; ok {
			pr.Title, pr.IntendedUse = v.Manifest.Title, v.Manifest.IntendedUse
		} else if v, ok := known[rs.AlgorithmID]; ok {
			pr.Title = v.Manifest.Title
		}
		res = append(res, pr)
	}
	return res
}

// algorithmIndex maps version hashes and algorithm ids to versions, for
// titles. Titles are a courtesy: if the list cannot be read, the page
// still shows the results under their ids, and the failure is logged.
func (s *server) algorithmIndex(r *http.Request, p identity.Principal) map[string]*algorithm.Version {
	vs, err := s.svc.Algorithms(r.Context(), p)
	if err != nil {
		s.log.WarnContext(r.Context(), "web: algorithm titles unavailable", "request_id", RequestIDFrom(r.Context()), "err", err)
		return nil
	}
	idx := make(map[string]*algorithm.Version, 2*len(vs))
	for _, v := range vs {
		idx[v.Hash] = v
		if cur, ok := idx[v.Manifest.ID]; !ok || v.Status == algorithm.StatusActive || cur.Status != algorithm.StatusActive {
			idx[v.Manifest.ID] = v
		}
	}
	return idx
}
