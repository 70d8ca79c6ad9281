package main

import (
	"strings"
	"testing"

	"github.com/sluice-proxy/sluice/sdk"
	"github.com/sluice-proxy/sluice/sdk/sdktest"
)

func TestResponseHeaders(t *testing.T) {
	tests := []struct {
		name     string
		config   string
		request  [][2]string
		response [][2]string
		want     [][2]string // the response headers after the plugin, :status first
	}{
		{name: "add appends",
			config:   `{"add_headers":["X-A: 1","X-A: 2"]}`,
			response: sdktest.Response(200, "x-a", "0"),
			want:     [][2]string{{":status", "200"}, {"x-a", "0"}, {"x-a", "1"}, {"x-a", "2"}}},
		{name: "remove",
			config:   `{"remove_headers":["Server","X-Powered-By"]}`,
			response: sdktest.Response(200, "server", "nginx", "x-powered-by", "php", "x-keep", "1"),
			want:     [][2]string{{":status", "200"}, {"x-keep", "1"}}},
		{name: "set replaces every value",
			config:   `{"set_headers":["Cache-Control: no-store"]}`,
			response: sdktest.Response(200, "cache-control", "a", "cache-control", "b"),
			want:     [][2]string{{":status", "200"}, {"cache-control", "no-store"}}},
		{name: "set if absent",
			config:   `{"set_headers_not_exists":["X-Frame-Options: DENY","Content-Type: text/plain"]}`,
			response: sdktest.Response(200, "content-type", "text/html"),
			want:     [][2]string{{":status", "200"}, {"content-type", "text/html"}, {"x-frame-options", "DENY"}}},
		{name: "rename moves every value",
			config:   `{"rename_headers":["X-Old: X-New"]}`,
			response: sdktest.Response(200, "x-old", "1", "x-old", "2"),
			want:     [][2]string{{":status", "200"}, {"x-new", "1"}, {"x-new", "2"}}},
		{name: "fixed order add remove set set-if-absent rename",
			config: `{"add_headers":["X-A: added"],"remove_headers":["X-A"],"set_headers":["X-B: set"],
				"set_headers_not_exists":["X-B: ignored","X-C: c"],"rename_headers":["X-B: X-D"]}`,
			response: sdktest.Response(200),
			want:     [][2]string{{":status", "200"}, {"x-c", "c"}, {"x-d", "set"}}},
		{name: "request variables",
			config:   `{"set_headers":["X-Host: $host","X-Scheme: $scheme","X-Agent: $http_user_agent","X-Missing: $http_x_none"]}`,
			request:  sdktest.Get("/", "user-agent", "curl/8"),
			response: sdktest.Response(200),
			want: [][2]string{{":status", "200"}, {"x-host", "example.com"}, {"x-scheme", "http"},
				{"x-agent", "curl/8"}, {"x-missing", "$http_x_none"}}},
		{name: "connection variables",
			config: `{"add_headers":["X-Remote: $remote_addr","X-Port: $remote_port","X-Server: $server_addr",
				"X-Server-Port: $server_port","X-Upstream: $upstream_addr","X-Node: $hostname","X-Fwd: $proxy_add_x_forwarded_for"]}`,
			request:  sdktest.Get("/", "x-forwarded-for", "1.1.1.1"),
			response: sdktest.Response(200),
			want: [][2]string{{":status", "200"}, {"x-remote", "10.0.0.1"}, {"x-port", "5000"}, {"x-server", "::1"},
				{"x-server-port", "8080"}, {"x-upstream", "10.0.0.9:80"}, {"x-node", "$hostname"}, {"x-fwd", "1.1.1.1, 10.0.0.1"}}},
		{name: "not a variable stays literal",
			config:   `{"set_headers":["X-Price: $5 off","X-Ctx: :location","X-Env: $SLUICE_TEST_UNSET_VARIABLE"]}`,
			response: sdktest.Response(200),
			want: [][2]string{{":status", "200"}, {"x-price", "$5 off"}, {"x-ctx", ":location"},
				{"x-env", "$SLUICE_TEST_UNSET_VARIABLE"}}},
		{name: "mode accepted", config: `{"mode":"upstream","add_headers":["X-A: 1"]}`, response: sdktest.Response(204),
			want: [][2]string{{":status", "204"}, {"x-a", "1"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := sdktest.Start(t, tc.config)
			s := h.NewStream()
			s.SetProperty("source.address", []byte("10.0.0.1:5000"))
			s.SetProperty("destination.address", []byte("[::1]:8080"))
			s.SetProperty("upstream.address", []byte("10.0.0.9:80"))
			req := tc.request
			if req == nil {
				req = sdktest.Get("/")
			}
			if a := s.SendRequestHeaders(req, true); a != sdk.Continue {
				t.Fatalf("request action %v", a)
			}
			if a := s.SendResponseHeaders(tc.response, true); a != sdk.Continue {
				t.Fatalf("response action %v", a)
			}
			if got := s.ResponseHeaders(); !equal(got, tc.want) {
				t.Errorf("response headers\n got %v\nwant %v", got, tc.want)
			}
			if errs := h.LogMessages(sdk.LevelError); len(errs) != 0 {
				t.Errorf("errors logged: %v", errs)
			}
			s.Complete()
		})
	}
}

func TestResponseHeadersEnv(t *testing.T) {
	t.Setenv("SLUICE_TEST_REGION", "eu-1")
	h := sdktest.Start(t, `{"set_headers":["X-Region: $SLUICE_TEST_REGION"]}`)
	s := h.NewStream()
	s.SendRequestHeaders(sdktest.Get("/"), true)
	s.SendResponseHeaders(sdktest.Response(200), true)
	if got := s.ResponseHeader("x-region"); got != "eu-1" {
		t.Errorf("x-region = %q; want eu-1", got)
	}
}

func TestLocalResponsePassesThrough(t *testing.T) {
	// A local response from a later plugin reaches this plugin's response
	// handler: the request headers callback may not even have run.
	h := sdktest.Start(t, `{"add_headers":["X-A: $host"]}`)
	s := h.NewStream()
	s.SendResponseHeaders(sdktest.Response(404), true)
	if got := s.ResponseHeader("x-a"); got != "$host" {
		t.Errorf("x-a = %q; want the literal (no request seen)", got)
	}
}

func equal(a, b [][2]string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestResponseHeadersBadConfig(t *testing.T) {
	tests := []struct{ name, config, want string }{
		{name: "add line", config: `{"add_headers":["X-A"]}`, want: `key "add_headers[0]": want "Name: value"`},
		{name: "set type", config: `{"set_headers":"X-A: 1"}`, want: `key "set_headers": want an array of strings`},
		{name: "remove name", config: `{"remove_headers":["bad name"]}`, want: `key "remove_headers[0]": "bad name" is not a valid header name`},
		{name: "rename target", config: `{"rename_headers":["X-A: bad name"]}`, want: `key "rename_headers[0]"`},
		{name: "mode", config: `{"mode":"sideways"}`, want: `key "mode"`},
		{name: "unknown", config: `{"add_header":["X-A: 1"]}`, want: `unknown key "add_header" (did you mean "add_headers"?)`},
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
