package platform

import (
	"context"
	"errors"

	"github.com/geneguard/geneguard/algorithm"
	"github.com/geneguard/geneguard/consent"
	"github.com/geneguard/geneguard/identity"
)

// ConsentHistory returns a person's full consent history for one
// algorithm, oldest first: who, when, through which channel. An
// algorithm id with no registered version is CodeNotFound: an empty
// history would read as "default deny" for what is only a typo.
func (s *Service) ConsentHistory(ctx context.Context, p identity.Principal, person, algorithmID string) ([]consent.Event, error) {
	if err := mayReadPerson(p, person); err != nil {
		return nil, err
	}
	var out []consent.Event
	err := s.store.Read(ctx, func(tx Tx) error {
		if _, err := tx.Person(person); err != nil {
			return err
		}
		if err := knownAlgorithm(tx, algorithmID); err != nil {
			return err
		}
		var err error
		out, err = tx.ConsentHistory(person, algorithmID)
		return err
	})
	return out, err
}

// ConsentFHIR exports a person's consent to an algorithm as a FHIR R4
// Consent (default-deny root provision, a permit for the algorithm). A
// person who never decided has nothing to export: not_found, and default
// deny applies.
func (s *Service) ConsentFHIR(ctx context.Context, p identity.Principal, person, algorithmID string) (*consent.FHIRConsent, error) {
	h, err := s.ConsentHistory(ctx, p, person, algorithmID)
	if err != nil {
		return nil, err
	}
	opts := consent.FHIROptions{}
	var title string
	_ = s.store.Read(ctx, func(tx Tx) error {
		all, err := tx.AllAlgorithms()
		if err != nil {
			return err
		}
		var newest *algorithm.Version
		for _, v := range all {
			if v.Manifest.ID == algorithmID && (newest == nil || v.Status == algorithm.StatusActive) {
				newest = v
			}
		}
		if newest != nil {
			title = newest.Manifest.Title
		}
		return nil
	})
	opts.AlgorithmTitle = title
	c, err := consent.FHIR(h, opts)
	if errors.Is(err, consent.ErrNoHistory) {
		return nil, &Error{Code: CodeNotFound, Message: "no consent recorded for " + algorithmID + ": default deny applies", Err: err}
	}
	return c, err
}
