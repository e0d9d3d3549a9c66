package audit

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// slowWire is what parseCanonical decoded before the fast path: the
// reference scanCanonical must agree with.
func slowWire(b []byte) (wireEvent, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var w wireEvent
	err := dec.Decode(&w)
	return w, err
}

// randomEvent draws fields from a pool that mixes plain text with the
// characters encoding/json escapes (quotes, backslashes, control
// characters, U+2028, invalid UTF-8) and the HTML characters it does not.
func randomEvent(r *rand.Rand) Event {
	plain := []string{"", "view", "dr-tamm", "P-1a2b", "Õie 🧬", "<&>", "[1 2 3]", "seq"}
	special := []string{"\u2028", `a"b`, `c\d`, "e\nf", "\x01", "\xff", `"seq":0,`}
	s := func() string {
		var b bytes.Buffer
		for range r.IntN(3) {
			if r.IntN(20) == 0 {
				b.WriteString(special[r.IntN(len(special))])
			} else {
				b.WriteString(plain[r.IntN(len(plain))])
			}
		}
		return b.String()
	}
	e := Event{Seq: r.Uint64() >> r.IntN(64), Time: time.Unix(r.Int64N(1<<34), r.Int64N(1e9)).UTC(),
		Actor: s(), Role: s(), Person: s(), Action: s(), Object: s(), Purpose: s(), RequestID: s(), XRoadClient: s(), XRoadUser: s()}
	if n := r.IntN(4); n > 0 {
		e.Details = map[string]string{}
		for range n {
			e.Details[s()] = s()
		}
	}
	return e
}

// TestScanCanonical: wherever the fast path accepts, it decodes exactly
// what encoding/json decodes; it accepts plain events; and ParseCanonical
// accepts and rejects exactly what the encoding/json path alone would, on
// canonical events and on mutations of them.
func TestScanCanonical(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	plain := Event{Seq: 7, Time: time.Now(), Actor: "dr-tamm", Role: "physician", Person: "P-1", Action: "view", Object: "results", Purpose: "treatment", Details: map[string]string{"results": "[1 2]"}}
	if _, ok := scanCanonical(plain.Canonical()); !ok {
		t.Error("fast path refused a plain event")
	}
	accepted := 0
	for i := range 20000 {
		b := randomEvent(r).Canonical()
		if i%2 == 1 { // mutate: flip, insert or delete a byte
			b = bytes.Clone(b)
			j := r.IntN(len(b))
			switch r.IntN(3) {
			case 0:
				b[j] ^= byte(1 << r.IntN(8))
			case 1:
				b = append(b[:j], append([]byte{"\"\\{}:,0a"[r.IntN(8)]}, b[j:]...)...)
			case 2:
				b = append(b[:j], b[j+1:]...)
			}
		}
		slow, slowErr := slowWire(b)
		if fast, ok := scanCanonical(b); ok {
			accepted++
			if slowErr != nil {
				// Then parseCanonical must still reject it.
				if _, err := parseCanonical(b); err == nil {
					t.Fatalf("accepted %q, which encoding/json rejects: %v", b, slowErr)
				}
				continue
			}
			if diff := cmp.Diff(slow, fast); diff != "" {
				t.Fatalf("fast path decodes %q differently (-encoding/json +fast):\n%s", b, diff)
			}
		}
		// End to end: same verdict and value as the encoding/json path.
		got, err := parseCanonical(b)
		var want Event
		wantOK := slowErr == nil && slow.V == CanonicalVersion
		if wantOK {
			tm, terr := time.Parse(time.RFC3339Nano, slow.Time)
			want = Event{Seq: slow.Seq, Time: tm.UTC(), Actor: slow.Actor, Role: slow.Role, Person: slow.Person, Action: slow.Action,
				Object: slow.Object, Purpose: slow.Purpose, RequestID: slow.RequestID, XRoadClient: slow.XRoadClient, XRoadUser: slow.XRoadUser, Details: slow.Details}
			wantOK = terr == nil && bytes.Equal(want.Canonical(), b)
		}
		if (err == nil) != wantOK {
			t.Fatalf("ParseCanonical(%q) = %v; the encoding/json path says ok=%v", b, err, wantOK)
		}
		if wantOK {
			if diff := cmp.Diff(want, got); diff != "" {
				t.Fatalf("ParseCanonical(%q) (-encoding/json +got):\n%s", b, diff)
			}
		}
	}
	if accepted < 2000 {
		t.Errorf("fast path accepted only %d of 20000 inputs", accepted)
	}
}
