// Package bgzfpar decompresses BGZF (bgzip) streams on every core. BGZF
// blocks are independent gzip members, so runs of blocks can be inflated in
// parallel and handed out in file order; inflating is most of the cost of
// reading a large compressed VCF. Plain gzip and uncompressed input are
// passed through, so callers can open any VCF the same way.
package bgzfpar

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"runtime"
	"sync"

	"github.com/klauspost/compress/flate"
	"github.com/klauspost/compress/gzip"
)

// Open returns the uncompressed bytes of a plain, gzip or BGZF stream, and
// a function that releases the decompression workers (call it when done,
// also after an error). BGZF (bgzip, plink2 'bgz') is decompressed on every
// core (GOMAXPROCS); gzip by one decoder, reading every member; anything
// else is returned as is.
func Open(r io.Reader) (io.Reader, func(), error) {
	return OpenWorkers(r, runtime.GOMAXPROCS(0))
}

// OpenWorkers is Open with a given number of inflating goroutines.
func OpenWorkers(r io.Reader, workers int) (io.Reader, func(), error) {
	br := bufio.NewReaderSize(r, 1<<16)
	head, _ := br.Peek(16)
	switch {
	case IsBGZF(head):
		p := newParallelBGZF(br, max(1, workers))
		return p, p.close, nil
	case len(head) >= 2 && head[0] == 0x1f && head[1] == 0x8b:
		gz, err := gzip.NewReader(br)
		if err != nil {
			return nil, nil, fmt.Errorf("bad gzip stream: %w", err)
		}
		return gz, func() {}, nil
	}
	return br, func() {}, nil
}

// IsBGZF reports whether h starts with a BGZF block header: a gzip header
// with the 'BC' extra subfield first.
func IsBGZF(h []byte) bool {
	return len(h) >= 16 && h[0] == 0x1f && h[1] == 0x8b && h[2] == 8 && h[3]&4 != 0 &&
		h[12] == 'B' && h[13] == 'C' && binary.LittleEndian.Uint16(h[14:]) == 2
}

// bgzfJob is a run of consecutive blocks, inflated by one worker.
type bgzfJob struct {
	raw  []byte // compressed blocks, back to back
	out  []byte
	err  error
	done chan struct{}
}

type parallelBGZF struct {
	order chan *bgzfJob // jobs in file order
	cur   *bgzfJob
	off   int
	err   error
	stop  chan struct{}
	once  sync.Once
	pool  sync.Pool
}

const blocksPerJob = 64 // ≈4 MB uncompressed: few channel operations per MB

func newParallelBGZF(r io.Reader, workers int) *parallelBGZF {
	p := &parallelBGZF{order: make(chan *bgzfJob, workers*2), stop: make(chan struct{})}
	work := make(chan *bgzfJob, workers*2)
	for i := 0; i < workers; i++ {
		go func() {
			var fr io.ReadCloser
			for j := range work {
				j.out, j.err = inflateBlocks(j.raw, j.out[:0], &fr)
				close(j.done)
			}
		}()
	}
	go func() {
		defer close(work)
		defer close(p.order)
		for {
			j := &bgzfJob{done: make(chan struct{})}
			if b, ok := p.pool.Get().([]byte); ok {
				j.out = b
			}
			var err error
			j.raw, err = readBlocks(r, blocksPerJob)
			if len(j.raw) > 0 {
				select {
				case work <- j:
				case <-p.stop:
					return
				}
				select {
				case p.order <- j:
				case <-p.stop:
					return
				}
			}
			if err != nil {
				if !errors.Is(err, io.EOF) {
					e := &bgzfJob{err: err, done: make(chan struct{})}
					close(e.done)
					select {
					case p.order <- e:
					case <-p.stop:
					}
				}
				return
			}
		}
	}()
	return p
}

// readBlocks reads up to n whole BGZF blocks.
func readBlocks(r io.Reader, n int) ([]byte, error) {
	var buf []byte
	var hdr [18]byte
	for i := 0; i < n; i++ {
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			if errors.Is(err, io.EOF) {
				return buf, io.EOF
			}
			return buf, fmt.Errorf("bgzf: truncated block header: %w", err)
		}
		if !IsBGZF(hdr[:16]) {
			return buf, errors.New("bgzf: block without a BGZF header (a plain gzip member inside a bgzip file?)")
		}
		size := int(binary.LittleEndian.Uint16(hdr[16:])) + 1
		if size < 26 {
			return buf, fmt.Errorf("bgzf: block size %d too small", size)
		}
		start := len(buf)
		buf = append(buf, hdr[:]...)
		buf = append(buf, make([]byte, size-18)...)
		if _, err := io.ReadFull(r, buf[start+18:]); err != nil {
			return buf[:start], fmt.Errorf("bgzf: truncated block: %w", err)
		}
	}
	return buf, nil
}

// inflateBlocks decompresses back-to-back BGZF blocks, checking each one's
// CRC and size so a corrupt file fails rather than scores.
func inflateBlocks(raw, out []byte, fr *io.ReadCloser) ([]byte, error) {
	// One buffer for the run, sized from the blocks' trailers (readBlocks
	// checked the sizes), rather than grown block by block.
	total := 0
	for r := raw; len(r) >= 18; {
		size := int(binary.LittleEndian.Uint16(r[16:])) + 1
		if size > len(r) || size < 26 {
			break
		}
		total += min(int(binary.LittleEndian.Uint32(r[size-4:size])), 1<<16)
		r = r[size:]
	}
	if cap(out)-len(out) < total {
		grown := make([]byte, len(out), len(out)+total)
		copy(grown, out)
		out = grown
	}
	for len(raw) > 0 {
		xlen := int(binary.LittleEndian.Uint16(raw[10:]))
		size := int(binary.LittleEndian.Uint16(raw[16:])) + 1
		block := raw[:size]
		raw = raw[size:]
		cdata := block[12+xlen : size-8]
		want := binary.LittleEndian.Uint32(block[size-8:])
		isize := int(binary.LittleEndian.Uint32(block[size-4:]))
		if isize > 1<<16 {
			return out, fmt.Errorf("bgzf: block claims %d uncompressed bytes", isize)
		}
		if *fr == nil {
			*fr = flate.NewReader(bytes.NewReader(cdata))
		} else if err := (*fr).(flate.Resetter).Reset(bytes.NewReader(cdata), nil); err != nil {
			return out, err
		}
		start := len(out)
		if cap(out)-start < isize {
			grown := make([]byte, start, 2*cap(out)+isize)
			copy(grown, out)
			out = grown
		}
		out = out[:start+isize]
		if _, err := io.ReadFull(*fr, out[start:]); err != nil {
			return out[:start], fmt.Errorf("bgzf: inflate: %w", err)
		}
		if crc32.ChecksumIEEE(out[start:]) != want {
			return out[:start], errors.New("bgzf: CRC mismatch: the file is corrupt")
		}
	}
	return out, nil
}

func (p *parallelBGZF) Read(b []byte) (int, error) {
	for p.cur == nil || p.off == len(p.cur.out) {
		if p.err != nil {
			return 0, p.err
		}
		if p.cur != nil {
			p.pool.Put(p.cur.out[:0])
		}
		j, ok := <-p.order
		if !ok {
			p.err = io.EOF
			p.cur = nil
			return 0, io.EOF
		}
		<-j.done
		if j.err != nil {
			p.err = j.err
			p.cur = nil
			return 0, j.err
		}
		p.cur, p.off = j, 0
	}
	n := copy(b, p.cur.out[p.off:])
	p.off += n
	return n, nil
}

func (p *parallelBGZF) close() {
	p.once.Do(func() {
		close(p.stop)
		for j := range p.order { // let the reader goroutine finish
			<-j.done
		}
	})
}
