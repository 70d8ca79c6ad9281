package main

import (
	"net/url"
	"strings"
	"testing"

	"github.com/sluice-proxy/sluice/sdk"
	"github.com/sluice-proxy/sluice/sdk/sdktest"
)

func TestRefererRestriction(t *testing.T) {
	const list = `"referer_list":["GitHub.com","*.Bing.CN "," [::1]"]`
	tests := []struct {
		name, config, referer string
		refused               bool
	}{
		{name: "deny: exact host", config: `{"type":"deny",` + list + `}`, referer: "https://github.com/", refused: true},
		{name: "deny: case and port ignored", config: `{"type":"deny",` + list + `}`, referer: "http://user@GITHUB.com:8080/x?y", refused: true},
		{name: "deny: suffix", config: `{"type":"deny",` + list + `}`, referer: "https://a.b.bing.cn/q", refused: true},
		{name: "deny: the suffix's own domain is not under it", config: `{"type":"deny",` + list + `}`, referer: "https://bing.cn/"},
		{name: "deny: other host passes", config: `{"type":"deny",` + list + `}`, referer: "https://google.com/"},
		{name: "deny: subdomain of an exact entry passes", config: `{"type":"deny",` + list + `}`, referer: "https://gist.github.com/"},
		{name: "deny: missing referer passes", config: `{"type":"deny",` + list + `}`},
		{name: "deny: ipv6 literal", config: `{"type":"deny",` + list + `}`, referer: "http://[::1]:8080/", refused: true},
		{name: "allow: listed passes", config: `{` + list + `}`, referer: "https://github.com/vicanso"},
		{name: "allow: unlisted refused", config: `{` + list + `}`, referer: "https://evil.com/github.com", refused: true},
		{name: "allow: missing referer refused", config: `{"type":"allow",` + list + `}`, refused: true},
		{name: "allow: not a URL refused", config: `{` + list + `}`, referer: "github.com", refused: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := sdktest.Start(t, tc.config)
			s := h.NewStream()
			var extra []string
			if tc.referer != "" {
				extra = []string{"referer", tc.referer}
			}
			a := s.SendRequestHeaders(sdktest.Get("/", extra...), true)
			lr := s.LocalResponse()
			if !tc.refused {
				if a != sdk.Continue || lr != nil {
					t.Fatalf("action %v, response %+v; want to pass", a, lr)
				}
				return
			}
			if a != sdk.Pause || lr == nil || lr.Status != 403 || string(lr.Body) != "Request is forbidden" {
				t.Fatalf("action %v, response %+v; want 403", a, lr)
			}
		})
	}
}

func TestMessage(t *testing.T) {
	h := sdktest.Start(t, `{"referer_list":["a.com"],"type":"deny","message":"no hotlinking"}`)
	s := h.NewStream()
	s.SendRequestHeaders(sdktest.Get("/", "referer", "https://a.com/"), true)
	if lr := s.LocalResponse(); lr == nil || string(lr.Body) != "no hotlinking" {
		t.Fatalf("response %+v", lr)
	}
}

func TestRefererHost(t *testing.T) {
	tests := []struct{ in, want string }{
		{"https://Example.COM/a", "example.com"},
		{"http://u:p@h.io:81?x", "h.io"},
		{"https://h.io#frag", "h.io"},
		{"android-app://com.example.app/", "com.example.app"},
		{"http://[2001:DB8::1]:80/", "[2001:db8::1]"},
		{"//h.io/a", ""},
		{"h.io/a", ""},
		{"1http://h.io/", ""},
		{"http://[::1/", ""},
		{"", ""},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			if got := refererHost(tc.in); got != tc.want {
				t.Errorf("refererHost(%q) = %q; want %q", tc.in, got, tc.want)
			}
		})
	}
}

// FuzzRefererHost compares refererHost with net/url on the URLs net/url
// accepts as absolute with a host.
func FuzzRefererHost(f *testing.F) {
	for _, s := range []string{"https://a.b/c", "http://u@h:1/", "x://[::1]/", "http://h?#", "ftp://h.io"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := refererHost(s)
		u, err := url.Parse(s)
		if err != nil || u.Scheme == "" || u.Host == "" || u.Opaque != "" || strings.ContainsAny(s, " \t\\%") {
			return
		}
		want := strings.ToLower(u.Hostname())
		if strings.Contains(want, ":") && !strings.HasPrefix(u.Host, "[") {
			return // "a://::": net/url keeps a malformed host; refererHost has none
		}
		if strings.HasPrefix(u.Host, "[") {
			want = "[" + want + "]"
		}
		if got != want {
			t.Fatalf("refererHost(%q) = %q; net/url says %q", s, got, want)
		}
	})
}

func TestRefererRestrictionBadConfig(t *testing.T) {
	tests := []struct{ name, config, want string }{
		{"list required", `{}`, `key "referer_list": required`},
		{"list empty", `{"referer_list":[]}`, `key "referer_list": must list at least one host`},
		{"bare star", `{"referer_list":["*"]}`, `key "referer_list[0]": want a host or *.suffix, got "*"`},
		{"url instead of host", `{"referer_list":["https://a.com/"]}`, `key "referer_list[0]": want a host or *.suffix`},
		{"type", `{"referer_list":["a.com"],"type":"denied"}`, `key "type": want "allow" or "deny", got "denied"`},
		{"unknown", `{"referer_list":["a.com"],"referers":[]}`, `unknown key "referers"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := sdktest.New(t).Configure(tc.config)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Configure(%s) = %v; want %q", tc.config, err, tc.want)
			}
		})
	}
}
