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
	"strings"

	"github.com/geneguard/geneguard/identity"
	"github.com/geneguard/geneguard/platform"
	"github.com/geneguard/geneguard/vcf"
)

// Prepared is a checked file, ready to be recorded.
type Prepared struct {
	Dataset platform.Dataset
	Samples []platform.IngestSample
}

// Prepare validates the VCF at path and copies it to storeDir. Sample IDs
// must be personal codes, or be mapped to one by sampleMap (sample ID →
// personal code), as a biobank's own sample labels are.
func Prepare(ctx context.Context, path, storeDir string, sampleMap map[string]string) (*Prepared, error) {
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
		return nil, &platform.Error{Code: platform.CodeInvalid, Message: fmt.Sprintf("%s: %d sample(s) are not identified as persons: %s%s; give a --sample-map file (sample ID, personal code)", path, n, strings.Join(bad, "; "), more)}
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
	sum, dest, err := store(path, storeDir)
	if err != nil {
		return nil, err
	}
	p.Dataset = platform.Dataset{SHA256: sum, Path: dest, Build: h.Build, Samples: len(h.Samples), Records: n, Source: filepath.Base(path)}
	return p, nil
}

// store copies path into dir as <sha256><ext>, atomically (temp + rename),
// and returns the hash and destination. Content addressing makes a copy
// left by a failed transaction harmless: the next ingest of the same file
// reuses it.
func store(path, dir string) (string, string, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return "", "", fmt.Errorf("ingest: %w", err)
	}
	in, err := os.Open(path)
	if err != nil {
		return "", "", fmt.Errorf("ingest: %w", err)
	}
	defer in.Close()
	tmp, err := os.CreateTemp(dir, ".ingest-*")
	if err != nil {
		return "", "", fmt.Errorf("ingest: %w", err)
	}
	defer os.Remove(tmp.Name())
	h := sha256.New()
	w := bufio.NewWriterSize(io.MultiWriter(tmp, h), 1<<20)
	if _, err := io.Copy(w, in); err != nil {
		tmp.Close()
		return "", "", fmt.Errorf("ingest: copy: %w", err)
	}
	if err := w.Flush(); err != nil {
		tmp.Close()
		return "", "", fmt.Errorf("ingest: copy: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return "", "", fmt.Errorf("ingest: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return "", "", fmt.Errorf("ingest: %w", err)
	}
	sum := hex.EncodeToString(h.Sum(nil))
	ext := ".vcf"
	if strings.HasSuffix(path, ".gz") || strings.HasSuffix(path, ".bgz") {
		ext = ".vcf.gz"
	}
	dest := filepath.Join(dir, sum+ext)
	if err := os.Rename(tmp.Name(), dest); err != nil {
		return "", "", fmt.Errorf("ingest: %w", err)
	}
	abs, err := filepath.Abs(dest)
	if err != nil {
		return "", "", fmt.Errorf("ingest: %w", err)
	}
	return sum, abs, nil
}

// ReadSampleMap reads a TSV of sample ID and personal code.
func ReadSampleMap(path string) (map[string]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("ingest: sample map: %w", err)
	}
	out := map[string]string{}
	for i, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Fields(line)
		if len(f) != 2 {
			return nil, &platform.Error{Code: platform.CodeInvalid, Message: fmt.Sprintf("%s:%d: want two columns (sample ID, personal code), found %d", path, i+1, len(f))}
		}
		out[f[0]] = f[1]
	}
	return out, nil
}
