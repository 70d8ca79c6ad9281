package sdk_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/sluice-proxy/sluice/abi"
	"github.com/sluice-proxy/sluice/abi/codecabi"
	"github.com/sluice-proxy/sluice/abi/filesabi"
	"github.com/sluice-proxy/sluice/sdk"
	"github.com/sluice-proxy/sluice/sdk/sdktest"
)

// fakeCodec records the calls and "compresses" by reversing nothing: it
// returns its input with a marker, so the test sees what went where.
type fakeCodec struct {
	calls []string
	opens []codecabi.OpenArgs
}

func (f *fakeCodec) options() []sdktest.Option {
	return []sdktest.Option{
		sdktest.WithForeignFunction(codecabi.FuncOpen, func(args []byte) ([]byte, error) {
			a, err := codecabi.DecodeOpen(args)
			if err != nil {
				return nil, err
			}
			f.calls = append(f.calls, "open")
			f.opens = append(f.opens, a)
			h, rf := uint32(7), codecabi.ResultFlags(0)
			if a.Flags&codecabi.FlagFinish != 0 {
				h, rf = 0, codecabi.ResultEnd
			}
			return codecabi.AppendOpenResult(nil, h, rf, append([]byte("<"), a.Data...)), nil
		}),
		sdktest.WithForeignFunction(codecabi.FuncWrite, func(args []byte) ([]byte, error) {
			h, fl, data, err := codecabi.DecodeWrite(args)
			if err != nil || h != 7 {
				return nil, &sdktest.ForeignError{Status: abi.StatusNotFound}
			}
			f.calls = append(f.calls, "write")
			var rf codecabi.ResultFlags
			if fl&codecabi.FlagFinish != 0 {
				rf = codecabi.ResultEnd
				data = append(data, '>')
			}
			return codecabi.AppendWriteResult(nil, rf, data), nil
		}),
		sdktest.WithForeignFunction(codecabi.FuncClose, func(args []byte) ([]byte, error) {
			if _, err := codecabi.DecodeClose(args); err != nil {
				return nil, &sdktest.ForeignError{Status: abi.StatusBadArgument, Err: err}
			}
			f.calls = append(f.calls, "close")
			return nil, nil
		}),
	}
}

func TestCodecStream(t *testing.T) {
	f := &fakeCodec{}
	start(t, &funcs{}, f.options()...)
	if !sdk.CodecAvailable() {
		t.Fatal("CodecAvailable = false with the functions registered")
	}
	c, err := sdk.NewCompressor("br", 5)
	check(t, "NewCompressor", err)
	var all []byte
	for i, chunk := range []string{"ab", "cd", "ef"} {
		out, more, err := c.Write([]byte(chunk), false, i == 2)
		check(t, "Write", err)
		if more {
			t.Error("more from a compressor")
		}
		all = append(all, out...)
	}
	if string(all) != "<abcdef>" || !c.Ended() {
		t.Errorf("output %q, ended %v; want <abcdef> and ended", all, c.Ended())
	}
	if o := f.opens[0]; o.Mode != codecabi.ModeEncode || o.Encoding != codecabi.Brotli || o.Level != 5 {
		t.Errorf("open args %+v", o)
	}
	c.Close() // finished: no host call
	if _, _, err := c.Write([]byte("x"), false, false); err == nil {
		t.Error("Write after the end succeeded")
	}

	// A whole body in one call: one host call, no session.
	one, err := sdk.NewCompressor("gzip", 0)
	check(t, "NewCompressor", err)
	out, _, err := one.Write([]byte("body"), false, true)
	check(t, "one shot", err)
	if string(out) != "<body" || !one.Ended() {
		t.Errorf("one shot %q ended %v", out, one.Ended())
	}

	// Dropped before the end: closed on the host.
	d, err := sdk.NewDecompressor("zstd")
	check(t, "NewDecompressor", err)
	if _, _, err := d.Write([]byte("x"), false, false); err != nil {
		t.Fatal(err)
	}
	d.Close()
	if got := f.calls; len(got) != 6 || got[5] != "close" {
		t.Errorf("calls %q; want open, write, write, open, open, close", got)
	}

	// Open before data: the data goes to write.
	e, _ := sdk.NewCompressor("zstd", 3)
	check(t, "Open", e.Open())
	check(t, "Open again", e.Open())
	out, _, err = e.Write([]byte("z"), false, true)
	check(t, "Write after Open", err)
	if got := f.calls[6:]; len(got) != 2 || got[0] != "open" || got[1] != "write" || string(out) != "z>" || len(f.opens[3].Data) != 0 {
		t.Errorf("after Open: calls %q, output %q", got, out)
	}
}

func TestCodecRefused(t *testing.T) {
	start(t, &funcs{})
	if sdk.CodecAvailable() {
		t.Error("CodecAvailable = true without the functions")
	}
	if _, err := sdk.NewCompressor("lzma", 1); err == nil {
		t.Error("unknown coding accepted")
	}
	if _, err := sdk.NewCompressor("gzip", 10); err == nil {
		t.Error("gzip level 10 accepted")
	}
	c, _ := sdk.NewCompressor("gzip", 1)
	if _, _, err := c.Write([]byte("x"), false, true); !errors.Is(err, sdk.ErrNotFound) || !c.Ended() {
		t.Errorf("write without the host's codec: %v; want ErrNotFound and ended", err)
	}
}

func TestFiles(t *testing.T) {
	mtime := time.Unix(1700000000, 5)
	start(t, &funcs{},
		sdktest.WithForeignFunction(filesabi.FuncStat, func(args []byte) ([]byte, error) {
			switch string(args) {
			case "a.txt":
				return filesabi.AppendInfo(nil, filesabi.Info{Kind: filesabi.KindFile, Size: 3, MTime: mtime.UnixNano()}), nil
			case "evil":
				return nil, &sdktest.ForeignError{Status: abi.StatusBadArgument}
			}
			return nil, &sdktest.ForeignError{Status: abi.StatusNotFound}
		}),
		sdktest.WithForeignFunction(filesabi.FuncRead, func(args []byte) ([]byte, error) {
			off, n, p, err := filesabi.DecodeRead(args)
			if err != nil || p != "a.txt" {
				return nil, &sdktest.ForeignError{Status: abi.StatusBadArgument}
			}
			data := []byte("abc")
			off = min(off, 3)
			return data[off:min(int(off)+n, 3)], nil
		}),
		sdktest.WithForeignFunction(filesabi.FuncList, func(args []byte) ([]byte, error) {
			b := filesabi.AppendEntry(nil, filesabi.Entry{Name: "a.txt", Info: filesabi.Info{Kind: filesabi.KindFile, Size: 3}})
			return filesabi.AppendEntry(b, filesabi.Entry{Name: "sub", Info: filesabi.Info{Kind: filesabi.KindDir}}), nil
		}))
	if !sdk.FilesAvailable() {
		t.Fatal("FilesAvailable = false")
	}
	fi, err := sdk.StatFile("a.txt")
	if err != nil || !fi.Regular || fi.Dir || fi.Size != 3 || !fi.ModTime.Equal(mtime) {
		t.Errorf("StatFile = %+v, %v", fi, err)
	}
	if _, err := sdk.StatFile("nope"); !errors.Is(err, sdk.ErrNotFound) {
		t.Errorf("missing file: %v", err)
	}
	if _, err := sdk.StatFile("evil"); !errors.Is(err, sdk.ErrBadArgument) {
		t.Errorf("escaping path: %v", err)
	}
	b, err := sdk.ReadFile("a.txt", 1, 10)
	if err != nil || !bytes.Equal(b, []byte("bc")) {
		t.Errorf("ReadFile = %q, %v", b, err)
	}
	if _, err := sdk.ReadFile("a.txt", 0, sdk.MaxFileRead+1); err == nil {
		t.Error("ReadFile over the limit accepted")
	}
	ents, err := sdk.ListDir("")
	if err != nil || len(ents) != 2 || ents[0].Name != "a.txt" || !ents[1].Dir {
		t.Errorf("ListDir = %+v, %v", ents, err)
	}
	if !sdk.ValidFilePath("a/b") || sdk.ValidFilePath("../a") {
		t.Error("ValidFilePath")
	}
}

func TestConfigSize(t *testing.T) {
	tests := []struct {
		name, json string
		want       int64
		problem    string
	}{
		{name: "absent", json: `{}`, want: 7},
		{name: "number", json: `{"n":4096}`, want: 4096},
		{name: "kb", json: `{"n":"4kb"}`, want: 4000},
		{name: "KiB", json: `{"n":"4 KiB"}`, want: 4096},
		{name: "fraction", json: `{"n":"1.5mib"}`, want: 3 << 19},
		{name: "bare string", json: `{"n":"512"}`, want: 512},
		{name: "negative", json: `{"n":-1}`, want: 7, problem: `key "n": want a size`},
		{name: "bad unit", json: `{"n":"4 parsecs"}`, want: 7, problem: `key "n": want a size`},
		{name: "bool", json: `{"n":true}`, want: 7, problem: `key "n": want a size`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := sdk.ParseConfig([]byte(tc.json))
			check(t, "ParseConfig", err)
			if got := c.Size("n", 7); got != tc.want {
				t.Errorf("Size = %d; want %d", got, tc.want)
			}
			err = c.Err()
			if tc.problem == "" && err != nil || tc.problem != "" && (err == nil || !strings.Contains(err.Error(), tc.problem)) {
				t.Errorf("Err = %v; want %q", err, tc.problem)
			}
		})
	}
}

func TestCodecStats(t *testing.T) {
	var st codecabi.Stats
	st.Encoded[codecabi.Brotli] = codecabi.Counters{Bodies: 2, In: 1000, Out: 100}
	st.Decoded[codecabi.Gzip] = codecabi.Counters{Bodies: 1, In: 10, Out: 50}
	start(t, &funcs{}, sdktest.WithForeignFunction(codecabi.FuncStats, func([]byte) ([]byte, error) {
		return codecabi.AppendStats(nil, &st), nil
	}))
	figs, err := sdk.CodecStats()
	check(t, "CodecStats", err)
	if len(figs) != 4 || figs[1].Encoding != "br" || figs[1].Compressed != (sdk.CodecCounters{2, 1000, 100}) ||
		figs[0].Decompressed != (sdk.CodecCounters{1, 10, 50}) {
		t.Errorf("CodecStats = %+v", figs)
	}
}
