package platform

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"

	"github.com/geneguard/geneguard/identity"
)

// MedicationRequest is what the platform reads from a FHIR R4
// MedicationRequest: who the patient is and which drugs it names.
type MedicationRequest struct {
	ID      string // the resource id, or a content hash when it has none
	Patient identity.PersonalCode
	Drugs   []string // lower-case INN, from codings (ATC, RxNorm) and text
	// Status is the FHIR request status (active, draft, on-hold,
	// cancelled, completed, entered-in-error, stopped, unknown); "" when
	// the resource gives none.
	Status string
}

// Triggers reports whether the order is one a prescriber is about to give
// or has given and still stands: only an active or draft order (or one
// sent without a status) asks for PGx guidance. A cancelled, stopped,
// completed, on-hold, unknown or entered-in-error order queues nothing.
func (mr *MedicationRequest) Triggers() bool {
	switch mr.Status {
	case "", "active", "draft":
		return true
	}
	return false
}

// medicationStatuses are FHIR R4's MedicationRequest status codes.
var medicationStatuses = map[string]bool{
	"active": true, "on-hold": true, "cancelled": true, "completed": true,
	"entered-in-error": true, "stopped": true, "draft": true, "unknown": true,
}

// PersonalCodeSystem is the FHIR identifier system of the Estonian
// personal code (HL7 Estonia ig-ee-base).
const PersonalCodeSystem = "https://fhir.ee/sid/pid/est/ni"

// Codes of drugs with PGx guidance in the built-in and common bundles, so a
// coded prescription is recognised whatever its display text says.
var drugCodes = map[string]string{
	// ATC (http://www.whocc.no/atc)
	"N06AB04": "citalopram", "N06AB10": "escitalopram", "N06AB06": "sertraline",
	"B01AC04": "clopidogrel", "N06AA04": "clomipramine", "N06AA09": "amitriptyline",
	"A02BC01": "omeprazole", "A02BC05": "esomeprazole", "A02BC02": "pantoprazole",
	"J02AC03": "voriconazole", "R05DA04": "codeine", "N02AX02": "tramadol",
	// RxNorm ingredients (http://www.nlm.nih.gov/research/umls/rxnorm)
	"2556": "citalopram", "321988": "escitalopram", "36437": "sertraline", "32968": "clopidogrel",
}

type fhirCoding struct {
	System  string `json:"system"`
	Code    string `json:"code"`
	Display string `json:"display"`
}

type fhirCodeableConcept struct {
	Coding []fhirCoding `json:"coding"`
	Text   string       `json:"text"`
}

type fhirReference struct {
	Reference  string `json:"reference"`
	Display    string `json:"display"`
	Identifier *struct {
		System string `json:"system"`
		Value  string `json:"value"`
	} `json:"identifier"`
}

var wordRE = regexp.MustCompile(`[a-z]+`)

// ParseMedicationRequest reads a FHIR R4 MedicationRequest. The patient
// must be identified by an Estonian personal code: as subject.identifier
// (system PersonalCodeSystem) or as the id in subject.reference
// ("Patient/<code>"). Drugs are taken from medicationCodeableConcept's
// codings (ATC or RxNorm codes, or display) and its text.
func ParseMedicationRequest(b []byte) (*MedicationRequest, error) {
	var r struct {
		ResourceType              string               `json:"resourceType"`
		ID                        string               `json:"id"`
		Status                    string               `json:"status"`
		MedicationCodeableConcept *fhirCodeableConcept `json:"medicationCodeableConcept"`
		MedicationReference       *fhirReference       `json:"medicationReference"`
		Subject                   *fhirReference       `json:"subject"`
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&r); err != nil {
		return nil, &Error{Code: CodeInvalid, Message: fmt.Sprintf("not a FHIR JSON resource: %v", err)}
	}
	if r.ResourceType != "MedicationRequest" {
		return nil, &Error{Code: CodeInvalid, Message: fmt.Sprintf("resourceType is %q, want \"MedicationRequest\"", r.ResourceType)}
	}
	if r.Subject == nil {
		return nil, &Error{Code: CodeInvalid, Message: "MedicationRequest has no subject"}
	}
	var raw string
	switch {
	case r.Subject.Identifier != nil && r.Subject.Identifier.System == PersonalCodeSystem:
		raw = r.Subject.Identifier.Value
	case strings.HasPrefix(r.Subject.Reference, "Patient/"):
		raw = strings.TrimPrefix(r.Subject.Reference, "Patient/")
	case r.Subject.Identifier != nil:
		return nil, &Error{Code: CodeInvalid, Message: fmt.Sprintf("MedicationRequest.subject.identifier has system %q: the patient must be identified by personal code (identifier system %s, or reference Patient/<code>)", r.Subject.Identifier.System, PersonalCodeSystem)}
	default:
		return nil, &Error{Code: CodeInvalid, Message: fmt.Sprintf("MedicationRequest.subject names no personal code: give identifier system %s with the code, or reference Patient/<code>", PersonalCodeSystem)}
	}
	code, err := identity.ParsePersonalCode(raw)
	if err != nil {
		return nil, &Error{Code: CodeInvalid, Message: fmt.Sprintf("MedicationRequest.subject must identify the patient by personal code (identifier system %s or Patient/<code>): %v", PersonalCodeSystem, err)}
	}
	if r.Status != "" && !medicationStatuses[r.Status] {
		return nil, &Error{Code: CodeInvalid, Message: fmt.Sprintf("MedicationRequest.status %q is not a FHIR R4 request status (active, draft, on-hold, cancelled, completed, entered-in-error, stopped, unknown)", r.Status)}
	}
	mr := &MedicationRequest{ID: r.ID, Patient: code, Status: r.Status}
	if mr.ID == "" {
		mr.ID = eventID(b)
	}
	seen := map[string]bool{}
	add := func(d string) {
		if d != "" && !seen[d] {
			seen[d] = true
			mr.Drugs = append(mr.Drugs, d)
		}
	}
	// Coded drugs first, then every word of the displays and text: the
	// words are candidates that the active algorithms' drug lists select.
	var texts []string
	if c := r.MedicationCodeableConcept; c != nil {
		for _, cd := range c.Coding {
			add(drugCodes[cd.Code])
			texts = append(texts, cd.Display)
		}
		texts = append(texts, c.Text)
	}
	if r.MedicationReference != nil {
		texts = append(texts, r.MedicationReference.Display)
	}
	for _, t := range texts {
		for _, w := range wordRE.FindAllString(strings.ToLower(t), -1) {
			if len(w) > 2 {
				add(w)
			}
		}
	}
	if len(mr.Drugs) == 0 {
		return nil, &Error{Code: CodeInvalid, Message: "MedicationRequest names no medication (medicationCodeableConcept with a coding or text)"}
	}
	return mr, nil
}
