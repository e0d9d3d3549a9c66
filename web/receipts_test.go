package web_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/geneguard/geneguard/audit"
	"github.com/geneguard/geneguard/identity"
	"github.com/geneguard/geneguard/platform"
	"github.com/geneguard/geneguard/web"
)

// fakeReceipts issues receipts for even sequence numbers only, standing in
// for events a checkpoint covers (even) and ones it does not yet (odd).
type fakeReceipts struct{ asked []identity.Principal }

func (f *fakeReceipts) Receipt(ctx context.Context, p identity.Principal, seq uint64) (audit.Receipt, error) {
	f.asked = append(f.asked, p)
	if seq == 5 {
		return audit.Receipt{}, &platform.Error{Code: platform.CodeNotFound, Message: "no event 5 in your access log", Err: platform.ErrNotFound}
	}
	if seq%2 == 1 {
		return audit.Receipt{}, &platform.Error{Code: platform.CodeNotFound, Message: "no checkpoint covers it", Err: platform.ErrNotCheckpointed}
	}
	return audit.Receipt{Event: []byte(`{"seq":` + string(rune('0'+seq)) + `}`), Index: seq, Checkpoint: "log\n1\nroot\n"}, nil
}

func (f *fakeReceipts) VerifierKey() string { return "geneguard.test+00000000+KEY" }

func TestReceipts(t *testing.T) {
	fr := &fakeReceipts{}
	e := newEnvWith(t, func(o *web.Options) { o.Receipts = fr })
	c := e.client(t)
	c.login("EE" + codeMari)
	c.get("/patient") // reading results leaves an audit entry

	if r := c.get("/patient/access-log"); r.status != http.StatusOK || !strings.Contains(r.body, "/patient/access-log/receipts/") {
		t.Fatalf("access log: status %d, receipt links missing", r.status)
	}
	r := c.get("/patient/access-log/receipts/2")
	if r.status != http.StatusOK || !strings.Contains(r.header.Get("Content-Disposition"), "geneguard-receipt-2.json") {
		t.Fatalf("receipt download: status %d, disposition %q", r.status, r.header.Get("Content-Disposition"))
	}
	var rc audit.Receipt
	if err := json.Unmarshal([]byte(r.body), &rc); err != nil || rc.Index != 2 {
		t.Fatalf("receipt body %q: %v", r.body, err)
	}
	if len(fr.asked) == 0 || fr.asked[0].Role != identity.RolePatient {
		t.Errorf("receipt asked as %+v, want the signed-in patient", fr.asked)
	}
	if r := c.get("/patient/access-log/receipts/3"); r.status != http.StatusNotFound || !strings.Contains(r.body, "after the next signed checkpoint") {
		t.Errorf("uncovered event: status %d, body lacks the explanation", r.status)
	}
	// An event that is not the patient's is not "coming soon".
	if r := c.get("/patient/access-log/receipts/5"); r.status != http.StatusNotFound || !strings.Contains(r.body, "no event 5 in your access log") || strings.Contains(r.body, "after the next signed checkpoint") {
		t.Errorf("someone else's event: status %d, body %q", r.status, r.body)
	}
	if r := c.get("/patient/access-log/receipts/x"); r.status != http.StatusBadRequest {
		t.Errorf("bad seq: status %d, want 400", r.status)
	}
	if r := c.get("/api/v1/audit/receipts/4"); r.status != http.StatusOK {
		t.Errorf("API receipt: status %d", r.status)
	}
	anon := e.client(t)
	if r := anon.get("/audit/key"); r.status != http.StatusOK || strings.TrimSpace(r.body) != fr.VerifierKey() {
		t.Errorf("/audit/key = %d %q", r.status, r.body)
	}
	if r := anon.get("/api/v1/audit/receipts/2"); r.status != http.StatusUnauthorized {
		t.Errorf("anonymous receipt: status %d, want 401", r.status)
	}
}

func TestNoReceiptsWithoutAuditor(t *testing.T) {
	e := newEnv(t)
	c := e.client(t)
	c.login("EE" + codeMari)
	c.get("/patient")
	if r := c.get("/patient/access-log"); !strings.Contains(r.body, "<table") || strings.Contains(r.body, "/receipts/") {
		t.Error("receipt links shown without an auditor")
	}
	if r := c.get("/audit/key"); r.status != http.StatusNotFound {
		t.Errorf("/audit/key without an auditor: status %d", r.status)
	}
}
