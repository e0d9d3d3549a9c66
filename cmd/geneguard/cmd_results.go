package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/geneguard/geneguard/algorithm"
	"github.com/geneguard/geneguard/identity"
	"github.com/geneguard/geneguard/platform"
	"github.com/geneguard/geneguard/result"
)

func init() {
	register(command{Name: "results", Summary: "show a person's results in clinical view (the view is audited)", Run: runResults})
}

func runResults(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("results", "Shows the person's current results in clinical view: only algorithms whose consent is in\nforce, each citing the exact algorithm version hash. The view is recorded in the audit log\nwith --purpose.", stderr)
	dsn, data := dbFlags(fs)
	person := fs.String("person", "", "the person's personal code (required)")
	format := fs.String("format", "text", "text or json")
	purpose := fs.String("purpose", "operator review", "why the results are viewed (recorded in the audit log; printable text, at most 100 characters, e.g. "+strings.Join(platform.CommonPurposes, ", ")+")")
	as := fs.String("as", "operator", "operator account viewing them")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *person == "" {
		return fmt.Errorf("%w: --person is required", errUsage)
	}
	if *format != "text" && *format != "json" {
		return fmt.Errorf("%w: --format must be text or json", errUsage)
	}
	code, err := identity.ParsePersonalCode(*person)
	if err != nil {
		return fmt.Errorf("%w: --person: %v", errUsage, err)
	}
	why, err := platform.CheckPurpose(*purpose)
	if err != nil {
		return fmt.Errorf("%w: --purpose: %s", errUsage, platform.ErrorMessage(err))
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
	rs, err := a.svc.Results(ctx, cliOperator(account), a.svc.PseudonymFor(code), why)
	if err != nil {
		return err
	}
	if *format == "json" {
		if rs == nil {
			rs = []result.Result{}
		}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rs)
	}
	if len(rs) == 0 {
		fmt.Fprintln(stdout, "no results in clinical view (no consent in force, or nothing computed yet)")
		return nil
	}
	for _, r := range rs {
		fmt.Fprintf(stdout, "%s@%s (sha256 %s)\n  %s\n  computed %s, trigger %s, input %s\n",
			r.AlgorithmID, r.Version, r.VersionHash, r.Summary, r.CreatedAt.UTC().Format("2006-01-02 15:04:05Z"), r.Trigger, algorithm.ShortHash(r.InputFingerprint))
		if r.VersionRetired {
			fmt.Fprintf(stdout, "  version %s is retired: this result stays in view until an active version computes a newer one\n", r.Version)
		}
	}
	return nil
}
