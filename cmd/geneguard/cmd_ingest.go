package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/geneguard/geneguard/identity"
	"github.com/geneguard/geneguard/ingest"
)

func init() {
	register(command{Name: "ingest", Summary: "validate a genotype VCF and record it; queue consented algorithms", Run: runIngest})
}

func runIngest(ctx context.Context, args []string, stdout, stderr io.Writer) (err error) {
	fs := newFlagSet("ingest", "Validates a VCF end to end, stores it content-addressed, records its samples as persons\nand queues every consented active algorithm for them, in one transaction. A malformed\nfile is rejected whole: nothing is written. Each active algorithm is checked against the\nfile's genome build: one that cannot use it is named and not queued, and a file that no\nactive algorithm can use is refused.", stderr)
	dsn := fs.String("db", "", "database: SQLite file path or postgres:// URL (default DATA/geneguard.db)")
	data := fs.String("data", "geneguard-data", "data directory: genotype store and keys")
	path := fs.String("vcf", "", "VCF file (plain or bgzipped) whose sample IDs are personal codes")
	smap := fs.String("sample-map", "", "optional TSV: sample ID, personal code (one line per sample; an optional header line; every sample ID must be in the VCF). To correct a wrong map, ingest the same file again with the corrected map")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *path == "" {
		return fmt.Errorf("%w: --vcf is required", errUsage)
	}
	var m map[string]string
	if *smap != "" {
		sm, err := ingest.ParseSampleMap(*smap)
		if err != nil {
			return err
		}
		if sm.Header != "" {
			fmt.Fprintf(stderr, "%s: line 1 %q is taken as a column header, not a sample\n", *smap, sm.Header)
		}
		m = sm.Codes
	}
	// The whole file is checked before anything is created for it: a file
	// that cannot be ingested must not leave a new data directory,
	// database or key behind.
	p, err := ingest.Check(ctx, *path, m)
	if err != nil {
		return err
	}
	a, err := openApp(ctx, *dsn, *data, newLogger(false))
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			a.abandon()
		} else {
			a.Close()
		}
	}()
	// A copy is taken back on failure only from a genotype store this
	// command created: in an existing one, a concurrent ingest of the same
	// file may be recording that very copy (content addressing shares it),
	// and a copy left there is harmless (the next ingest reuses it).
	dir := a.genotypeDir()
	_, statErr := os.Stat(dir)
	newStore := errors.Is(statErr, os.ErrNotExist)
	if err := a.created.mkdirAll(dir, 0o750); err != nil {
		return fmt.Errorf("genotype store: %w", err)
	}
	added, err := p.Store(dir)
	if err != nil {
		return err
	}
	if added && newStore {
		a.created.add(p.Dataset.Path)
	}
	op := identity.Principal{Subject: "operator", Name: "operator (CLI)", Role: identity.RoleOperator}
	rep, err := a.svc.Ingest(ctx, op, &p.Dataset, p.Samples)
	if err != nil {
		return err
	}
	file := p.Dataset.SHA256
	if p.Dataset.FileSHA256 != "" {
		file = p.Dataset.FileSHA256
	}
	fmt.Fprintf(stdout, "ingested dataset %d: %d samples, %d records, build %s, sha256 %s; %d jobs queued\n",
		p.Dataset.ID, p.Dataset.Samples, p.Dataset.Records, orUnknown(p.Dataset.Build), file[:12], rep.Jobs)
	if len(rep.Replaces) > 0 {
		fmt.Fprintf(stdout, "  the same file was ingested before (dataset %s): this mapping replaces that one; %d person(s) changed column or are no longer named, their results from the old mapping leave the clinical view and are recomputed\n", joinIDs(rep.Replaces), rep.Remapped)
	}
	if p.Dataset.SampleMapSHA256 != "" {
		fmt.Fprintf(stdout, "  sample map %s: %d sample(s) mapped (map sha256 %s); the same file with another map is another dataset\n", *smap, len(m), p.Dataset.SampleMapSHA256[:12])
	}
	if len(rep.Algorithms) == 0 {
		fmt.Fprintln(stdout, "  no algorithm is active yet: the file is kept, its build unchecked; consented persons are computed when a version is activated")
	}
	for _, f := range rep.Algorithms {
		switch {
		case !f.Fits:
			fmt.Fprintf(stdout, "  %s@%s: cannot use this file, not queued: %s\n", f.AlgorithmID, f.Version, f.Reason)
		case f.Reason != "":
			fmt.Fprintf(stdout, "  %s@%s: %s\n", f.AlgorithmID, f.Version, f.Reason)
		default:
			fmt.Fprintf(stdout, "  %s@%s: build %s fits\n", f.AlgorithmID, f.Version, p.Dataset.Build)
		}
	}
	if u := rep.Unfit(); len(u) > 0 {
		fmt.Fprintf(stderr, "warning: %d of %d active algorithms cannot use genotypes on %s (%s); their results for these persons will not be computed from this file\n", len(u), len(rep.Algorithms), p.Dataset.Build, strings.Join(u, ", "))
	}
	return nil
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

func joinIDs(ids []int64) string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = fmt.Sprint(id)
	}
	return strings.Join(out, ", ")
}
