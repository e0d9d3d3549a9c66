package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/geneguard/geneguard/algorithm"
	"github.com/geneguard/geneguard/demo"
	"github.com/geneguard/geneguard/identity"
	"github.com/geneguard/geneguard/ingest"
	"github.com/geneguard/geneguard/platform"
	"github.com/geneguard/geneguard/queue"
	"github.com/geneguard/geneguard/web"
)

func init() {
	register(command{Name: "demo", Summary: "run the whole platform on embedded SQLite with a synthetic cohort", Run: runDemo})
}

func runDemo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("demo", "Starts the platform on an embedded SQLite database: registers the built-in algorithms,\ncreates a synthetic cohort with genotypes, gives some persons consent, computes through\nthe job queue with progress, and serves the web UI and JSON API. Safe to run again:\nwhat is already there is kept.", stderr)
	data := fs.String("data", "geneguard-data", "data directory (SQLite database, genotype store, keys)")
	addr := fs.String("addr", "127.0.0.1:8080", "listen address for the web UI and JSON API")
	n := fs.Int("persons", 48, "size of the synthetic cohort")
	once := fs.Bool("once", false, "compute, print the results, and exit without serving")
	verbose := fs.Bool("v", false, "verbose logging")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *n < 1 || *n > 100000 {
		return fmt.Errorf("%w: --persons must be between 1 and 100000", errUsage)
	}
	if !*once {
		if err := loopbackOnly(*addr); err != nil {
			return err
		}
	}
	a, err := openApp(ctx, "", *data, newLogger(*verbose))
	if err != nil {
		return err
	}
	defer a.Close()
	fmt.Fprintf(stdout, "geneguard demo — data in %s (SQLite)\n", *data)

	// 1. The built-in algorithms, registered and activated by the system.
	sys := identity.System
	for _, mk := range []func() (*algorithm.Version, error){demo.PGxAlgorithm, demo.BreastScreeningAlgorithm, demo.BRCAAlgorithm, demo.CADAlgorithm} {
		v, err := mk()
		if err != nil {
			return err
		}
		if err := a.svc.RegisterAlgorithm(ctx, sys, v); err != nil && platform.ErrorCode(err) != platform.CodeConflict {
			return err
		}
		if err := a.svc.Activate(ctx, sys, v.Hash); err != nil {
			// A rerun finds it active (or since retired by the board); a
			// built-in still a draft failed its validation cases, which
			// the demo reports rather than skips.
			cur, gerr := a.svc.AlgorithmVersion(ctx, sys, v.Hash)
			if platform.ErrorCode(err) != platform.CodeConflict || gerr != nil || cur.Status == algorithm.StatusDraft {
				return err
			}
		}
		fmt.Fprintf(stdout, "  algorithm %-30s %s  sha256 %s\n", v.Manifest.ID, v.Manifest.Version, algorithm.ShortHash(v.Hash))
	}

	// 2. The cohort and its genotypes, ingested as a biobank would.
	people := demo.Cohort(*n)
	vcfPath := filepath.Join(*data, fmt.Sprintf("demo-cohort-%d.vcf.gz", *n))
	if _, err := os.Stat(vcfPath); err != nil {
		if err := demo.WriteVCF(vcfPath, people); err != nil {
			return err
		}
	}
	p, err := ingest.Prepare(ctx, vcfPath, a.genotypeDir(), nil)
	if err != nil {
		return err
	}
	for i := range p.Samples {
		p.Samples[i].DisplayName = people[i].Name
	}
	op := identity.Principal{Subject: "demo-biobank", Name: "Demo biobank", Role: identity.RoleOperator}
	if _, err := a.svc.IngestDataset(ctx, op, &p.Dataset, p.Samples); err != nil && platform.ErrorCode(err) != platform.CodeConflict {
		return err
	} else if err == nil {
		fmt.Fprintf(stdout, "  ingested %s: %d persons, %d variants, build %s\n", filepath.Base(vcfPath), p.Dataset.Samples, p.Dataset.Records, p.Dataset.Build)
	}

	// 3. Consent, given by the persons themselves through the portal.
	granted := 0
	for _, person := range people {
		pr, err := a.svc.SignIn(ctx, string(person.Code), identity.RolePatient)
		if err != nil {
			return err
		}
		for alg, yes := range map[string]bool{
			demo.PGxAlgorithmID:             person.ConsentPGx,
			demo.BreastScreeningAlgorithmID: person.ConsentPRS,
			demo.BRCAAlgorithmID:            person.ConsentBRCA,
			demo.CADAlgorithmID:             person.ConsentCAD,
		} {
			if !yes {
				continue
			}
			if err := a.svc.GrantConsent(ctx, pr, pr.Person, alg, "demo"); err != nil {
				return err
			}
			granted++
		}
	}
	fmt.Fprintf(stdout, "  %d consents in force; everyone else: nothing runs (default deny)\n", granted)

	// 4. Compute through the queue, with progress.
	client, err := queue.Start(ctx, a.store, a.runner, queue.Config{Workers: 2, Log: a.log})
	if err != nil {
		return err
	}
	if err := waitForJobs(ctx, a.svc, stderr); err != nil {
		return err
	}
	stopCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	client.Stop(stopCtx)
	cancel()

	if *once {
		if err := printDemoResults(ctx, a, people, stdout); err != nil {
			return err
		}
		// Sign what the demo logged, so `audit verify` and receipts work on
		// it without a server ever having run.
		cctx, stop := context.WithCancel(ctx)
		defer stop()
		if _, err := a.startCheckpoints(cctx, time.Hour); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "Audit log signed; check it with: geneguard audit verify --data %s\n", *data)
		return nil
	}

	// 5. Serve.
	a.demoIdentities = demoIdentities(people)
	return a.serve(ctx, *addr, 2, nil, func(url string) {
		fmt.Fprintf(stdout, "\nOpen %s and sign in as one of these (demo login, no password):\n", url)
		for _, d := range a.demoIdentities {
			fmt.Fprintf(stdout, "  %-11s %-16s %s — %s\n", d.Role, d.Subject, d.Label, d.Note)
		}
		fmt.Fprintf(stdout, "\nPages: %s/patient  %s/physician  %s/status\nAPI:   %s/api/v1/me  (same session cookie)\nCtrl-C stops.\n", url, url, url, url)
	}, stdout)
}

func demoIdentities(people []demo.Person) []web.DemoIdentity {
	var out []web.DemoIdentity
	for i, p := range people {
		if i >= 4 {
			break
		}
		var note []string
		if p.ConsentPGx {
			note = append(note, "PGx consent")
		}
		if p.ConsentPRS {
			note = append(note, "breast-cancer screening consent")
		}
		if p.ConsentBRCA {
			note = append(note, "BRCA consent")
		}
		if p.ConsentCAD {
			note = append(note, "heart PRS consent")
		}
		if p.BRCACarrier {
			note = append(note, "BRCA1 carrier")
		}
		if len(note) == 0 {
			note = append(note, "no consent yet")
		}
		out = append(out, web.DemoIdentity{Subject: "EE" + string(p.Code), Role: identity.RolePatient, Label: p.Name, Note: strings.Join(note, ", ")})
	}
	return append(out, demoStaffIdentities()...)
}

// demoStaffIdentities are the demo's physician and governance board: the
// staff a demo sign-in page offers (demo, serve --demo-login), so the
// physician and governance pages can be seen without an identity provider.
func demoStaffIdentities() []web.DemoIdentity {
	return []web.DemoIdentity{
		{Subject: "dr-tamm", Role: identity.RolePhysician, Label: "Dr. Tiit Tamm", Note: "family physician; search patients by personal code"},
		{Subject: "governance-board", Role: identity.RoleGovernance, Label: "Governance board", Note: "algorithm registry and usage"},
	}
}

// waitForJobs shows queue progress until nothing is waiting or running.
func waitForJobs(ctx context.Context, svc *platform.Service, w io.Writer) error {
	t := time.NewTicker(200 * time.Millisecond)
	defer t.Stop()
	for {
		st, err := svc.JobStats(ctx)
		if err != nil {
			return err
		}
		total := st.Available + st.Running + st.Completed + st.Retryable + st.Cancelled + st.Discarded
		done := st.Completed + st.Cancelled + st.Discarded
		bar := 30
		filled := bar
		if total > 0 {
			filled = bar * done / total
		}
		fmt.Fprintf(w, "\r  computing [%s%s] %d/%d jobs (running %d, retrying %d, failed %d)", strings.Repeat("#", filled), strings.Repeat(".", bar-filled), done, total, st.Running, st.Retryable, st.Discarded)
		if st.Available+st.Running+st.Retryable == 0 {
			fmt.Fprintln(w)
			return nil
		}
		select {
		case <-ctx.Done():
			fmt.Fprintln(w)
			return ctx.Err()
		case <-t.C:
		}
	}
}

func printDemoResults(ctx context.Context, a *app, people []demo.Person, w io.Writer) error {
	doc := identity.Principal{Subject: "dr-tamm", Name: "Dr. Tiit Tamm", Role: identity.RolePhysician}
	fmt.Fprintln(w, "\nResults in clinical view (physician, purpose: demo summary):")
	n := 0
	for _, p := range people {
		rs, err := a.svc.Results(ctx, doc, a.svc.PseudonymFor(p.Code), "demo summary")
		if err != nil {
			return err
		}
		for _, r := range rs {
			fmt.Fprintf(w, "  %s %-18s %s\n", p.Code, p.Name, r.Summary)
			n++
		}
	}
	fmt.Fprintf(w, "%d results.\n", n)
	return nil
}
