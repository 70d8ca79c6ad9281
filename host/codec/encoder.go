package codec

import (
	"bytes"
	"io"
	"sync"

	"github.com/andybalholm/brotli"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zlib"
	"github.com/klauspost/compress/zstd"

	"github.com/sluice-proxy/sluice/abi/codecabi"
)

// writer is what every compressor offers.
type writer interface {
	io.WriteCloser
	Flush() error
	Reset(io.Writer)
}

// zstdWriter adapts *zstd.Encoder's Reset, which has no result in the
// interface's shape.
type zstdWriter struct{ *zstd.Encoder }

func (z zstdWriter) Reset(w io.Writer) { z.Encoder.Reset(w) }

// encoder compresses one body into out.
type encoder struct {
	key poolKey
	w   writer
	out bytes.Buffer
}

type poolKey struct {
	enc   codecabi.Encoding
	level int
}

// pools holds idle encoders per encoding and level: an encoder's window
// and tables cost more to build than a small body costs to compress.
var pools sync.Map // poolKey -> *sync.Pool

func getEncoder(enc codecabi.Encoding, level int) *encoder {
	k := poolKey{enc, level}
	p, ok := pools.Load(k)
	if !ok {
		p, _ = pools.LoadOrStore(k, &sync.Pool{})
	}
	if e, ok := p.(*sync.Pool).Get().(*encoder); ok {
		e.out.Reset()
		e.w.Reset(&e.out)
		return e
	}
	e := &encoder{key: k}
	e.w = newWriter(enc, level, &e.out)
	return e
}

// newWriter builds a compressor; level was checked against the encoding's
// range (0: the default).
func newWriter(enc codecabi.Encoding, level int, out io.Writer) writer {
	switch enc {
	case codecabi.Gzip:
		if level == 0 {
			level = gzip.DefaultCompression
		}
		w, _ := gzip.NewWriterLevel(out, level)
		return w
	case codecabi.Deflate:
		if level == 0 {
			level = zlib.DefaultCompression
		}
		w, _ := zlib.NewWriterLevel(out, level)
		return w
	case codecabi.Brotli:
		if level == 0 {
			level = brotli.DefaultCompression
		}
		return brotli.NewWriterLevel(out, level)
	default: // codecabi.Zstd
		if level == 0 {
			level = 3
		}
		// One goroutine and a small window: a proxy compresses many
		// bodies at once, each small next to the default 8 MiB window.
		w, _ := zstd.NewWriter(out, zstd.WithEncoderLevel(zstd.EncoderLevelFromZstd(level)),
			zstd.WithEncoderConcurrency(1), zstd.WithWindowSize(1<<20), zstd.WithLowerEncoderMem(true))
		return zstdWriter{w}
	}
}

// write compresses data and returns what the compressor emitted, as a
// fresh slice.
func (e *encoder) write(data []byte, f codecabi.Flags) ([]byte, error) {
	if len(data) > 0 {
		if _, err := e.w.Write(data); err != nil {
			return nil, err
		}
	}
	switch {
	case f&codecabi.FlagFinish != 0:
		if err := e.w.Close(); err != nil {
			return nil, err
		}
	case f&codecabi.FlagFlush != 0:
		if err := e.w.Flush(); err != nil {
			return nil, err
		}
	}
	out := bytes.Clone(e.out.Bytes())
	e.out.Reset()
	return out, nil
}

// release returns the encoder to its pool.
func (e *encoder) release() {
	if e.out.Cap() > 1<<20 {
		e.out = bytes.Buffer{} // do not pin a large body's buffer
	}
	e.w.Reset(io.Discard)
	if p, ok := pools.Load(e.key); ok {
		p.(*sync.Pool).Put(e)
	}
}
