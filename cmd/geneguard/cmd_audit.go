package main

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"

	"github.com/geneguard/geneguard/audit"
	"github.com/geneguard/geneguard/identity"
	"github.com/geneguard/geneguard/platform"
	"github.com/geneguard/geneguard/runner"
	"github.com/geneguard/geneguard/store/sqlstore"
)

func init() {
	register(command{Name: "audit", Summary: "tamper-evident audit log: checkpoint, verify, receipt, verify-receipt", Run: runAudit})
}

// Files in the data directory. The signing key is secret (back it up with
// the pseudonym key; losing it means starting a new log under a new
// origin). The last checkpoint this operator signed is kept beside it,
// outside the database, so that a database rolled back or rewritten
// together with its checkpoint table is refused at the next checkpoint
// and caught by verify.
const (
	auditKeyFile   = "audit.key"        // signed-note skey
	auditVKeyFile  = "audit.vkey"       // its public half, to publish
	auditStateFile = "audit.checkpoint" // last checkpoint signed here
	// defaultAuditOrigin names the log in its checkpoints; a deployment
	// sets its own (e.g. its domain) when the key is first created.
	defaultAuditOrigin = "geneguard.local/audit/v1"
	auditKeyEnv        = "GENEGUARD_AUDIT_KEY"
)

var auditSubcommands = []struct{ name, summary string }{
	{"checkpoint", "sign a checkpoint over every stored event now"},
	{"verify", "recompute the log from the stored events and check every checkpoint"},
	{"receipt", "print an offline-verifiable JSON receipt for one event"},
	{"verify-receipt", "check a receipt offline with the log's public key"},
}

func runAudit(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprintln(stderr, "usage: geneguard audit <subcommand> [flags]   (geneguard audit <subcommand> -h for its flags)")
		fmt.Fprintln(stderr)
		for _, s := range auditSubcommands {
			fmt.Fprintf(stderr, "  %-15s %s\n", s.name, s.summary)
		}
		if len(args) == 0 {
			return fmt.Errorf("%w: missing subcommand", errUsage)
		}
		return flag.ErrHelp
	}
	switch args[0] {
	case "checkpoint":
		return runAuditCheckpoint(ctx, args[1:], stdout, stderr)
	case "verify":
		return runAuditVerify(ctx, args[1:], stdout, stderr)
	case "receipt":
		return runAuditReceipt(ctx, args[1:], stdout, stderr)
	case "verify-receipt":
		return runAuditVerifyReceipt(args[1:], stdout, stderr)
	}
	return fmt.Errorf("%w: unknown subcommand %q (checkpoint, verify, receipt, verify-receipt)", errUsage, args[0])
}

// auditFlags are the flags every database subcommand shares.
type auditFlags struct {
	dsn, data, state, key *string
}

func addAuditFlags(fs interface {
	String(name, value, usage string) *string
}, withKey bool) auditFlags {
	f := auditFlags{
		dsn:   fs.String("db", "", "database: SQLite file path or postgres:// URL (default DATA/geneguard.db)"),
		data:  fs.String("data", "geneguard-data", "data directory: audit signing key and the last checkpoint signed"),
		state: fs.String("state", "", "file keeping the last checkpoint signed, outside the database (default DATA/"+auditStateFile+"; \"-\" for none)"),
	}
	if withKey {
		f.key = fs.String("key", "", "the log's verifier key (vkey text or a file holding it; default: derived from DATA/"+auditKeyFile+")")
	}
	return f
}

func (f auditFlags) statePath() string {
	switch *f.state {
	case "-":
		return ""
	case "":
		return filepath.Join(*f.data, auditStateFile)
	}
	return *f.state
}

func (f auditFlags) open(ctx context.Context) (*sqlstore.Store, error) {
	if err := requireDB(*f.dsn, *f.data); err != nil {
		return nil, err
	}
	dsn := *f.dsn
	if dsn == "" {
		dsn = filepath.Join(*f.data, "geneguard.db")
	}
	return sqlstore.Open(ctx, dsn)
}

func runAuditCheckpoint(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("audit checkpoint", "Signs a checkpoint (C2SP tlog-checkpoint, Ed25519 signed note) over every stored audit event\nand stores it. The signing key DATA/"+auditKeyFile+" is created on first use (or taken from $"+auditKeyEnv+");\nits public half is printed and written to DATA/"+auditVKeyFile+" for publishing. Signing is refused when\nthe stored log does not extend the last checkpoint signed (kept in the --state file).", stderr)
	f := addAuditFlags(fs, false)
	origin := fs.String("origin", defaultAuditOrigin, "log origin (the key name), used only when the key is created")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	// A checkpoint is of an existing log: check before a key is made.
	if err := requireDB(*f.dsn, *f.data); err != nil {
		return err
	}
	st, err := f.open(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := mayMakeAuditKey(ctx, st, *f.data); err != nil {
		return err
	}
	signer, vkey, created, err := loadAuditSigner(*f.data, *origin, true)
	if err != nil {
		return err
	}
	a, err := platform.NewAuditor(st, vkey, signer)
	if err != nil {
		return err
	}
	var last []byte
	statePath := f.statePath()
	if statePath != "" {
		if last, err = os.ReadFile(statePath); errors.Is(err, os.ErrNotExist) {
			last = nil
		} else if err != nil {
			return fmt.Errorf("state: %w", err)
		}
	}
	n, cp, err := a.Checkpoint(ctx, last)
	if err != nil {
		if created {
			// Nothing was signed with it: take back the key made here.
			os.Remove(filepath.Join(*f.data, auditKeyFile))
			os.Remove(filepath.Join(*f.data, auditVKeyFile))
		}
		return err
	}
	if statePath != "" {
		if err := writeFileAtomic(statePath, n, 0o644); err != nil {
			return fmt.Errorf("state: %w", err)
		}
	}
	if created {
		fmt.Fprintf(stdout, "created signing key %s (secret: back it up with the data)\n", filepath.Join(*f.data, auditKeyFile))
	}
	fmt.Fprintf(stdout, "signed checkpoint: %d events, root %s\n", cp.Size, hex.EncodeToString(cp.Root))
	fmt.Fprintf(stdout, "verifier key: %s\n\n%s", vkey, n)
	return nil
}

func runAuditVerify(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("audit verify", "Recomputes the Merkle tree from every stored event and checks each stored checkpoint's\nsignature and root against it (which also proves them consistent with each other), the\nindex columns against the hashed events, every result row against the content hash its\nrun event recorded, every consent row against the consent event that recorded it (and\nevery such event against its row), every genotype dataset and its sample mapping against\nits ingest event, and the derived proof state. Exits non-zero naming the first tampered\nindex (or result, consent or dataset row and event index). Also checks the --state file\nand --from-checkpoint.", stderr)
	f := addAuditFlags(fs, true)
	from := fs.String("from-checkpoint", "", "a signed checkpoint kept elsewhere (a receipt's, a witness's) that the log must be consistent with")
	genotypes := fs.Bool("genotypes", false, "also hash every stored genotype file in DATA/genotypes against its dataset's file hash (reads them all; workers check each file at every read anyway)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	vkey, keyErr := resolveVKey(*f.key, *f.data)
	// No key yet (only ingest and workers have run): nothing was ever
	// signed, so the events and the rows they record can still be
	// checked; a stored or outside checkpoint cannot, and fails.
	unkeyed := errors.Is(keyErr, errNoAuditKey)
	if keyErr != nil && !unkeyed {
		return keyErr
	}
	var external [][]byte
	var names []string
	for _, p := range []string{f.statePath(), *from} {
		if p == "" {
			continue
		}
		b, err := os.ReadFile(p)
		if errors.Is(err, os.ErrNotExist) && p != *from {
			continue // no state file yet
		}
		if err != nil {
			return err
		}
		external = append(external, b)
		names = append(names, p)
	}
	st, err := f.open(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	if unkeyed && len(external) > 0 {
		return fmt.Errorf("%s holds a signed checkpoint, but: %w", names[0], keyErr)
	}
	a, err := platform.NewAuditor(st, vkey, nil)
	if err != nil {
		return err
	}
	sum, err := a.Verify(ctx, external...)
	if unkeyed && errors.Is(err, platform.ErrNoVerifierKey) {
		return fmt.Errorf("the database holds signed checkpoints, but: %w", keyErr)
	}
	if err != nil {
		return fmt.Errorf("verification FAILED: %w", err)
	}
	fmt.Fprintf(stdout, "audit log OK: %d events, %d checkpoints (latest covers %d), root %s\n",
		sum.Events, sum.Checkpoints, sum.Latest.Size, hex.EncodeToString(sum.Root))
	fmt.Fprintf(stdout, "results OK: %d match the content hash their run event recorded\n", sum.Results)
	if sum.ResultsUnhashed > 0 {
		fmt.Fprintf(stdout, "%d results were written before run events recorded a content hash: named by the log, content not checked\n", sum.ResultsUnhashed)
	}
	if sum.ResultsNew > 0 {
		fmt.Fprintf(stdout, "%d results were written while verifying: checked next time\n", sum.ResultsNew)
	}
	fmt.Fprintf(stdout, "consents OK: %d match the consent event that recorded them\n", sum.Consents)
	if sum.ConsentsUnlinked > 0 {
		fmt.Fprintf(stdout, "%d consents were recorded before consent events named their row: matched by person, algorithm and order\n", sum.ConsentsUnlinked)
	}
	if sum.ConsentsNew > 0 {
		fmt.Fprintf(stdout, "%d consents were changed while verifying: checked next time\n", sum.ConsentsNew)
	}
	fmt.Fprintf(stdout, "datasets OK: %d match the ingest event that recorded them (file hash, build, sample mapping)\n", sum.Datasets)
	if sum.DatasetsNew > 0 {
		fmt.Fprintf(stdout, "%d datasets were ingested while verifying: checked next time\n", sum.DatasetsNew)
	}
	if *genotypes {
		files, err := st.DatasetFiles(ctx)
		if err != nil {
			return err
		}
		r := &runner.Runner{GenotypeDir: filepath.Join(*f.data, "genotypes")}
		for i := range files {
			if err := r.CheckDatasetFile(&files[i]); err != nil {
				return fmt.Errorf("verification FAILED: dataset %d: %w", files[i].ID, err)
			}
		}
		fmt.Fprintf(stdout, "genotype files OK: %d hash to their dataset's file hash\n", len(files))
	}
	for _, n := range names {
		fmt.Fprintf(stdout, "consistent with %s\n", n)
	}
	if unkeyed {
		fmt.Fprintf(stdout, "no checkpoint is signed yet (no audit signing key in %s): the log is checked, but nothing outside it vouches for its end; `geneguard serve` signs every 10 s, or run `geneguard audit checkpoint`\n", *f.data)
	}
	if u := sum.Unsigned(); u > 0 {
		fmt.Fprintf(stdout, "%d events after the latest checkpoint are not signed yet\n", u)
	}
	if len(external) == 0 {
		// The database alone cannot show that its log and checkpoint
		// table were cut back together; only a checkpoint kept elsewhere
		// can.
		what := "no checkpoint kept outside the database was given (--from-checkpoint)"
		if p := f.statePath(); p != "" {
			what = fmt.Sprintf("no checkpoint kept outside the database: %s is missing and no --from-checkpoint was given", p)
		}
		fmt.Fprintf(stderr, "warning: %s, so events cut from the end of the log together with their checkpoints would not show; pass a checkpoint kept elsewhere (a receipt's, a witness's) with --from-checkpoint\n", what)
	}
	return nil
}

func runAuditReceipt(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("audit receipt", "Prints a JSON receipt for one event: its canonical bytes, an inclusion proof and the latest\nsigned checkpoint. Anyone holding the log's verifier key can check it offline with\n`geneguard audit verify-receipt`.", stderr)
	f := addAuditFlags(fs, true)
	seq := fs.String("seq", "", "the event's sequence number (required)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	n, err := strconv.ParseUint(*seq, 10, 64)
	if err != nil {
		return fmt.Errorf("%w: --seq must be an event number, got %q", errUsage, *seq)
	}
	vkey, err := resolveVKey(*f.key, *f.data)
	if err != nil {
		return err
	}
	st, err := f.open(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	a, err := platform.NewAuditor(st, vkey, nil)
	if err != nil {
		return err
	}
	op := identity.Principal{Subject: "operator", Name: "operator (CLI)", Role: identity.RoleOperator}
	r, err := a.Receipt(ctx, op, n)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

func runAuditVerifyReceipt(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("audit verify-receipt", "Checks a receipt offline: the checkpoint is signed by --key, the event bytes are canonical\nand carry the receipt's index, and the inclusion proof links them to the signed root.\nNeeds no database and no network.", stderr)
	file := fs.String("file", "", "receipt JSON (\"-\" for stdin) (required)")
	key := fs.String("key", "", "the log's published verifier key: vkey text or a file holding it (required)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *file == "" || *key == "" {
		return fmt.Errorf("%w: --file and --key are required", errUsage)
	}
	var b []byte
	var err error
	if *file == "-" {
		b, err = io.ReadAll(os.Stdin)
	} else {
		b, err = os.ReadFile(*file)
	}
	if err != nil {
		return err
	}
	var r audit.Receipt
	if err := json.Unmarshal(b, &r); err != nil {
		return fmt.Errorf("receipt %s: %w", *file, err)
	}
	vkey, err := readVKey(*key)
	if err != nil {
		return err
	}
	if err := audit.VerifyReceipt(r, vkey); err != nil {
		return fmt.Errorf("receipt INVALID: %w", err)
	}
	// Both parse: VerifyReceipt just did.
	e, _ := audit.ParseCanonical(r.Event)
	v, _ := audit.NewVerifier(vkey)
	cp, _ := audit.OpenCheckpoint([]byte(r.Checkpoint), v)
	about := ""
	if e.Person != "" {
		about = " about " + e.Person
	}
	fmt.Fprintf(stdout, "receipt OK: event %d (%s %s by %s as %s%s, purpose %q, at %s) is in log %s, checkpoint of %d events\n",
		e.Seq, e.Action, e.Object, e.Actor, e.Role, about, e.Purpose, e.Time.Format("2006-01-02 15:04:05Z07:00"), cp.Origin, cp.Size)
	return nil
}

// errNoAuditKey: the data directory has no signing key yet. `serve` and
// `audit checkpoint` make one; `ingest` and `worker` alone never sign.
var errNoAuditKey = errors.New("no audit signing key")

// mayMakeAuditKey refuses to let this data directory make a signing key
// when it has none but the database holds signed checkpoints: they were
// signed with another data directory's key (or $GENEGUARD_AUDIT_KEY), and
// a new key would take the log over — every earlier checkpoint would stop
// opening, and the directory that signed them could sign no more.
func mayMakeAuditKey(ctx context.Context, st *sqlstore.Store, dataDir string) error {
	if os.Getenv(auditKeyEnv) != "" {
		return nil
	}
	if _, err := os.Stat(filepath.Join(dataDir, auditKeyFile)); !errors.Is(err, os.ErrNotExist) {
		return nil // there is a key (or an error loadAuditSigner reports)
	}
	signed, err := st.HasCheckpoints(ctx)
	if err != nil || !signed {
		return err
	}
	return fmt.Errorf("the database holds signed checkpoints, but %s has no audit signing key (%s): sign with the data directory (--data) or $%s that signed them; a new key here would make them unverifiable, so none was made", dataDir, auditKeyFile, auditKeyEnv)
}

// loadAuditSigner returns the signer from $GENEGUARD_AUDIT_KEY or
// DATA/audit.key, creating the key (and DATA/audit.vkey) when create is
// set and there is none.
func loadAuditSigner(dataDir, origin string, create bool) (signer *audit.Signer, vkey string, created bool, err error) {
	skey := os.Getenv(auditKeyEnv)
	path := filepath.Join(dataDir, auditKeyFile)
	if skey == "" {
		b, err := os.ReadFile(path)
		switch {
		case err == nil:
			skey = strings.TrimSpace(string(b))
		case errors.Is(err, os.ErrNotExist) && create:
			var pub string
			if skey, pub, err = audit.GenerateKey(origin); err != nil {
				return nil, "", false, err
			}
			if err := os.MkdirAll(dataDir, 0o750); err != nil {
				return nil, "", false, fmt.Errorf("data dir: %w", err)
			}
			// O_EXCL: two first runs at once must not each make a key.
			fh, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
			if err != nil {
				return nil, "", false, fmt.Errorf("audit key: %w", err)
			}
			if _, err := fmt.Fprintln(fh, skey); err != nil {
				fh.Close()
				return nil, "", false, fmt.Errorf("audit key: %w", err)
			}
			if err := fh.Close(); err != nil {
				return nil, "", false, fmt.Errorf("audit key: %w", err)
			}
			if err := os.WriteFile(filepath.Join(dataDir, auditVKeyFile), []byte(pub+"\n"), 0o644); err != nil {
				return nil, "", false, fmt.Errorf("audit key: %w", err)
			}
			created = true
		case errors.Is(err, os.ErrNotExist):
			return nil, "", false, fmt.Errorf("%w in %s (run `geneguard audit checkpoint` first, set $%s, or pass --key)", errNoAuditKey, dataDir, auditKeyEnv)
		default:
			return nil, "", false, fmt.Errorf("audit key: %w", err)
		}
	}
	signer, err = audit.NewSigner(skey)
	if err != nil {
		return nil, "", false, err
	}
	vkey, err = vkeyFromSKey(skey)
	if err != nil {
		return nil, "", false, err
	}
	return signer, vkey, created, nil
}

// vkeyFromSKey derives the public verifier key of an Ed25519 signed-note
// skey ("PRIVATE+KEY+name+hash+base64(0x01||seed)"), so that only the
// secret needs to be stored.
func vkeyFromSKey(skey string) (string, error) {
	parts := strings.SplitN(skey, "+", 5)
	if len(parts) != 5 || parts[0] != "PRIVATE" || parts[1] != "KEY" {
		return "", errors.New("audit key: not a signed-note private key")
	}
	k, err := base64.StdEncoding.DecodeString(parts[4])
	if err != nil || len(k) != 1+ed25519.SeedSize || k[0] != 1 {
		return "", errors.New("audit key: not an Ed25519 signed-note private key")
	}
	pub := ed25519.NewKeyFromSeed(k[1:]).Public().(ed25519.PublicKey)
	vkey, err := note.NewEd25519VerifierKey(parts[2], pub)
	if err != nil {
		return "", fmt.Errorf("audit key: %w", err)
	}
	if !strings.HasPrefix(vkey, parts[2]+"+"+parts[3]+"+") {
		return "", errors.New("audit key: key hash does not match the key")
	}
	return vkey, nil
}

// resolveVKey is --key when given, else the data directory's own key.
func resolveVKey(key, dataDir string) (string, error) {
	if key != "" {
		return readVKey(key)
	}
	_, vkey, _, err := loadAuditSigner(dataDir, "", false)
	return vkey, err
}

// readVKey accepts vkey text or the name of a file holding it.
func readVKey(s string) (string, error) {
	if b, err := os.ReadFile(s); err == nil {
		s = strings.TrimSpace(string(b))
	}
	if _, err := audit.NewVerifier(s); err != nil {
		return "", fmt.Errorf("--key: %w", err)
	}
	return s, nil
}

// writeFileAtomic replaces path so that a crash never leaves half a file.
func writeFileAtomic(path string, b []byte, perm os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-"+filepath.Base(path)+"-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(perm); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
