package filesabi

import (
	"reflect"
	"testing"
)

func TestValidPath(t *testing.T) {
	tests := []struct {
		path string
		want bool
	}{
		{"", true},
		{"a", true},
		{"a/b.txt", true},
		{"%2e%2e/x", true}, // a literal name: the plugin decodes once
		{"..", false},
		{"a/../b", false},
		{"./a", false},
		{"/a", false},
		{"a/", false},
		{"a//b", false},
		{`a\..\b`, false},
		{"a\x00b", false},
	}
	for _, tc := range tests {
		t.Run(tc.path, func(t *testing.T) {
			if got := ValidPath(tc.path); got != tc.want {
				t.Errorf("ValidPath(%q) = %v; want %v", tc.path, got, tc.want)
			}
		})
	}
}

func TestEncodings(t *testing.T) {
	i := Info{Kind: KindFile, Size: 1 << 40, MTime: -5}
	if got, err := DecodeInfo(AppendInfo(nil, i)); err != nil || got != i {
		t.Errorf("info: %+v %v; want %+v", got, err, i)
	}
	off, n, p, err := DecodeRead(AppendRead(nil, 1<<33, 4096, "a/b"))
	if err != nil || off != 1<<33 || n != 4096 || p != "a/b" {
		t.Errorf("read: %d %d %q %v", off, n, p, err)
	}
	ents := []Entry{{Name: "a", Info: i}, {Name: "", Info: Info{Kind: KindDir}}, {Name: "ünï", Info: Info{Kind: KindOther, Size: 3}}}
	var b []byte
	for _, e := range ents {
		b = AppendEntry(b, e)
	}
	got, err := DecodeEntries(b)
	if err != nil || !reflect.DeepEqual(got, ents) {
		t.Errorf("entries: %+v %v; want %+v", got, err, ents)
	}
	if _, err := DecodeEntries(b[:len(b)-1]); err != ErrShort {
		t.Errorf("truncated entries: %v; want ErrShort", err)
	}
	if _, _, _, err := DecodeRead(make([]byte, 11)); err != ErrShort {
		t.Errorf("short read args: %v", err)
	}
}

func FuzzDecodeEntries(f *testing.F) {
	f.Add(AppendEntry(nil, Entry{Name: "x", Info: Info{Kind: KindFile, Size: 1}}))
	f.Fuzz(func(t *testing.T, b []byte) {
		ents, err := DecodeEntries(b)
		if err != nil {
			return
		}
		var back []byte
		for _, e := range ents {
			back = AppendEntry(back, e)
		}
		if string(back) != string(b) {
			t.Fatalf("re-encoding differs: %x vs %x", back, b)
		}
	})
}
