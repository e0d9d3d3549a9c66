package pgx

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"
)

// ConformanceTable is an agreement table against a reference: one row per
// group of cases, and a line per disagreement.
type ConformanceTable struct {
	Title string
	Rows  []ConformanceRow
	Diffs []string
}

// ConformanceRow counts the cases of one group.
type ConformanceRow struct {
	Group  string
	Cases  int
	Agreed int
}

// OK reports whether there were cases and every one agreed.
func (t *ConformanceTable) OK() bool {
	n := 0
	for _, r := range t.Rows {
		n += r.Cases
		if r.Agreed != r.Cases {
			return false
		}
	}
	return n > 0
}

// Totals returns the cases and agreements over all rows.
func (t *ConformanceTable) Totals() (cases, agreed int) {
	for _, r := range t.Rows {
		cases += r.Cases
		agreed += r.Agreed
	}
	return cases, agreed
}

// add counts one case of group.
func (t *ConformanceTable) add(group string, ok bool, diff string) {
	i := -1
	for k := range t.Rows {
		if t.Rows[k].Group == group {
			i = k
		}
	}
	if i < 0 {
		t.Rows = append(t.Rows, ConformanceRow{Group: group})
		i = len(t.Rows) - 1
	}
	t.Rows[i].Cases++
	if ok {
		t.Rows[i].Agreed++
	} else if diff != "" {
		t.Diffs = append(t.Diffs, "DIFF\t"+group+"\t"+diff)
	}
}

// Write prints the table (and its disagreements) as aligned text.
func (t *ConformanceTable) Write(w io.Writer) error {
	if _, err := fmt.Fprintln(w, t.Title); err != nil {
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "group\tcases\tagreed\tdiffered")
	for _, r := range t.Rows {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\n", r.Group, r.Cases, r.Agreed, r.Cases-r.Agreed)
	}
	n, a := t.Totals()
	fmt.Fprintf(tw, "all\t%d\t%d\t%d\n", n, a, n-a)
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, d := range t.Diffs {
		if _, err := fmt.Fprintln(w, d); err != nil {
			return err
		}
	}
	_, err := fmt.Fprintln(w)
	return err
}

// ConformanceAll runs every corpus conformance helper of this package
// (DPYD HapB3 grid, CYP2D6 GeT-RM outside calls, reader edge cases) on
// corpusDir (the folder holding pgx/) and returns their tables in order.
func ConformanceAll(ctx context.Context, corpusDir string) ([]*ConformanceTable, error) {
	var out []*ConformanceTable
	for _, f := range []func(context.Context, string) (*ConformanceTable, error){ConformHapB3, ConformGeTRMCYP2D6} {
		t, err := f(ctx, corpusDir)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, nil
}
