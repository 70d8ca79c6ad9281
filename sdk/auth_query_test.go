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
		{name: "truncated escape kept", path: "/a?k=%4", param: "k", want: "%4", wantOK: true},
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
		{name: "last", path: "/a?j=2&k=1", param: "k", want: "/a?j=2"},
		{name: "middle and repeated", path: "/a?x=%20&k=1&j=2&k=3", param: "k", want: "/a?x=%20&j=2"},
		{name: "without a value", path: "/a?k&j=2", param: "k", want: "/a?j=2"},
		{name: "encoded name", path: "/a?api%5Fkey=1&j", param: "api_key", want: "/a?j"},
		{name: "prefix is not a match", path: "/a?kk=1", param: "k", want: "/a?kk=1"},
		{name: "empty pairs dropped with a removal", path: "/a?&k=1&&j=2", param: "k", want: "/a?j=2"},
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
		{name: "first of two", header: "jwt=1; jwt=2", cookie: "jwt", want: "1", wantOK: true},
		{name: "quoted", header: `jwt="abc"`, cookie: "jwt", want: "abc", wantOK: true},
		{name: "empty value", header: "jwt=; a=1", cookie: "jwt", want: "", wantOK: true},
		{name: "value with equals", header: "jwt=a=b", cookie: "jwt", want: "a=b", wantOK: true},
		{name: "case-sensitive", header: "JWT=1", cookie: "jwt"},
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

// FuzzQueryParam checks QueryParam against net/url on the queries net/url
// accepts, and that WithoutQueryParam removes the parameter, and nothing
// when it is absent.
func FuzzQueryParam(f *testing.F) {
	for _, s := range []string{"/?k=1", "/a?k=1&k=2", "/a?x=%20&k=a+b", "/a?%6b=v", "/a?k", "/a?=&k=%zz", "/a"} {
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

// FuzzCookieValue checks that CookieValue never panics, that what it finds
// was in the header, and that a pair written the usual way is found.
func FuzzCookieValue(f *testing.F) {
	f.Add("sid", "abc", "other=1")
	f.Add("t", `"q"`, "")
	f.Add("jwt", "a=b", ";;=;")
	f.Fuzz(func(t *testing.T, name, value, before string) {
		if v, ok := CookieValue(before, name); ok && !strings.Contains(before, v) {
			t.Fatalf("CookieValue(%q, %q) = %q, not in the header", before, name, v)
		}
		if !IsToken(name) || strings.ContainsAny(value, ";\"") ||
			strings.TrimSpace(value) != value || strings.Contains(before, name+"=") || strings.Contains(before, name+" ") {
			return
		}
		header := name + "=" + value
		if before != "" {
			header = before + "; " + header
		}
		if got, ok := CookieValue(header, name); !ok || got != value {
			t.Fatalf("CookieValue(%q, %q) = %q, %v; want %q", header, name, got, ok, value)
		}
	})
}
