package platform

import (
	"context"
	"time"

	"github.com/geneguard/geneguard/identity"
)

// SessionRecord is one server-side web session as a store keeps it. The
// store sees neither the browser's token nor who is signed in: ID is a hash
// of the token and Data the principal sealed by the web layer (see
// ARCHITECTURE.md decision 13).
type SessionRecord struct {
	ID      string
	Data    []byte
	Created time.Time
	Seen    time.Time // last request, to the web layer's touch granularity
	Expires time.Time // absolute end, whatever the activity
}

// SessionStore keeps web sessions server-side, so that signing out ends a
// session everywhere at once. Implemented by *sqlstore.Store.
type SessionStore interface {
	CreateSession(ctx context.Context, s SessionRecord) error
	// Session returns the session with id, or ErrNotFound.
	Session(ctx context.Context, id string) (SessionRecord, error)
	TouchSession(ctx context.Context, id string, seen time.Time) error
	DeleteSession(ctx context.Context, id string) error
	// PurgeSessions deletes sessions expired at now or not seen since
	// idleSince, and returns how many.
	PurgeSessions(ctx context.Context, now, idleSince time.Time) (int, error)
}

// Sessions returns the store's session keeping, or nil when the store keeps
// none (the web layer then keeps sessions in memory).
func (s *Service) Sessions() SessionStore {
	ss, _ := s.store.(SessionStore)
	return ss
}

// SignOut records that p signed out of the portal (the web layer has
// already ended the session). A patient's sign-out is filed under their
// pseudonym, so it is in their access log next to the sign-in.
func (s *Service) SignOut(ctx context.Context, p identity.Principal) error {
	person, purpose := "", string(p.Role)
	if p.Role == identity.RolePatient {
		person, purpose = p.Person, "patient self-service"
	}
	return s.store.InTx(ctx, func(tx Tx) error {
		return audit(ctx, tx, p, person, "logout", "portal", purpose, nil)
	})
}
