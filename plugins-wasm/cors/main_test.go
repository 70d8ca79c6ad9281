package main

import (
	"slices"
	"strings"
	"testing"

	"github.com/sluice-proxy/sluice/sdk"
	"github.com/sluice-proxy/sluice/sdk/sdktest"
)

const full = `"path":"^/api","allow_methods":"GET","allow_origin":"$http_origin","allow_credentials":true,` +
	`"allow_headers":"Content-Type, X-User-Id","expose_headers":"Content-Encoding, Kuma-Revision","max_age":"60m"`

func TestPreflight(t *testing.T) {
	tests := []struct {
		name, config string
		headers      []string
		want         [][2]string // nil: not answered
	}{
		{
			name: "mirrored origin with everything", config: `{` + full + `}`,
			headers: []string{"origin", "https://pingap.io", "access-control-request-method", "POST"},
			want: [][2]string{
				{"access-control-allow-origin", "https://pingap.io"},
				{"access-control-allow-methods", "GET"},
				{"access-control-allow-headers", "Content-Type, X-User-Id"},
				{"access-control-max-age", "3600"},
				{"access-control-allow-credentials", "true"},
				{"access-control-expose-headers", "Content-Encoding, Kuma-Revision"},
				{"vary", "Origin"},
			},
		},
		{
			name: "defaults", config: `{}`, headers: []string{"origin", "https://a.example"},
			want: [][2]string{
				{"access-control-allow-origin", "*"},
				{"access-control-allow-methods", "GET, POST, PUT, PATCH, DELETE, OPTIONS"},
				{"access-control-max-age", "3600"},
			},
		},
		{
			name: "literal origin answers without Origin too (Pingap)", config: `{"allow_origin":"https://app.example","max_age":"0"}`,
			want: [][2]string{
				{"access-control-allow-origin", "https://app.example"},
				{"access-control-allow-methods", "GET, POST, PUT, PATCH, DELETE, OPTIONS"},
			},
		},
		{name: "mirror needs an Origin to mirror", config: `{` + full + `}`, headers: []string{"x-user", "1"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := sdktest.Start(t, tc.config)
			s := h.NewStream()
			a := s.SendRequestHeaders(sdktest.Request("OPTIONS", "/api/pingap?size=1", "example.com", tc.headers...), true)
			lr := s.LocalResponse()
			if tc.want == nil {
				if a != sdk.Continue || lr != nil {
					t.Fatalf("action %v, response %+v; want to pass", a, lr)
				}
				return
			}
			if a != sdk.Pause || lr == nil || lr.Status != 204 {
				t.Fatalf("action %v, response %+v; want 204", a, lr)
			}
			if got := lr.Pairs(); !slices.Equal(got[1:], tc.want) || got[0] != [2]string{":status", "204"} {
				t.Errorf("headers\n got %q\nwant %q", got, tc.want)
			}
			// The preflight's own response passes back through the
			// plugin, which leaves it alone.
			s.SendResponseHeaders(lr.Pairs(), true)
			if got := s.ResponseHeaders(); !slices.Equal(got, lr.Pairs()) {
				t.Errorf("response headers after the response phase %q; want them unchanged", got)
			}
		})
	}
}

func TestActualRequest(t *testing.T) {
	tests := []struct {
		name, config, path string
		origin             string
		upstream           []string // response headers from the upstream
		want               map[string][]string
	}{
		{
			name: "mirrored, upstream Vary kept", config: `{` + full + `}`, path: "/api/x", origin: "https://pingap.io",
			upstream: []string{"vary", "Accept-Encoding", "access-control-allow-origin", "https://stale"},
			want: map[string][]string{
				"access-control-allow-origin":      {"https://pingap.io"},
				"access-control-allow-credentials": {"true"},
				"access-control-expose-headers":    {"Content-Encoding, Kuma-Revision"},
				"vary":                             {"Accept-Encoding", "Origin"},
				"access-control-allow-methods":     nil,
				"access-control-max-age":           nil,
			},
		},
		{
			name: "Vary that covers Origin is not repeated", config: `{` + full + `}`, path: "/api/x", origin: "https://a",
			upstream: []string{"vary", "accept-encoding, origin"},
			want:     map[string][]string{"vary": {"accept-encoding, origin"}},
		},
		{
			name: "literal origin: no Vary", config: `{}`, path: "/x", origin: "https://a",
			want: map[string][]string{"access-control-allow-origin": {"*"}, "vary": nil},
		},
		{
			name: "no Origin: no headers", config: `{}`, path: "/x",
			want: map[string][]string{"access-control-allow-origin": nil},
		},
		{
			name: "path not matching: no headers", config: `{` + full + `}`, path: "/web/api", origin: "https://a",
			want: map[string][]string{"access-control-allow-origin": nil},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := sdktest.Start(t, tc.config)
			s := h.NewStream()
			var extra []string
			if tc.origin != "" {
				extra = []string{"origin", tc.origin}
			}
			if a := s.SendRequestHeaders(sdktest.Request("GET", tc.path, "example.com", extra...), true); a != sdk.Continue {
				t.Fatalf("action %v; want Continue", a)
			}
			s.SendResponseHeaders(sdktest.Response(200, tc.upstream...), true)
			for name, want := range tc.want {
				var got []string
				for _, kv := range s.ResponseHeaders() {
					if kv[0] == name {
						got = append(got, kv[1])
					}
				}
				if !slices.Equal(got, want) {
					t.Errorf("%s = %q; want %q", name, got, want)
				}
			}
			s.Complete()
		})
	}
}

// A preflight on a path outside the regex goes to the upstream.
func TestPreflightOtherPath(t *testing.T) {
	h := sdktest.Start(t, `{"path":"^/api"}`)
	s := h.NewStream()
	if a := s.SendRequestHeaders(sdktest.Request("OPTIONS", "/static/a.js", "example.com", "origin", "https://a"), true); a != sdk.Continue {
		t.Fatalf("action %v; want Continue", a)
	}
}

func TestEnvironmentOrigin(t *testing.T) {
	t.Setenv("CORS_ORIGIN", "https://env.example")
	h := sdktest.Start(t, `{"allow_origin":"$CORS_ORIGIN"}`)
	s := h.NewStream()
	s.SendRequestHeaders(sdktest.Request("OPTIONS", "/", "example.com"), true)
	if got := s.LocalResponse().Header("access-control-allow-origin"); got != "https://env.example" {
		t.Errorf("allow-origin %q", got)
	}
}

// Streams that end before their response leave nothing behind.
func TestAbandonedStream(t *testing.T) {
	var p *plugin
	sdk.Register(func(cfg []byte) (sdk.Plugin, error) {
		pl, err := newCORS(cfg)
		p, _ = pl.(*plugin)
		return pl, err
	})
	t.Cleanup(func() { sdk.Register(newCORS) })
	h := sdktest.Start(t, `{}`)
	for range 10 {
		s := h.NewStream()
		s.SendRequestHeaders(sdktest.Request("GET", "/", "example.com", "origin", "https://a"), true)
		s.Complete()
	}
	if len(p.origins) != 0 {
		t.Errorf("%d streams still remembered", len(p.origins))
	}
}

func TestCORSBadConfig(t *testing.T) {
	tests := []struct{ name, config, want string }{
		{"bad path regex", `{"path":"^/api("}`, `key "path": error parsing regexp`},
		{"unset environment origin", `{"allow_origin":"$NO_SUCH_VARIABLE_X"}`, `key "allow_origin": environment variable "NO_SUCH_VARIABLE_X" is not set`},
		{"control character", `{"allow_headers":"a\nb"}`, `key "allow_headers": control characters`},
		{"bad max_age", `{"max_age":"1 hour"}`, `key "max_age": invalid duration`},
		{"credentials not a bool", `{"allow_credentials":"true"}`, `key "allow_credentials": want true or false`},
		{"unknown", `{"allow_origins":"*"}`, `unknown key "allow_origins" (did you mean "allow_origin"?)`},
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
