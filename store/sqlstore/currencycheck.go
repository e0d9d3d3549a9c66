package sqlstore

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/geneguard/geneguard/audit"
	"github.com/geneguard/geneguard/platform"
	"github.com/geneguard/geneguard/result"
)

// Which result is current is protected by the audit log too, by replay.
// Only two writes move it, each with its run event: a new result
// (outcome new-result) supersedes the person's current result for the
// algorithm, and a restored one (outcome restored) becomes current again,
// superseding whichever was. Writers of one person's results for one
// algorithm serialise (Tx.LockResults), so the log's order is the order
// they happened in. Replaying the run events in log order therefore gives
// every result's superseded_by; a link set, cleared or moved in SQL (an
// old phenotype put back in front of the physician) fails verification.

// currencyKey is a person's results for one algorithm.
type currencyKey struct{ person, algorithm string }

// supersession is what the replay says a result's superseded_by must be:
// by (0: current), set by the event at seq.
type supersession struct {
	by  int64
	seq uint64
}

// resultCurrency replays the run events that move which result is current.
type resultCurrency struct {
	current map[currencyKey]int64
	want    map[int64]supersession
}

func newResultCurrency() *resultCurrency {
	return &resultCurrency{current: map[currencyKey]int64{}, want: map[int64]supersession{}}
}

// note replays row, an event the log verification accepted, if it is a
// run event that made a result current.
func (rc *resultCurrency) note(row indexedRow) {
	if row.action != "run" {
		return
	}
	e, err := audit.ParseCanonical(row.Canonical)
	if err != nil {
		return // audit.Verify reports it
	}
	if o := e.Details["outcome"]; o != platform.RunNewResult && o != platform.RunRestored {
		return
	}
	id, err := strconv.ParseInt(e.Details["result"], 10, 64)
	if err != nil {
		return
	}
	k := currencyKey{e.Person, runAlgorithm(e)}
	if cur := rc.current[k]; cur != 0 && cur != id {
		rc.want[cur] = supersession{by: id, seq: row.Seq}
	}
	rc.want[id] = supersession{seq: row.Seq}
	rc.current[k] = id
}

// runAlgorithm is the algorithm id of a run event's object "id@version".
func runAlgorithm(e audit.Event) string {
	if i := strings.LastIndex(e.Object, "@"); i >= 0 {
		return e.Object[:i]
	}
	return e.Object
}

// check compares result r's superseded_by with the replay: nil when they
// agree, when the log says nothing of r's currency (results from before
// run events named their outcome), or when a run event for the same person
// and algorithm came after the log was read (it moved the link since).
func (s *Store) checkCurrency(ctx context.Context, rc *resultCurrency, r result.Result, size uint64) (*platform.ResultTamperError, error) {
	w, ok := rc.want[r.ID]
	if !ok || w.by == r.SupersededBy {
		return nil, nil
	}
	later, err := s.laterEvent(ctx, "results", []string{"run"}, r.Person, size, func(e audit.Event) bool {
		o := e.Details["outcome"]
		return runAlgorithm(e) == r.AlgorithmID && (o == platform.RunNewResult || o == platform.RunRestored)
	})
	if err != nil || later {
		return nil, err
	}
	stored, replayed := "current", "current"
	if r.SupersededBy != 0 {
		stored = fmt.Sprintf("superseded by result %d", r.SupersededBy)
	}
	if w.by != 0 {
		replayed = fmt.Sprintf("superseded by result %d", w.by)
	}
	return &platform.ResultTamperError{Result: r.ID, Event: w.seq, HasEvent: true,
		Reason: fmt.Sprintf("the row says it is %s, but the run events make it %s: which result is current was altered", stored, replayed)}, nil
}
