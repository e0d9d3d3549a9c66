// Package ingest checks a genotype file from end to end before anything is
// stored: every record must parse, every sample must be identified as a
// person, and the file is copied into the content-addressed genotype store
// under its SHA-256. Only then does the caller record the dataset, in one
// transaction, so a malformed file leaves nothing behind.
package ingest

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/geneguard/geneguard/identity"
	"github.com/geneguard/geneguard/platform"
	"github.com/geneguard/geneguard/vcf"
)

// Prepared is a checked file, ready to be recorded.
type Prepared struct {
	Dataset platform.Dataset
	Samples []platform.IngestSample

	path      string            // the file checked
	sampleMap map[string]string // and the map it was checked with
}

// Prepare validates the VCF at path and copies it to storeDir: Check, then
// Store. Sample IDs must be personal codes, or be mapped to one by
// sampleMap (sample ID → personal code), as a biobank's own sample labels
// are.
func Prepare(ctx context.Context, path, storeDir string, sampleMap map[string]string) (*Prepared, error) {
	p, err := Check(ctx, path, sampleMap)
	if err != nil {
		return nil, err
	}
	if _, err := p.Store(storeDir); err != nil {
		return nil, err
	}
	return p, nil
}

// Check validates the VCF at path with sampleMap as Prepare does, writing
// nothing, so a caller can refuse a bad file before it creates anything
// (a data directory, a database) for it. Store completes the dataset.
func Check(ctx context.Context, path string, sampleMap map[string]string) (*Prepared, error) {
	r, err := vcf.Open(path)
	if err != nil {
		var ve *vcf.Error
		if errors.As(err, &ve) {
			// The message already names the path.
			return nil, &platform.Error{Code: platform.CodeInvalid, Message: fmt.Sprintf("%v; nothing was ingested", err), Err: err}
		}
		return nil, err
	}
	defer r.Close()
	h := r.Header()
	if len(h.Samples) == 0 {
		return nil, &platform.Error{Code: platform.CodeInvalid, Message: fmt.Sprintf("%s: the VCF has no sample columns; nothing was ingested", path)}
	}
	p := &Prepared{}
	// Every mapped sample ID must be a column: a map for another file
	// (or with a typo) must not pass for a correct one.
	inVCF := make(map[string]bool, len(h.Samples))
	for _, s := range h.Samples {
		inVCF[s] = true
	}
	var unknown []string
	for s := range sampleMap {
		if !inVCF[s] {
			unknown = append(unknown, strconv.Quote(s))
		}
	}
	if n := len(unknown); n > 0 {
		sort.Strings(unknown)
		more := ""
		if n > 5 {
			more = fmt.Sprintf(" (and %d more)", n-5)
			unknown = unknown[:5]
		}
		return nil, &platform.Error{Code: platform.CodeInvalid, Message: fmt.Sprintf("%s: the sample map names %d sample ID(s) that are not columns of this VCF: %s%s; is it the map for another file? nothing was ingested", path, n, strings.Join(unknown, ", "), more)}
	}
	var bad []string
	column := map[identity.PersonalCode]int{} // first column of each person
	for i, s := range h.Samples {
		code := s
		if m, ok := sampleMap[s]; ok {
			code = m
		}
		pc, err := identity.ParsePersonalCode(code)
		if err != nil {
			bad = append(bad, fmt.Sprintf("column %d %q: %v", i+10, s, err))
			continue
		}
		// Two columns for one person would leave it to chance which
		// genotypes their results are computed from.
		if j, dup := column[pc]; dup {
			return nil, &platform.Error{Code: platform.CodeInvalid, Message: fmt.Sprintf("%s: columns %d %q and %d %q are the same person (%s); keep one column per person; nothing was ingested", path, j+10, h.Samples[j], i+10, s, pc)}
		}
		column[pc] = i
		p.Samples = append(p.Samples, platform.IngestSample{Index: i, SampleID: s, Code: pc})
	}
	if n := len(bad); n > 0 {
		more := ""
		if n > 5 {
			more = fmt.Sprintf(" (and %d more)", n-5)
			bad = bad[:5]
		}
		fix := "give a --sample-map file (sample ID, personal code)"
		if len(sampleMap) > 0 {
			fix = "add them to the sample map (sample ID, personal code)"
		}
		return nil, &platform.Error{Code: platform.CodeInvalid, Message: fmt.Sprintf("%s: %d sample(s) are not identified as persons: %s%s; %s", path, n, strings.Join(bad, "; "), more, fix)}
	}
	n := 0
	for {
		if n%10000 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		_, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			var ve *vcf.Error
			if errors.As(err, &ve) {
				return nil, &platform.Error{Code: platform.CodeInvalid, Message: fmt.Sprintf("%s: %v; nothing was ingested", path, err), Err: err}
			}
			return nil, err
		}
		n++
	}
	if n == 0 {
		return nil, &platform.Error{Code: platform.CodeInvalid, Message: fmt.Sprintf("%s: the VCF has no records; nothing was ingested", path)}
	}
	p.Dataset = platform.Dataset{Build: h.Build, Samples: len(h.Samples), Records: n, Source: filepath.Base(path)}
	p.path, p.sampleMap = path, sampleMap
	return p, nil
}

// Store copies the checked file into the content-addressed store storeDir
// and completes the dataset with its hash and path. It reports whether the
// copy is new (no file of the same content was there), so that a caller
// that fails afterwards knows what it added.
func (p *Prepared) Store(storeDir string) (added bool, err error) {
	if p.path == "" {
		return false, errors.New("ingest: Store of a file Check did not accept")
	}
	sum, dest, added, err := store(p.path, storeDir)
	if err != nil {
		return false, err
	}
	p.Dataset.SHA256, p.Dataset.Path = sum, dest
	if len(p.sampleMap) > 0 {
		p.Dataset.FileSHA256 = sum
		p.Dataset.SampleMapSHA256 = mapHash(p.Samples, p.sampleMap)
		p.Dataset.SHA256 = Identity(sum, p.Dataset.SampleMapSHA256)
	}
	return added, nil
}

// mapHash is the SHA-256 of the canonical sample map: the mapped columns
// in file order, as index, sample ID and normalised personal code.
func mapHash(samples []platform.IngestSample, sampleMap map[string]string) string {
	h := sha256.New()
	for _, s := range samples {
		if _, ok := sampleMap[s.SampleID]; ok {
			fmt.Fprintf(h, "%d\t%s\t%s\n", s.Index, s.SampleID, s.Code)
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}

// Identity is a dataset's identity when a sample map is given: the SHA-256
// of the file's hash and the canonical map's hash. The same file ingested
// again with the same map is a duplicate; with a corrected map, it is a new
// dataset that takes the place of the old one for the persons it names.
func Identity(fileSHA256, mapSHA256 string) string {
	sum := sha256.Sum256([]byte("geneguard dataset v1\n" + fileSHA256 + "\n" + mapSHA256 + "\n"))
	return hex.EncodeToString(sum[:])
}

// store copies path into dir as <sha256><ext>, atomically (temp + rename),
// and returns the hash and destination, and whether no file of that
// content was there before. Content addressing makes a copy
// left by a failed transaction harmless: the next ingest of the same file
// reuses it.
func store(path, dir string) (string, string, bool, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return "", "", false, fmt.Errorf("ingest: %w", err)
	}
	in, err := os.Open(path)
	if err != nil {
		return "", "", false, fmt.Errorf("ingest: %w", err)
	}
	defer in.Close()
	tmp, err := os.CreateTemp(dir, ".ingest-*")
	if err != nil {
		return "", "", false, fmt.Errorf("ingest: %w", err)
	}
	defer os.Remove(tmp.Name())
	h := sha256.New()
	w := bufio.NewWriterSize(io.MultiWriter(tmp, h), 1<<20)
	if _, err := io.Copy(w, in); err != nil {
		tmp.Close()
		return "", "", false, fmt.Errorf("ingest: copy: %w", err)
	}
	if err := w.Flush(); err != nil {
		tmp.Close()
		return "", "", false, fmt.Errorf("ingest: copy: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return "", "", false, fmt.Errorf("ingest: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return "", "", false, fmt.Errorf("ingest: %w", err)
	}
	sum := hex.EncodeToString(h.Sum(nil))
	ext := ".vcf"
	if strings.HasSuffix(path, ".gz") || strings.HasSuffix(path, ".bgz") {
		ext = ".vcf.gz"
	}
	dest := filepath.Join(dir, sum+ext)
	_, err = os.Stat(dest)
	added := errors.Is(err, os.ErrNotExist)
	if err := os.Rename(tmp.Name(), dest); err != nil {
		return "", "", false, fmt.Errorf("ingest: %w", err)
	}
	abs, err := filepath.Abs(dest)
	if err != nil {
		return "", "", false, fmt.Errorf("ingest: %w", err)
	}
	return sum, abs, added, nil
}

// SampleMap is a parsed sample-map file: biobank sample ID → personal code.
type SampleMap struct {
	Path string
	// Codes maps each sample ID to the personal code as written.
	Codes map[string]string
	// Header is the first line when it was recognised as a column header
	// (its second column holds no digit, so it cannot be a personal code);
	// "" when there was none.
	Header string
}

// ParseSampleMap reads a sample map strictly: one sample per line, two
// tab-separated columns (or two whitespace-separated fields), sample ID and
// personal code. Blank lines and lines starting with '#' are skipped; a
// first line whose second column has no digit is recognised as a header.
// Every code must be a valid personal code, and no sample ID or person may
// appear twice. Errors name the file and line.
func ParseSampleMap(path string) (*SampleMap, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("ingest: sample map: %w", err)
	}
	m := &SampleMap{Path: path, Codes: map[string]string{}}
	sampleLine := map[string]int{}
	person := map[identity.PersonalCode]int{}
	personSample := map[identity.PersonalCode]string{}
	first := true
	invalid := func(line int, format string, a ...any) error {
		return &platform.Error{Code: platform.CodeInvalid, Message: fmt.Sprintf("%s:%d: ", path, line) + fmt.Sprintf(format, a...) + "; nothing was ingested"}
	}
	for i, line := range strings.Split(string(b), "\n") {
		n := i + 1
		line = strings.TrimSpace(strings.TrimSuffix(line, "\r"))
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		var f []string
		if strings.Contains(line, "\t") {
			f = strings.Split(line, "\t")
			for j := range f {
				f[j] = strings.TrimSpace(f[j])
			}
		} else {
			f = strings.Fields(line)
		}
		if first {
			first = false
			if len(f) == 2 && !strings.ContainsAny(f[1], "0123456789") {
				m.Header = line
				continue
			}
		}
		if len(f) != 2 {
			return nil, &platform.Error{Code: platform.CodeInvalid, Message: fmt.Sprintf("%s:%d: want two columns (sample ID, personal code), found %d", path, n, len(f))}
		}
		if f[0] == "" || f[1] == "" {
			return nil, invalid(n, "an empty sample ID or personal code")
		}
		pc, err := identity.ParsePersonalCode(f[1])
		if err != nil {
			return nil, invalid(n, "sample %q: %q is not a personal code: %v", f[0], f[1], err)
		}
		if j, dup := sampleLine[f[0]]; dup {
			return nil, invalid(n, "sample %q is mapped again (first on line %d)", f[0], j)
		}
		if j, dup := person[pc]; dup {
			return nil, invalid(n, "samples %q (line %d) and %q are mapped to the same person (%s); one person, one sample", personSample[pc], j, f[0], pc)
		}
		sampleLine[f[0]], person[pc], personSample[pc] = n, n, f[0]
		m.Codes[f[0]] = f[1]
	}
	if len(m.Codes) == 0 {
		return nil, &platform.Error{Code: platform.CodeInvalid, Message: fmt.Sprintf("%s: the sample map maps no sample; nothing was ingested", path)}
	}
	return m, nil
}

// ReadSampleMap reads a sample map (see ParseSampleMap) and returns sample
// ID → personal code.
func ReadSampleMap(path string) (map[string]string, error) {
	m, err := ParseSampleMap(path)
	if err != nil {
		return nil, err
	}
	return m.Codes, nil
}
