// Package runner is the secure computation environment: it runs one
// algorithm version for one person. It checks consent when the job starts
// and again when it writes, hands the algorithm only the genotypes its
// bundle declares (as a one-person VCF of those loci) and the person
// attributes its manifest declares, and records provenance: the exact
// version hash, a fingerprint of the exact input, the trigger, the worker
// and the duration.
package runner

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/geneguard/geneguard/algorithm"
	"github.com/geneguard/geneguard/consent"
	"github.com/geneguard/geneguard/identity"
	"github.com/geneguard/geneguard/platform"
	"github.com/geneguard/geneguard/result"
	"github.com/geneguard/geneguard/vcf"
)

// Locus is a genomic position, chromosome in vcf.NormalizeChrom form.
type Locus struct {
	Chrom string
	Pos   int
}

// Input is all an algorithm sees.
type Input struct {
	// VCF is a single-sample VCF holding only the declared loci.
	VCF []byte
	// Attrs holds the declared person attributes ("age", "sex").
	Attrs map[string]string
}

// Output is what an engine returns.
type Output struct {
	Summary  string // one line, for lists and cards
	Category string // phenotype or risk category
	Data     any    // full output, stored as JSON
}

// Engine runs bundles of one algorithm kind.
type Engine interface {
	// Loci returns the genotype loci the version's bundle declares.
	Loci(v *algorithm.Version) (map[Locus]bool, error)
	// Run computes the output from the input alone: same input, same
	// version, same output.
	Run(ctx context.Context, v *algorithm.Version, in Input) (Output, error)
}

// Runner computes jobs.
type Runner struct {
	Store   platform.Store
	Engines map[algorithm.Kind]Engine
	// Worker names this process in provenance records.
	Worker string
	Now    func() time.Time
	// GenotypeDir is this deployment's genotype store (DATA/genotypes). A
	// dataset's file is opened there by the content address ingest named
	// it with, and only when it is not there at the path recorded at
	// ingest, so a data directory moved or restored elsewhere is read
	// where it is now. Either way its bytes are checked against the name.
	GenotypeDir string
}

// datasetFile is where dataset ds's file is read and the SHA-256 its bytes
// must have: the dataset's file hash (audit verify checks it against the
// ingest event), and the stored copy is named by it ("<sha256>.vcf[.gz]").
// The recorded path is used only when it names that copy, so an edited
// path cannot point a dataset at another file. want is "" only for a
// dataset with no file hash whose file is not named so (not from ingest).
func (r *Runner) datasetFile(ds *platform.Dataset) (path, want string, err error) {
	name := filepath.Base(ds.Path)
	if want = ds.FileSHA256; want != "" {
		ext := ".vcf"
		if strings.HasSuffix(name, ".gz") || strings.HasSuffix(name, ".bgz") {
			ext = ".vcf.gz"
		}
		name = want + ext
	} else if h, _, _ := strings.Cut(name, "."); len(h) == sha256.Size*2 {
		if _, err := hex.DecodeString(h); err == nil {
			want = h
		}
	}
	if r.GenotypeDir == "" {
		return ds.Path, want, nil
	}
	local := filepath.Join(r.GenotypeDir, name)
	candidates := []string{local}
	if filepath.Base(ds.Path) == name {
		candidates = append(candidates, ds.Path)
	}
	for _, p := range candidates {
		if _, err := os.Stat(p); err == nil {
			return p, want, nil
		}
	}
	// A PathError: transient, a volume may not be mounted yet.
	return "", "", fmt.Errorf("genotype file %s is neither in the genotype store %s nor at %s where it was ingested: %w", name, r.GenotypeDir, ds.Path, &fs.PathError{Op: "open", Path: local, Err: fs.ErrNotExist})
}

// Outcome says what Compute did, for progress reporting and tests.
type Outcome string

const (
	OutcomeComputed Outcome = "computed"
	OutcomeExisting Outcome = "existing" // same input and version: nothing new
	// OutcomeRestored: same input and version as a stored result a later
	// one had superseded (that one computed from data since corrected,
	// e.g. a wrong sample map); the stored result is current again.
	OutcomeRestored  Outcome = "restored"
	OutcomeNoConsent Outcome = "no-consent" // consent not in force: nothing computed
	OutcomeNoData    Outcome = "no-data"    // no genotypes for the person
	OutcomeNotActive Outcome = "not-active" // the version is not active: nothing computed
	OutcomeFailed    Outcome = "failed"     // the engine failed on the person's input (batch only)
)

// runOutcome is how an outcome is named in usage records and the audit log.
var runOutcome = map[Outcome]string{
	OutcomeComputed: platform.RunNewResult, OutcomeExisting: platform.RunUnchanged, OutcomeRestored: platform.RunRestored,
	OutcomeNoConsent: platform.RunNoConsent, OutcomeNoData: platform.RunNoData,
	OutcomeNotActive: platform.RunNotActive, OutcomeFailed: platform.RunFailed,
}

// writeChunk is how many persons' results one write transaction holds:
// short transactions keep the audit log's append lock (and SQLite's one
// connection) free for the clinical API between them.
const writeChunk = 32

// Compute runs one job. It is idempotent: a job run twice (a worker killed
// after the write but before the queue marked the job done) finds its result
// by (person, version, input fingerprint) and writes nothing new. A
// failure is returned: a PermanentError (the engine failed on the input, a
// genome build the bundle is not for, a malformed bundle or file) is
// recorded once as a failed run and must not be retried; any other error
// (a busy database) is for the queue to retry.
func (r *Runner) Compute(ctx context.Context, job platform.ComputeJob) (Outcome, error) {
	out, err := r.compute(ctx, job.AlgorithmID, job.VersionHash, job.Trigger, []string{job.Person}, true)
	if err != nil {
		return "", err
	}
	return out[job.Person], nil
}

// ComputeBatch runs one version for many persons, streaming each genotype
// file once for all of them. Per person it does what Compute does (consent
// checked at the start and in the write, input fingerprint, idempotent
// write, run record, audit event); an engine failure on one person's input
// is recorded as a failed run and the others go on. It returns the count
// of each outcome.
func (r *Runner) ComputeBatch(ctx context.Context, job platform.BatchJob) (map[Outcome]int, error) {
	out, err := r.compute(ctx, job.AlgorithmID, job.VersionHash, job.Trigger, job.Persons, false)
	if err != nil {
		return nil, err
	}
	n := map[Outcome]int{}
	for _, o := range out {
		n[o]++
	}
	return n, nil
}

// work is one person's way through a computation.
type work struct {
	id      string
	person  *platform.Person
	ds      *platform.Dataset
	smp     *platform.DatasetSample
	in      Input
	fp      string
	res     *result.Result
	hash    string // the stored result's ContentHash, for the run event
	ms      int64
	outcome Outcome
	err     error
}

func (r *Runner) compute(ctx context.Context, algorithmID, hash string, trig result.Trigger, persons []string, strict bool) (map[string]Outcome, error) {
	var v *algorithm.Version
	ws := make([]*work, 0, len(persons))
	seen := map[string]bool{}
	for _, p := range persons {
		if !seen[p] {
			seen[p] = true
			ws = append(ws, &work{id: p})
		}
	}
	err := r.Store.Read(ctx, func(tx platform.Tx) error {
		var err error
		if v, err = tx.Algorithm(hash); err != nil {
			if platform.IsNotFound(err) {
				return &PermanentError{Err: fmt.Errorf("runner: %w", err)}
			}
			return err
		}
		for _, w := range ws {
			h, err := tx.ConsentHistory(w.id, algorithmID)
			if err != nil {
				return err
			}
			if !consent.Granted(h) {
				w.outcome = OutcomeNoConsent
				continue
			}
			if v.Status != algorithm.StatusActive {
				// Only active versions run for clinical use; a job queued
				// before its version was retired computes nothing.
				w.outcome = OutcomeNotActive
				continue
			}
			if w.person, err = tx.Person(w.id); err != nil {
				return err
			}
			w.ds, w.smp, err = tx.LatestSample(w.id)
			if platform.IsNotFound(err) {
				w.outcome = OutcomeNoData
				continue
			}
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if v.Manifest.ID != algorithmID {
		return nil, &PermanentError{Err: fmt.Errorf("runner: job names algorithm %s but version %s is %s", algorithmID, algorithm.ShortHash(v.Hash), v.Manifest.ID)}
	}
	todo := ws[:0:0]
	for _, w := range ws {
		if w.outcome == "" {
			todo = append(todo, w)
		}
	}
	if len(todo) > 0 {
		if err := r.run(ctx, v, todo, strict); err != nil {
			if ctx.Err() == nil && ((strict && len(todo) == 1) || IsPermanent(err)) {
				// The attempt counts in usage as a failed run. A
				// transient failure is returned for the queue to retry
				// (each attempt is a run); a permanent one is not
				// retried (the queue cancels the job), so it is
				// recorded once.
				_ = r.Store.InTx(ctx, func(tx platform.Tx) error {
					for _, w := range todo {
						if err := tx.RecordRun(platform.Run{Person: w.id, AlgorithmID: v.Manifest.ID, VersionHash: v.Hash, Trigger: trig, InputFingerprint: w.fp, Outcome: platform.RunFailed, DurationMS: w.ms, Worker: r.Worker}); err != nil {
							return err
						}
					}
					return nil
				})
			}
			return nil, err
		}
	}
	if err := r.write(ctx, v, trig, ws); err != nil {
		return nil, err
	}
	out := make(map[string]Outcome, len(ws))
	for _, w := range ws {
		out[w.id] = w.outcome
	}
	return out, nil
}

// run extracts every person's declared input (one pass over each genotype
// file) and runs the engine, outside any transaction.
func (r *Runner) run(ctx context.Context, v *algorithm.Version, ws []*work, strict bool) error {
	eng, ok := r.Engines[v.Manifest.Kind]
	if !ok {
		return &PermanentError{Err: fmt.Errorf("runner: no engine for kind %s", v.Manifest.Kind)}
	}
	loci, err := eng.Loci(v)
	if err != nil {
		return permanent(fmt.Errorf("runner: %s: declared loci: %w", v.Manifest.ID, err))
	}
	byDataset := map[int64][]*work{}
	var order []int64
	for _, w := range ws {
		if _, ok := byDataset[w.ds.ID]; !ok {
			order = append(order, w.ds.ID)
		}
		byDataset[w.ds.ID] = append(byDataset[w.ds.ID], w)
	}
	now := r.now()
	for _, id := range order {
		group := byDataset[id]
		idxs := make([]int, len(group))
		for i, w := range group {
			idxs[i] = w.smp.Index
		}
		path, want, err := r.datasetFile(group[0].ds)
		if err != nil {
			return fmt.Errorf("runner: dataset %d: %w", id, err)
		}
		vcfs, err := extract(path, want, idxs, loci)
		if err != nil {
			// The file was validated whole at ingest, so a file that
			// no longer reads (truncated, garbage appended, a flipped
			// byte) has most likely changed since: say so, retryably,
			// rather than cancel the job as malformed.
			var changed *ChangedFileError
			if errors.As(err, &changed) {
				return fmt.Errorf("runner: dataset %d: %w", id, err) // read whole: hashed already
			}
			if ce := checkFile(path, want); ce != nil {
				return fmt.Errorf("runner: dataset %d: %w (reading it: %v)", id, ce, err)
			}
			// A malformed file fails every time; an unreadable one
			// (a volume not mounted yet) may not.
			return permanent(fmt.Errorf("runner: dataset %d: %w", id, err))
		}
		for _, w := range group {
			if err := ctx.Err(); err != nil {
				return err
			}
			w.in = Input{VCF: vcfs[w.smp.Index], Attrs: attributes(v.Manifest.Inputs.Attributes, w.person, now)}
			w.fp = Fingerprint(w.in)
			start := time.Now()
			out, err := eng.Run(ctx, v, w.in)
			w.ms = time.Since(start).Milliseconds()
			if err != nil {
				err = fmt.Errorf("runner: %s@%s for %s: %w", v.Manifest.ID, v.Manifest.Version, w.id, err)
				if strict {
					// Same input, same version, same output: an
					// engine's failure recurs on every attempt.
					if ctx.Err() != nil {
						return err
					}
					return permanent(err)
				}
				w.outcome, w.err = OutcomeFailed, err
				continue
			}
			data, err := json.Marshal(out.Data)
			if err != nil {
				return fmt.Errorf("runner: encode output: %w", err)
			}
			w.res = &result.Result{
				Person: w.id, AlgorithmID: v.Manifest.ID, VersionHash: v.Hash, Version: v.Manifest.Version,
				InputFingerprint: w.fp, DatasetID: w.ds.ID, Summary: out.Summary, Category: out.Category,
				Output: data, DurationMS: w.ms, Worker: r.Worker,
			}
		}
	}
	return nil
}

// write stores results, run records and audit events, writeChunk persons
// per transaction. Consent may have been withdrawn while the engine ran:
// each person's is re-checked in the transaction that would insert.
func (r *Runner) write(ctx context.Context, v *algorithm.Version, trig result.Trigger, ws []*work) error {
	ctx = platform.WithLazyCommit(ctx) // safe for results; see its doc
	for start := 0; start < len(ws); start += writeChunk {
		chunk := ws[start:min(start+writeChunk, len(ws))]
		initial := make([]Outcome, len(chunk))
		for i, w := range chunk {
			initial[i] = w.outcome
		}
		err := r.Store.InTx(ctx, func(tx platform.Tx) error {
			var events []func() error
			for i, w := range chunk {
				w.outcome = initial[i] // the transaction may be retried
				if w.res != nil {
					w.res.Trigger = trig
					h, err := tx.ConsentHistory(w.id, v.Manifest.ID)
					if err != nil {
						return err
					}
					if !consent.Granted(h) {
						w.outcome = OutcomeNoConsent
					} else {
						if err := tx.LockResults(w.id, v.Manifest.ID); err != nil {
							return err
						}
						prev, err := tx.CurrentResult(w.id, v.Manifest.ID)
						if err != nil && !platform.IsNotFound(err) {
							return err
						}
						inserted, err := tx.InsertResult(w.res)
						if err != nil {
							return err
						}
						w.outcome = OutcomeExisting
						w.hash = w.res.ContentHash()
						if !inserted {
							// The stored row is the result; this computation's
							// copy only found it. Hash what is stored.
							if w.hash, err = storedHash(tx, w.id, w.res.ID); err != nil {
								return err
							}
							// Found but superseded: a later result came from
							// other data (a wrong sample map since corrected).
							// The person's data now gives this one, so it is
							// current again — unless the data changed since
							// this run read it (a newer run decides then).
							if prev == nil || prev.ID != w.res.ID {
								restored, err := restore(tx, w, v.Manifest.ID)
								if err != nil {
									return err
								}
								if restored {
									w.outcome = OutcomeRestored
								}
							}
						}
						if inserted || w.outcome == OutcomeRestored {
							if inserted {
								w.outcome = OutcomeComputed
							}
							if prev != nil && prev.ID != w.res.ID && prev.Category != w.res.Category {
								if err := tx.RecordResultChange(platform.ResultChange{Person: w.id, AlgorithmID: v.Manifest.ID, VersionHash: v.Hash, ResultID: w.res.ID, PreviousID: prev.ID, OldCategory: prev.Category, NewCategory: w.res.Category}); err != nil {
									return err
								}
							}
						}
					}
				}
				run := platform.Run{Person: w.id, AlgorithmID: v.Manifest.ID, VersionHash: v.Hash, Trigger: trig, Outcome: runOutcome[w.outcome], DurationMS: w.ms, Worker: r.Worker}
				stored := w.outcome == OutcomeComputed || w.outcome == OutcomeExisting || w.outcome == OutcomeRestored
				if stored || w.outcome == OutcomeFailed {
					run.InputFingerprint = w.fp
				}
				if stored {
					run.ResultID = w.res.ID
				}
				if err := tx.RecordRun(run); err != nil {
					return err
				}
				if !stored {
					continue // nothing ran on the person's data: no audit event
				}
				w := w
				events = append(events, func() error {
					details := map[string]string{"version_hash": v.Hash, "input_fingerprint": w.fp, "result": strconv.FormatInt(w.res.ID, 10), "dataset": strconv.FormatInt(w.ds.ID, 10), "worker": r.Worker, "duration_ms": strconv.FormatInt(w.ms, 10), "outcome": runOutcome[w.outcome], "result_sha256": w.hash,
						// The column read: audit verify checks it against the
						// dataset's verified mapping, so a mapping altered
						// while this ran (and put back) still shows.
						"column": strconv.Itoa(w.smp.Index)}
					return tx.Audit(platform.AuditEntry{
						Actor: identity.System.Subject, Role: string(identity.RoleSystem), Person: w.id,
						Action: "run", Object: v.Manifest.ID + "@" + v.Manifest.Version, Purpose: string(trig),
					}, details)
				})
			}
			// Audit events last, once everything they record is written.
			// (They queue in audit_pending without a log-wide lock; the
			// store's sequencer numbers them after commit.)
			for _, ev := range events {
				if err := ev(); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// restore makes the stored result w.res.ID current again if a later
// result supersedes it and the person's latest genotypes are still the
// ones this run read; it reports whether it did.
func restore(tx platform.Tx, w *work, algorithmID string) (bool, error) {
	ds, smp, err := tx.LatestSample(w.id)
	if platform.IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if ds.ID != w.ds.ID || smp.Index != w.smp.Index {
		return false, nil
	}
	return tx.RestoreResult(w.id, algorithmID, w.res.ID)
}

// storedHash is the ContentHash of the person's stored result id, which
// InsertResult found rather than inserted.
func storedHash(tx platform.Tx, person string, id int64) (string, error) {
	rs, err := tx.AllResults(person)
	if err != nil {
		return "", err
	}
	for i := range rs {
		if rs[i].ID == id {
			return rs[i].ContentHash(), nil
		}
	}
	return "", fmt.Errorf("runner: result %d of %s not found after insert", id, person)
}

// Validate runs a version's validation cases through the runner's engines
// exactly as a person's computation runs: each case's VCF is cut down to
// the bundle's declared loci (sample renamed SAMPLE) and given only the
// declared attributes, and the output must match the case's expectation
// (summary or category). It implements platform.Validator. An engine
// failure on a case fails that case; a bundle the engine cannot load fails
// them all with its error.
func (r *Runner) Validate(ctx context.Context, v *algorithm.Version) (algorithm.Report, error) {
	rep := algorithm.Report{At: r.now()}
	eng, ok := r.Engines[v.Manifest.Kind]
	if !ok {
		return rep, fmt.Errorf("runner: no engine for kind %s", v.Manifest.Kind)
	}
	loci, lociErr := eng.Loci(v)
	for _, c := range v.Manifest.Validation {
		cr := algorithm.CaseResult{Name: c.Name, Expect: c.Expect}
		if lociErr != nil {
			cr.Error = "bundle: " + lociErr.Error()
			rep.Cases = append(rep.Cases, cr)
			continue
		}
		in, err := caseInput(c, v.Manifest.Inputs.Attributes, loci)
		if err != nil {
			cr.Error = "case input: " + err.Error()
			rep.Cases = append(rep.Cases, cr)
			continue
		}
		out, err := eng.Run(ctx, v, in)
		if err != nil {
			if ctx.Err() != nil {
				return rep, ctx.Err()
			}
			cr.Error = err.Error()
		} else {
			cr.Got = out.Summary
			if c.Expect == out.Category && c.Expect != out.Summary {
				cr.Got = out.Category
			}
			cr.Pass = c.Matches(out.Summary, out.Category)
		}
		rep.Cases = append(rep.Cases, cr)
	}
	return rep, nil
}

// caseInput turns a validation case into the Input the engine would get:
// its first sample at the declared loci, and its declared attributes.
func caseInput(c algorithm.Case, declared []string, loci map[Locus]bool) (Input, error) {
	f, err := os.CreateTemp("", "geneguard-case-*.vcf")
	if err != nil {
		return Input{}, err
	}
	defer os.Remove(f.Name())
	if _, err := f.WriteString(c.VCF); err != nil {
		f.Close()
		return Input{}, err
	}
	if err := f.Close(); err != nil {
		return Input{}, err
	}
	// The case's VCF is checked as strictly as an ingested file.
	vr, err := vcf.Open(f.Name())
	if err != nil {
		return Input{}, err
	}
	for {
		if _, err := vr.Read(); err == io.EOF {
			break
		} else if err != nil {
			vr.Close()
			return Input{}, err
		}
	}
	vr.Close()
	b, err := Extract(f.Name(), 0, loci)
	if err != nil {
		return Input{}, err
	}
	attrs := map[string]string{}
	for _, a := range declared {
		if val, ok := c.Attrs[a]; ok {
			attrs[a] = val
		}
	}
	return Input{VCF: b, Attrs: attrs}, nil
}

func (r *Runner) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now().UTC()
}

// attributes returns only the declared attributes of the person. The names
// it knows are algorithm.Attributes, the only ones a manifest may declare;
// the two are kept equal by TestEveryAllowedAttributeSupplied.
func attributes(declared []string, p *platform.Person, now time.Time) map[string]string {
	out := map[string]string{}
	for _, a := range declared {
		switch a {
		case "age":
			out["age"] = strconv.Itoa(platform.AgeOn(p.BirthDate, now))
		case "sex":
			out["sex"] = p.Sex
		}
	}
	return out
}

// Fingerprint is the hex SHA-256 of the input: the VCF bytes and the
// attributes in sorted order.
func Fingerprint(in Input) string {
	h := sha256.New()
	h.Write(in.VCF)
	keys := make([]string, 0, len(in.Attrs))
	for k := range in.Attrs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(h, "\x00%s=%s", k, in.Attrs[k])
	}
	return hex.EncodeToString(h.Sum(nil))
}

// Extract streams the dataset file and returns a single-sample VCF with
// sample column idx at the declared loci only, in file order. The header
// keeps the file format, the build evidence (##reference, ##contig) and the
// FORMAT definitions, and names the sample "SAMPLE" so that the fingerprint
// does not depend on the biobank's sample labels.
func Extract(path string, idx int, loci map[Locus]bool) ([]byte, error) {
	m, err := ExtractMany(path, []int{idx}, loci)
	if err != nil {
		return nil, err
	}
	return m[idx], nil
}

// ExtractMany is Extract for many sample columns in one pass over the
// file: it returns, for each index, exactly the bytes Extract would. The
// file was validated whole at ingest, so records are not re-validated
// here: only lines at declared loci are split into columns, and the rest
// are skipped after their first two fields.
func ExtractMany(path string, idxs []int, loci map[Locus]bool) (map[int][]byte, error) {
	return extract(path, "", idxs, loci)
}

// extract is ExtractMany checking, when want is not "", that the file's
// bytes hash to want: a genotype file edited or replaced after ingest must
// not give anyone a result. The check costs nothing extra in reads (the
// pass reads every byte anyway) and fails before any result is written.
func extract(path, want string, idxs []int, loci map[Locus]bool) (map[int][]byte, error) {
	r, err := vcf.Open(path)
	if err != nil {
		return nil, err
	}
	h := r.Header()
	r.Close()
	for _, idx := range idxs {
		if idx < 0 || idx >= len(h.Samples) {
			return nil, fmt.Errorf("sample index %d out of range (%d samples)", idx, len(h.Samples))
		}
	}
	var head bytes.Buffer
	fmt.Fprintf(&head, "##fileformat=%s\n", h.FileFormat)
	for _, m := range h.Meta {
		if strings.HasPrefix(m, "reference=") || strings.HasPrefix(m, "contig=") || strings.HasPrefix(m, "FORMAT=") {
			fmt.Fprintf(&head, "##%s\n", m)
		}
	}
	head.WriteString("#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tSAMPLE\n")
	out := make(map[int]*bytes.Buffer, len(idxs))
	for _, idx := range idxs {
		if out[idx] == nil {
			b := &bytes.Buffer{}
			b.Write(head.Bytes())
			out[idx] = b
		}
	}
	// Locus lookup by the raw CHROM text, normalised once per spelling.
	norm := map[string]string{}
	err = scanRecords(path, want, func(line []byte) error {
		t1 := bytes.IndexByte(line, '\t')
		if t1 < 0 {
			return fmt.Errorf("malformed record %q", truncate(line))
		}
		t2 := bytes.IndexByte(line[t1+1:], '\t')
		if t2 < 0 {
			return fmt.Errorf("malformed record %q", truncate(line))
		}
		chrom, ok := norm[string(line[:t1])]
		if !ok {
			chrom = vcf.NormalizeChrom(string(line[:t1]))
			norm[string(line[:t1])] = chrom
		}
		pos, err := strconv.Atoi(string(line[t1+1 : t1+1+t2]))
		if err != nil {
			return fmt.Errorf("malformed POS in %q", truncate(line))
		}
		if !loci[Locus{chrom, pos}] {
			return nil
		}
		cols := strings.Split(string(line), "\t")
		if len(cols) != 9+len(h.Samples) {
			return fmt.Errorf("%d columns at %s:%d, header says %d", len(cols), cols[0], pos, 9+len(h.Samples))
		}
		prefix := fmt.Sprintf("%s\t%d\t%s\t%s\t%s\t%s\t%s\t.\t%s\t", cols[0], pos, cols[2], cols[3], cols[4], cols[5], cols[6], cols[8])
		for idx, b := range out {
			b.WriteString(prefix)
			b.WriteString(cols[9+idx])
			b.WriteByte('\n')
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	res := make(map[int][]byte, len(out))
	for idx, b := range out {
		res[idx] = b.Bytes()
	}
	return res, nil
}

// scanRecords calls fn with each data line of a plain, gzip or BGZF VCF
// (without its line ending), reading lines of any length.
func scanRecords(path, want string, fn func(line []byte) error) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	var raw io.Reader = f
	h := sha256.New()
	if want != "" {
		raw = io.TeeReader(f, h)
	}
	br := bufio.NewReaderSize(raw, 1<<16)
	var src io.Reader = br
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br) // multistream: reads every BGZF block
		if err != nil {
			return err
		}
		defer zr.Close()
		src = zr
	}
	lr := bufio.NewReaderSize(src, 1<<20)
	var long []byte
	for {
		chunk, err := lr.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			long = append(long, chunk...)
			continue
		}
		line := chunk
		if len(long) > 0 {
			line = append(long, chunk...)
			long = long[:0]
		}
		line = bytes.TrimRight(line, "\r\n")
		if len(line) > 0 && line[0] != '#' {
			if ferr := fn(line); ferr != nil {
				return ferr
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
	}
	if want == "" {
		return nil
	}
	// Whatever the decompressor left unread (trailing bytes) is part of
	// the file too.
	if _, err := io.Copy(io.Discard, br); err != nil {
		return err
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != want {
		return &ChangedFileError{Path: path, Got: got, Want: want}
	}
	return nil
}

// CheckDatasetFile hashes dataset ds's stored file whole, found as a run
// would find it: nil when its bytes hash to the dataset's file hash, a
// *ChangedFileError when they do not, else why it could not be read.
func (r *Runner) CheckDatasetFile(ds *platform.Dataset) error {
	path, want, err := r.datasetFile(ds)
	if err != nil {
		return err
	}
	if want == "" {
		return fmt.Errorf("dataset %d has no file hash to check %s against", ds.ID, path)
	}
	if _, err := os.Stat(path); err != nil {
		return err
	}
	if ce := checkFile(path, want); ce != nil {
		return ce
	}
	return nil
}

// checkFile hashes the file at path whole: a *ChangedFileError when its
// bytes do not hash to want, else nil (also when want is "" or the file
// cannot be read: the read error speaks for itself).
func checkFile(path, want string) *ChangedFileError {
	if want == "" {
		return nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return nil
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != want {
		return &ChangedFileError{Path: path, Got: got, Want: want}
	}
	return nil
}

// ChangedFileError: a genotype file's bytes no longer hash to the content
// address ingest stored it under — edited, truncated or replaced since.
// Nothing is computed from it. It is not permanent: restoring the file
// from a backup lets the job's next attempt succeed.
type ChangedFileError struct{ Path, Got, Want string }

func (e *ChangedFileError) Error() string {
	return fmt.Sprintf("genotype file %s was changed after ingest: its bytes hash to sha256 %s, not the %s it was stored under; nothing was computed from it (restore the file from a backup)", e.Path, e.Got, e.Want)
}

func truncate(b []byte) string {
	if len(b) > 40 {
		return string(b[:40]) + "…"
	}
	return string(b)
}
