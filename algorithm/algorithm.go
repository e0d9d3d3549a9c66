// Package algorithm owns what an approved genomic algorithm is: a manifest
// that says what it computes, for whom, from which inputs, plus a bundle of
// data files (allele definitions, scoring files, tables). A version is
// addressed by the SHA-256 of its canonical bytes, so a result can cite the
// exact logic and data that produced it, and nobody can change an approved
// version without changing its address.
package algorithm

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"time"
)

// Kind names the engine that runs a bundle.
type Kind string

const (
	KindPGx       Kind = "pgx"
	KindPRS       Kind = "prs"
	KindMonogenic Kind = "monogenic"
)

// Status is a version's place in the governance lifecycle:
// draft → validated → approved → active → retired.
type Status string

const (
	StatusDraft     Status = "draft"
	StatusValidated Status = "validated"
	StatusApproved  Status = "approved"
	StatusActive    Status = "active"
	StatusRetired   Status = "retired"
)

// Manifest is the declaration a provider submits and governance approves.
type Manifest struct {
	ID      string `json:"id"`      // stable across versions, e.g. "pgx-cyp2c19"
	Version string `json:"version"` // the provider's label, e.g. "2025.11-1"
	Kind    Kind   `json:"kind"`
	Title   string `json:"title"`
	// Purpose is the plain-language text a patient reads before consenting.
	Purpose string `json:"purpose"`
	// IntendedUse is the clinical claim, for physicians and reviewers.
	IntendedUse string `json:"intended_use"`
	// Inputs declares every kind of data the algorithm may see. The runner
	// hands it nothing else.
	Inputs InputSpec `json:"inputs"`
	// Drugs lists the medicines (lower-case INN) whose prescribing this
	// algorithm informs; a prescription of one of them triggers it.
	Drugs []string `json:"drugs,omitempty"`
	// AgeMilestones, for algorithms that declare the "age" attribute, are
	// the ages at which a person's result is recomputed; empty means every
	// birthday (the age input changes then).
	AgeMilestones []int `json:"age_milestones,omitempty"`
	// Validation cases are run before approval; one failure blocks it.
	Validation []Case `json:"validation,omitempty"`
}

// InputSpec lists declared inputs. Genotype loci are derived from the
// bundle by the engine (a definition file or scoring file is the exact
// declaration); the manifest lists the person attributes.
type InputSpec struct {
	Genotypes  bool     `json:"genotypes"`
	Attributes []string `json:"attributes,omitempty"` // "age", "sex"
}

// Case is one validation case: a genotype VCF (inline text) and the
// summary the algorithm must produce from it.
type Case struct {
	Name   string            `json:"name"`
	VCF    string            `json:"vcf"`
	Attrs  map[string]string `json:"attrs,omitempty"`
	Expect string            `json:"expect"`
}

// Version is one submitted algorithm version.
type Version struct {
	Hash        string            `json:"hash"` // hex SHA-256 of Canonical()
	Manifest    Manifest          `json:"manifest"`
	Files       map[string][]byte `json:"files"`
	Status      Status            `json:"status"`
	SubmittedBy string            `json:"submitted_by"`
	ApprovedBy  string            `json:"approved_by,omitempty"`
	ActivatedBy string            `json:"activated_by,omitempty"`
	CreatedAt   time.Time         `json:"created_at"`
	// Validation is the latest validation run's report (nil before one).
	Validation *Report `json:"validation,omitempty"`
	// When the version entered each later state (zero until it did).
	ValidatedAt time.Time `json:"validated_at,omitzero"`
	ApprovedAt  time.Time `json:"approved_at,omitzero"`
	ActivatedAt time.Time `json:"activated_at,omitzero"`
	RetiredAt   time.Time `json:"retired_at,omitzero"`
}

// DeclaresAttribute reports whether the manifest declares a person
// attribute ("age", "sex").
func (m Manifest) DeclaresAttribute(name string) bool {
	for _, a := range m.Inputs.Attributes {
		if a == name {
			return true
		}
	}
	return false
}

// ListsDrug reports whether the algorithm informs prescribing of drug
// (lower-case INN).
func (m Manifest) ListsDrug(drug string) bool {
	for _, d := range m.Drugs {
		if d == drug {
			return true
		}
	}
	return false
}

// ErrInvalid is wrapped by manifest validation failures.
var ErrInvalid = errors.New("invalid algorithm")

// ParseManifest decodes a manifest's JSON strictly: an unknown field (a
// misspelt "inputs" would otherwise read as no inputs) and anything after
// the manifest object (a second object, a stray bracket from an edit) are
// refused, so what is registered is exactly what the file says. It does
// not Validate; New does.
func ParseManifest(b []byte) (Manifest, error) {
	var m Manifest
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return Manifest{}, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	end := dec.InputOffset()
	if _, err := dec.Token(); err != io.EOF {
		return Manifest{}, fmt.Errorf("%w: data after the manifest object (which ends at byte %d): the file must hold one JSON object", ErrInvalid, end)
	}
	return m, nil
}

// New builds a draft version and computes its address.
func New(m Manifest, files map[string][]byte, submitter string) (*Version, error) {
	if err := m.Validate(); err != nil {
		return nil, err
	}
	v := &Version{Manifest: m, Files: files, Status: StatusDraft, SubmittedBy: submitter}
	v.Hash = v.ComputeHash()
	return v, nil
}

// Attributes are the person attributes a manifest may declare: exactly
// those the runner can supply (runner.attributes). Any other name would be
// registered, approved and then silently never handed to the engine.
var Attributes = []string{"age", "sex"}

// MaxAge bounds an age milestone: no one is recomputed at an age nobody
// reaches, and a typo such as 500 is refused rather than never firing.
const MaxAge = 130

// MaxIDLen bounds an id: it appears in URLs, file names and consent records.
const MaxIDLen = 64

// readsGenotypes lists the kinds whose engine reads genotypes (pgx, prs and
// monogenic all do). Such a manifest must declare them: "algorithms see only
// what they declare" (ARCHITECTURE decision 5), so a version saying
// genotypes: false while its engine reads them must not be registered.
var readsGenotypes = map[Kind]bool{KindPGx: true, KindPRS: true, KindMonogenic: true}

// Validate checks the manifest is complete and says truthfully what the
// algorithm reads, before anything is registered: every path (CLI submit,
// built-ins, tests) goes through New, so the rules hold for all. Each
// refusal names the field and what is allowed.
func (m Manifest) Validate() error {
	if strings.TrimSpace(m.ID) == "" {
		return fmt.Errorf("%w: manifest has no id (required, not blank)", ErrInvalid)
	}
	if !validID(m.ID) {
		return fmt.Errorf("%w: id %q: use 1-%d lower-case letters, digits, '.', '_' or '-', starting with a letter or digit (ids appear in URLs, file names and consent records)", ErrInvalid, m.ID, MaxIDLen)
	}
	fail := func(format string, a ...any) error {
		return fmt.Errorf("%w: %s: "+format, append([]any{ErrInvalid, m.ID}, a...)...)
	}
	switch {
	case strings.TrimSpace(m.Version) == "":
		return fail("manifest has no version (required, not blank)")
	case m.Kind != KindPGx && m.Kind != KindPRS && m.Kind != KindMonogenic:
		return fail("kind %q is not one of pgx, prs, monogenic", m.Kind)
	case strings.TrimSpace(m.Title) == "":
		return fail("manifest has no title (required, not blank)")
	case strings.TrimSpace(m.Purpose) == "":
		return fail("manifest has no purpose, the plain-language text a patient reads before opting in (required, not blank)")
	case readsGenotypes[m.Kind] && !m.Inputs.Genotypes:
		return fail("inputs.genotypes is false, but the %s engine reads genotypes: declare \"genotypes\": true", m.Kind)
	case len(m.Drugs) > 0 && m.Kind != KindPGx:
		return fail("drugs are for pgx algorithms only (a prescription triggers them); this one is %s", m.Kind)
	}
	seen := map[string]bool{}
	for _, a := range m.Inputs.Attributes {
		if !slices.Contains(Attributes, a) {
			return fail("inputs.attributes: %q is not an attribute the runner supplies; allowed: %s", a, strings.Join(Attributes, ", "))
		}
		if seen[a] {
			return fail("inputs.attributes: %q is listed twice", a)
		}
		seen[a] = true
	}
	if len(m.AgeMilestones) > 0 && !m.DeclaresAttribute("age") {
		return fail("age_milestones need the \"age\" attribute in inputs.attributes (the age is what changes at a milestone)")
	}
	ages := map[int]bool{}
	for _, age := range m.AgeMilestones {
		if age < 0 || age > MaxAge {
			return fail("age_milestones: %d is not an age from 0 to %d", age, MaxAge)
		}
		if ages[age] {
			return fail("age_milestones: %d is listed twice", age)
		}
		ages[age] = true
	}
	return nil
}

// validID reports whether id is a conservative slug: 1-MaxIDLen bytes of
// a-z, 0-9, '.', '_', '-', starting with a letter or digit. No spaces,
// slashes or upper case: an id never needs escaping or case folding.
func validID(id string) bool {
	if len(id) == 0 || len(id) > MaxIDLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		switch {
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9':
		case i > 0 && (c == '.' || c == '_' || c == '-'):
		default:
			return false
		}
	}
	return true
}

// Canonical is the byte string the hash covers: the manifest and every
// file, in JSON with sorted keys (encoding/json sorts map keys and keeps
// struct field order fixed), so the same content always has one address.
func (v *Version) Canonical() []byte {
	names := make([]string, 0, len(v.Files))
	for n := range v.Files {
		names = append(names, n)
	}
	sort.Strings(names)
	type file struct {
		Name   string `json:"name"`
		SHA256 string `json:"sha256"`
	}
	files := make([]file, len(names))
	for i, n := range names {
		s := sha256.Sum256(v.Files[n])
		files[i] = file{n, hex.EncodeToString(s[:])}
	}
	b, err := json.Marshal(struct {
		Manifest Manifest `json:"manifest"`
		Files    []file   `json:"files"`
	}{v.Manifest, files})
	if err != nil {
		panic(err) // only plain types: cannot fail
	}
	return b
}

// ComputeHash returns the hex SHA-256 of Canonical.
func (v *Version) ComputeHash() string {
	s := sha256.Sum256(v.Canonical())
	return hex.EncodeToString(s[:])
}

// ShortHash is the first 12 hex digits, for display.
func ShortHash(h string) string {
	if len(h) > 12 {
		return h[:12]
	}
	return h
}
