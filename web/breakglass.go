package web

import (
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/geneguard/geneguard/identity"
	"github.com/geneguard/geneguard/platform"
)

// Break-glass: a physician with no treatment relationship with a patient
// opens the patient's results in an emergency, stating why. The service
// decides who may (physicians) and what is shown (the clinical view:
// withdrawn consent is never overridden); these handlers only collect the
// personal code and the reason by POST, so neither lands in a URL.

func (s *server) breakGlassRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /physician/break-glass", s.page(s.breakGlassForm))
	mux.HandleFunc("POST /physician/break-glass", s.page(s.breakGlass))
	mux.HandleFunc("POST /api/v1/persons/{id}/break-glass", s.api(s.apiBreakGlass))
}

// breakGlassView is the form's data, refilled after a refusal.
type breakGlassView struct {
	Code, Reason string
	CodeError    string
	ReasonError  string
	MaxReason    int
}

func (s *server) breakGlassForm(w http.ResponseWriter, r *http.Request, sess *session) error {
	if sess.principal().Role != identity.RolePhysician {
		return &platform.Error{Code: platform.CodeForbidden, Message: "Emergency access is for physicians."}
	}
	s.render(w, r, http.StatusOK, "breakglass.html", &view{Title: "Emergency access", Data: breakGlassView{MaxReason: platform.MaxBreakGlassReason}})
	return nil
}

// breakGlass shows the patient's results directly, not through a redirect
// to the ordinary patient page: that page records a treatment view, and
// the access must be recorded once, as what it is.
func (s *server) breakGlass(w http.ResponseWriter, r *http.Request, sess *session) error {
	p := sess.principal()
	form := breakGlassView{Code: strings.TrimSpace(r.PostFormValue("code")), Reason: r.PostFormValue("reason"), MaxReason: platform.MaxBreakGlassReason}
	refuse := func() error {
		s.render(w, r, http.StatusBadRequest, "breakglass.html", &view{Title: "Emergency access", Data: form})
		return nil
	}
	if p.Role != identity.RolePhysician {
		return &platform.Error{Code: platform.CodeForbidden, Message: "Emergency access is for physicians."}
	}
	pc, err := identity.ParsePersonalCode(form.Code)
	if err != nil {
		form.CodeError = personalCodeMessage(err)
		return refuse()
	}
	person, err := s.svc.PersonByCode(r.Context(), p, string(pc))
	if err != nil {
		if platform.ErrorCode(err) == platform.CodeNotFound {
			form.CodeError = "No patient with this personal code has data in geneguard."
			return refuse()
		}
		return err
	}
	results, err := s.svc.BreakGlass(r.Context(), p, person.ID, form.Reason)
	if err != nil {
		if platform.ErrorCode(err) == platform.CodeInvalid {
			form.ReasonError = toPublic(err).Message
			return refuse()
		}
		return err
	}
	s.render(w, r, http.StatusOK, "patientview.html", &view{
		Title: patientTitle(person),
		Data:  patientView{Person: person, Results: s.physicianResults(r, p, results), BreakGlass: strings.TrimSpace(form.Reason)},
	})
	return nil
}

// BreakGlassRequest is the body of POST /api/v1/persons/{id}/break-glass.
type BreakGlassRequest struct {
	Reason string `json:"reason"`
}

// apiBreakGlass answers with the results, as GET .../results does.
func (s *server) apiBreakGlass(r *http.Request, p identity.Principal) (any, error) {
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
		return nil, invalid("Send the request body as application/json.")
	}
	var body BreakGlassRequest
	dec := json.NewDecoder(http.MaxBytesReader(nil, r.Body, 8<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&body); err != nil {
		return nil, invalid(`The request body must be {"reason": "why you need this patient's results now"}.`)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, invalid("The request body must hold one JSON object.")
	}
	return nonNil(s.svc.BreakGlass(r.Context(), p, r.PathValue("id"), body.Reason))
}
