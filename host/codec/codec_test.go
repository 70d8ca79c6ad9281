package codec

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/andybalholm/brotli"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zlib"
	"github.com/klauspost/compress/zstd"

	"github.com/sluice-proxy/sluice/abi/codecabi"
)

// body is compressible text of n bytes.
func body(n int) []byte {
	var b bytes.Buffer
	for i := 0; b.Len() < n; i++ {
		fmt.Fprintf(&b, `{"id":%d,"name":"item %d","tags":["a","b"],"price":%d.%02d},`, i, i*7, i%100, i%97)
	}
	return b.Bytes()[:n]
}

// decodeWith decompresses b with an independent reader of enc.
func decodeWith(t *testing.T, enc codecabi.Encoding, b []byte) []byte {
	t.Helper()
	var r io.Reader
	var err error
	switch enc {
	case codecabi.Gzip:
		r, err = gzip.NewReader(bytes.NewReader(b))
	case codecabi.Deflate:
		r, err = zlib.NewReader(bytes.NewReader(b))
	case codecabi.Brotli:
		r = brotli.NewReader(bytes.NewReader(b))
	case codecabi.Zstd:
		var d *zstd.Decoder
		d, err = zstd.NewReader(bytes.NewReader(b))
		if err == nil {
			defer d.Close()
			r = d
		}
	}
	if err != nil {
		t.Fatalf("%s reader: %v", enc, err)
	}
	out, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("%s: decoding the output: %v", enc, err)
	}
	return out
}

// encodeWith compresses b with an independent writer of enc.
func encodeWith(t *testing.T, enc codecabi.Encoding, b []byte) []byte {
	t.Helper()
	var out bytes.Buffer
	var w io.WriteCloser
	switch enc {
	case codecabi.Gzip:
		w = gzip.NewWriter(&out)
	case codecabi.Deflate:
		w = zlib.NewWriter(&out)
	case codecabi.Brotli:
		w = brotli.NewWriter(&out)
	case codecabi.Zstd:
		w, _ = zstd.NewWriter(&out)
	}
	if _, err := w.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

var encodings = []codecabi.Encoding{codecabi.Gzip, codecabi.Brotli, codecabi.Zstd, codecabi.Deflate}

// stream runs a whole body through a session in chunks of size n and
// returns the output.
func stream(t *testing.T, c *Codec, plugin string, mode codecabi.Mode, enc codecabi.Encoding, level int8, in []byte, n int, flags codecabi.Flags) []byte {
	t.Helper()
	first := in[:min(n, len(in))]
	res, err := c.Open(plugin, codecabi.AppendOpen(nil, codecabi.OpenArgs{Mode: mode, Encoding: enc, Level: level, Flags: flags, Data: first}))
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	h, rf, out, err := codecabi.DecodeOpenResult(res)
	if err != nil {
		t.Fatal(err)
	}
	all := append([]byte(nil), out...)
	rest := in[len(first):]
	for h != 0 && rf&codecabi.ResultEnd == 0 {
		var chunk []byte
		f := flags
		if rf&codecabi.ResultMore == 0 {
			chunk = rest[:min(n, len(rest))]
			rest = rest[len(chunk):]
			if len(rest) == 0 {
				f |= codecabi.FlagFinish
			}
		}
		res, err := c.Write(plugin, codecabi.AppendWrite(nil, h, f, chunk))
		if err != nil {
			t.Fatalf("write: %v", err)
		}
		rf, out, _ = codecabi.DecodeWriteResult(res)
		if len(out) > codecabi.MaxOutput+32<<10 {
			t.Fatalf("one call returned %d bytes; want at most about %d", len(out), codecabi.MaxOutput)
		}
		all = append(all, out...)
	}
	return all
}

func TestEncodeRoundTrip(t *testing.T) {
	in := body(300 << 10)
	tests := []struct {
		name  string
		size  int // chunk size
		level int8
		flags codecabi.Flags
	}{
		{name: "one shot", size: len(in), flags: codecabi.FlagFinish},
		{name: "chunks of 16KiB", size: 16 << 10},
		{name: "small chunks flushed", size: 1000, flags: codecabi.FlagFlush},
		{name: "level 1", size: 64 << 10, level: 1},
	}
	for _, enc := range encodings {
		for _, tc := range tests {
			t.Run(enc.String()+"/"+tc.name, func(t *testing.T) {
				c := New(Options{})
				out := stream(t, c, "p", codecabi.ModeEncode, enc, tc.level, in, tc.size, tc.flags)
				if len(out) >= len(in)/2 {
					t.Errorf("%d bytes compressed to %d; want much less", len(in), len(out))
				}
				if got := decodeWith(t, enc, out); !bytes.Equal(got, in) {
					t.Errorf("round trip: got %d bytes, want the %d in", len(got), len(in))
				}
				if n := c.Sessions(); n != 0 {
					t.Errorf("%d sessions left open", n)
				}
				st, err := codecabi.DecodeStats(must(c.StatsFunc("p", nil)))
				if want := (codecabi.Counters{Bodies: 1, In: uint64(len(in)), Out: uint64(len(out))}); err != nil || st.Encoded[enc] != want {
					t.Errorf("stats %+v, %v; want %+v", st.Encoded[enc], err, want)
				}
			})
		}
	}
}

func must(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}

// Issue 5: a flushed chunk is decodable on its own, so an event stream
// reaches the client as it is produced.
func TestEncodeFlushEmitsEverything(t *testing.T) {
	for _, enc := range encodings {
		t.Run(enc.String(), func(t *testing.T) {
			c := New(Options{})
			msg := []byte("data: hello\n\n")
			res, err := c.Open("p", codecabi.AppendOpen(nil, codecabi.OpenArgs{Mode: codecabi.ModeEncode, Encoding: enc, Flags: codecabi.FlagFlush, Data: msg}))
			if err != nil {
				t.Fatal(err)
			}
			h, _, out, _ := codecabi.DecodeOpenResult(res)
			defer c.Close("p", codecabi.AppendClose(nil, h))
			d := New(Options{})
			res, err = d.Open("p", codecabi.AppendOpen(nil, codecabi.OpenArgs{Mode: codecabi.ModeDecode, Encoding: enc, Data: out}))
			if err != nil {
				t.Fatalf("decoding the flushed output: %v", err)
			}
			_, _, got, _ := codecabi.DecodeOpenResult(res)
			if !bytes.Equal(got, msg) {
				t.Errorf("after a flush the decoder sees %q; want %q", got, msg)
			}
		})
	}
}

func TestDecodeRoundTrip(t *testing.T) {
	in := body(200 << 10)
	for _, enc := range encodings {
		z := encodeWith(t, enc, in)
		for _, size := range []int{1, 100, 4096, len(z)} {
			if size == 1 && len(z) > 20000 {
				size = 7 // keep the byte-by-byte case short
			}
			t.Run(fmt.Sprintf("%s/chunks of %d", enc, size), func(t *testing.T) {
				c := New(Options{})
				got := stream(t, c, "p", codecabi.ModeDecode, enc, 0, z, size, 0)
				if !bytes.Equal(got, in) {
					t.Errorf("got %d bytes; want %d", len(got), len(in))
				}
				if st := c.Stats().Decoded[enc]; st != (codecabi.Counters{Bodies: 1, In: uint64(len(z)), Out: uint64(len(in))}) {
					t.Errorf("stats %+v", st)
				}
				if n := c.Sessions(); n != 0 {
					t.Errorf("%d sessions left open", n)
				}
			})
		}
	}
}

// Issue 5: a small chunk that expands hugely comes out in bounded pieces.
func TestDecodeBoundedOutput(t *testing.T) {
	in := make([]byte, 5*codecabi.MaxOutput+123)
	for _, enc := range encodings {
		t.Run(enc.String(), func(t *testing.T) {
			z := encodeWith(t, enc, in)
			c := New(Options{})
			res, err := c.Open("p", codecabi.AppendOpen(nil, codecabi.OpenArgs{Mode: codecabi.ModeDecode, Encoding: enc, Data: z}))
			if err != nil {
				t.Fatal(err)
			}
			h, rf, out, _ := codecabi.DecodeOpenResult(res)
			if rf&codecabi.ResultMore == 0 || len(out) > codecabi.MaxOutput+32<<10 {
				t.Fatalf("first call: flags %b, %d bytes; want ResultMore and at most about %d", rf, len(out), codecabi.MaxOutput)
			}
			total, calls := len(out), 1
			for rf&codecabi.ResultEnd == 0 {
				f := codecabi.FlagFinish // all input is in: end once the output is out
				if rf&codecabi.ResultMore != 0 {
					f = 0
				}
				res, err := c.Write("p", codecabi.AppendWrite(nil, h, f, nil))
				if err != nil {
					t.Fatal(err)
				}
				rf, out, _ = codecabi.DecodeWriteResult(res)
				total += len(out)
				calls++
				if calls > 20 {
					t.Fatal("no end")
				}
			}
			if total != len(in) {
				t.Errorf("decoded %d bytes; want %d", total, len(in))
			}
		})
	}
}

func TestErrors(t *testing.T) {
	good := encodeWith(t, codecabi.Gzip, body(5000))
	tests := []struct {
		name string
		call func(c *Codec) error
		want error
	}{
		{"short open", func(c *Codec) error { _, err := c.Open("p", []byte{'e'}); return err }, fs.ErrInvalid},
		{"unknown encoding", func(c *Codec) error {
			_, err := c.Open("p", codecabi.AppendOpen(nil, codecabi.OpenArgs{Mode: codecabi.ModeEncode, Encoding: 9}))
			return err
		}, fs.ErrInvalid},
		{"unknown mode", func(c *Codec) error {
			_, err := c.Open("p", codecabi.AppendOpen(nil, codecabi.OpenArgs{Mode: 'x', Encoding: codecabi.Gzip}))
			return err
		}, fs.ErrInvalid},
		{"gzip level 10", func(c *Codec) error {
			_, err := c.Open("p", codecabi.AppendOpen(nil, codecabi.OpenArgs{Mode: codecabi.ModeEncode, Encoding: codecabi.Gzip, Level: 10}))
			return err
		}, fs.ErrInvalid},
		{"corrupt data", func(c *Codec) error {
			_, err := c.Open("p", codecabi.AppendOpen(nil, codecabi.OpenArgs{Mode: codecabi.ModeDecode, Encoding: codecabi.Gzip, Flags: codecabi.FlagFinish, Data: []byte("not gzip at all")}))
			return err
		}, fs.ErrInvalid},
		{"truncated stream", func(c *Codec) error {
			_, err := c.Open("p", codecabi.AppendOpen(nil, codecabi.OpenArgs{Mode: codecabi.ModeDecode, Encoding: codecabi.Gzip, Flags: codecabi.FlagFinish, Data: good[:len(good)/2]}))
			return err
		}, fs.ErrInvalid},
		{"unknown handle", func(c *Codec) error { _, err := c.Write("p", codecabi.AppendWrite(nil, 42, 0, nil)); return err }, fs.ErrNotExist},
		{"another plugin's handle", func(c *Codec) error {
			res, err := c.Open("p", codecabi.AppendOpen(nil, codecabi.OpenArgs{Mode: codecabi.ModeEncode, Encoding: codecabi.Gzip}))
			if err != nil {
				return err
			}
			h, _, _, _ := codecabi.DecodeOpenResult(res)
			_, err = c.Write("q", codecabi.AppendWrite(nil, h, 0, []byte("x")))
			return err
		}, fs.ErrNotExist},
		{"close twice", func(c *Codec) error {
			res, _ := c.Open("p", codecabi.AppendOpen(nil, codecabi.OpenArgs{Mode: codecabi.ModeDecode, Encoding: codecabi.Zstd}))
			h, _, _, _ := codecabi.DecodeOpenResult(res)
			if _, err := c.Close("p", codecabi.AppendClose(nil, h)); err != nil {
				return fmt.Errorf("first close: %v", err)
			}
			_, err := c.Close("p", codecabi.AppendClose(nil, h))
			return err
		}, fs.ErrNotExist},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call(New(Options{}))
			if !errors.Is(err, tc.want) {
				t.Errorf("error %v; want %v", err, tc.want)
			}
		})
	}
}

// Sessions a plugin never finishes are reaped, and their decoder
// goroutines end.
func TestIdleSessionsReaped(t *testing.T) {
	now := time.Unix(1000, 0)
	c := New(Options{IdleTimeout: time.Minute, Now: func() time.Time { return now }})
	before := runtime.NumGoroutine()
	z := encodeWith(t, codecabi.Zstd, body(100000))
	for range 10 {
		if _, err := c.Open("p", codecabi.AppendOpen(nil, codecabi.OpenArgs{Mode: codecabi.ModeDecode, Encoding: codecabi.Zstd, Data: z[:len(z)/2]})); err != nil {
			t.Fatal(err)
		}
	}
	if n := c.Sessions(); n != 10 {
		t.Fatalf("%d sessions; want 10", n)
	}
	now = now.Add(2 * time.Minute)
	if _, err := c.Open("p", codecabi.AppendOpen(nil, codecabi.OpenArgs{Mode: codecabi.ModeEncode, Encoding: codecabi.Gzip})); err != nil {
		t.Fatal(err)
	}
	if n := c.Sessions(); n != 1 {
		t.Errorf("%d sessions after the idle ones were reaped; want 1", n)
	}
	c.Shutdown()
	deadline := time.Now().Add(2 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		t.Errorf("%d goroutines after shutdown; want at most %d", n, before)
	}
}

func TestMaxSessions(t *testing.T) {
	c := New(Options{MaxSessions: 2})
	open := func() error {
		_, err := c.Open("p", codecabi.AppendOpen(nil, codecabi.OpenArgs{Mode: codecabi.ModeEncode, Encoding: codecabi.Brotli, Level: 4}))
		return err
	}
	for i := range 2 {
		if err := open(); err != nil {
			t.Fatalf("open %d: %v", i, err)
		}
	}
	if err := open(); !errors.Is(err, ErrTooManySessions) {
		t.Errorf("third open: %v; want ErrTooManySessions", err)
	}
	// A one-shot call keeps no session and is still served.
	_, err := c.Open("p", codecabi.AppendOpen(nil, codecabi.OpenArgs{Mode: codecabi.ModeEncode, Encoding: codecabi.Gzip, Flags: codecabi.FlagFinish, Data: []byte("x")}))
	if err != nil {
		t.Errorf("one-shot at the limit: %v", err)
	}
}

func TestFunctions(t *testing.T) {
	fns := New(Options{}).Functions()
	for _, name := range []string{codecabi.FuncOpen, codecabi.FuncWrite, codecabi.FuncClose, codecabi.FuncStats} {
		if fns[name] == nil {
			t.Errorf("no function %q", name)
		}
		if !strings.HasPrefix(name, "sluice.codec.") {
			t.Errorf("name %q outside the sluice.codec namespace", name)
		}
	}
}

// FuzzDecode feeds arbitrary bytes to every decoder in arbitrary chunks:
// no panic, no hang, no goroutine left behind.
func FuzzDecode(f *testing.F) {
	for _, enc := range encodings {
		var out bytes.Buffer
		w := newWriter(enc, 0, &out)
		w.Write([]byte("hello, hello, hello"))
		w.Close()
		f.Add(byte(enc), uint8(3), out.Bytes())
	}
	f.Fuzz(func(t *testing.T, encb byte, chunk uint8, data []byte) {
		enc := codecabi.Encoding(encb%4 + 1)
		c := New(Options{})
		n := int(chunk) + 1
		res, err := c.Open("f", codecabi.AppendOpen(nil, codecabi.OpenArgs{Mode: codecabi.ModeDecode, Encoding: enc}))
		if err != nil {
			t.Fatal(err)
		}
		h, _, _, _ := codecabi.DecodeOpenResult(res)
		for len(data) > 0 {
			k := min(n, len(data))
			res, err := c.Write("f", codecabi.AppendWrite(nil, h, 0, data[:k]))
			data = data[k:]
			if err != nil {
				return // refused and dropped
			}
			if rf, _, _ := codecabi.DecodeWriteResult(res); rf&codecabi.ResultEnd != 0 {
				return
			}
		}
		c.Shutdown()
	})
}

// Sessions of many streams at once, one goroutine each (as VMs run in
// parallel): run with -race.
func TestConcurrentSessions(t *testing.T) {
	c := New(Options{})
	in := body(50 << 10)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			enc := encodings[i%len(encodings)]
			for range 5 {
				z := stream(t, c, "p", codecabi.ModeEncode, enc, 0, in, 8<<10, 0)
				if got := stream(t, c, "p", codecabi.ModeDecode, enc, 0, z, 4<<10, 0); !bytes.Equal(got, in) {
					t.Errorf("%s: round trip differs", enc)
					return
				}
			}
		}()
	}
	wg.Wait()
	if n := c.Sessions(); n != 0 {
		t.Errorf("%d sessions left", n)
	}
}
