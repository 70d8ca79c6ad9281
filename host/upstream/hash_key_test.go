package upstream

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

func TestCookieValue(t *testing.T) {
	for _, tc := range []struct {
		name  string
		lines []string
		want  string
	}{
		{"first of several", []string{"a=1; sid=abc; b=2"}, "abc"},
		{"quoted", []string{`sid="q v"`}, "q v"},
		{"spaces around the name, not the value (as net/http)", []string{"  sid =  x  ;b=1"}, "  x"},
		{"second header line", []string{"a=1", "sid=two"}, "two"},
		{"first wins", []string{"sid=1; sid=2"}, "1"},
		{"prefix is not a match", []string{"sidx=1; xsid=2"}, ""},
		{"missing", []string{"a=1"}, ""},
		{"no lines", nil, ""},
		{"empty value", []string{"sid=; a=1"}, ""},
		{"no equals is an empty value", []string{"sid; sid=1"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := cookieValue(tc.lines, "sid"); got != tc.want {
				t.Errorf("cookieValue = %q; want %q", got, tc.want)
			}
		})
	}
}

func TestQueryValue(t *testing.T) {
	for _, tc := range []struct {
		name, raw, want string
		found           bool
	}{
		{"plain", "a=1&id=42&b=2", "42", true},
		{"first wins", "id=1&id=2", "1", true},
		{"escaped name", "i%64=7", "7", true},
		{"plus in name", "my+id=3", "", false},
		{"no value", "id&x=1", "", true},
		{"empty", "", "", false},
		{"prefix is not a match", "idx=1&xid=2", "", false},
		{"bad escape taken literally", "id%=1&id=2", "2", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, found := queryValue(tc.raw, "id")
			if got != tc.want || found != tc.found {
				t.Errorf("queryValue(%q) = %q, %v; want %q, %v", tc.raw, got, found, tc.want, tc.found)
			}
		})
	}
}

// queryValue agrees with net/url on every query net/url accepts, and the
// hash of its value is the hash of the unescaped value.
func FuzzQueryValue(f *testing.F) {
	for _, s := range []string{"id=1", "a=b&id=%41+b", "i%64=x&id=y", "id", "=&&id==", "id=%zz"} {
		f.Add(s, "id")
	}
	f.Fuzz(func(t *testing.T, raw, name string) {
		got, found := queryValue(raw, name)
		if !strings.Contains(raw, got) {
			t.Fatalf("value %q is not part of %q", got, raw)
		}
		vals, err := url.ParseQuery(raw)
		if err != nil || strings.Contains(raw, ";") {
			return
		}
		want, ok := vals[name]
		if ok != found {
			t.Fatalf("queryValue(%q, %q) found = %v; net/url says %v", raw, name, found, ok)
		}
		if !ok {
			return
		}
		dec, err := url.QueryUnescape(got)
		if err != nil {
			t.Fatalf("value %q does not unescape: %v", got, err)
		}
		if dec != want[0] {
			t.Fatalf("queryValue(%q, %q) = %q (%q); net/url says %q", raw, name, got, dec, want[0])
		}
		if fnvUnescape(fnvOffset, got) != fnvString(fnvOffset, dec) {
			t.Fatalf("hash of %q differs from the hash of its unescaped form %q", got, dec)
		}
	})
}

// cookieValue agrees with net/http on well-formed Cookie headers.
func FuzzCookieValue(f *testing.F) {
	for _, s := range []string{"sid=1", "a=1; sid=\"x\"", "sid=; a=b", ";;sid=2", "sid"} {
		f.Add(s, "sid")
	}
	f.Fuzz(func(t *testing.T, line, name string) {
		got := cookieValue([]string{line}, name)
		if !strings.Contains(line, got) {
			t.Fatalf("value %q is not part of %q", got, line)
		}
		// Compare only where net/http keeps every cookie of the line, so
		// that "first cookie with the name" means the same to both.
		r := &http.Request{Header: http.Header{"Cookie": {line}}}
		all := r.Cookies()
		if len(all) != strings.Count(line, "=") || len(all) != strings.Count(line, ";")+1 {
			return
		}
		for _, c := range all {
			if c.Name == name {
				if got != c.Value {
					t.Fatalf("cookieValue(%q, %q) = %q; net/http says %q", line, name, got, c.Value)
				}
				return
			}
		}
	})
}
