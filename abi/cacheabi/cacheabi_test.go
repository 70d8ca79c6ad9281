package cacheabi

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestName(t *testing.T) {
	tests := []struct {
		name           string
		ns, key, varnt string
		prefix, nsOnly int // lengths of Prefix and NamespacePrefix
	}{
		{name: "all parts", ns: "web", key: "example.com/a?b", varnt: "accept-encoding=gzip", prefix: 2 + 3 + 4 + 15, nsOnly: 5},
		{name: "empty namespace and variant", key: "k", prefix: 2 + 4 + 1, nsOnly: 2},
		{name: "empty key", ns: "n", varnt: "v", prefix: 2 + 1 + 4, nsOnly: 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n := Name(AppendName(nil, tc.ns, tc.key, tc.varnt))
			ns, key, v, err := n.Split()
			if err != nil {
				t.Fatal(err)
			}
			if string(ns) != tc.ns || string(key) != tc.key || string(v) != tc.varnt {
				t.Errorf("Split = %q %q %q; want %q %q %q", ns, key, v, tc.ns, tc.key, tc.varnt)
			}
			p, err := n.Prefix()
			if err != nil || len(p) != tc.prefix {
				t.Errorf("Prefix = %d bytes, %v; want %d", len(p), err, tc.prefix)
			}
			if !bytes.HasPrefix(n, p) {
				t.Errorf("Prefix %q is not a prefix of %q", p, n)
			}
			q, err := n.NamespacePrefix()
			if err != nil || len(q) != tc.nsOnly {
				t.Errorf("NamespacePrefix = %d bytes, %v; want %d", len(q), err, tc.nsOnly)
			}
		})
	}
	// Variants of one key share the prefix; another key does not.
	a, _ := Name(AppendName(nil, "n", "k", "x")).Prefix()
	b, _ := Name(AppendName(nil, "n", "k", "y")).Prefix()
	c, _ := Name(AppendName(nil, "n", "kx", "")).Prefix()
	if !bytes.Equal(a, b) || bytes.Equal(a, c) {
		t.Errorf("prefixes: %q %q %q", a, b, c)
	}
}

func TestNameMalformed(t *testing.T) {
	for _, tc := range []struct {
		name string
		b    []byte
	}{
		{"empty", nil},
		{"short namespace", []byte{5, 0, 'a'}},
		{"no key length", []byte{1, 0, 'a', 1, 0}},
		{"key longer than the rest", []byte{0, 0, 9, 0, 0, 0, 'k'}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, _, _, err := Name(tc.b).Split(); !errors.Is(err, ErrMalformed) {
				t.Errorf("Split(%v) = %v; want ErrMalformed", tc.b, err)
			}
		})
	}
}

func TestRoundTrips(t *testing.T) {
	name := Name(AppendName(nil, "ns", "key", "var"))
	tests := []struct {
		name string
		in   interface{ Append([]byte) []byte }
		out  interface{ Decode([]byte) error }
	}{
		{"lookup args", &LookupArgs{Store: 3, Flags: FlagLock, LockTimeout: 1000, Waiter: 7, Name: name}, &LookupArgs{}},
		{"lookup result hit", &LookupResult{Kind: KindHit, Token: 0, Meta: []byte("meta"), Body: []byte("body")}, &LookupResult{}},
		{"lookup result wait", &LookupResult{Kind: KindWait, Token: 1 << 40, Meta: []byte{}, Body: []byte{}}, &LookupResult{}},
		{"begin args", &BeginArgs{Store: 1, Token: 9, Flags: FlagComplete, Fresh: 1, Stale: 2, Keep: 3, MaxBody: 4,
			Name: name, Meta: []byte("m"), Body: []byte("b")}, &BeginArgs{}},
		{"begin result", &BeginResult{Handle: 5, Wake: Wake{Token: 8, Queues: []uint32{1, 2}}}, &BeginResult{}},
		{"append args", &AppendArgs{Handle: 2, Data: []byte("chunk")}, &AppendArgs{}},
		{"release args", &ReleaseArgs{Store: 2, Token: 77}, &ReleaseArgs{}},
		{"wake", &Wake{Token: 3, Queues: []uint32{4}}, &Wake{}},
		{"purge args", &PurgeArgs{Store: 1, Scope: PurgeNamespace, Name: name}, &PurgeArgs{}},
		{"stats", &Stats{Entries: 1, Size: 2, MaxSize: 3, Hits: 4, Stale: 5, Expired: 6, Misses: 7, Waits: 8,
			Writes: 9, Evictions: 10, Purged: 11}, &Stats{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := tc.in.Append([]byte("prefix"))
			if !bytes.HasPrefix(b, []byte("prefix")) {
				t.Fatalf("Append did not append: %q", b)
			}
			if err := tc.out.Decode(b[len("prefix"):]); err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if !reflect.DeepEqual(tc.in, tc.out) {
				t.Errorf("round trip: got %+v; want %+v", tc.out, tc.in)
			}
		})
	}
}

func TestEmptyWake(t *testing.T) {
	w := Wake{Token: 5}
	if b := w.Append(nil); len(b) != 0 {
		t.Errorf("a wake without queues encodes as %v; want nothing", b)
	}
	w2 := Wake{Token: 9, Queues: []uint32{1}}
	if err := w2.Decode(nil); err != nil || w2.Token != 0 || len(w2.Queues) != 0 {
		t.Errorf("Decode(nil) = %v, %+v", err, w2)
	}
}

func TestMalformed(t *testing.T) {
	tests := []struct {
		name string
		dec  func([]byte) error
		in   []byte
	}{
		{"lookup args short", new(LookupArgs).Decode, []byte{1, 0, 0}},
		{"lookup args trailing bytes", new(LookupArgs).Decode, append((&LookupArgs{Name: Name("x")}).Append(nil), 0)},
		{"lookup args name too long", new(LookupArgs).Decode, []byte{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9, 0, 0, 0}},
		{"lookup result unknown kind", new(LookupResult).Decode, (&LookupResult{Kind: 99}).Append(nil)},
		{"lookup result meta too long", new(LookupResult).Decode, []byte{2, 0, 0, 0, 0, 0, 0, 0, 0, 5, 0, 0, 0}},
		{"begin args short", new(BeginArgs).Decode, make([]byte, 44)},
		{"append args short", new(AppendArgs).Decode, []byte{1}},
		{"release args size", new(ReleaseArgs).Decode, make([]byte, 11)},
		{"wake ragged", new(Wake).Decode, make([]byte, 10)},
		{"purge bad scope", new(PurgeArgs).Decode, (&PurgeArgs{Scope: 7}).Append(nil)},
		{"stats size", new(Stats).Decode, make([]byte, 80)},
		{"handle size", func(b []byte) error { _, err := DecodeHandle(b); return err }, []byte{1, 2, 3}},
		{"store size", func(b []byte) error { _, err := DecodeStore(b); return err }, nil},
		{"count size", func(b []byte) error { _, err := DecodeCount(b); return err }, []byte{1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.dec(tc.in); !errors.Is(err, ErrMalformed) {
				t.Errorf("decode %v: %v; want ErrMalformed", tc.in, err)
			}
		})
	}
}

func TestKind(t *testing.T) {
	for _, tc := range []struct {
		k        Kind
		name     string
		hasEntry bool
	}{
		{KindMiss, "miss", false}, {KindHit, "hit", true}, {KindStale, "stale", true},
		{KindExpired, "expired", true}, {KindWait, "wait", false}, {0, "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.k.String() != tc.name || tc.k.HasEntry() != tc.hasEntry {
				t.Errorf("%d: %q %v; want %q %v", tc.k, tc.k.String(), tc.k.HasEntry(), tc.name, tc.hasEntry)
			}
		})
	}
}

func TestParseSize(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		err  string
	}{
		{in: "0", want: 0},
		{in: "512", want: 512},
		{in: "1kb", want: 1000},
		{in: "1KiB", want: 1024},
		{in: "64 kib", want: 64 << 10},
		{in: "1mb", want: 1e6},
		{in: "1.5mib", want: 3 << 19},
		{in: "10gb", want: 10e9},
		{in: "2g", want: 2e9},
		{in: "", err: "empty"},
		{in: "mb", err: "want a number"},
		{in: "1..2mb", err: "want a number"},
		{in: "-1", err: "want a number"},
		{in: "1xb", err: "unknown unit"},
		{in: "99999999pb", err: "out of range"},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseSize(tc.in)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Errorf("ParseSize(%q) = %d, %v; want an error with %q", tc.in, got, err, tc.err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Errorf("ParseSize(%q) = %d, %v; want %d", tc.in, got, err, tc.want)
			}
		})
	}
}

func TestParseDirectory(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want Directory
		id   string
		err  string
	}{
		{name: "empty is the default memory store", in: "", want: Directory{Memory: true}, id: "memory://"},
		{name: "memory with size", in: "memory://?max_size=100mb", want: Directory{Memory: true, MaxSize: 1e8}, id: "memory://"},
		{name: "named memory", in: "memory://pingap?max_size=64mib", want: Directory{Memory: true, Path: "pingap", MaxSize: 64 << 20}, id: "memory://pingap"},
		{name: "memory percent", in: "memory://?max_size=20", want: Directory{Memory: true, MaxSizePercent: 20}, id: "memory://"},
		{name: "disk", in: "/var/cache/sluice", want: Directory{Path: "/var/cache/sluice"}, id: "/var/cache/sluice"},
		{name: "disk path cleaned", in: "/var//cache/./x/../sluice/", want: Directory{Path: "/var/cache/sluice"}, id: "/var/cache/sluice"},
		{name: "disk with parameters", in: "/c?max_size=10gb&inactive=1h&levels=1:2",
			want: Directory{Path: "/c", MaxSize: 10e9, Inactive: time.Hour, Levels: []int{1, 2}}, id: "/c"},
		{name: "disk bare number is bytes", in: "/c?max_size=20", want: Directory{Path: "/c", MaxSize: 20}, id: "/c"},
		{name: "inactive in days", in: "/c?inactive=2d", want: Directory{Path: "/c", Inactive: 48 * time.Hour}, id: "/c"},
		{name: "pingap parameters ignored", in: "/c?reading_max=10&writing_max=5&cache_max=3&cache_file_max_weight=1",
			want: Directory{Path: "/c", Ignored: []string{"reading_max", "writing_max", "cache_max", "cache_file_max_weight"}}, id: "/c"},
		{name: "relative path", in: "cache", err: "absolute path"},
		{name: "other scheme", in: "redis://x", err: "want memory://NAME"},
		{name: "slash in memory name", in: "memory://a/b", err: "slash"},
		{name: "unknown parameter", in: "/c?maxsize=1", err: `unknown parameter "maxsize"`},
		{name: "bad size", in: "/c?max_size=lots", err: "max_size"},
		{name: "zero size", in: "/c?max_size=0", err: "more than 0"},
		{name: "bad inactive", in: "/c?inactive=soon", err: "inactive"},
		{name: "bad levels", in: "/c?levels=3", err: "levels"},
		{name: "too many levels", in: "/c?levels=1:1:1:1", err: "levels"},
		{name: "levels for memory", in: "memory://?levels=1", err: "only for a disk"},
		{name: "parameter twice", in: "/c?max_size=1&max_size=2", err: "twice"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseDirectory(tc.in)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Errorf("ParseDirectory(%q) = %+v, %v; want an error with %q", tc.in, got, err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseDirectory(%q): %v", tc.in, err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("ParseDirectory(%q) = %+v; want %+v", tc.in, got, tc.want)
			}
			if got.ID() != tc.id {
				t.Errorf("ID() = %q; want %q", got.ID(), tc.id)
			}
		})
	}
}

// FuzzDecode feeds arbitrary bytes to every decoder: none may panic, and
// what decodes must encode back to the same bytes.
func FuzzDecode(f *testing.F) {
	f.Add((&LookupArgs{Store: 1, Flags: FlagLock, Name: Name(AppendName(nil, "a", "b", "c"))}).Append(nil))
	f.Add((&LookupResult{Kind: KindHit, Meta: []byte("m"), Body: []byte("b")}).Append(nil))
	f.Add((&BeginArgs{Name: Name("n"), Meta: []byte("m"), Body: []byte("b")}).Append(nil))
	f.Add((&Wake{Token: 1, Queues: []uint32{2}}).Append(nil))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		var la LookupArgs
		if la.Decode(b) == nil && !bytes.Equal(la.Append(nil), b) {
			t.Errorf("LookupArgs %v does not round trip", b)
		}
		var lr LookupResult
		if lr.Decode(b) == nil && !bytes.Equal(lr.Append(nil), b) {
			t.Errorf("LookupResult %v does not round trip", b)
		}
		var ba BeginArgs
		if ba.Decode(b) == nil && !bytes.Equal(ba.Append(nil), b) {
			t.Errorf("BeginArgs %v does not round trip", b)
		}
		var br BeginResult
		_ = br.Decode(b)
		var w Wake
		if w.Decode(b) == nil && !bytes.Equal(w.Append(nil), b) && len(w.Queues) > 0 {
			t.Errorf("Wake %v does not round trip", b)
		}
		var pa PurgeArgs
		if pa.Decode(b) == nil && !bytes.Equal(pa.Append(nil), b) {
			t.Errorf("PurgeArgs %v does not round trip", b)
		}
		var s Stats
		_ = s.Decode(b)
		_, _, _, _ = Name(b).Split()
	})
}

// FuzzParseDirectory checks that a parsed directory is consistent: a disk
// path is absolute and clean, and parsing never panics.
func FuzzParseDirectory(f *testing.F) {
	for _, s := range []string{"", "memory://x?max_size=1mb", "/a/b?levels=1:2&inactive=1h", "/a/../b", "memory://?max_size=50"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseDirectory(s)
		if err != nil {
			return
		}
		if !d.Memory && (d.Path == "" || d.Path[0] != '/' || strings.Contains(d.Path, "//") || strings.Contains(d.Path, "/../")) {
			t.Errorf("ParseDirectory(%q) = path %q", s, d.Path)
		}
		if d.MaxSize < 0 || d.MaxSizePercent < 0 || d.MaxSizePercent > 100 {
			t.Errorf("ParseDirectory(%q) = sizes %d, %d%%", s, d.MaxSize, d.MaxSizePercent)
		}
	})
}
