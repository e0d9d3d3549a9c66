package sqlstore_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/geneguard/geneguard/platform"
)

// TestWebSessions: sessions are stored, read back as written, touched,
// deleted (sign-out) and purged when expired or idle.
func TestWebSessions(t *testing.T) {
	for _, dialect := range auditDialects(t) {
		t.Run(dialect, func(t *testing.T) {
			ctx := context.Background()
			s := openAuditStore(t, dialect)
			now := time.Now().UTC().Truncate(time.Millisecond)
			mk := func(id string, seen, expires time.Time) platform.SessionRecord {
				return platform.SessionRecord{ID: id, Data: []byte{0, 1, 2, 0xff, byte(len(id))}, Created: seen, Seen: seen, Expires: expires}
			}
			live := mk("live", now, now.Add(8*time.Hour))
			idle := mk("idle", now.Add(-time.Hour), now.Add(7*time.Hour))
			expired := mk("expired", now.Add(-time.Minute), now.Add(-time.Second))
			for _, r := range []platform.SessionRecord{live, idle, expired} {
				if err := s.CreateSession(ctx, r); err != nil {
					t.Fatal(err)
				}
			}
			if err := s.CreateSession(ctx, live); err == nil {
				t.Error("a second session under the same id was accepted")
			}
			got, err := s.Session(ctx, "live")
			if err != nil {
				t.Fatal(err)
			}
			if got.ID != live.ID || !bytes.Equal(got.Data, live.Data) || !got.Created.Equal(live.Created) || !got.Seen.Equal(live.Seen) || !got.Expires.Equal(live.Expires) {
				t.Errorf("read back %+v, want %+v", got, live)
			}
			later := now.Add(time.Minute)
			if err := s.TouchSession(ctx, "live", later); err != nil {
				t.Fatal(err)
			}
			if got, _ := s.Session(ctx, "live"); !got.Seen.Equal(later) {
				t.Errorf("seen after touch = %v, want %v", got.Seen, later)
			}
			n, err := s.PurgeSessions(ctx, now, now.Add(-30*time.Minute))
			if err != nil || n != 2 {
				t.Errorf("purge = %d, %v; want 2 (the idle and the expired one)", n, err)
			}
			for _, id := range []string{"idle", "expired"} {
				if _, err := s.Session(ctx, id); !platform.IsNotFound(err) {
					t.Errorf("%s after purge: %v, want not found", id, err)
				}
			}
			if err := s.DeleteSession(ctx, "live"); err != nil {
				t.Fatal(err)
			}
			if _, err := s.Session(ctx, "live"); !platform.IsNotFound(err) {
				t.Errorf("after delete: %v, want not found", err)
			}
			if err := s.DeleteSession(ctx, "live"); err != nil {
				t.Errorf("deleting a deleted session: %v", err)
			}
		})
	}
}
