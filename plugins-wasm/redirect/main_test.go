package main

import (
	"strings"
	"testing"

	"github.com/sluice-proxy/sluice/sdk"
	"github.com/sluice-proxy/sluice/sdk/sdktest"
)

func TestRedirect(t *testing.T) {
	tests := []struct {
		name, config, scheme, path, host string
		status                           int // 0: passes
		location                         string
	}{
		{name: "http to https with prefix", config: `{"http_to_https":true,"prefix":"/api"}`,
			scheme: "http", path: "/vicanso/pingap?size=1", host: "github.com",
			status: 307, location: "https://github.com/api/vicanso/pingap?size=1"},
		{name: "prefix kept when there", config: `{"http_to_https":true,"prefix":"/api"}`,
			scheme: "http", path: "/api/vicanso?size=1", host: "github.com",
			status: 307, location: "https://github.com/api/vicanso?size=1"},
		{name: "https with prefix passes", config: `{"http_to_https":true,"prefix":"/api"}`,
			scheme: "https", path: "/api/x", host: "github.com"},
		{name: "https without prefix gets it", config: `{"http_to_https":true,"prefix":"api"}`,
			scheme: "https", path: "/x", host: "github.com:8443",
			status: 307, location: "https://github.com:8443/api/x"},
		{name: "https passes", config: `{"http_to_https":true,"status":301}`, scheme: "https", path: "/", host: "a.io"},
		{name: "301", config: `{"http_to_https":true,"status":301}`, scheme: "http", path: "/", host: "a.io",
			status: 301, location: "https://a.io/"},
		{name: "302", config: `{"http_to_https":true,"status":302}`, scheme: "http", path: "/", host: "a.io",
			status: 302, location: "https://a.io/"},
		{name: "303", config: `{"http_to_https":true,"status":303}`, scheme: "http", path: "/", host: "a.io",
			status: 303, location: "https://a.io/"},
		{name: "308", config: `{"http_to_https":true,"status":308}`, scheme: "http", path: "/", host: "a.io",
			status: 308, location: "https://a.io/"},
		{name: "false forces http (Pingap)", config: `{"prefix":"/v1"}`, scheme: "https", path: "/v1/x", host: "a.io",
			status: 307, location: "http://a.io/v1/x"},
		{name: "http with prefix passes", config: `{"prefix":"/v1"}`, scheme: "http", path: "/v1/x", host: "a.io"},
		{name: "one-character prefix is none", config: `{"prefix":"/"}`, scheme: "http", path: "/x", host: "a.io"},
		{name: "bad host refused", config: `{"http_to_https":true}`, scheme: "http", path: "/", host: "a.io/evil",
			status: 400},
		{name: "empty host refused", config: `{"http_to_https":true}`, scheme: "http", path: "/", host: "",
			status: 400},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := sdktest.Start(t, tc.config)
			s := h.NewStream()
			req := sdktest.Request("GET", tc.path, tc.host)
			req[3][1] = tc.scheme
			a := s.SendRequestHeaders(req, true)
			lr := s.LocalResponse()
			if tc.status == 0 {
				if a != sdk.Continue || lr != nil {
					t.Fatalf("action %v, response %+v; want to pass", a, lr)
				}
				return
			}
			if a != sdk.Pause || lr == nil || lr.Status != tc.status || lr.Header("location") != tc.location {
				t.Fatalf("action %v, response %+v; want %d to %q", a, lr, tc.status, tc.location)
			}
		})
	}
}

func TestRedirectBadConfig(t *testing.T) {
	tests := []struct{ name, config, want string }{
		{"status", `{"status":200}`, `key "status": want 301, 302, 303, 307 or 308, got 200`},
		{"status type", `{"status":"301"}`, `key "status": want an integer`},
		{"prefix with query", `{"prefix":"/a?b"}`, `key "prefix": want a path`},
		{"http_to_https type", `{"http_to_https":"yes"}`, `key "http_to_https": want true or false`},
		{"unknown", `{"http2https":true}`, `unknown key "http2https"`},
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
