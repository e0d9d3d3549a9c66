package bgzfpar_test

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/biogo/hts/bgzf"
	"github.com/geneguard/geneguard/internal/bgzfpar"
)

func sample() []byte {
	var b strings.Builder
	for i := range 200000 {
		fmt.Fprintf(&b, "chr1\t%d\trs%d\tA\tG\t.\tPASS\t.\tGT\t0/1\t1|1\n", i, i*7)
	}
	return []byte(b.String())
}

func bgzipped(t *testing.T, data []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := bgzf.NewWriter(&buf, 2)
	if _, err := w.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func readAll(t *testing.T, in []byte, workers int) ([]byte, error) {
	t.Helper()
	r, stop, err := bgzfpar.OpenWorkers(bytes.NewReader(in), workers)
	if err != nil {
		return nil, err
	}
	defer stop()
	return io.ReadAll(r)
}

func TestRoundTrip(t *testing.T) {
	data := sample()
	bz := bgzipped(t, data)
	if !bgzfpar.IsBGZF(bz) {
		t.Fatal("bgzip output not recognised as BGZF")
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(data[:len(data)/2])
	zw.Close()
	zw = gzip.NewWriter(&gz) // a second member
	zw.Write(data[len(data)/2:])
	zw.Close()
	for name, in := range map[string][]byte{"bgzf": bz, "gzip": gz.Bytes(), "plain": data} {
		for _, w := range []int{1, 2, 4} {
			got, err := readAll(t, in, w)
			if err != nil {
				t.Fatalf("%s/%d workers: %v", name, w, err)
			}
			if !bytes.Equal(got, data) {
				t.Fatalf("%s/%d workers: %d bytes differ from the %d written", name, w, len(got), len(data))
			}
		}
	}
}

func TestCorrupt(t *testing.T) {
	bz := bgzipped(t, sample())
	bad := bytes.Clone(bz)
	// Flip a byte inside the first block's compressed data.
	bad[40] ^= 0xff
	if _, err := readAll(t, bad, 2); err == nil {
		t.Error("corrupt block read without error")
	}
	if _, err := readAll(t, bz[:len(bz)/2], 2); err == nil || !strings.Contains(err.Error(), "truncated") {
		t.Errorf("truncated stream: err %v", err)
	}
}

// TestStopEarly: releasing the reader before the end does not hang.
func TestStopEarly(t *testing.T) {
	r, stop, err := bgzfpar.Open(bytes.NewReader(bgzipped(t, sample())))
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 100)
	if _, err := io.ReadFull(r, buf); err != nil {
		t.Fatal(err)
	}
	stop()
}
