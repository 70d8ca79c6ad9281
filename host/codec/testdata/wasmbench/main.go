// Command wasmbench is the in-Wasm side of BenchmarkCompress: the same
// compression libraries as host/codec, compiled into a wasip1 reactor, so
// that the benchmark can compare compressing inside a plugin with
// compressing natively through the foreign functions.
package main

import (
	"bytes"
	"io"
	"unsafe"

	"github.com/andybalholm/brotli"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

func main() {}

var (
	input []byte
	out   bytes.Buffer
	gz    *gzip.Writer
	br    *brotli.Writer
	zs    *zstd.Encoder
)

// alloc makes room for the input and returns its address.
//
//go:wasmexport bench_alloc
func alloc(n int32) int32 {
	input = make([]byte, n)
	return int32(uintptr(unsafe.Pointer(&input[0])))
}

// compress compresses the input with alg (1 gzip, 2 br, 3 zstd) at level,
// reusing the writer as a plugin would, and returns the output size.
//
//go:wasmexport bench_compress
func compress(alg, level int32) int32 {
	out.Reset()
	var w io.WriteCloser
	switch alg {
	case 1:
		if gz == nil {
			gz, _ = gzip.NewWriterLevel(&out, int(level))
		}
		gz.Reset(&out)
		w = gz
	case 2:
		if br == nil {
			br = brotli.NewWriterLevel(&out, int(level))
		}
		br.Reset(&out)
		w = br
	default:
		if zs == nil {
			zs, _ = zstd.NewWriter(&out, zstd.WithEncoderLevel(zstd.EncoderLevelFromZstd(int(level))),
				zstd.WithEncoderConcurrency(1), zstd.WithWindowSize(1<<20), zstd.WithLowerEncoderMem(true))
		}
		zs.Reset(&out)
		w = zs
	}
	w.Write(input)
	w.Close()
	return int32(out.Len())
}
