package codec

import (
	"bytes"
	"errors"
	"io"

	"github.com/andybalholm/brotli"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zlib"
	"github.com/klauspost/compress/zstd"

	"github.com/sluice-proxy/sluice/abi/codecabi"
)

// maxWindow bounds the memory a zstd stream may ask for: a body from an
// upstream must not make the proxy allocate gigabytes.
const maxWindow = 8 << 20

// decoder decompresses one body. The decompressors pull their input, so
// each runs on its own goroutine (run), reading from the decoder itself
// (Read): when the input runs out it parks and hands control back to the
// caller of write, which resumes it with the next chunk. Control passes
// strictly back and forth over two unbuffered channels, so the fields
// below are touched by one side at a time.
type decoder struct {
	enc    codecabi.Encoding
	toRun  chan resume
	parked chan state

	started bool
	state   state
	err     error  // with stateFailed
	in      []byte // input being consumed by the goroutine
	pending []byte // input received while the goroutine waits for output to drain
	finish  bool   // the caller has no more input
	out     []byte // output of the current call
}

// state is where the goroutine parked.
type state int

const (
	stateNeedInput  state = iota // Read ran out of input
	stateOutputFull              // out reached codecabi.MaxOutput
	stateEnded                   // the compressed stream ended
	stateFailed                  // bad data (err)
)

// resume is what the caller sends to a parked goroutine.
type resume struct {
	data  []byte
	eof   bool // no more input
	abort bool // stop now
}

var errAborted = errors.New("codec: session closed")

func newDecoder(enc codecabi.Encoding) *decoder {
	return &decoder{enc: enc, toRun: make(chan resume), parked: make(chan state)}
}

// write feeds data and returns the output it produced, at most
// codecabi.MaxOutput bytes (ResultMore says there is more).
func (d *decoder) write(data []byte, finish bool) ([]byte, codecabi.ResultFlags, error) {
	if len(data) > 0 {
		d.pending = append(d.pending, data...) // data is borrowed for the call
	}
	d.finish = d.finish || finish
	d.out = d.out[:0]
	if !d.started {
		d.started = true
		go d.run()
		d.state = <-d.parked
	}
	for {
		switch d.state {
		case stateEnded:
			return bytes.Clone(d.out), codecabi.ResultEnd, nil
		case stateFailed:
			return nil, 0, d.err
		case stateOutputFull:
			if len(d.out) >= codecabi.MaxOutput {
				return bytes.Clone(d.out), codecabi.ResultMore, nil
			}
			d.state = d.resume(resume{})
		case stateNeedInput:
			switch {
			case len(d.pending) > 0:
				in := d.pending
				d.pending = nil
				d.state = d.resume(resume{data: in})
			case d.finish:
				d.state = d.resume(resume{eof: true})
			default:
				return bytes.Clone(d.out), 0, nil
			}
		}
	}
}

func (d *decoder) resume(r resume) state {
	d.toRun <- r
	return <-d.parked
}

// stop ends the goroutine if it is still parked. A decompressor may read
// again after the abort; it is told again until it gives up.
func (d *decoder) stop() {
	if d.started && (d.state == stateNeedInput || d.state == stateOutputFull) {
		d.toRun <- resume{abort: true}
		for st := <-d.parked; st == stateNeedInput || st == stateOutputFull; st = <-d.parked {
			d.toRun <- resume{abort: true}
		}
	}
	d.state = stateFailed
	d.err = errAborted
}

// Read is the decompressor's input: the current chunk, then a park until
// the caller brings more.
func (d *decoder) Read(p []byte) (int, error) {
	for len(d.in) == 0 {
		d.parked <- stateNeedInput
		r := <-d.toRun
		switch {
		case r.abort:
			return 0, errAborted
		case r.eof:
			return 0, io.EOF
		}
		d.in = r.data
	}
	n := copy(p, d.in)
	d.in = d.in[n:]
	return n, nil
}

// run decodes until the stream ends or fails, parking whenever out is full.
func (d *decoder) run() {
	final, err := d.decode()
	if errors.Is(err, io.ErrUnexpectedEOF) {
		err = invalid("%s stream truncated", d.enc)
	} else if err != nil && !errors.Is(err, errAborted) {
		err = invalid("bad %s data: %v", d.enc, err)
	}
	if err != nil {
		d.err = err
		d.parked <- stateFailed
		return
	}
	d.parked <- final
}

func (d *decoder) decode() (state, error) {
	var r io.Reader
	switch d.enc {
	case codecabi.Gzip:
		zr, err := gzip.NewReader(d)
		if err != nil {
			return 0, err
		}
		defer zr.Close()
		r = zr
	case codecabi.Deflate:
		zr, err := zlib.NewReader(d)
		if err != nil {
			return 0, err
		}
		defer zr.Close()
		r = zr
	case codecabi.Brotli:
		r = brotli.NewReader(d)
	default: // codecabi.Zstd
		zr, err := zstd.NewReader(d, zstd.WithDecoderConcurrency(1), zstd.WithDecoderLowmem(true),
			zstd.WithDecoderMaxWindow(maxWindow), zstd.WithDecoderMaxMemory(64<<20))
		if err != nil {
			return 0, err
		}
		defer zr.Close()
		r = zr
	}
	var buf [32 << 10]byte
	for {
		n, err := r.Read(buf[:])
		if n > 0 {
			d.out = append(d.out, buf[:n]...)
			for len(d.out) >= codecabi.MaxOutput {
				// Park until the caller took the output.
				d.parked <- stateOutputFull
				if rr := <-d.toRun; rr.abort {
					return 0, errAborted
				}
			}
		}
		if err == io.EOF {
			return stateEnded, nil
		}
		if err != nil {
			return 0, err
		}
	}
}
