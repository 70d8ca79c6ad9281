package sdk

import "testing"

func TestParseUpstreamURL(t *testing.T) {
	tests := []struct {
		name, raw string
		want      UpstreamURL
		err       string
	}{
		{"path and query", "http://auth/check?x=1#frag", UpstreamURL{"http", "auth", "/check?x=1", "auth"}, ""},
		{"port", "https://keys:8443", UpstreamURL{"https", "keys:8443", "/", "keys"}, ""},
		{"query only", "http://a?b", UpstreamURL{"http", "a", "/?b", "a"}, ""},
		{"ipv6 literal keeps its brackets", "http://[::1]/x", UpstreamURL{"http", "[::1]", "/x", "[::1]"}, ""},
		{"scheme", "ftp://a/b", UpstreamURL{}, "want an http:// or https:// URL"},
		{"no host", "http:///x", UpstreamURL{}, "want a host, the name of an upstream"},
		{"credentials", "http://u:p@a/", UpstreamURL{}, "credentials in the URL are not supported; send them as headers"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseUpstreamURL(tc.raw)
			if tc.err != "" {
				if err == nil || err.Error() != tc.err {
					t.Fatalf("err = %v; want %q", err, tc.err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("ParseUpstreamURL(%q) = %+v, %v; want %+v", tc.raw, got, err, tc.want)
			}
		})
	}
}
