package vcf_test

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/geneguard/geneguard/internal/testcorpus"
	"github.com/geneguard/geneguard/vcf"
)

// TestCorpusFilesRead checks that every VCF of the reference corpus streams
// through the reader, except the ones PharmCAT itself rejects.
func TestCorpusFilesRead(t *testing.T) {
	root := testcorpus.Require(t)
	mustFail := map[string]string{
		"VcfReaderTest-badAllele.vcf": "refers to allele 2",
		"raw_bad_chr.vcf":             "",
	}
	n := 0
	err := filepath.Walk(root, func(path string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() || !(strings.HasSuffix(path, ".vcf") || strings.HasSuffix(path, ".vcf.gz")) {
			return err
		}
		n++
		rerr := readFile(path)
		want, bad := mustFail[filepath.Base(path)]
		switch {
		case bad && rerr == nil && want != "":
			t.Errorf("%s: read without error, want one containing %q", path, want)
		case bad && rerr != nil && !strings.Contains(rerr.Error(), want):
			t.Errorf("%s: error %v, want one containing %q", path, rerr, want)
		case !bad && rerr != nil:
			t.Errorf("%s: %v", path, rerr)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d corpus VCFs read", n)
}

func readFile(path string) error {
	r, err := vcf.Open(path)
	if err != nil {
		return err
	}
	defer r.Close()
	for {
		if _, err := r.Read(); err != nil {
			if err == io.EOF {
				return nil
			}
			return err
		}
	}
}
