package audit

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/transparency-dev/merkle/rfc6962"
)

// CanonicalVersion is the value of the "v" field in every canonical event.
// It lets a verifier decades from now tell which encoding rules produced the
// bytes that were hashed; ParseCanonical rejects any other version rather
// than guess.
const CanonicalVersion = 1

// Event is one audited action. Every field is part of the hashed canonical
// encoding, so anything that must later be provable belongs here and
// anything that must not be disclosed to an auditor (a real name, a national
// ID) does not: Person is a pseudonym.
type Event struct {
	// Seq is the event's index in the log (0-based, contiguous). It is inside
	// the hashed bytes so a row cannot be moved to another position without
	// changing its leaf hash.
	Seq uint64
	// Time is when the action happened; encoded as RFC 3339 with nanoseconds
	// in UTC, so the local zone of the writer never changes the hash.
	Time        time.Time
	Actor       string
	Role        string
	Person      string // pseudonym of the data subject; empty for non-personal actions
	Action      string // e.g. "ingest", "run", "view", "consent.grant", "break-glass"
	Object      string
	Purpose     string
	RequestID   string
	XRoadClient string
	XRoadUser   string
	Details     map[string]string
}

// wireEvent fixes the canonical field order. The fields are declared in
// byte-wise sorted order of their JSON names (encoding/json emits struct
// fields in declaration order and sorts map keys), which makes the output
// "sorted keys" without a generic canonicaliser. TestCanonicalKeysSorted
// guards the order.
type wireEvent struct {
	Action      string            `json:"action"`
	Actor       string            `json:"actor"`
	Details     map[string]string `json:"details,omitempty"`
	Object      string            `json:"object"`
	Person      string            `json:"person"`
	Purpose     string            `json:"purpose"`
	RequestID   string            `json:"request_id"`
	Role        string            `json:"role"`
	Seq         uint64            `json:"seq"`
	Time        string            `json:"time"`
	V           int               `json:"v"`
	XRoadClient string            `json:"xroad_client"`
	XRoadUser   string            `json:"xroad_user"`
}

// Canonical returns the deterministic byte encoding that is hashed into the
// log: compact JSON, keys sorted, no HTML escaping, time in RFC 3339 (nano)
// UTC. Empty Details are omitted; every other field is always present so the
// schema is self-describing to an auditor.
//
// Invalid UTF-8 in a string is replaced by U+FFFD by encoding/json, so such
// an event would not round-trip; call [Event.Validate] before appending.
func (e Event) Canonical() []byte {
	w := wireEvent{
		Action:      e.Action,
		Actor:       e.Actor,
		Details:     e.Details,
		Object:      e.Object,
		Person:      e.Person,
		Purpose:     e.Purpose,
		RequestID:   e.RequestID,
		Role:        e.Role,
		Seq:         e.Seq,
		Time:        e.Time.UTC().Format(time.RFC3339Nano),
		V:           CanonicalVersion,
		XRoadClient: e.XRoadClient,
		XRoadUser:   e.XRoadUser,
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(w); err != nil {
		// Only strings, a uint64 and a map[string]string: Encode cannot fail.
		panic("audit: encoding canonical event: " + err.Error())
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

// ErrInvalidEvent is returned (wrapped) by Validate and ParseCanonical.
var ErrInvalidEvent = errors.New("invalid event")

// Validate reports whether e can be encoded losslessly: all strings valid
// UTF-8, a time whose year fits RFC 3339, and a non-empty Action. Stores call
// it before appending so that what is hashed is exactly what was meant.
func (e Event) Validate() error {
	if e.Action == "" {
		return fmt.Errorf("audit: validate event: %w: empty action", ErrInvalidEvent)
	}
	if y := e.Time.UTC().Year(); y < 0 || y > 9999 {
		return fmt.Errorf("audit: validate event: %w: time year %d outside RFC 3339", ErrInvalidEvent, y)
	}
	fields := map[string]string{
		"actor": e.Actor, "role": e.Role, "person": e.Person, "action": e.Action,
		"object": e.Object, "purpose": e.Purpose, "request_id": e.RequestID,
		"xroad_client": e.XRoadClient, "xroad_user": e.XRoadUser,
	}
	for k, v := range e.Details {
		fields["details key "+k] = k
		fields["details["+k+"]"] = v
	}
	for name, v := range fields {
		if !utf8.ValidString(v) {
			return fmt.Errorf("audit: validate event: %w: %s is not valid UTF-8", ErrInvalidEvent, name)
		}
	}
	return nil
}

// ParseCanonical is the inverse of Canonical. It is strict: it rejects
// unknown fields, other versions, and any input that is not byte-for-byte
// the canonical encoding of the event it decodes to. Strictness means one
// event has exactly one leaf hash, so nobody can present a "same event,
// different bytes" variant to a verifier.
func ParseCanonical(b []byte) (Event, error) {
	e, err := parseCanonical(b)
	if err != nil {
		return Event{}, fmt.Errorf("audit: parse event: %w", err)
	}
	return e, nil
}

func parseCanonical(b []byte) (Event, error) {
	w, ok := scanCanonical(b)
	if !ok {
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&w); err != nil {
			return Event{}, fmt.Errorf("%w: %w", ErrInvalidEvent, err)
		}
	}
	if w.V != CanonicalVersion {
		return Event{}, fmt.Errorf("%w: version %d, want %d", ErrInvalidEvent, w.V, CanonicalVersion)
	}
	t, err := time.Parse(time.RFC3339Nano, w.Time)
	if err != nil {
		return Event{}, fmt.Errorf("%w: %w", ErrInvalidEvent, err)
	}
	e := Event{
		Seq:         w.Seq,
		Time:        t.UTC(),
		Actor:       w.Actor,
		Role:        w.Role,
		Person:      w.Person,
		Action:      w.Action,
		Object:      w.Object,
		Purpose:     w.Purpose,
		RequestID:   w.RequestID,
		XRoadClient: w.XRoadClient,
		XRoadUser:   w.XRoadUser,
		Details:     w.Details,
	}
	if !bytes.Equal(e.Canonical(), b) {
		return Event{}, fmt.Errorf("%w: not in canonical form", ErrInvalidEvent)
	}
	return e, nil
}

// scanCanonical is parseCanonical's fast path (a store parses every event
// when it sequences it and again when it signs it; encoding/json's
// reflective decoder is most of that cost). It decodes b only when b has
// exactly the canonical layout and no string in it holds an escape
// sequence, a control character or invalid UTF-8, which is nearly every
// event; ok is false otherwise and the caller decodes with encoding/json.
// It need not be strict: parseCanonical's re-encoding check still decides whether b is
// canonical. It must only decode correctly what it accepts.
func scanCanonical(b []byte) (w wireEvent, ok bool) {
	p := 0
	lit := func(s string) bool {
		if len(b)-p < len(s) || string(b[p:p+len(s)]) != s {
			return false
		}
		p += len(s)
		return true
	}
	str := func(dst *string) bool {
		if p >= len(b) || b[p] != '"' {
			return false
		}
		for i := p + 1; i < len(b); i++ {
			switch c := b[i]; {
			case c == '"':
				if !utf8.Valid(b[p+1 : i]) {
					return false // encoding/json decodes it to U+FFFD
				}
				*dst = string(b[p+1 : i])
				p = i + 1
				return true
			case c == '\\' || c < 0x20:
				return false
			}
		}
		return false
	}
	num := func() (uint64, bool) {
		i := p
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		n, err := strconv.ParseUint(string(b[p:i]), 10, 64)
		if err != nil {
			return 0, false
		}
		p = i
		return n, true
	}
	if !lit(`{"action":`) || !str(&w.Action) || !lit(`,"actor":`) || !str(&w.Actor) {
		return w, false
	}
	if lit(`,"details":{`) {
		w.Details = map[string]string{}
		for {
			var k, v string
			if !str(&k) || !lit(`:`) || !str(&v) {
				return w, false
			}
			w.Details[k] = v
			if lit(`}`) {
				break
			}
			if !lit(`,`) {
				return w, false
			}
		}
	}
	if !lit(`,"object":`) || !str(&w.Object) || !lit(`,"person":`) || !str(&w.Person) ||
		!lit(`,"purpose":`) || !str(&w.Purpose) || !lit(`,"request_id":`) || !str(&w.RequestID) ||
		!lit(`,"role":`) || !str(&w.Role) || !lit(`,"seq":`) {
		return w, false
	}
	if w.Seq, ok = num(); !ok {
		return w, false
	}
	if !lit(`,"time":`) || !str(&w.Time) || !lit(`,"v":`) {
		return w, false
	}
	v, ok := num()
	if !ok || v != CanonicalVersion {
		return w, false // other versions: the slow path says why
	}
	w.V = int(v)
	if !lit(`,"xroad_client":`) || !str(&w.XRoadClient) || !lit(`,"xroad_user":`) || !str(&w.XRoadUser) || !lit(`}`) {
		return w, false
	}
	return w, p == len(b)
}

// LeafHash is the RFC 6962 leaf hash, SHA-256(0x00 || e.Canonical()), that
// the store keeps next to the canonical bytes.
func LeafHash(e Event) []byte {
	return rfc6962.DefaultHasher.HashLeaf(e.Canonical())
}

// hashLeaf hashes stored canonical bytes directly. Verifiers must use this,
// not LeafHash(ParseCanonical(b)), so that what is checked is what is stored.
func hashLeaf(canonical []byte) []byte {
	return rfc6962.DefaultHasher.HashLeaf(canonical)
}
