// Package runner is the secure computation environment: it runs one
// algorithm version for one person. It checks consent when the job starts
// and again when it writes, hands the algorithm only the genotypes its
// bundle declares (as a one-person VCF of those loci) and the person
// attributes its manifest declares, and records provenance: the exact
// version hash, a fingerprint of the exact input, the trigger, the worker
// and the duration.
package runner

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
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
}

// Outcome says what Compute did, for progress reporting and tests.
type Outcome string

const (
	OutcomeComputed  Outcome = "computed"
	OutcomeExisting  Outcome = "existing"   // same input and version: nothing new
	OutcomeNoConsent Outcome = "no-consent" // consent not in force: nothing computed
	OutcomeNoData    Outcome = "no-data"    // no genotypes for the person
)

// Compute runs one job. It is idempotent: a job run twice (a worker killed
// after the write but before the queue marked the job done) finds its result
// by (person, version, input fingerprint) and writes nothing new.
func (r *Runner) Compute(ctx context.Context, job platform.ComputeJob) (Outcome, error) {
	var (
		v      *algorithm.Version
		person *platform.Person
		ds     *platform.Dataset
		smp    *platform.DatasetSample
		stop   Outcome
	)
	err := r.Store.Read(ctx, func(tx platform.Tx) error {
		var err error
		h, err := tx.ConsentHistory(job.Person, job.AlgorithmID)
		if err != nil {
			return err
		}
		if !consent.Granted(h) {
			stop = OutcomeNoConsent
			return nil
		}
		if v, err = tx.Algorithm(job.VersionHash); err != nil {
			return err
		}
		if person, err = tx.Person(job.Person); err != nil {
			return err
		}
		ds, smp, err = tx.LatestSample(job.Person)
		if platform.IsNotFound(err) {
			stop = OutcomeNoData
			return nil
		}
		return err
	})
	if err != nil || stop != "" {
		return stop, err
	}
	if v.Manifest.ID != job.AlgorithmID {
		return "", fmt.Errorf("runner: job names algorithm %s but version %s is %s", job.AlgorithmID, algorithm.ShortHash(v.Hash), v.Manifest.ID)
	}
	eng, ok := r.Engines[v.Manifest.Kind]
	if !ok {
		return "", fmt.Errorf("runner: no engine for kind %s", v.Manifest.Kind)
	}
	loci, err := eng.Loci(v)
	if err != nil {
		return "", fmt.Errorf("runner: %s: declared loci: %w", v.Manifest.ID, err)
	}
	in := Input{Attrs: attributes(v.Manifest.Inputs.Attributes, person, r.now())}
	in.VCF, err = Extract(ds.Path, smp.Index, loci)
	if err != nil {
		return "", fmt.Errorf("runner: dataset %d: %w", ds.ID, err)
	}
	fp := Fingerprint(in)
	start := time.Now()
	out, err := eng.Run(ctx, v, in)
	if err != nil {
		return "", fmt.Errorf("runner: %s@%s for %s: %w", v.Manifest.ID, v.Manifest.Version, job.Person, err)
	}
	data, err := json.Marshal(out.Data)
	if err != nil {
		return "", fmt.Errorf("runner: encode output: %w", err)
	}
	res := &result.Result{
		Person: job.Person, AlgorithmID: v.Manifest.ID, VersionHash: v.Hash, Version: v.Manifest.Version,
		InputFingerprint: fp, DatasetID: ds.ID, Trigger: job.Trigger, Summary: out.Summary, Category: out.Category,
		Output: data, DurationMS: time.Since(start).Milliseconds(), Worker: r.Worker,
	}
	outcome := OutcomeComputed
	err = r.Store.InTx(ctx, func(tx platform.Tx) error {
		outcome = OutcomeComputed
		// Consent may have been withdrawn while the engine ran: the write
		// re-checks it in the same transaction as the insert.
		h, err := tx.ConsentHistory(job.Person, job.AlgorithmID)
		if err != nil {
			return err
		}
		if !consent.Granted(h) {
			outcome = OutcomeNoConsent
			return nil
		}
		inserted, err := tx.InsertResult(res)
		if err != nil {
			return err
		}
		details := map[string]string{"version_hash": v.Hash, "input_fingerprint": fp, "result": strconv.FormatInt(res.ID, 10), "dataset": strconv.FormatInt(ds.ID, 10), "worker": r.Worker, "duration_ms": strconv.FormatInt(res.DurationMS, 10), "outcome": "new-result"}
		if !inserted {
			// Same version, same input: the stored result stands. The run
			// still happened and is recorded, so usage counts are true.
			outcome = OutcomeExisting
			details["outcome"] = "unchanged"
		}
		_, err = tx.Audit(platform.AuditEntry{
			Actor: identity.System.Subject, Role: string(identity.RoleSystem), Person: job.Person,
			Action: "run", Object: v.Manifest.ID + "@" + v.Manifest.Version, Purpose: string(job.Trigger),
		}, details)
		return err
	})
	return outcome, err
}

func (r *Runner) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now().UTC()
}

// attributes returns only the declared attributes of the person.
func attributes(declared []string, p *platform.Person, now time.Time) map[string]string {
	out := map[string]string{}
	for _, a := range declared {
		switch a {
		case "age":
			age := now.Year() - p.BirthDate.Year()
			if now.YearDay() < p.BirthDate.YearDay() {
				age--
			}
			out["age"] = strconv.Itoa(age)
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
	r, err := vcf.Open(path)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	h := r.Header()
	if idx < 0 || idx >= len(h.Samples) {
		return nil, fmt.Errorf("sample index %d out of range (%d samples)", idx, len(h.Samples))
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "##fileformat=%s\n", h.FileFormat)
	for _, m := range h.Meta {
		if strings.HasPrefix(m, "reference=") || strings.HasPrefix(m, "contig=") || strings.HasPrefix(m, "FORMAT=") {
			fmt.Fprintf(&b, "##%s\n", m)
		}
	}
	b.WriteString("#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tSAMPLE\n")
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		if !loci[Locus{vcf.NormalizeChrom(rec.Chrom), rec.Pos}] {
			continue
		}
		alt := "."
		if len(rec.Alt) > 0 {
			alt = strings.Join(rec.Alt, ",")
		}
		fmt.Fprintf(&b, "%s\t%d\t%s\t%s\t%s\t%s\t%s\t.\t%s\t%s\n", rec.Chrom, rec.Pos, rec.ID, rec.Ref, alt, rec.Qual, rec.Filter, strings.Join(rec.Format, ":"), rec.RawSample(idx))
	}
	return b.Bytes(), nil
}
