package codec

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"

	"github.com/sluice-proxy/sluice/abi/codecabi"
)

// jsonBody is the benchmark's 100 KB JSON document.
func jsonBody() []byte {
	b := append([]byte{'['}, body(100<<10-2)...)
	b[len(b)-1] = '}'
	return append(b, ']')
}

var benchCases = []struct {
	name  string
	enc   codecabi.Encoding
	level int8
}{
	{"gzip-6", codecabi.Gzip, 6},
	{"br-5", codecabi.Brotli, 5},
	{"zstd-3", codecabi.Zstd, 3},
}

// BenchmarkCompress compares compressing a 100 KB JSON body natively (the
// foreign function sluice.codec.open in one shot, as the compression
// plugin does for a body that arrives whole) with the same libraries
// compiled into a Wasm module and run by wazero (what a plugin that
// compresses by itself would cost). MB/s is the input rate.
//
//	go test -run '^$' -bench Compress -benchtime 2s ./host/codec/
func BenchmarkCompress(b *testing.B) {
	in := jsonBody()
	for _, bc := range benchCases {
		b.Run("native/"+bc.name, func(b *testing.B) {
			c := New(Options{})
			args := codecabi.AppendOpen(nil, codecabi.OpenArgs{Mode: codecabi.ModeEncode, Encoding: bc.enc, Level: bc.level, Flags: codecabi.FlagFinish, Data: in})
			b.SetBytes(int64(len(in)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := c.Open("bench", args); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	wasm := buildBenchGuest(b)
	ctx := context.Background()
	rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfigCompiler())
	defer rt.Close(ctx)
	wasi_snapshot_preview1.MustInstantiate(ctx, rt)
	mod, err := rt.InstantiateWithConfig(ctx, wasm, wazero.NewModuleConfig().WithStartFunctions("_initialize"))
	if err != nil {
		b.Fatal(err)
	}
	res, err := mod.ExportedFunction("bench_alloc").Call(ctx, uint64(len(in)))
	if err != nil {
		b.Fatal(err)
	}
	if !mod.Memory().Write(uint32(res[0]), in) {
		b.Fatal("writing the input into the guest")
	}
	compress := mod.ExportedFunction("bench_compress")
	for i, bc := range benchCases {
		b.Run("wasm/"+bc.name, func(b *testing.B) {
			b.SetBytes(int64(len(in)))
			for b.Loop() {
				if _, err := compress.Call(ctx, uint64(i+1), uint64(bc.level)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// buildBenchGuest compiles testdata/wasmbench for wasip1.
func buildBenchGuest(b *testing.B) []byte {
	b.Helper()
	out := filepath.Join(b.TempDir(), "bench.wasm")
	cmd := exec.Command(filepath.Join(runtime.GOROOT(), "bin", "go"), "build", "-buildmode=c-shared", "-o", out, "./testdata/wasmbench")
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
	if msg, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("building the Wasm benchmark guest: %v\n%s", err, msg)
	}
	wasm, err := os.ReadFile(out)
	if err != nil {
		b.Fatal(err)
	}
	return wasm
}
