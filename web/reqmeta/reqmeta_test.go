package reqmeta_test

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/geneguard/geneguard/web/reqmeta"
)

func TestWithFrom(t *testing.T) {
	if got := reqmeta.From(context.Background()); got != (reqmeta.Meta{}) {
		t.Errorf("From(empty) = %+v, want zero", got)
	}
	m := reqmeta.Meta{RequestID: "r1", XRoadClient: "EE/GOV/1/ehr", XRoadUserID: "EE1", XRoadID: "x"}
	ctx := reqmeta.With(context.Background(), m)
	if diff := cmp.Diff(m, reqmeta.From(ctx)); diff != "" {
		t.Errorf("From (-want +got):\n%s", diff)
	}
	if got := reqmeta.RequestID(ctx); got != "r1" {
		t.Errorf("RequestID = %q", got)
	}
}
