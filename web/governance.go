package web

import (
	"context"
	"io"
	"mime"
	"net/http"
	"sort"
	"time"

	"github.com/geneguard/geneguard/algorithm"
	"github.com/geneguard/geneguard/consent"
	"github.com/geneguard/geneguard/identity"
	"github.com/geneguard/geneguard/platform"
)

// GovernanceService is the platform's governance side as the web sees it:
// the registry steps the board takes, usage, the FHIR consent export and
// clinical events. *platform.Service satisfies it. It is separate from
// Service so that a Service without it (a test fake) still serves every
// other page; the governance routes then answer 404.
type GovernanceService interface {
	ApproveAlgorithm(ctx context.Context, p identity.Principal, hash string) error
	ActivateAlgorithm(ctx context.Context, p identity.Principal, hash string) (platform.ActivationReport, error)
	Usage(ctx context.Context, p identity.Principal, since time.Time) (*platform.UsageReport, error)
	ConsentFHIR(ctx context.Context, p identity.Principal, person, algorithmID string) (*consent.FHIRConsent, error)
	MedicationRequested(ctx context.Context, p identity.Principal, mr *platform.MedicationRequest) (*platform.PrescriptionAnswer, error)
}

// governanceRoutes adds the governance page and API to mux.
func (s *server) governanceRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /governance", s.page(s.governancePage))
	mux.HandleFunc("POST /governance/algorithms/{hash}/{action}", s.page(s.governanceAction))
	mux.HandleFunc("GET /api/v1/usage", s.api(s.apiUsage))
	mux.HandleFunc("GET /api/v1/persons/{id}/consents/{algorithm}/fhir", s.api(s.apiConsentFHIR))
	mux.HandleFunc("POST /api/v1/events/medication-request", s.api(s.apiMedicationRequest))
}

func (s *server) gov() (GovernanceService, error) {
	g, ok := s.svc.(GovernanceService)
	if !ok {
		return nil, &platform.Error{Code: platform.CodeNotFound, Message: "Governance is not available on this server."}
	}
	return g, nil
}

// since parses ?since=YYYY-MM-DD; the default is 30 days back.
func since(r *http.Request) (time.Time, error) {
	v := r.URL.Query().Get("since")
	if v == "" {
		return time.Now().UTC().AddDate(0, 0, -30).Truncate(24 * time.Hour), nil
	}
	t, err := time.Parse("2006-01-02", v)
	if err != nil {
		t, err = time.Parse(time.RFC3339, v)
	}
	if err != nil {
		return time.Time{}, invalid("since must be a date (YYYY-MM-DD) or an RFC 3339 time.")
	}
	return t, nil
}

func (s *server) apiUsage(r *http.Request, p identity.Principal) (any, error) {
	g, err := s.gov()
	if err != nil {
		return nil, err
	}
	from, err := since(r)
	if err != nil {
		return nil, err
	}
	return g.Usage(r.Context(), p, from)
}

// apiConsentFHIR exports the person's consent to one algorithm as a FHIR
// R4 Consent resource.
func (s *server) apiConsentFHIR(r *http.Request, p identity.Principal) (any, error) {
	g, err := s.gov()
	if err != nil {
		return nil, err
	}
	return g.ConsentFHIR(r.Context(), p, r.PathValue("id"), r.PathValue("algorithm"))
}

// apiMedicationRequest takes a FHIR R4 MedicationRequest from the
// prescriber's system (application/fhir+json or application/json).
func (s *server) apiMedicationRequest(r *http.Request, p identity.Principal) (any, error) {
	g, err := s.gov()
	if err != nil {
		return nil, err
	}
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" && mt != "application/fhir+json" {
		return nil, invalid("Send the MedicationRequest as application/fhir+json.")
	}
	b, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, 256<<10))
	if err != nil {
		return nil, invalid("The request body is too large or unreadable.")
	}
	mr, err := platform.ParseMedicationRequest(b)
	if err != nil {
		return nil, err
	}
	return g.MedicationRequested(r.Context(), p, mr)
}

// bar is one bar of an inline SVG chart.
type bar struct {
	Label string
	Count int
	W     float64 // percent of the chart's width: the widest bar is half of it
	Y     int
}

type chart struct {
	Title  string
	Bars   []bar
	Height int
}

func newChart(title string, m map[string]int) chart {
	keys := make([]string, 0, len(m))
	maxN := 0
	for k, n := range m {
		keys = append(keys, k)
		maxN = max(maxN, n)
	}
	sort.Strings(keys)
	c := chart{Title: title, Height: 22 * len(keys)}
	for i, k := range keys {
		w := 0.0
		if maxN > 0 {
			w = 50 * float64(m[k]) / float64(maxN)
		}
		c.Bars = append(c.Bars, bar{Label: k, Count: m[k], W: w, Y: 22 * i})
	}
	return c
}

type governanceVersion struct {
	V     *algorithm.Version
	Pass  int
	Cases int
	// Validation is where its validation stands in one line
	// (algorithm.ValidationSummary): a failure names its first failing
	// case, and a version without cases says so.
	Validation string
	Charts     []chart
	Runs       int
}

func (s *server) governancePage(w http.ResponseWriter, r *http.Request, sess *session) error {
	p := sess.principal()
	if p.Role != identity.RoleGovernance {
		return &platform.Error{Code: platform.CodeForbidden, Message: "The governance page is for the governance board."}
	}
	g, err := s.gov()
	if err != nil {
		return err
	}
	from, err := since(r)
	if err != nil {
		return err
	}
	vs, err := s.svc.Algorithms(r.Context(), p)
	if err != nil {
		return err
	}
	u, err := g.Usage(r.Context(), p, from)
	if err != nil {
		return err
	}
	usage := map[string]platform.VersionUsage{}
	for _, vu := range u.Versions {
		usage[vu.VersionHash] = vu
	}
	var pending, registry []governanceVersion
	for _, v := range vs {
		gv := governanceVersion{V: v, Validation: algorithm.ValidationSummary(v)}
		if v.Validation != nil {
			gv.Cases = len(v.Validation.Cases)
			for _, c := range v.Validation.Cases {
				if c.Pass {
					gv.Pass++
				}
			}
		}
		if vu, ok := usage[v.Hash]; ok {
			gv.Runs = vu.Runs
			gv.Charts = []chart{newChart("Runs by trigger", vu.ByTrigger), newChart("Outcomes", vu.ByOutcome), newChart("Runs by day", vu.ByDay)}
		}
		if v.Status == algorithm.StatusValidated || v.Status == algorithm.StatusApproved {
			pending = append(pending, gv)
		}
		registry = append(registry, gv)
	}
	flash := ""
	switch r.URL.Query().Get("done") {
	case "approve":
		flash = "Approved."
	case "activate":
		flash = "Activated; recomputation is queued."
	}
	s.render(w, r, http.StatusOK, "governance.html", &view{
		Title: "Algorithm governance",
		User:  &p,
		CSRF:  s.sessions.csrfToken(sess),
		Flash: flash,
		Data: struct {
			Pending, Registry []governanceVersion
			Since             string
			Runs              int
		}{pending, registry, from.Format("2006-01-02"), u.Runs},
	})
	return nil
}

// governanceAction approves or activates a version from the page's
// buttons (POST with the session's CSRF token).
func (s *server) governanceAction(w http.ResponseWriter, r *http.Request, sess *session) error {
	p := sess.principal()
	g, err := s.gov()
	if err != nil {
		return err
	}
	hash, action := r.PathValue("hash"), r.PathValue("action")
	switch action {
	case "approve":
		err = g.ApproveAlgorithm(r.Context(), p, hash)
	case "activate":
		_, err = g.ActivateAlgorithm(r.Context(), p, hash)
	default:
		return &platform.Error{Code: platform.CodeNotFound, Message: "There is no such action."}
	}
	if err != nil {
		return err
	}
	http.Redirect(w, r, "/governance?done="+action, http.StatusSeeOther)
	return nil
}
