package audit_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/geneguard/geneguard/audit"
)

func TestCanonicalGolden(t *testing.T) {
	tallinn := time.FixedZone("EET", 2*3600)
	e := audit.Event{
		Seq:         42,
		Time:        time.Date(2026, 3, 1, 10, 30, 0, 500, tallinn),
		Actor:       "EE38001085718",
		Role:        "clinician",
		Person:      "pz-7f3a",
		Action:      "run",
		Object:      "algorithm/cyp2c19@1.2.0",
		Purpose:     "TREAT",
		RequestID:   "req-1",
		XRoadClient: "EE/GOV/70009770/digilugu",
		XRoadUser:   "EE38001085718",
		Details:     map[string]string{"z": "<&>", "a": "ä"},
	}
	want := `{"action":"run","actor":"EE38001085718","details":{"a":"ä","z":"<&>"},` +
		`"object":"algorithm/cyp2c19@1.2.0","person":"pz-7f3a","purpose":"TREAT","request_id":"req-1",` +
		`"role":"clinician","seq":42,"time":"2026-03-01T08:30:00.0000005Z","v":1,` +
		`"xroad_client":"EE/GOV/70009770/digilugu","xroad_user":"EE38001085718"}`
	got := e.Canonical()
	if diff := cmp.Diff(want, string(got)); diff != "" {
		t.Errorf("Canonical() mismatch (-want +got):\n%s", diff)
	}
	// Leaf hash computed independently of rfc6962: SHA-256(0x00 || bytes).
	sum := sha256.Sum256(append([]byte{0}, want...))
	if diff := cmp.Diff(hex.EncodeToString(sum[:]), hex.EncodeToString(audit.LeafHash(e))); diff != "" {
		t.Errorf("LeafHash mismatch (-want +got):\n%s", diff)
	}
}

func TestCanonicalRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		e    audit.Event
	}{
		{"zero", audit.Event{Action: "login"}},
		{"sample with details", sampleEvent(3)},
		{"sample without details", sampleEvent(4)},
		{"non-UTC nanos", audit.Event{Action: "view", Time: time.Date(2025, 12, 31, 23, 59, 59, 999999999, time.FixedZone("X", -5*3600))}},
		{"unicode and escapes", audit.Event{Action: "break-glass", Actor: "Õie \"Jüri\"\n\t\\ 🧬", Details: map[string]string{"note": "\u2028<script>"}}},
		{"max seq", audit.Event{Seq: ^uint64(0), Action: "ingest"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.e.Validate(); err != nil {
				t.Fatalf("Validate: %v", err)
			}
			b := tt.e.Canonical()
			got, err := audit.ParseCanonical(b)
			if err != nil {
				t.Fatalf("ParseCanonical(%s): %v", b, err)
			}
			if diff := cmp.Diff(tt.e, got); diff != "" {
				t.Errorf("round trip (-want +got):\n%s", diff)
			}
			if got.Time.Location() != time.UTC {
				t.Errorf("parsed time location = %v, want UTC", got.Time.Location())
			}
		})
	}
}

// TestCanonicalKeysSorted guards the declaration order of wireEvent.
func TestCanonicalKeysSorted(t *testing.T) {
	dec := json.NewDecoder(bytes.NewReader(sampleEvent(0).Canonical()))
	var keys []string
	depth := 0
	for {
		tok, err := dec.Token()
		if err != nil {
			break
		}
		switch v := tok.(type) {
		case json.Delim:
			if v == '{' {
				depth++
			} else if v == '}' {
				depth--
			}
		case string:
			if depth == 1 && dec.More() {
				keys = append(keys, v)
				// Skip the value.
				var raw json.RawMessage
				if err := dec.Decode(&raw); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	if len(keys) != 13 {
		t.Fatalf("got %d top-level keys %q, want 13", len(keys), keys)
	}
	for i := 1; i < len(keys); i++ {
		if keys[i-1] >= keys[i] {
			t.Errorf("keys not sorted: %q before %q", keys[i-1], keys[i])
		}
	}
}

func TestParseCanonicalRejects(t *testing.T) {
	good := string(audit.Event{Action: "view"}.Canonical())
	tests := []struct{ name, in string }{
		{"empty", ``},
		{"not json", `nope`},
		{"whitespace", " " + good},
		{"trailing data", good + "{}"},
		{"trailing newline", good + "\n"},
		{"unknown field", `{"action":"view","extra":"x"}`},
		{"missing fields", `{"action":"view","v":1,"time":"0001-01-01T00:00:00Z"}`},
		{"version 2", replace(good, `"v":1`, `"v":2`)},
		{"empty details present", replace(good, `"actor":""`, `"actor":"","details":{}`)},
		{"html escaped", replace(good, `"object":""`, `"object":"\u003c"`)},
		{"non-UTC offset", replace(good, `"0001-01-01T00:00:00Z"`, `"0001-01-01T02:00:00+02:00"`)},
		{"bad time", replace(good, `"0001-01-01T00:00:00Z"`, `"yesterday"`)},
		{"upper-case key", replace(good, `"action"`, `"ACTION"`)},
		{"duplicate key", replace(good, `{"action":"view"`, `{"action":"run","action":"view"`)},
		{"seq as float", replace(good, `"seq":0`, `"seq":0.0`)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := audit.ParseCanonical([]byte(tt.in))
			if !errors.Is(err, audit.ErrInvalidEvent) {
				t.Errorf("ParseCanonical(%q) error = %v, want ErrInvalidEvent", tt.in, err)
			}
		})
	}
}

func replace(s, old, new string) string {
	out := bytes.Replace([]byte(s), []byte(old), []byte(new), 1)
	if string(out) == s {
		panic("replace: " + old + " not found")
	}
	return string(out)
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name    string
		e       audit.Event
		wantErr bool
	}{
		{"ok", sampleEvent(1), false},
		{"no action", audit.Event{Actor: "x"}, true},
		{"bad utf8 actor", audit.Event{Action: "view", Actor: "\xff"}, true},
		{"bad utf8 details key", audit.Event{Action: "view", Details: map[string]string{"\xfe": "v"}}, true},
		{"bad utf8 details value", audit.Event{Action: "view", Details: map[string]string{"k": "\xfe"}}, true},
		{"year 10000", audit.Event{Action: "view", Time: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.e.Validate()
			if (err != nil) != tt.wantErr {
				t.Fatalf("Validate() = %v, wantErr %v", err, tt.wantErr)
			}
			if err != nil && !errors.Is(err, audit.ErrInvalidEvent) {
				t.Errorf("Validate() = %v, want ErrInvalidEvent", err)
			}
		})
	}
}

// FuzzParseCanonical checks the strictness contract: anything accepted is
// exactly the canonical encoding of what it decodes to.
func FuzzParseCanonical(f *testing.F) {
	f.Add(sampleEvent(0).Canonical())
	f.Add(sampleEvent(1).Canonical())
	f.Add([]byte(`{"action":"view"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := audit.ParseCanonical(b)
		if err != nil {
			return
		}
		if got := e.Canonical(); !bytes.Equal(got, b) {
			t.Fatalf("accepted non-canonical input\n in: %q\nout: %q", b, got)
		}
	})
}
