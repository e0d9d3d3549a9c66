package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/geneguard/geneguard/algorithm"
	"github.com/geneguard/geneguard/identity"
	"github.com/geneguard/geneguard/platform"
	"github.com/geneguard/geneguard/runner"
)

func init() {
	register(command{Name: "algorithm", Summary: "algorithm registry: submit, validate, approve, activate, retire, list", Run: runAlgorithm})
}

// subcommand is one verb of a command with subcommands.
type subcommand struct {
	name, summary string
	run           func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

// dispatch runs the subcommand named by args[0], or prints the list.
func dispatch(ctx context.Context, name string, subs []subcommand, args []string, stdout, stderr io.Writer) error {
	usage := func(w io.Writer) {
		fmt.Fprintf(w, "usage: geneguard %s <subcommand> [flags]   (geneguard %s <subcommand> -h for its flags)\n\n", name, name)
		for _, s := range subs {
			fmt.Fprintf(w, "  %-18s %s\n", s.name, s.summary)
		}
	}
	if len(args) == 0 {
		usage(stderr)
		return fmt.Errorf("%w: a subcommand is required", errUsage)
	}
	if args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stderr)
		return flag.ErrHelp
	}
	for _, s := range subs {
		if s.name == args[0] {
			return s.run(ctx, args[1:], stdout, stderr)
		}
	}
	usage(stderr)
	return fmt.Errorf("%w: unknown subcommand %q", errUsage, args[0])
}

// dbFlags adds --db and --data.
func dbFlags(fs *flag.FlagSet) (dsn, data *string) {
	dsn = fs.String("db", "", "database: SQLite file path or postgres:// URL (default DATA/geneguard.db)")
	data = fs.String("data", "geneguard-data", "data directory: genotype store and keys")
	return
}

// dbArgs are the --db/--data flags to repeat in a "next:" hint, so that
// the hint runs as printed from any folder; a DSN with a password is left
// as DSN (a hint must not print it).
func dbArgs(dsn, data string) string {
	var b strings.Builder
	switch {
	case dsn != "" && displayDSN(dsn) != dsn:
		b.WriteString(" --db DSN")
	case dsn != "":
		b.WriteString(" --db " + dsn)
	}
	if data != "geneguard-data" {
		b.WriteString(" --data " + data)
	}
	return b.String()
}

// parseWithArg parses flags around at most one positional argument (a
// version hash may come before or after the flags).
func parseWithArg(fs *flag.FlagSet, args []string) (string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return "", err
			}
			return "", fmt.Errorf("%w: %v", errUsage, err)
		}
		if fs.NArg() == 0 {
			break
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
	if len(pos) > 1 {
		return "", fmt.Errorf("%w: unexpected argument %q", errUsage, pos[1])
	}
	if len(pos) == 1 {
		return pos[0], nil
	}
	return "", nil
}

// openCLIApp opens the platform for an operator command, with the
// runner's engines as the validator. The database must exist already
// (openExistingApp): these commands never create a deployment.
func openCLIApp(ctx context.Context, dsn, data string) (*app, error) {
	a, err := openExistingApp(ctx, dsn, data, newLogger(false))
	if err != nil {
		return nil, err
	}
	// The monogenic engine is not in the shared wiring yet; validation and
	// the CLI's computations need every kind.
	if _, ok := a.runner.Engines[algorithm.KindMonogenic]; !ok {
		a.runner.Engines[algorithm.KindMonogenic] = runner.NewMonogenicEngine()
	}
	a.svc.SetValidator(a.runner)
	return a, nil
}

func runAlgorithm(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	subs := []subcommand{
		{"submit", "register a new version (manifest + bundle) as a draft", nil},
		{"validate", "run a draft's validation cases; all passing makes it validated", nil},
		{"approve", "approve a validated version (governance; not its submitter)", nil},
		{"activate", "make an approved version active and recompute consented persons (governance)", nil},
		{"retire", "take a version out of use (governance)", nil},
		{"list", "list registered versions with their lifecycle state", nil},
		{"changes", "list persons whose category a version's results changed (to notify)", nil},
	}
	subs[0].run = algorithmSubmit
	subs[1].run = algorithmValidate
	subs[2].run = func(ctx context.Context, a []string, o, e io.Writer) error {
		return algorithmGovern(ctx, "approve", a, o, e)
	}
	subs[3].run = func(ctx context.Context, a []string, o, e io.Writer) error {
		return algorithmGovern(ctx, "activate", a, o, e)
	}
	subs[4].run = func(ctx context.Context, a []string, o, e io.Writer) error {
		return algorithmGovern(ctx, "retire", a, o, e)
	}
	subs[5].run = algorithmList
	subs[6].run = algorithmChanges
	return dispatch(ctx, "algorithm", subs, args, stdout, stderr)
}

func algorithmSubmit(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("algorithm submit", "Registers a new algorithm version as a draft: the manifest (JSON: id, version, kind, title,\npurpose, intended_use, inputs, drugs, validation cases) plus its bundle, addressed by the\nSHA-256 of both. The bundle is checked by the engine that will run it before anything is\nstored. Submitting a CPIC/PharmCAT table release (--pgx-bundle) or a PGS Catalog scoring\nfile (--pgs, with --model) is how a new version is born.", stderr)
	dsn, data := dbFlags(fs)
	manifest := fs.String("manifest", "", "manifest JSON file (required)")
	filesDir := fs.String("files", "", "directory whose files (recursively) are the bundle")
	pgxDir := fs.String("pgx-bundle", "", "PGx knowledge bundle directory (CPIC/PharmCAT layout: definitions/, phenotypes/, guidelines/)")
	pgs := fs.String("pgs", "", "PGS Catalog scoring file (becomes "+runner.PRSScoreFile+")")
	model := fs.String("model", "", "risk model JSON for a prs version (becomes "+runner.PRSModelFile+")")
	as := fs.String("as", "", "submitter account (required; the four-eyes rule compares it with the approver)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *manifest == "" || *as == "" {
		return fmt.Errorf("%w: --manifest and --as are required", errUsage)
	}
	submitter, err := cliAccount("--as", *as)
	if err != nil {
		return err
	}
	mb, err := os.ReadFile(*manifest)
	if err != nil {
		return err
	}
	m, err := algorithm.ParseManifest(mb)
	if err != nil {
		return fmt.Errorf("manifest %s: %w", *manifest, err)
	}
	files := map[string][]byte{}
	for _, dir := range []string{*filesDir, *pgxDir} {
		if dir == "" {
			continue
		}
		if err := readTree(dir, files); err != nil {
			return err
		}
	}
	for name, path := range map[string]string{runner.PRSScoreFile: *pgs, runner.PRSModelFile: *model} {
		if path == "" {
			continue
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		files[name] = b
	}
	if len(files) == 0 {
		return fmt.Errorf("%w: no bundle: give --files, --pgx-bundle or --pgs", errUsage)
	}
	v, err := algorithm.New(m, files, submitter)
	if err != nil {
		return fmt.Errorf("manifest %s: %w", *manifest, err)
	}
	a, err := openCLIApp(ctx, *dsn, *data)
	if err != nil {
		return err
	}
	defer a.Close()
	// The engine must be able to load the bundle: a broken bundle is
	// refused here, whole, rather than failing every job later.
	eng, ok := a.runner.Engines[m.Kind]
	if !ok {
		return fmt.Errorf("no engine for kind %s", m.Kind)
	}
	loci, err := eng.Loci(v)
	if err != nil {
		return fmt.Errorf("bundle does not load as %s: %w; nothing was registered", m.Kind, err)
	}
	op := identity.Principal{Subject: submitter, Name: submitter, Role: identity.RoleOperator}
	if err := a.svc.SubmitAlgorithm(ctx, op, v); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "submitted %s@%s as a draft: sha256 %s (%d files, %d declared loci, %d validation cases)\nnext: geneguard algorithm validate%s %s\n",
		m.ID, m.Version, v.Hash, len(files), len(loci), len(m.Validation), dbArgs(*dsn, *data), algorithm.ShortHash(v.Hash))
	return nil
}

// readTree reads every regular file under dir into files by its
// slash-separated path relative to dir.
func readTree(dir string, files map[string][]byte) error {
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || strings.HasPrefix(d.Name(), ".") {
			return nil
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		files[filepath.ToSlash(rel)] = b
		return nil
	})
}

func algorithmValidate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("algorithm validate", "Runs a draft version's validation cases through the engines, exactly as persons'\ncomputations run. All passing makes it validated; any failure keeps it a draft and names the\nfailing cases. Usage: geneguard algorithm validate [flags] HASH", stderr)
	dsn, data := dbFlags(fs)
	as := fs.String("as", "operator", "account running the validation")
	hash, err := parseWithArg(fs, args)
	if err != nil {
		return err
	}
	if hash == "" {
		return fmt.Errorf("%w: give the version hash (or a prefix of 8+ hex digits)", errUsage)
	}
	account, err := cliAccount("--as", *as)
	if err != nil {
		return err
	}
	a, err := openCLIApp(ctx, *dsn, *data)
	if err != nil {
		return err
	}
	defer a.Close()
	full, err := a.svc.ResolveHash(ctx, hash)
	if err != nil {
		return err
	}
	rep, err := a.svc.ValidateAlgorithm(ctx, identity.Principal{Subject: account, Name: account, Role: identity.RoleOperator}, full)
	for _, c := range rep.Cases {
		mark := "pass"
		if !c.Pass {
			mark = "FAIL"
		}
		detail := c.Got
		if c.Error != "" {
			detail = "error: " + c.Error
		}
		fmt.Fprintf(stdout, "  %s  %-30s expected %q, got %q\n", mark, c.Name, c.Expect, detail)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "validated %s: %d cases passed\nnext: geneguard algorithm approve%s %s --as NAME (a governance account, not the submitter)\n", algorithm.ShortHash(full), len(rep.Cases), dbArgs(*dsn, *data), algorithm.ShortHash(full))
	return nil
}

func algorithmGovern(ctx context.Context, verb string, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("algorithm "+verb, fmt.Sprintf("A governance step: %s a version. --as names the board member; it is recorded in the\nregistry and the audit log. Usage: geneguard algorithm %s [flags] HASH", verb, verb), stderr)
	dsn, data := dbFlags(fs)
	as := fs.String("as", "", "governance board member acting (required)")
	reason := new(string)
	if verb == "retire" {
		reason = fs.String("reason", "", "why the version is retired (recorded in the audit log)")
	}
	hash, err := parseWithArg(fs, args)
	if err != nil {
		return err
	}
	if hash == "" || *as == "" {
		return fmt.Errorf("%w: give the version hash and --as NAME", errUsage)
	}
	account, err := cliAccount("--as", *as)
	if err != nil {
		return err
	}
	a, err := openCLIApp(ctx, *dsn, *data)
	if err != nil {
		return err
	}
	defer a.Close()
	full, err := a.svc.ResolveHash(ctx, hash)
	if err != nil {
		return err
	}
	p := identity.Principal{Subject: account, Name: account, Role: identity.RoleGovernance}
	switch verb {
	case "approve":
		if err := a.svc.ApproveAlgorithm(ctx, p, full); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "approved %s by %s\nnext: geneguard algorithm activate%s %s --as NAME\n", algorithm.ShortHash(full), account, dbArgs(*dsn, *data), algorithm.ShortHash(full))
	case "activate":
		rep, err := a.svc.ActivateAlgorithm(ctx, p, full)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "activated %s by %s", algorithm.ShortHash(full), account)
		if rep.Retired != "" {
			fmt.Fprintf(stdout, "; retired %s", algorithm.ShortHash(rep.Retired))
		}
		fmt.Fprintf(stdout, "\nrecomputation queued for %d consented persons in %d jobs (workers compute them; `geneguard algorithm changes %s` lists whose category changed)\n", rep.Persons, rep.Jobs, algorithm.ShortHash(full))
	case "retire":
		if err := a.svc.RetireAlgorithm(ctx, p, full, *reason); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "retired %s by %s\n", algorithm.ShortHash(full), account)
	}
	return nil
}

func algorithmList(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("algorithm list", "Lists every registered version: algorithm, version, kind, state, hash, who submitted,\napproved and activated it, and the validation result (a failure names its first failing case).", stderr)
	dsn, data := dbFlags(fs)
	format := fs.String("format", "text", "text or json")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *format != "text" && *format != "json" {
		return fmt.Errorf("%w: --format must be text or json", errUsage)
	}
	a, err := openCLIApp(ctx, *dsn, *data)
	if err != nil {
		return err
	}
	defer a.Close()
	vs, err := a.svc.Algorithms(ctx, identity.System)
	if err != nil {
		return err
	}
	sort.SliceStable(vs, func(i, j int) bool { return vs[i].Manifest.ID < vs[j].Manifest.ID })
	if *format == "json" {
		type row struct {
			ID          string            `json:"id"`
			Version     string            `json:"version"`
			Kind        algorithm.Kind    `json:"kind"`
			Status      algorithm.Status  `json:"status"`
			Hash        string            `json:"hash"`
			SubmittedBy string            `json:"submitted_by"`
			ApprovedBy  string            `json:"approved_by,omitempty"`
			ActivatedBy string            `json:"activated_by,omitempty"`
			Validation  *algorithm.Report `json:"validation,omitempty"`
			// ValidationSummary is the VALIDATION column of the text form.
			ValidationSummary string `json:"validation_summary"`
		}
		out := []row{}
		for _, v := range vs {
			out = append(out, row{v.Manifest.ID, v.Manifest.Version, v.Manifest.Kind, v.Status, v.Hash, v.SubmittedBy, v.ApprovedBy, v.ActivatedBy, v.Validation, algorithm.ValidationSummary(v)})
		}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ALGORITHM\tVERSION\tKIND\tSTATE\tHASH\tSUBMITTED BY\tAPPROVED BY\tACTIVATED BY\tVALIDATION")
	for _, v := range vs {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", v.Manifest.ID, v.Manifest.Version, v.Manifest.Kind, v.Status, algorithm.ShortHash(v.Hash), v.SubmittedBy, dash(v.ApprovedBy), dash(v.ActivatedBy), algorithm.ValidationSummary(v))
	}
	return tw.Flush()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func algorithmChanges(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("algorithm changes", "Lists the persons (pseudonyms) whose category or phenotype changed when this version's\nresults superseded their previous ones: whom to notify. Usage: geneguard algorithm changes HASH", stderr)
	dsn, data := dbFlags(fs)
	format := fs.String("format", "text", "text or json")
	hash, err := parseWithArg(fs, args)
	if err != nil {
		return err
	}
	if hash == "" {
		return fmt.Errorf("%w: give the version hash", errUsage)
	}
	a, err := openCLIApp(ctx, *dsn, *data)
	if err != nil {
		return err
	}
	defer a.Close()
	v, err := a.svc.AlgorithmVersion(ctx, identity.System, hash)
	if err != nil {
		return err
	}
	if v.Status != algorithm.StatusActive && v.ActivatedAt.IsZero() {
		// A version that never ran recomputed nobody: say so, rather
		// than "0 persons to notify", which reads as a recomputation
		// that changed nothing. Not an error: nobody is to be notified
		// is the true answer; but the operator most likely meant
		// another version, so the active one is named.
		note := fmt.Sprintf("version %s (%s %s) is %s and was never activated: no recomputation ran for it, so no result changed and nobody is to be notified%s",
			algorithm.ShortHash(v.Hash), v.Manifest.ID, v.Manifest.Version, v.Status, activeNote(ctx, a, v.Manifest.ID))
		if *format == "json" {
			fmt.Fprintln(stderr, note)
			fmt.Fprintln(stdout, "[]")
			return nil
		}
		fmt.Fprintln(stdout, note)
		return nil
	}
	cs, err := a.svc.ResultChanges(ctx, identity.Principal{Subject: "operator", Role: identity.RoleOperator}, v.Hash)
	if err != nil {
		return err
	}
	if *format == "json" {
		if cs == nil {
			cs = []platform.ResultChange{}
		}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(cs)
	}
	for _, c := range cs {
		fmt.Fprintf(stdout, "%s\t%s\t%s → %s\tresult %d supersedes %d\n", c.Person, c.AlgorithmID, c.OldCategory, c.NewCategory, c.ResultID, c.PreviousID)
	}
	fmt.Fprintf(stdout, "%d persons to notify\n", len(cs))
	return nil
}

// activeNote names the active version of algorithm id, for a message
// about another of its versions ("" when none is active or on error: it
// is a hint, not the answer).
func activeNote(ctx context.Context, a *app, id string) string {
	vs, err := a.svc.Algorithms(ctx, identity.System)
	if err != nil {
		return ""
	}
	for _, v := range vs {
		if v.Manifest.ID == id && v.Status == algorithm.StatusActive {
			return fmt.Sprintf(" (the active version of %s is %s, %s)", id, algorithm.ShortHash(v.Hash), v.Manifest.Version)
		}
	}
	return ""
}
