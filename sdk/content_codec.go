package sdk

import (
	"errors"

	"github.com/sluice-proxy/sluice/abi"
	"github.com/sluice-proxy/sluice/abi/codecabi"
	"github.com/sluice-proxy/sluice/sdk/internal/hostcall"
)

// Codec is a compression or decompression stream run natively by the host
// (the sluice.codec.* foreign functions of abi/codecabi): a plugin feeds it
// a body chunk by chunk and forwards what comes out. Compressing inside the
// module works too, but a Go guest compresses several times slower than
// the host (see the README's benchmark).
//
// A Codec is for one body. The first Write opens the host's session (and,
// with finish, compresses a whole body in one host call); Close drops a
// session that will not be finished.
type Codec struct {
	mode  codecabi.Mode
	enc   codecabi.Encoding
	level int8

	handle uint32
	opened bool
	ended  bool
	args   []byte
}

// NewCompressor returns a compressor for a content-coding ("gzip", "br",
// "zstd" or "deflate") at level (0: the encoding's default).
func NewCompressor(encoding string, level int) (*Codec, error) {
	enc, ok := codecabi.ParseEncoding(encoding)
	if !ok {
		return nil, errors.New("sluice sdk: unknown content-coding " + encoding)
	}
	if lo, hi := enc.LevelRange(); level != 0 && (level < lo || level > hi) {
		return nil, errors.New("sluice sdk: " + encoding + " level out of range")
	}
	return &Codec{mode: codecabi.ModeEncode, enc: enc, level: int8(level)}, nil
}

// NewDecompressor returns a decompressor for a content-coding.
func NewDecompressor(encoding string) (*Codec, error) {
	enc, ok := codecabi.ParseEncoding(encoding)
	if !ok {
		return nil, errors.New("sluice sdk: unknown content-coding " + encoding)
	}
	return &Codec{mode: codecabi.ModeDecode, enc: enc}, nil
}

// CodecAvailable reports whether the host provides the codec foreign
// functions (a plugin checks it when configured).
func CodecAvailable() bool {
	_, st := hostcall.CallForeignFunction(codecabi.FuncClose, nil)
	return st != abi.StatusNotFound
}

// Open starts the host's session before any data, so that a plugin learns
// that the host refuses (too many sessions) while it can still leave the
// response as it is. Write opens it otherwise.
func (c *Codec) Open() error {
	if c.opened || c.ended {
		return nil
	}
	_, _, err := c.Write(nil, false, false)
	return err
}

// Write feeds data and returns the output it produced. flush makes a
// compressor emit everything it holds (for event streams); finish ends the
// body. A decompressor's output per call is bounded: more reports that
// more is ready, to be collected by calling Write again with no data. The
// output is the caller's.
func (c *Codec) Write(data []byte, flush, finish bool) (out []byte, more bool, err error) {
	if c.ended {
		return nil, false, errors.New("sluice sdk: write to a finished codec")
	}
	var f codecabi.Flags
	if flush {
		f |= codecabi.FlagFlush
	}
	if finish {
		f |= codecabi.FlagFinish
	}
	var rf codecabi.ResultFlags
	if !c.opened {
		c.args = codecabi.AppendOpen(c.args[:0], codecabi.OpenArgs{Mode: c.mode, Encoding: c.enc, Level: c.level, Flags: f, Data: data})
		res, st := hostcall.CallForeignFunction(codecabi.FuncOpen, c.args)
		if st != abi.StatusOK {
			c.ended = true
			return nil, false, statusErr("open "+c.enc.String()+" codec", st)
		}
		c.opened = true
		c.handle, rf, out, err = codecabi.DecodeOpenResult(res)
	} else {
		c.args = codecabi.AppendWrite(c.args[:0], c.handle, f, data)
		res, st := hostcall.CallForeignFunction(codecabi.FuncWrite, c.args)
		if st != abi.StatusOK {
			c.ended = true
			return nil, false, statusErr(c.enc.String()+" codec", st)
		}
		rf, out, err = codecabi.DecodeWriteResult(res)
	}
	if err != nil {
		c.ended = true
		return nil, false, err
	}
	if rf&codecabi.ResultEnd != 0 {
		c.ended = true
	}
	if len(c.args) > 64<<10 {
		c.args = nil // do not keep a large chunk's copy for the stream's life
	}
	return out, rf&codecabi.ResultMore != 0, nil
}

// Ended reports whether the stream is over: finished, ended by the data
// (a decompressor), or failed.
func (c *Codec) Ended() bool { return c.ended }

// Close drops the host's session if the body was not finished.
func (c *Codec) Close() {
	if c.opened && !c.ended {
		hostcall.CallForeignFunction(codecabi.FuncClose, codecabi.AppendClose(nil, c.handle))
	}
	c.ended = true
}

// CodecCounters count the bodies a host codec finished and the bytes that
// went in and came out.
type CodecCounters struct {
	Bodies, In, Out uint64
}

// CodecFigures are the host codec's process-wide figures for one
// content-coding.
type CodecFigures struct {
	Encoding     string
	Compressed   CodecCounters
	Decompressed CodecCounters
}

// CodecStats returns the host codec's figures for gzip, br, zstd and
// deflate, in that order (ErrNotFound if the host has no codec).
func CodecStats() ([]CodecFigures, error) {
	res, st := hostcall.CallForeignFunction(codecabi.FuncStats, nil)
	if st != abi.StatusOK {
		return nil, statusErr("codec stats", st)
	}
	s, err := codecabi.DecodeStats(res)
	if err != nil {
		return nil, err
	}
	out := make([]CodecFigures, 0, 4)
	for _, e := range []codecabi.Encoding{codecabi.Gzip, codecabi.Brotli, codecabi.Zstd, codecabi.Deflate} {
		out = append(out, CodecFigures{Encoding: e.String(),
			Compressed:   CodecCounters(s.Encoded[e]),
			Decompressed: CodecCounters(s.Decoded[e])})
	}
	return out, nil
}
