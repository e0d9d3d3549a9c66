package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"strings"
	"unicode"

	"github.com/geneguard/geneguard/consent"
	"github.com/geneguard/geneguard/identity"
	"github.com/geneguard/geneguard/platform"
)

func init() {
	register(command{Name: "consent", Summary: "record a paper opt-in or opt-out, or show a person's consent history for an algorithm", Run: runConsent})
}

func runConsent(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return dispatch(ctx, "consent", []subcommand{
		{"grant", "record the person's opt-in to an algorithm (e.g. a signed paper form)", func(ctx context.Context, a []string, o, e io.Writer) error {
			return consentChange(ctx, consent.Grant, a, o, e)
		}},
		{"withdraw", "record the person's opt-out: waiting jobs are cancelled, results leave clinical view", func(ctx context.Context, a []string, o, e io.Writer) error {
			return consentChange(ctx, consent.Withdraw, a, o, e)
		}},
		{"history", "show who changed the person's consent, when and through which channel", consentHistory},
	}, args, stdout, stderr)
}

// personArgs are the flags naming a person and an algorithm.
type personArgs struct {
	dsn, data, person, alg *string
}

func consentFlags(name, summary string, stderr io.Writer) (*flag.FlagSet, personArgs) {
	fs := newFlagSet(name, summary, stderr)
	var p personArgs
	p.dsn, p.data = dbFlags(fs)
	p.person = fs.String("person", "", "the person's personal code (isikukood) (required)")
	p.alg = fs.String("algorithm", "", "algorithm id, e.g. pgx-cyp2c19-antidepressants (required)")
	return fs, p
}

func (p personArgs) check() (identity.PersonalCode, error) {
	if *p.person == "" || *p.alg == "" {
		return "", fmt.Errorf("%w: --person and --algorithm are required", errUsage)
	}
	code, err := identity.ParsePersonalCode(*p.person)
	if err != nil {
		return "", fmt.Errorf("%w: --person: %v", errUsage, err)
	}
	return code, nil
}

// cliAccount checks an account flag (--as) and returns the account in
// its one spelling (platform.NormalizeAccount: trimmed, case-folded), so
// "Alice" and " alice" are recorded and compared as "alice".
func cliAccount(flagName, v string) (string, error) {
	n, err := platform.NormalizeAccount(v)
	if err != nil {
		return "", fmt.Errorf("%w: %s: %s", errUsage, flagName, platform.ErrorMessage(err))
	}
	return n, nil
}

// cliOperator is the principal of an operator at the command line.
func cliOperator(name string) identity.Principal {
	if name == "" {
		name = "operator"
	}
	return identity.Principal{Subject: name, Name: name + " (CLI)", Role: identity.RoleOperator}
}

func consentChange(ctx context.Context, action consent.Action, args []string, stdout, stderr io.Writer) error {
	fs, pa := consentFlags("consent "+string(action), "Records the person's own decision, made on paper or in person, as the operator. Consent is\nper person and per algorithm (not per version).", stderr)
	channel := fs.String("channel", "paper", "how the person gave the decision (recorded)")
	as := fs.String("as", "operator", "operator account recording it")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	code, err := pa.check()
	if err != nil {
		return err
	}
	account, err := cliAccount("--as", *as)
	if err != nil {
		return err
	}
	ch := strings.TrimSpace(*channel)
	if ch == "" || len(ch) > 40 || strings.IndexFunc(ch, func(r rune) bool { return !unicode.IsPrint(r) }) >= 0 {
		return fmt.Errorf("%w: --channel %q: say how the person gave the decision in printable words of at most 40 characters (e.g. paper, phone, clinic)", errUsage, *channel)
	}
	*channel = ch
	a, err := openCLIApp(ctx, *pa.dsn, *pa.data)
	if err != nil {
		return err
	}
	defer a.Close()
	person := a.svc.PseudonymFor(code)
	op := cliOperator(account)
	if action == consent.Grant {
		// A person not yet known (no genotypes, never signed in) is
		// created from what the code says, as at portal sign-in.
		if _, err := a.svc.Person(ctx, op, person); platform.IsNotFound(err) {
			if _, err := a.svc.SignIn(ctx, string(code), identity.RolePatient); err != nil {
				return err
			}
		}
		err = a.svc.GrantConsent(ctx, op, person, *pa.alg, *channel)
	} else {
		err = a.svc.WithdrawConsent(ctx, op, person, *pa.alg, *channel)
	}
	if err != nil {
		return err
	}
	h, err := a.svc.ConsentHistory(ctx, op, person, *pa.alg)
	if err != nil {
		return err
	}
	state := "not in force"
	if consent.Granted(h) {
		state = "in force"
	}
	fmt.Fprintf(stdout, "%s %s: consent %s (%d events in history)\n", person, *pa.alg, state, len(h))
	return nil
}

func consentHistory(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, pa := consentFlags("consent history", "Shows the person's full consent history for an algorithm. --format fhir exports it as a\nFHIR R4 Consent: a default-deny root provision with a permit for the algorithm.", stderr)
	format := fs.String("format", "text", "text, json or fhir")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	code, err := pa.check()
	if err != nil {
		return err
	}
	if *format != "text" && *format != "json" && *format != "fhir" {
		return fmt.Errorf("%w: --format must be text, json or fhir", errUsage)
	}
	a, err := openCLIApp(ctx, *pa.dsn, *pa.data)
	if err != nil {
		return err
	}
	defer a.Close()
	person := a.svc.PseudonymFor(code)
	op := cliOperator("")
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	switch *format {
	case "fhir":
		c, err := a.svc.ConsentFHIR(ctx, op, person, *pa.alg)
		if err != nil {
			return err
		}
		// The operator knows the code; the export names the patient by it.
		id := consent.Identifier{System: platform.PersonalCodeSystem, Value: string(code)}
		c.Patient.Identifier = &id
		c.Performer = []consent.Reference{c.Patient}
		if len(c.Provision.Provision) > 0 {
			c.Provision.Provision[0].Data[0].Reference = c.Patient
		}
		return enc.Encode(c)
	case "json":
		h, err := a.svc.ConsentHistory(ctx, op, person, *pa.alg)
		if err != nil {
			return err
		}
		if h == nil {
			h = []consent.Event{}
		}
		return enc.Encode(h)
	}
	h, err := a.svc.ConsentHistory(ctx, op, person, *pa.alg)
	if err != nil {
		return err
	}
	if len(h) == 0 {
		fmt.Fprintf(stdout, "%s %s: no consent recorded; default deny: nothing runs\n", person, *pa.alg)
		return nil
	}
	for _, e := range h {
		fmt.Fprintf(stdout, "%s\t%s\tby %s\tvia %s\n", e.At.UTC().Format("2006-01-02 15:04:05Z"), e.Action, e.Actor, e.Channel)
	}
	state := "not in force"
	if consent.Granted(h) {
		state = "in force"
	}
	fmt.Fprintf(stdout, "consent %s\n", state)
	return nil
}
