package prs_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/geneguard/geneguard/internal/testcorpus"
	"github.com/geneguard/geneguard/prs"
)

func TestConformance(t *testing.T) {
	dir := testcorpus.Require(t, "prs")
	var out bytes.Buffer
	ok, err := prs.Conformance(context.Background(), dir, &out)
	if err != nil {
		t.Fatal(err)
	}
	if !ok || !strings.Contains(out.String(), "scoring-file acceptance 26/26") {
		t.Errorf("conformance disagrees:\n%s", out.String())
	}
	t.Log("\n" + out.String())
}
