package consent

import (
	"errors"
	"time"
)

// FHIR R4 Consent export: one resource per person and algorithm. The root
// provision denies everything (default deny); a nested provision permits
// the platform's secure computation environment to use the person's
// genotypes for this one algorithm, for treatment, from the grant (and,
// after a withdrawal, until it). Shape as in the interop corpus's
// opt-in example.

// Systems used in the export.
const (
	AlgorithmSystem = "urn:geneguard:algorithm"
	PseudonymSystem = "urn:geneguard:pseudonym"
)

// ErrNoHistory: there is nothing to export; default deny applies.
var ErrNoHistory = errors.New("no consent recorded: default deny applies")

// FHIR types: only the elements the export uses.
type (
	Coding struct {
		System  string `json:"system,omitempty"`
		Code    string `json:"code"`
		Display string `json:"display,omitempty"`
	}
	CodeableConcept struct {
		Coding []Coding `json:"coding"`
		Text   string   `json:"text,omitempty"`
	}
	Identifier struct {
		System string `json:"system"`
		Value  string `json:"value"`
	}
	Reference struct {
		Reference  string      `json:"reference,omitempty"`
		Identifier *Identifier `json:"identifier,omitempty"`
		Display    string      `json:"display,omitempty"`
	}
	Period struct {
		Start string `json:"start,omitempty"`
		End   string `json:"end,omitempty"`
	}
	ProvisionActor struct {
		Role      CodeableConcept `json:"role"`
		Reference Reference       `json:"reference"`
	}
	ProvisionData struct {
		Meaning   string    `json:"meaning"`
		Reference Reference `json:"reference"`
	}
	Provision struct {
		Type      string            `json:"type"`
		Period    *Period           `json:"period,omitempty"`
		Actor     []ProvisionActor  `json:"actor,omitempty"`
		Action    []CodeableConcept `json:"action,omitempty"`
		Purpose   []Coding          `json:"purpose,omitempty"`
		Code      []CodeableConcept `json:"code,omitempty"`
		Data      []ProvisionData   `json:"data,omitempty"`
		Provision []Provision       `json:"provision,omitempty"`
	}
	Policy struct {
		Authority string `json:"authority,omitempty"`
		URI       string `json:"uri,omitempty"`
	}
	// FHIRConsent is a FHIR R4 Consent resource.
	FHIRConsent struct {
		ResourceType string            `json:"resourceType"`
		ID           string            `json:"id"`
		Status       string            `json:"status"`
		Scope        CodeableConcept   `json:"scope"`
		Category     []CodeableConcept `json:"category"`
		Patient      Reference         `json:"patient"`
		DateTime     string            `json:"dateTime"`
		Performer    []Reference       `json:"performer,omitempty"`
		Organization []Reference       `json:"organization,omitempty"`
		Policy       []Policy          `json:"policy,omitempty"`
		Provision    Provision         `json:"provision"`
	}
)

// FHIROptions says how to name things the history does not hold.
type FHIROptions struct {
	// Patient identifies the person; the default is their pseudonym.
	Patient        Identifier
	AlgorithmTitle string
	// PolicyURI names the consent text the person agreed to (e.g. the
	// algorithm's purpose at a version).
	PolicyURI    string
	Organization string
}

// FHIR exports a person's consent to one algorithm as FHIR R4 Consent.
// history is oldest first; it returns ErrNoHistory when empty. A consent in
// force is "active" with an open permit; a withdrawn one is "inactive"
// with the permit's period ending at the withdrawal.
func FHIR(history []Event, opts FHIROptions) (*FHIRConsent, error) {
	if len(history) == 0 {
		return nil, ErrNoHistory
	}
	last := history[len(history)-1]
	if opts.Patient.Value == "" {
		opts.Patient = Identifier{System: PseudonymSystem, Value: last.Person}
	}
	if opts.Organization == "" {
		opts.Organization = "geneguard national genomic medicine platform"
	}
	// The current episode: the last grant and what followed it.
	var grant, withdraw *Event
	for i := range history {
		switch history[i].Action {
		case Grant:
			grant, withdraw = &history[i], nil
		case Withdraw:
			if grant != nil {
				withdraw = &history[i]
			}
		}
	}
	ts := func(t time.Time) string { return t.UTC().Format(time.RFC3339) }
	status := "inactive"
	if Granted(history) {
		status = "active"
	}
	patientRef := Reference{Identifier: &opts.Patient}
	c := &FHIRConsent{
		ResourceType: "Consent",
		ID:           "optin-" + last.Algorithm + "-" + last.Person,
		Status:       status,
		Scope:        CodeableConcept{Coding: []Coding{{System: "http://terminology.hl7.org/CodeSystem/consentscope", Code: "treatment", Display: "Treatment"}}},
		Category:     []CodeableConcept{{Coding: []Coding{{System: "http://loinc.org", Code: "59284-0", Display: "Patient Consent"}}}},
		Patient:      patientRef,
		DateTime:     ts(last.At),
		Performer:    []Reference{patientRef},
		Organization: []Reference{{Display: opts.Organization}},
		Provision:    Provision{Type: "deny"},
	}
	if opts.PolicyURI != "" {
		c.Policy = []Policy{{URI: opts.PolicyURI}}
	}
	if grant != nil {
		per := &Period{Start: ts(grant.At)}
		if withdraw != nil {
			per.End = ts(withdraw.At)
		}
		c.Provision.Provision = []Provision{{
			Type:   "permit",
			Period: per,
			Actor: []ProvisionActor{{
				Role:      CodeableConcept{Coding: []Coding{{System: "http://terminology.hl7.org/CodeSystem/v3-ParticipationType", Code: "PRF", Display: "performer"}}},
				Reference: Reference{Display: "geneguard secure computation environment"},
			}},
			Action:  []CodeableConcept{{Coding: []Coding{{System: "http://terminology.hl7.org/CodeSystem/consentaction", Code: "use"}}}},
			Purpose: []Coding{{System: "http://terminology.hl7.org/CodeSystem/v3-ActReason", Code: "TREAT", Display: "treatment"}},
			Code:    []CodeableConcept{{Coding: []Coding{{System: AlgorithmSystem, Code: last.Algorithm, Display: opts.AlgorithmTitle}}}},
			Data:    []ProvisionData{{Meaning: "related", Reference: patientRef}},
		}}
	}
	return c, nil
}
