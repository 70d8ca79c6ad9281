// Package codecabi declares, once for the host (host/codec) and the guests
// (through sdk), the foreign functions with which a plugin compresses and
// decompresses HTTP bodies natively, as streams: the function names and the
// byte layout of their arguments and results.
//
// Bodies reach a plugin chunk by chunk. A stream of chunks is a session on
// the host: Open starts one (optionally with its first chunk), Write feeds
// the next chunks and collects the output, Close drops a session that will
// not be finished (the response broke off). A session belongs to the plugin
// that opened it; the host refuses handles of other plugins, and reaps
// sessions left idle (a VM that trapped never closes its own).
//
// All integers are little-endian. Levels are the encodings' own: gzip 1-9,
// br 0-11, zstd 1-22 (mapped onto the library's speed presets); 0 means the
// encoding's default.
//
// # Open (FuncOpen)
//
//	args:   [0]    Mode (ModeEncode or ModeDecode)
//	        [1]    Encoding
//	        [2]    level (encode only; 0 = default)
//	        [3]    Flags for the data that follows (FlagFlush, FlagFinish)
//	        [4:]   the first chunk of input, maybe empty
//	result: [0:4]  handle (0 when FlagFinish ended the session at once)
//	        [4]    Result flags (ResultMore, ResultEnd)
//	        [5:]   output
//
// Open with FlagFinish is a one-shot (de)compression of a whole body: no
// session is kept.
//
// # Write (FuncWrite)
//
//	args:   [0:4]  handle
//	        [4]    Flags
//	        [5:]   input, maybe empty
//	result: [0]    Result flags
//	        [1:]   output
//
// FlagFlush makes an encoder emit everything it holds (at some cost in
// ratio: for event streams); FlagFinish ends the stream, writes the
// trailer, and ends the session.
//
// A decoder's output per call is bounded (MaxOutput): when more is ready,
// the result has ResultMore and the plugin calls Write again with no input
// to collect it. ResultEnd says the compressed stream ended (input after the
// end is ignored). A decoder that is given FlagFinish before the stream's
// end reports bad input.
//
// # Close (FuncClose)
//
//	args:   [0:4]  handle
//	result: empty
//
// # Stats (FuncStats)
//
//	args:   empty
//	result: Stats (AppendStats / DecodeStats): process-wide counters since
//	        the start, for the stats plugin
//
// # Errors
//
// Bad input (an unknown mode or encoding, a level out of range, corrupt
// compressed data, a truncated stream at FlagFinish) is BAD_ARGUMENT; an
// unknown or foreign handle is NOT_FOUND; too many sessions open at once is
// INTERNAL_FAILURE.
package codecabi

import (
	"encoding/binary"
	"errors"
)

// The foreign function names.
const (
	FuncOpen  = "sluice.codec.open"
	FuncWrite = "sluice.codec.write"
	FuncClose = "sluice.codec.close"
	FuncStats = "sluice.codec.stats"
)

// Mode says whether a session compresses or decompresses.
type Mode byte

// Modes.
const (
	ModeEncode Mode = 'e'
	ModeDecode Mode = 'd'
)

// Encoding is an HTTP content-coding.
type Encoding byte

// Encodings, with their HTTP tokens (Encoding.String).
const (
	Gzip    Encoding = 1
	Brotli  Encoding = 2
	Zstd    Encoding = 3
	Deflate Encoding = 4 // zlib-wrapped deflate, as HTTP's "deflate" means
)

// String returns the content-coding token: "gzip", "br", "zstd" or
// "deflate"; "" for an unknown value.
func (e Encoding) String() string {
	switch e {
	case Gzip:
		return "gzip"
	case Brotli:
		return "br"
	case Zstd:
		return "zstd"
	case Deflate:
		return "deflate"
	}
	return ""
}

// ParseEncoding returns the Encoding of a content-coding token (lower
// case), and false for one it does not know (including "identity").
func ParseEncoding(token string) (Encoding, bool) {
	switch token {
	case "gzip", "x-gzip":
		return Gzip, true
	case "br":
		return Brotli, true
	case "zstd":
		return Zstd, true
	case "deflate":
		return Deflate, true
	}
	return 0, false
}

// LevelRange returns the levels an encoding accepts (besides 0, the
// default).
func (e Encoding) LevelRange() (lo, hi int) {
	switch e {
	case Gzip, Deflate:
		return 1, 9
	case Brotli:
		return 0, 11
	case Zstd:
		return 1, 22
	}
	return 0, 0
}

// Flags go with input.
type Flags byte

// Input flags.
const (
	// FlagFlush makes an encoder emit all it holds after this input.
	FlagFlush Flags = 1 << 0
	// FlagFinish ends the stream after this input and frees the session.
	FlagFinish Flags = 1 << 1
)

// ResultFlags go with output.
type ResultFlags byte

// Result flags.
const (
	// ResultMore: a decoder has more output ready; call Write again with
	// no input.
	ResultMore ResultFlags = 1 << 0
	// ResultEnd: the compressed stream ended; the session is finished.
	ResultEnd ResultFlags = 1 << 1
)

// MaxOutput bounds a decoder's output per call, so that a small chunk of a
// highly compressed body never needs one huge buffer.
const MaxOutput = 1 << 20

// ErrShort is returned by the decoders of this package for arguments too
// short for their header.
var ErrShort = errors.New("codecabi: arguments too short")

// OpenArgs is the decoded argument of FuncOpen.
type OpenArgs struct {
	Mode     Mode
	Encoding Encoding
	Level    int8
	Flags    Flags
	Data     []byte
}

// AppendOpen appends the encoded arguments of FuncOpen to dst.
func AppendOpen(dst []byte, a OpenArgs) []byte {
	dst = append(dst, byte(a.Mode), byte(a.Encoding), byte(a.Level), byte(a.Flags))
	return append(dst, a.Data...)
}

// DecodeOpen decodes the arguments of FuncOpen; Data aliases b.
func DecodeOpen(b []byte) (OpenArgs, error) {
	if len(b) < 4 {
		return OpenArgs{}, ErrShort
	}
	return OpenArgs{Mode: Mode(b[0]), Encoding: Encoding(b[1]), Level: int8(b[2]), Flags: Flags(b[3]), Data: b[4:]}, nil
}

// AppendOpenResult appends the encoded result of FuncOpen to dst.
func AppendOpenResult(dst []byte, handle uint32, rf ResultFlags, out []byte) []byte {
	dst = binary.LittleEndian.AppendUint32(dst, handle)
	dst = append(dst, byte(rf))
	return append(dst, out...)
}

// DecodeOpenResult decodes the result of FuncOpen; out aliases b.
func DecodeOpenResult(b []byte) (handle uint32, rf ResultFlags, out []byte, err error) {
	if len(b) < 5 {
		return 0, 0, nil, ErrShort
	}
	return binary.LittleEndian.Uint32(b), ResultFlags(b[4]), b[5:], nil
}

// AppendWrite appends the encoded arguments of FuncWrite to dst.
func AppendWrite(dst []byte, handle uint32, f Flags, data []byte) []byte {
	dst = binary.LittleEndian.AppendUint32(dst, handle)
	dst = append(dst, byte(f))
	return append(dst, data...)
}

// DecodeWrite decodes the arguments of FuncWrite; data aliases b.
func DecodeWrite(b []byte) (handle uint32, f Flags, data []byte, err error) {
	if len(b) < 5 {
		return 0, 0, nil, ErrShort
	}
	return binary.LittleEndian.Uint32(b), Flags(b[4]), b[5:], nil
}

// AppendWriteResult appends the encoded result of FuncWrite to dst.
func AppendWriteResult(dst []byte, rf ResultFlags, out []byte) []byte {
	return append(append(dst, byte(rf)), out...)
}

// DecodeWriteResult decodes the result of FuncWrite; out aliases b.
func DecodeWriteResult(b []byte) (rf ResultFlags, out []byte, err error) {
	if len(b) < 1 {
		return 0, nil, ErrShort
	}
	return ResultFlags(b[0]), b[1:], nil
}

// AppendClose appends the encoded arguments of FuncClose to dst.
func AppendClose(dst []byte, handle uint32) []byte {
	return binary.LittleEndian.AppendUint32(dst, handle)
}

// DecodeClose decodes the arguments of FuncClose.
func DecodeClose(b []byte) (uint32, error) {
	if len(b) != 4 {
		return 0, ErrShort
	}
	return binary.LittleEndian.Uint32(b), nil
}

// Counters are the figures of one encoding in one direction.
type Counters struct {
	// Bodies counts streams finished (or ended by their data).
	Bodies uint64
	// In and Out count the bytes that went in and came out.
	In, Out uint64
}

// Stats are the codec's process-wide figures: Encoded[e] for bodies
// compressed with Encoding e, Decoded[e] for bodies decompressed (index 0
// is unused).
type Stats struct {
	Encoded [5]Counters
	Decoded [5]Counters
}

// StatsSize is the encoded size of Stats.
const StatsSize = 2 * 5 * 3 * 8

// AppendStats appends the encoding of s to dst: Encoded then Decoded, each
// Counters as Bodies, In, Out, 8 bytes each.
func AppendStats(dst []byte, s *Stats) []byte {
	for _, arr := range [][5]Counters{s.Encoded, s.Decoded} {
		for _, c := range arr {
			dst = binary.LittleEndian.AppendUint64(dst, c.Bodies)
			dst = binary.LittleEndian.AppendUint64(dst, c.In)
			dst = binary.LittleEndian.AppendUint64(dst, c.Out)
		}
	}
	return dst
}

// DecodeStats decodes Stats.
func DecodeStats(b []byte) (Stats, error) {
	var s Stats
	if len(b) < StatsSize {
		return s, ErrShort
	}
	for _, arr := range []*[5]Counters{&s.Encoded, &s.Decoded} {
		for i := range arr {
			arr[i] = Counters{binary.LittleEndian.Uint64(b), binary.LittleEndian.Uint64(b[8:]), binary.LittleEndian.Uint64(b[16:])}
			b = b[24:]
		}
	}
	return s, nil
}
