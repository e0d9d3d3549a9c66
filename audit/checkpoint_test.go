package audit_test

import (
	"bytes"
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/mod/sumdb/note"

	"github.com/geneguard/geneguard/audit"
)

func TestSignOpenCheckpoint(t *testing.T) {
	s, err := audit.NewSigner(testSKey)
	if err != nil {
		t.Fatal(err)
	}
	v, err := audit.NewVerifier(testVKey)
	if err != nil {
		t.Fatal(err)
	}
	root := refRoot(leavesN(5))
	got, err := s.SignCheckpoint("geneguard.test/audit", 5, root)
	if err != nil {
		t.Fatal(err)
	}
	// Self-made known answer: Ed25519 is deterministic, so the signed bytes
	// are fixed for this key, size and root.
	const want = "geneguard.test/audit\n5\nNBUVmC1lDiNSDb1U1/zwr6G3DMOhakEdRk3JwayWwwE=\n\n" +
		"— geneguard.test/audit " + goldenSig + "\n"
	if diff := cmp.Diff(want, string(got)); diff != "" {
		t.Errorf("SignCheckpoint (-want +got):\n%s", diff)
	}
	cp, err := audit.OpenCheckpoint(got, v)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(audit.Checkpoint{Origin: "geneguard.test/audit", Size: 5, Root: root}, cp); diff != "" {
		t.Errorf("OpenCheckpoint (-want +got):\n%s", diff)
	}
}

const goldenSig = "e3GfDx3YKhw4Be36/EEd8qOVuHt6TUY0gGZ19AIor5bQYaRPIbIuTlppcZPaTmKWUz9SRJHaWKG4Ik+GxVl8nHKERgA="

func TestSignCheckpointRejects(t *testing.T) {
	s, err := audit.NewSigner(testSKey)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.SignCheckpoint("other.example/log", 1, make([]byte, 32)); !errors.Is(err, audit.ErrCheckpoint) {
		t.Errorf("foreign origin: err = %v, want ErrCheckpoint", err)
	}
	if _, err := s.SignCheckpoint(s.Origin(), 1, make([]byte, 31)); !errors.Is(err, audit.ErrCheckpoint) {
		t.Errorf("short root: err = %v, want ErrCheckpoint", err)
	}
}

func TestOpenCheckpointRejects(t *testing.T) {
	s, _ := audit.NewSigner(testSKey)
	v, _ := audit.NewVerifier(testVKey)
	good, err := s.SignCheckpoint(s.Origin(), 7, refRoot(leavesN(7)))
	if err != nil {
		t.Fatal(err)
	}
	// Same key name, different key: must not verify.
	impostorSKey, _, err := audit.GenerateKey(s.Origin())
	if err != nil {
		t.Fatal(err)
	}
	impostor, _ := audit.NewSigner(impostorSKey)
	impostorCP, _ := impostor.SignCheckpoint(impostor.Origin(), 7, refRoot(leavesN(7)))
	// A genuine signature over a note that is not a checkpoint.
	notCP, err := note.Sign(&note.Note{Text: "geneguard.test/audit\nseven\n"}, mustNoteSigner(t))
	if err != nil {
		t.Fatal(err)
	}
	shortRoot, _ := note.Sign(&note.Note{Text: "geneguard.test/audit\n7\nAAAA\n"}, mustNoteSigner(t))
	wrongOrigin, _ := note.Sign(&note.Note{Text: "other.example/log\n7\n" + b64(refRoot(leavesN(7))) + "\n"}, mustNoteSigner(t))

	tests := []struct {
		name string
		data []byte
	}{
		{"size edited", bytes.Replace(good, []byte("\n7\n"), []byte("\n8\n"), 1)},
		{"root edited", bytes.Replace(good, []byte("\n7\n"), []byte("\n7\nAAAA"), 1)},
		{"same name, other key", impostorCP},
		{"no signature", good[:bytes.Index(good, []byte("\n\n"))+2]},
		{"empty", nil},
		{"signed non-checkpoint", notCP},
		{"signed short root", shortRoot},
		{"signed wrong origin", wrongOrigin},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := audit.OpenCheckpoint(tt.data, v); !errors.Is(err, audit.ErrCheckpoint) {
				t.Errorf("OpenCheckpoint = %v, want ErrCheckpoint", err)
			}
		})
	}
}

func mustNoteSigner(t *testing.T) note.Signer {
	t.Helper()
	s, err := note.NewSigner(testSKey)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

func TestGenerateKeyRoundTrip(t *testing.T) {
	skey, vkey, err := audit.GenerateKey("geneguard.ee/audit/v1")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(vkey, "geneguard.ee/audit/v1+") {
		t.Errorf("vkey %q does not start with the origin", vkey)
	}
	s, err := audit.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	v, err := audit.NewVerifier(vkey)
	if err != nil {
		t.Fatal(err)
	}
	cp, err := s.SignCheckpoint(s.Origin(), 0, audit.Root(nil))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := audit.OpenCheckpoint(cp, v); err != nil {
		t.Errorf("OpenCheckpoint: %v", err)
	}
	if _, err := audit.NewSigner(vkey); err == nil {
		t.Error("NewSigner(vkey) = nil error")
	}
	if _, err := audit.NewVerifier(skey); err == nil {
		t.Error("NewVerifier(skey) = nil error")
	}
}
