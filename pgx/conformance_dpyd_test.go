package pgx_test

import (
	"context"
	"strings"
	"testing"

	"github.com/geneguard/geneguard/internal/testcorpus"
	"github.com/geneguard/geneguard/pgx"
)

// TestConformanceTables runs the corpus conformance helpers (DPYD HapB3
// grid phased and unphased, GeT-RM CYP2D6 outside calls) and requires every
// case to agree.
func TestConformanceTables(t *testing.T) {
	corpus := testcorpus.Require(t)
	tables, err := pgx.ConformanceAll(context.Background(), corpus)
	if err != nil {
		t.Fatal(err)
	}
	for _, tb := range tables {
		var b strings.Builder
		tb.Write(&b)
		t.Log("\n" + b.String())
		if !tb.OK() {
			t.Errorf("%s: not every case agrees", tb.Title)
		}
	}
}
