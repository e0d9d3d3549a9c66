package web

import (
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"time"

	"github.com/geneguard/geneguard/algorithm"
	"github.com/geneguard/geneguard/identity"
	"github.com/geneguard/geneguard/platform"
)

// The JSON API serves the same session as the pages. Writes are protected
// from cross-site use by SameSite=Lax cookies, http.CrossOriginProtection,
// and by accepting only application/json bodies (which an HTML form on
// another site cannot send without a CORS preflight we never grant).

type apiError struct {
	Error APIError `json:"error"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v) // the status is sent; a failed write is the client's loss
}

func writeJSONError(w http.ResponseWriter, e publicError) {
	writeJSON(w, e.status, apiError{e.APIError})
}

// Me is the signed-in principal as GET /api/v1/me returns it.
type Me struct {
	Subject string        `json:"subject"`
	Name    string        `json:"name"`
	Role    identity.Role `json:"role"`
	Person  string        `json:"person,omitempty"`
}

func (s *server) apiMe(_ *http.Request, p identity.Principal) (any, error) {
	return Me{Subject: p.Subject, Name: p.Name, Role: p.Role, Person: p.Person}, nil
}

// apiResults reads results; the caller states the purpose of the view in
// ?purpose= for the audit log, "treatment" when it does not (a patient
// reading their own: "self-access"). A stated
// purpose must be printable text (platform.CheckPurpose): an empty
// ?purpose= is refused rather than recorded as something else.
func (s *server) apiResults(r *http.Request, p identity.Principal) (any, error) {
	purpose := PurposeTreatment
	if p.Role == identity.RolePatient && p.Person == r.PathValue("id") {
		purpose = PurposeSelfAccess // as on the patient's own page
	}
	if q := r.URL.Query(); q.Has("purpose") {
		var err error
		if purpose, err = platform.CheckPurpose(q.Get("purpose")); err != nil {
			return nil, err
		}
	}
	return nonNil(s.svc.Results(r.Context(), p, r.PathValue("id"), purpose))
}

func (s *server) apiConsents(r *http.Request, p identity.Principal) (any, error) {
	return nonNil(s.svc.Consents(r.Context(), p, r.PathValue("id")))
}

// ConsentChange is the body of POST /api/v1/persons/{id}/consents/{algorithm}.
type ConsentChange struct {
	Action string `json:"action"` // "grant" or "withdraw"
}

// apiSetConsent grants or withdraws, then answers with the algorithm's
// consent state as it now stands.
func (s *server) apiSetConsent(r *http.Request, p identity.Principal) (any, error) {
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
		return nil, invalid("Send the request body as application/json.")
	}
	var body ConsentChange
	dec := json.NewDecoder(http.MaxBytesReader(nil, r.Body, 4<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&body); err != nil {
		return nil, invalid("The request body must be {\"action\": \"grant\"} or {\"action\": \"withdraw\"}.")
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, invalid("The request body must hold one JSON object.")
	}
	person, alg := r.PathValue("id"), r.PathValue("algorithm")
	if err := s.setConsent(r, p, person, alg, body.Action, ChannelAPI); err != nil {
		return nil, err
	}
	states, err := s.svc.Consents(r.Context(), p, person)
	if err != nil {
		return nil, err
	}
	for _, st := range states {
		if st.AlgorithmID == alg {
			return st, nil
		}
	}
	// The change was recorded, but the algorithm has no active version
	// (retired), so it is not among the states above; withdrawing from a
	// retired algorithm is a right. Answer with what was written.
	return platform.ConsentState{AlgorithmID: alg, Granted: body.Action == "grant"}, nil
}

// setConsent is the one place both the portal and the API change consent.
func (s *server) setConsent(r *http.Request, p identity.Principal, person, alg, action, channel string) error {
	switch action {
	case "grant":
		return s.svc.GrantConsent(r.Context(), p, person, alg, channel)
	case "withdraw":
		return s.svc.WithdrawConsent(r.Context(), p, person, alg, channel)
	default:
		return invalid(`action must be "grant" or "withdraw".`)
	}
}

func (s *server) apiAudit(r *http.Request, p identity.Principal) (any, error) {
	return nonNil(s.svc.AuditTrail(r.Context(), p, r.PathValue("id")))
}

// AlgorithmInfo is an algorithm version without its bundle files: those
// can be megabytes (a scoring file) and are for the runner, not clients.
type AlgorithmInfo struct {
	ID          string              `json:"id"`
	Version     string              `json:"version"`
	Hash        string              `json:"hash"`
	Kind        algorithm.Kind      `json:"kind"`
	Title       string              `json:"title"`
	Purpose     string              `json:"purpose"`
	IntendedUse string              `json:"intended_use"`
	Inputs      algorithm.InputSpec `json:"inputs"`
	Drugs       []string            `json:"drugs,omitempty"`
	Status      algorithm.Status    `json:"status"`
	CreatedAt   time.Time           `json:"created_at"`
}

func (s *server) apiAlgorithms(r *http.Request, p identity.Principal) (any, error) {
	vs, err := s.svc.Algorithms(r.Context(), p)
	if err != nil {
		return nil, err
	}
	out := make([]AlgorithmInfo, 0, len(vs))
	for _, v := range vs {
		m := v.Manifest
		out = append(out, AlgorithmInfo{
			ID: m.ID, Version: m.Version, Hash: v.Hash, Kind: m.Kind, Title: m.Title,
			Purpose: m.Purpose, IntendedUse: m.IntendedUse, Inputs: m.Inputs, Drugs: m.Drugs,
			Status: v.Status, CreatedAt: v.CreatedAt,
		})
	}
	return out, nil
}

func (s *server) apiJobs(r *http.Request, _ identity.Principal) (any, error) {
	return s.svc.JobStats(r.Context())
}

func (s *server) apiNotFound(w http.ResponseWriter, r *http.Request) {
	writeJSONError(w, toPublic(&platform.Error{Code: platform.CodeNotFound, Message: "No such API endpoint."}))
}

func (s *server) healthz(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// nonNil makes an empty list encode as [] rather than null, which clients
// would otherwise have to special-case.
func nonNil[T any](list []T, err error) (any, error) {
	if err != nil {
		return nil, err
	}
	if list == nil {
		list = []T{}
	}
	return list, nil
}
