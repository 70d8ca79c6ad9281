package sdk

import (
	"strings"
	"testing"
)

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
		{name: "empty pairs dropped only with a removal", path: "/a?&k=1&&j=2", param: "k", want: "/a?j=2"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := WithoutQueryParam(tc.path, tc.param); got != tc.want {
				t.Errorf("WithoutQueryParam(%q, %q) = %q; want %q", tc.path, tc.param, got, tc.want)
			}
		})
	}
}

// FuzzWithoutQueryParam checks that the parameter is gone afterwards, that
// nothing changes when it was not there, and that every other pair stays.
func FuzzWithoutQueryParam(f *testing.F) {
	for _, s := range []string{"/?k=1", "/a?k=1&k=2", "/a?x=%20&k=a+b", "/a?%6b=v", "/a?k", "/a?=&k=%zz", "/a"} {
		f.Add(s, "k")
	}
	f.Fuzz(func(t *testing.T, path, name string) {
		rest := WithoutQueryParam(path, name)
		_, query, _ := strings.Cut(rest, "?")
		if _, still := QueryValue(query, name); still {
			t.Fatalf("WithoutQueryParam(%q, %q) = %q still has it", path, name, rest)
		}
		_, orig, _ := strings.Cut(path, "?")
		if _, had := QueryValue(orig, name); !had && rest != path {
			t.Fatalf("WithoutQueryParam(%q, %q) = %q changed a path without it", path, name, rest)
		}
		for _, pair := range strings.Split(orig, "&") {
			k, _, _ := strings.Cut(pair, "=")
			if _, is := QueryValue(k, name); !is && pair != "" && !strings.Contains(query, pair) {
				t.Fatalf("WithoutQueryParam(%q, %q) = %q lost %q", path, name, rest, pair)
			}
		}
	})
}
