package sdk

import (
	"net/url"
	"strings"
	"testing"
)

func TestQueryParam(t *testing.T) {
	tests := []struct {
		name, path, param string
		want              string
		wantOK            bool
	}{
		{name: "no query", path: "/a", param: "k"},
		{name: "first", path: "/a?k=1&j=2", param: "k", want: "1", wantOK: true},
		{name: "last", path: "/a?j=2&k=1", param: "k", want: "1", wantOK: true},
		{name: "first of two", path: "/a?k=1&k=2", param: "k", want: "1", wantOK: true},
		{name: "empty value", path: "/a?k=&j=2", param: "k", want: "", wantOK: true},
		{name: "no equals", path: "/a?k&j=2", param: "k", want: "", wantOK: true},
		{name: "absent", path: "/a?kk=1", param: "k"},
		{name: "prefix is not a match", path: "/a?key=1", param: "k"},
		{name: "percent and plus decoded", path: "/a?k=a%2Bb+c%3D", param: "k", want: "a+b c=", wantOK: true},
		{name: "encoded name", path: "/a?api%5Fkey=x", param: "api_key", want: "x", wantOK: true},
		{name: "broken escape kept", path: "/a?k=50%", param: "k", want: "50%", wantOK: true},
		{name: "empty pairs", path: "/a?&&k=v&", param: "k", want: "v", wantOK: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := QueryParam(tc.path, tc.param)
			if got != tc.want || ok != tc.wantOK {
				t.Errorf("QueryParam(%q, %q) = %q, %v; want %q, %v", tc.path, tc.param, got, ok, tc.want, tc.wantOK)
			}
		})
	}
}

func TestWithoutQueryParam(t *testing.T) {
	tests := []struct{ name, path, param, want string }{
		{name: "no query", path: "/a", param: "k", want: "/a"},
		{name: "only param", path: "/a?k=1", param: "k", want: "/a"},
		{name: "first", path: "/a?k=1&j=2", param: "k", want: "/a?j=2"},
		{name: "middle and repeated", path: "/a?x=%20&k=1&j=2&k=3", param: "k", want: "/a?x=%20&j=2"},
		{name: "encoded name", path: "/a?api%5Fkey=1&j", param: "api_key", want: "/a?j"},
		{name: "absent", path: "/a?kk=1", param: "k", want: "/a?kk=1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := WithoutQueryParam(tc.path, tc.param); got != tc.want {
				t.Errorf("WithoutQueryParam(%q, %q) = %q; want %q", tc.path, tc.param, got, tc.want)
			}
		})
	}
}

func TestCookieValue(t *testing.T) {
	tests := []struct {
		name, header, cookie, want string
		wantOK                     bool
	}{
		{name: "only", header: "jwt=abc", cookie: "jwt", want: "abc", wantOK: true},
		{name: "among others", header: "a=1; jwt=abc; b=2", cookie: "jwt", want: "abc", wantOK: true},
		{name: "no spaces", header: "a=1;jwt=abc", cookie: "jwt", want: "abc", wantOK: true},
		{name: "quoted", header: `jwt="abc"`, cookie: "jwt", want: "abc", wantOK: true},
		{name: "value with equals", header: "jwt=a=b", cookie: "jwt", want: "a=b", wantOK: true},
		{name: "absent", header: "a=1; jwtx=2", cookie: "jwt"},
		{name: "no value part", header: "jwt; a=1", cookie: "jwt"},
		{name: "empty", header: "", cookie: "jwt"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := CookieValue(tc.header, tc.cookie)
			if got != tc.want || ok != tc.wantOK {
				t.Errorf("CookieValue(%q, %q) = %q, %v; want %q, %v", tc.header, tc.cookie, got, ok, tc.want, tc.wantOK)
			}
		})
	}
}

func TestQueryParamAllocs(t *testing.T) {
	n := testing.AllocsPerRun(100, func() {
		if v, ok := QueryParam("/api/x?a=1&api_key=secret&b=2", "api_key"); !ok || v != "secret" {
			t.Fatal("not found")
		}
	})
	if n != 0 {
		t.Errorf("QueryParam allocates %v times without escapes; want 0", n)
	}
}

// FuzzQueryParam checks QueryParam and WithoutQueryParam against net/url on
// queries net/url accepts.
func FuzzQueryParam(f *testing.F) {
	for _, s := range []string{"/?k=1", "/a?k=1&k=2", "/a?x=%20&k=a+b", "/a?%6b=v", "/a?k", "/a?=&k=%zz"} {
		f.Add(s, "k")
	}
	f.Fuzz(func(t *testing.T, path, name string) {
		got, ok := QueryParam(path, name)
		rest := WithoutQueryParam(path, name)
		if _, still := QueryParam(rest, name); still {
			t.Fatalf("WithoutQueryParam(%q, %q) = %q still has it", path, name, rest)
		}
		if !ok && rest != path {
			t.Fatalf("WithoutQueryParam(%q, %q) = %q changed a path without it", path, name, rest)
		}
		_, query, _ := strings.Cut(path, "?")
		vals, err := url.ParseQuery(query)
		if err != nil || strings.Contains(query, ";") {
			return
		}
		want, wantOK := "", false
		if vs, found := vals[name]; found {
			want, wantOK = vs[0], true
		}
		if got != want || ok != wantOK {
			t.Fatalf("QueryParam(%q, %q) = %q, %v; net/url says %q, %v", path, name, got, ok, want, wantOK)
		}
	})
}

// FuzzCookieValue checks that CookieValue never panics and that what it
// finds was in the header.
func FuzzCookieValue(f *testing.F) {
	for _, s := range []string{"a=1; b=2", `jwt="x"`, ";;=;", "jwt=="} {
		f.Add(s, "jwt")
	}
	f.Fuzz(func(t *testing.T, header, name string) {
		if v, ok := CookieValue(header, name); ok && !strings.Contains(header, v) {
			t.Fatalf("CookieValue(%q, %q) = %q, not in the header", header, name, v)
		}
	})
}
