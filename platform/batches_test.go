package platform_test

import (
	"fmt"
	"slices"
	"testing"

	"github.com/geneguard/geneguard/platform"
	"github.com/geneguard/geneguard/result"
)

// TestBatches: every person is in exactly one batch of their own dataset,
// none holds more than the size, a dataset's batches are of even size, and
// a few hundred persons are split so that several workers share them.
func TestBatches(t *testing.T) {
	for _, c := range []struct {
		name  string
		sizes []int // persons per dataset, interleaved in the input
		size  int
		want  [][]int // batch sizes per dataset
	}{
		{"few persons: one batch", []int{100}, 2000, [][]int{{100}}},
		{"a few hundred: shared", []int{200}, 2000, [][]int{{67, 67, 66}}},
		{"one full batch is spread", []int{2000}, 2000, [][]int{{250, 250, 250, 250, 250, 250, 250, 250}}},
		{"just over the size", []int{4001}, 2000, [][]int{{501, 501, 501, 501, 501, 501, 501, 494}}},
		{"many: at most the size", []int{200000}, 2000, [][]int{slices.Repeat([]int{2000}, 100)}},
		{"two datasets interleaved", []int{300, 130}, 2000, [][]int{{75, 75, 75, 75}, {65, 65}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			var samples []platform.DatasetSample
			for i := 0; ; i++ {
				added := false
				for d, n := range c.sizes {
					if i < n {
						samples = append(samples, platform.DatasetSample{DatasetID: int64(d + 1), Person: fmt.Sprintf("p%d-%d", d+1, i)})
						added = true
					}
				}
				if !added {
					break
				}
			}
			got := platform.Batches(samples, "alg", "hash", result.TriggerNewVersion, c.size)
			seen := map[string]bool{}
			sizes := make([][]int, len(c.sizes))
			for _, b := range got {
				if b.AlgorithmID != "alg" || b.VersionHash != "hash" || b.Trigger != result.TriggerNewVersion {
					t.Errorf("batch %+v lost its algorithm or trigger", b)
				}
				for _, p := range b.Persons {
					if seen[p] {
						t.Errorf("%s is in two batches", p)
					}
					seen[p] = true
					if want := fmt.Sprintf("p%d-", b.DatasetID); p[:len(want)] != want {
						t.Errorf("%s is in a batch of dataset %d", p, b.DatasetID)
					}
				}
				sizes[b.DatasetID-1] = append(sizes[b.DatasetID-1], len(b.Persons))
			}
			if len(seen) != len(samples) {
				t.Errorf("%d of %d persons batched", len(seen), len(samples))
			}
			for d := range c.want {
				if !slices.Equal(sizes[d], c.want[d]) {
					t.Errorf("dataset %d: batch sizes %v, want %v", d+1, sizes[d], c.want[d])
				}
			}
		})
	}
}
