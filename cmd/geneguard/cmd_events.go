package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"time"

	"github.com/geneguard/geneguard/identity"
	"github.com/geneguard/geneguard/platform"
)

func init() {
	register(command{Name: "events", Summary: "feed clinical events: prescriptions, test orders, the daily age-milestone pass", Run: runEvents})
}

func runEvents(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return dispatch(ctx, "events", []subcommand{
		{"medication-request", "a prescription (FHIR R4 MedicationRequest JSON): ensure a PGx result or suggest a test", eventsMedication},
		{"test-order", "a patient's genetic test order, tracked until genotypes arrive", eventsTestOrder},
		{"age-milestones", "the daily pass: recompute age-dependent risk for persons whose age crossed a milestone", eventsAge},
	}, args, stdout, stderr)
}

func eventsMedication(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("events medication-request", "Reads a FHIR R4 MedicationRequest (patient identified by personal code). For each active PGx\nalgorithm listing the drug: a current result exists, or one is queued (consented and\ngenotyped), or a test (or opt-in) should be suggested. The same request id twice does\nnothing the second time; the same id for another person or drug is refused (an id names\none prescription).", stderr)
	dsn, data := dbFlags(fs)
	file := fs.String("file", "", "MedicationRequest JSON file; - for stdin (required)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *file == "" {
		return fmt.Errorf("%w: --file is required", errUsage)
	}
	var b []byte
	var err error
	if *file == "-" {
		b, err = io.ReadAll(io.LimitReader(os.Stdin, 1<<20))
	} else {
		b, err = os.ReadFile(*file)
	}
	if err != nil {
		return err
	}
	mr, err := platform.ParseMedicationRequest(b)
	if err != nil {
		return fmt.Errorf("%s: %w", *file, err)
	}
	a, err := openCLIApp(ctx, *dsn, *data)
	if err != nil {
		return err
	}
	defer a.Close()
	ans, err := a.svc.MedicationRequested(ctx, cliOperator(""), mr)
	if err != nil {
		return err
	}
	if ans.Ignored != "" {
		fmt.Fprintf(stdout, "medication request %s for %s not processed: %s\n", ans.EventID, ans.Person, ans.Ignored)
		return nil
	}
	dup := ""
	if ans.Duplicate {
		dup = " (already recorded; the answer given then, nothing new queued)"
	}
	fmt.Fprintf(stdout, "medication request %s for %s, drug %s%s\n", ans.EventID, ans.Person, ans.Drug, dup)
	if len(ans.Outcomes) == 0 {
		fmt.Fprintln(stdout, "  no active PGx algorithm gives guidance for this drug")
	}
	keys := make([]string, 0, len(ans.Outcomes))
	for k := range ans.Outcomes {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(stdout, "  %s: %s\n", k, ans.Outcomes[k])
	}
	return nil
}

func eventsTestOrder(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("events test-order", "Records a genetic test order for a person and an algorithm. It stays pending until an ingest\nbrings the person's genotypes; then the consented computation runs (trigger test-order).", stderr)
	dsn, data := dbFlags(fs)
	person := fs.String("person", "", "the person's personal code (required)")
	alg := fs.String("algorithm", "", "algorithm id (required)")
	orderID := fs.String("order-id", "", "the ordering system's id (repeats are ignored); default one order per person and algorithm")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *person == "" || *alg == "" {
		return fmt.Errorf("%w: --person and --algorithm are required", errUsage)
	}
	code, err := identity.ParsePersonalCode(*person)
	if err != nil {
		return fmt.Errorf("%w: --person: %v", errUsage, err)
	}
	a, err := openCLIApp(ctx, *dsn, *data)
	if err != nil {
		return err
	}
	defer a.Close()
	o, inserted, err := a.svc.OrderTest(ctx, cliOperator(""), code, *alg, *orderID)
	if err != nil {
		return err
	}
	note := ""
	if !inserted {
		note = " (already recorded)"
	}
	fmt.Fprintf(stdout, "test order %s for %s, %s: %s%s\n", o.SourceID, o.Person, o.AlgorithmID, o.Status, note)
	return nil
}

func eventsAge(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("events age-milestones", "The daily age-milestone pass (also run by workers as a River periodic job): for every active\nalgorithm declaring the \"age\" input, queue a recomputation for consented, genotyped persons\nwhose age crossed a milestone since the last pass. Running it twice for a day does nothing\nthe second time.", stderr)
	dsn, data := dbFlags(fs)
	day := fs.String("date", "", "the day to run for, YYYY-MM-DD (default today, UTC)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	d := time.Now().UTC()
	if *day != "" {
		var err error
		if d, err = time.Parse("2006-01-02", *day); err != nil {
			return fmt.Errorf("%w: --date %q is not a date (YYYY-MM-DD)", errUsage, *day)
		}
	}
	a, err := openCLIApp(ctx, *dsn, *data)
	if err != nil {
		return err
	}
	defer a.Close()
	rep, err := a.svc.AgeMilestones(ctx, identity.System, d)
	if err != nil {
		return err
	}
	if why := rep.Skipped(); why != "" {
		fmt.Fprintf(stdout, "age milestones: %s\n", why)
		return nil
	}
	b, _ := json.Marshal(rep.Queued)
	fmt.Fprintf(stdout, "age milestones %s..%s: %d consented persons checked, queued %s\n", rep.From.Format("2006-01-02"), rep.To.Format("2006-01-02"), rep.Checked, b)
	return nil
}
