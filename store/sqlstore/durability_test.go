package sqlstore_test

import (
	"context"
	"testing"

	"github.com/geneguard/geneguard/platform"
	"github.com/geneguard/geneguard/store/sqlstore"
)

// TestLazyCommit: on PostgreSQL a transaction run with
// platform.WithLazyCommit commits without waiting for the disk, and every
// other transaction (the same connection afterwards included: SET LOCAL
// ends with the transaction) keeps synchronous commits.
func TestLazyCommit(t *testing.T) {
	if !contains(auditDialects(t), "postgres") {
		t.Skip("PostgreSQL only")
	}
	s := openAuditStore(t, "postgres")
	s.DB().SetMaxOpenConns(1) // the later transactions reuse the lazy one's connection
	setting := func(ctx context.Context) string {
		t.Helper()
		var v string
		if err := s.InTx(ctx, func(tx platform.Tx) (err error) {
			v, err = sqlstore.TxSetting(tx, "synchronous_commit")
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return v
	}
	ctx := context.Background()
	for _, c := range []struct {
		name string
		ctx  context.Context
		want string
	}{
		{"plain", ctx, "on"},
		{"lazy", platform.WithLazyCommit(ctx), "off"},
		{"plain after lazy", ctx, "on"},
	} {
		if got := setting(c.ctx); got != c.want {
			t.Errorf("%s: synchronous_commit = %q, want %q", c.name, got, c.want)
		}
	}
}
