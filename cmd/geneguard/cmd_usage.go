package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/geneguard/geneguard/algorithm"
)

func init() {
	register(command{Name: "usage", Summary: "which algorithms ran, when, how often, for what triggers, with what outcomes", Run: runUsage})
}

func runUsage(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("usage", "Reports algorithm runs over a period: per version, how many runs, on which days, for which\ntriggers, and the outcome distribution (new result, unchanged, no consent, ...).", stderr)
	dsn, data := dbFlags(fs)
	since := fs.String("since", "", "first day of the period, YYYY-MM-DD (default: 30 days ago)")
	format := fs.String("format", "text", "text or json")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *format != "text" && *format != "json" {
		return fmt.Errorf("%w: --format must be text or json", errUsage)
	}
	from := time.Now().UTC().AddDate(0, 0, -30).Truncate(24 * time.Hour)
	if *since != "" {
		t, err := time.Parse("2006-01-02", *since)
		if err != nil {
			return fmt.Errorf("%w: --since %q is not a date (YYYY-MM-DD)", errUsage, *since)
		}
		from = t
	}
	a, err := openCLIApp(ctx, *dsn, *data)
	if err != nil {
		return err
	}
	defer a.Close()
	rep, err := a.svc.Usage(ctx, cliOperator(""), from)
	if err != nil {
		return err
	}
	if *format == "json" {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	fmt.Fprintf(stdout, "runs since %s: %d\n", from.Format("2006-01-02"), rep.Runs)
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ALGORITHM\tVERSION\tHASH\tSTATE\tRUNS\tDAYS\tTRIGGERS\tOUTCOMES\tMEAN MS")
	for _, v := range rep.Versions {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s..%s\t%s\t%s\t%.1f\n", v.AlgorithmID, v.Version, algorithm.ShortHash(v.VersionHash), v.Status, v.Runs, v.First, v.Last, counts(v.ByTrigger), counts(v.ByOutcome), v.MeanMS)
	}
	return tw.Flush()
}

// counts renders a count map as "a=1 b=2", sorted.
func counts(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%s=%d", k, m[k])
	}
	return b.String()
}
