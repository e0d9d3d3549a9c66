package platform

import (
	"context"
	"sort"
	"time"

	"github.com/geneguard/geneguard/identity"
	"github.com/geneguard/geneguard/result"
)

// Run is one run's usage record: which version ran for whom, why, on
// what input, with what outcome, how long it took and where. The audit
// log's "run" event carries the same facts tamper-evidently; this table
// is for usage queries.
type Run struct {
	At               time.Time      `json:"at"`
	Person           string         `json:"person"`
	AlgorithmID      string         `json:"algorithm_id"`
	VersionHash      string         `json:"version_hash"`
	Trigger          result.Trigger `json:"trigger"`
	InputFingerprint string         `json:"input_fingerprint,omitempty"`
	Outcome          string         `json:"outcome"`
	DurationMS       int64          `json:"duration_ms"`
	Worker           string         `json:"worker"`
	ResultID         int64          `json:"result_id,omitempty"`
}

// Run outcomes.
const (
	RunNewResult = "new-result" // a result was written
	RunUnchanged = "unchanged"  // same version, same input: the stored result stands
	// RunRestored: same version, same input as a stored result that a
	// later one had superseded (computed from data since corrected, e.g.
	// a wrong sample map): the stored result is current again.
	RunRestored  = "restored"
	RunNoConsent = "no-consent" // consent not in force: nothing computed
	RunNoData    = "no-data"    // no genotypes
	RunNotActive = "not-active" // the version is no longer active: nothing computed
	RunFailed    = "failed"     // the engine failed on this input
)

// UsageRow is a count of runs with the same day, version, trigger and
// outcome.
type UsageRow struct {
	Day         string         `json:"day"` // YYYY-MM-DD, UTC
	AlgorithmID string         `json:"algorithm_id"`
	VersionHash string         `json:"version_hash"`
	Trigger     result.Trigger `json:"trigger"`
	Outcome     string         `json:"outcome"`
	Runs        int            `json:"runs"`
	Persons     int            `json:"persons"`
	DurationMS  int64          `json:"duration_ms"` // sum
}

// VersionUsage is one version's usage over the period.
type VersionUsage struct {
	AlgorithmID string         `json:"algorithm_id"`
	Version     string         `json:"version"`
	VersionHash string         `json:"version_hash"`
	Status      string         `json:"status"`
	Runs        int            `json:"runs"`
	First       string         `json:"first_day"`
	Last        string         `json:"last_day"`
	ByTrigger   map[string]int `json:"by_trigger"`
	ByOutcome   map[string]int `json:"by_outcome"`
	ByDay       map[string]int `json:"by_day"`
	MeanMS      float64        `json:"mean_duration_ms"`
}

// UsageReport answers which algorithms ran, when, how often, for what
// triggers, with what outcome distribution, over a period.
type UsageReport struct {
	Since    time.Time      `json:"since"`
	Until    time.Time      `json:"until"`
	Runs     int            `json:"runs"`
	Versions []VersionUsage `json:"versions"`
	Rows     []UsageRow     `json:"rows"`
}

// Usage reports runs since a time. Governance and operators only.
func (s *Service) Usage(ctx context.Context, p identity.Principal, since time.Time) (*UsageReport, error) {
	if p.Role != identity.RoleGovernance && p.Role != identity.RoleOperator && p.Role != identity.RoleSystem {
		return nil, &Error{Code: CodeForbidden, Message: "only the governance board and operators read usage"}
	}
	rep := &UsageReport{Since: since.UTC()}
	err := s.store.Read(ctx, func(tx Tx) error {
		rep.Until = tx.Now()
		rows, err := tx.Usage(since)
		if err != nil {
			return err
		}
		rep.Rows = rows
		all, err := tx.AllAlgorithms()
		if err != nil {
			return err
		}
		byHash := map[string]*VersionUsage{}
		for _, r := range rows {
			u := byHash[r.VersionHash]
			if u == nil {
				u = &VersionUsage{AlgorithmID: r.AlgorithmID, VersionHash: r.VersionHash, ByTrigger: map[string]int{}, ByOutcome: map[string]int{}, ByDay: map[string]int{}, First: r.Day, Last: r.Day}
				for _, v := range all {
					if v.Hash == r.VersionHash {
						u.Version, u.Status = v.Manifest.Version, string(v.Status)
					}
				}
				byHash[r.VersionHash] = u
			}
			u.Runs += r.Runs
			u.ByTrigger[string(r.Trigger)] += r.Runs
			u.ByOutcome[r.Outcome] += r.Runs
			u.ByDay[r.Day] += r.Runs
			u.MeanMS += float64(r.DurationMS)
			u.First, u.Last = min(u.First, r.Day), max(u.Last, r.Day)
			rep.Runs += r.Runs
		}
		for _, u := range byHash {
			if u.Runs > 0 {
				u.MeanMS /= float64(u.Runs)
			}
			rep.Versions = append(rep.Versions, *u)
		}
		sort.Slice(rep.Versions, func(i, j int) bool {
			a, b := rep.Versions[i], rep.Versions[j]
			if a.AlgorithmID != b.AlgorithmID {
				return a.AlgorithmID < b.AlgorithmID
			}
			return a.First < b.First
		})
		return nil
	})
	if err != nil {
		return nil, err
	}
	if rep.Rows == nil {
		rep.Rows = []UsageRow{}
	}
	if rep.Versions == nil {
		rep.Versions = []VersionUsage{}
	}
	return rep, nil
}
