package codecabi

import (
	"bytes"
	"testing"
)

func TestRoundTrip(t *testing.T) {
	a := OpenArgs{Mode: ModeDecode, Encoding: Zstd, Level: -3, Flags: FlagFlush | FlagFinish, Data: []byte("xyz")}
	got, err := DecodeOpen(AppendOpen(nil, a))
	if err != nil || got.Mode != a.Mode || got.Encoding != a.Encoding || got.Level != a.Level || got.Flags != a.Flags || !bytes.Equal(got.Data, a.Data) {
		t.Errorf("open args: got %+v, %v; want %+v", got, err, a)
	}
	h, rf, out, err := DecodeOpenResult(AppendOpenResult(nil, 0xdeadbeef, ResultMore, []byte("out")))
	if err != nil || h != 0xdeadbeef || rf != ResultMore || string(out) != "out" {
		t.Errorf("open result: %x %b %q %v", h, rf, out, err)
	}
	h, f, data, err := DecodeWrite(AppendWrite(nil, 7, FlagFinish, nil))
	if err != nil || h != 7 || f != FlagFinish || len(data) != 0 {
		t.Errorf("write args: %d %b %q %v", h, f, data, err)
	}
	rf, out, err = DecodeWriteResult(AppendWriteResult(nil, ResultEnd, []byte("z")))
	if err != nil || rf != ResultEnd || string(out) != "z" {
		t.Errorf("write result: %b %q %v", rf, out, err)
	}
	if h, err := DecodeClose(AppendClose(nil, 9)); err != nil || h != 9 {
		t.Errorf("close: %d %v", h, err)
	}
}

func TestShort(t *testing.T) {
	tests := []struct {
		name string
		fn   func() error
	}{
		{"open", func() error { _, err := DecodeOpen([]byte{1, 2, 3}); return err }},
		{"open result", func() error { _, _, _, err := DecodeOpenResult([]byte{1, 2, 3, 4}); return err }},
		{"write", func() error { _, _, _, err := DecodeWrite([]byte{1}); return err }},
		{"write result", func() error { _, _, err := DecodeWriteResult(nil); return err }},
		{"close", func() error { _, err := DecodeClose([]byte{1, 2, 3, 4, 5}); return err }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.fn(); err != ErrShort {
				t.Errorf("error %v; want ErrShort", err)
			}
		})
	}
}

func TestEncodingTokens(t *testing.T) {
	for _, e := range []Encoding{Gzip, Brotli, Zstd, Deflate} {
		back, ok := ParseEncoding(e.String())
		if !ok || back != e {
			t.Errorf("ParseEncoding(%q) = %v, %v; want %v", e.String(), back, ok, e)
		}
		if lo, hi := e.LevelRange(); hi <= lo {
			t.Errorf("%s: level range %d-%d", e, lo, hi)
		}
	}
	if _, ok := ParseEncoding("identity"); ok {
		t.Error(`ParseEncoding("identity") accepted`)
	}
	if Encoding(0).String() != "" {
		t.Error("zero encoding has a name")
	}
}

func TestStats(t *testing.T) {
	var s Stats
	s.Encoded[Gzip] = Counters{1, 2, 3}
	s.Decoded[Deflate] = Counters{4, 5, 6}
	b := AppendStats(nil, &s)
	if len(b) != StatsSize {
		t.Fatalf("size %d; want %d", len(b), StatsSize)
	}
	got, err := DecodeStats(b)
	if err != nil || got != s {
		t.Errorf("DecodeStats = %+v, %v; want %+v", got, err, s)
	}
	if _, err := DecodeStats(b[1:]); err != ErrShort {
		t.Errorf("short stats: %v", err)
	}
}
