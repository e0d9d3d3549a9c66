package sqlstore_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/geneguard/geneguard/internal/testenv"
	"github.com/geneguard/geneguard/platform"
)

// TestPoolKeepsConnections: a burst of concurrent transactions (the
// clinical API under load) must not close connections it will need again
// at once. database/sql keeps only 2 idle by default; each connection
// closed and re-opened is a new PostgreSQL backend with an empty
// statement cache, which showed as 30–140 ms requests during a recompute.
func TestPoolKeepsConnections(t *testing.T) {
	st := testenv.OpenStore(t, testenv.PostgresDSN(t))
	burst := func() {
		var wg sync.WaitGroup
		for range 12 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				err := st.Read(context.Background(), func(tx platform.Tx) error {
					_, err := tx.Person("P-none")
					if platform.IsNotFound(err) {
						err = nil
					}
					time.Sleep(20 * time.Millisecond) // all 12 hold a connection at once
					return err
				})
				if err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
	}
	burst()
	opened := st.DB().Stats().OpenConnections
	burst()
	s := st.DB().Stats()
	if s.MaxIdleClosed != 0 {
		t.Errorf("%d connections closed for want of idle slots after two bursts of 12", s.MaxIdleClosed)
	}
	if s.OpenConnections < opened {
		t.Errorf("open connections fell from %d to %d between bursts", opened, s.OpenConnections)
	}
}
