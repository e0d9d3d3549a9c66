package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/geneguard/geneguard/audit"
	"github.com/geneguard/geneguard/identity"
	"github.com/geneguard/geneguard/platform"
)

// Receipts issues audit-log receipts: an event, its inclusion proof and a
// signed checkpoint, which a patient downloads and anyone can verify
// offline with the published verifier key (geneguard audit
// verify-receipt). *platform.Auditor implements it.
type Receipts interface {
	Receipt(ctx context.Context, p identity.Principal, seq uint64) (audit.Receipt, error)
	VerifierKey() string
}

// accessLogView is the access-log page's data.
type accessLogView struct {
	Entries  []platform.AuditEntry
	Receipts bool
	Me       string // the patient's pseudonym, shown as "You"
	// BreakGlass counts the emergency accesses among Entries, announced
	// above the table.
	BreakGlass int
	// Refused counts the refused attempts (sign-ins, views, consent
	// changes) among Entries, announced above the table.
	Refused int
}

func parseSeq(r *http.Request) (uint64, error) {
	seq, err := strconv.ParseUint(r.PathValue("seq"), 10, 64)
	if err != nil {
		return 0, &platform.Error{Code: platform.CodeInvalid, Message: fmt.Sprintf("%q is not an audit event number", r.PathValue("seq"))}
	}
	return seq, nil
}

// receipt returns one receipt, or a not-found error that tells the patient
// why: events are covered once the next checkpoint is signed.
func (s *server) receipt(r *http.Request, p identity.Principal) (audit.Receipt, error) {
	if s.receipts == nil {
		return audit.Receipt{}, &platform.Error{Code: platform.CodeNotFound, Message: "Receipts are not enabled on this server."}
	}
	seq, err := parseSeq(r)
	if err != nil {
		return audit.Receipt{}, err
	}
	rc, err := s.receipts.Receipt(r.Context(), p, seq)
	if err != nil {
		if errors.Is(err, platform.ErrNotCheckpointed) {
			// Not an error of the patient's: it will be there in minutes.
			// Other not-founds (no such event, or not theirs) keep their
			// own message.
			return audit.Receipt{}, &platform.Error{Code: platform.CodeNotFound, Message: fmt.Sprintf("No receipt for event #%d yet: receipts are available after the next signed checkpoint (usually within minutes).", seq), Err: err}
		}
		return audit.Receipt{}, err
	}
	return rc, nil
}

// patientReceipt downloads a receipt as a JSON file.
func (s *server) patientReceipt(w http.ResponseWriter, r *http.Request, sess *session) error {
	rc, err := s.receipt(r, sess.principal())
	if err != nil {
		return err
	}
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="geneguard-receipt-%d.json"`, rc.Index))
	writeJSON(w, http.StatusOK, rc)
	return nil
}

func (s *server) apiReceipt(r *http.Request, p identity.Principal) (any, error) {
	return s.receipt(r, p)
}

// verifierKey publishes the key receipts and checkpoints verify against.
func (s *server) verifierKey(w http.ResponseWriter, r *http.Request) {
	if s.receipts == nil {
		s.notFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	fmt.Fprintln(w, s.receipts.VerifierKey())
}
