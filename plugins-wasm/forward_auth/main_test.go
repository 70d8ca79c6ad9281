package main

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/sluice-proxy/sluice/sdk"
	"github.com/sluice-proxy/sluice/sdk/sdktest"
)

// send starts a request through the plugin and returns the stream and the
// subrequest it made.
func send(t *testing.T, h *sdktest.Host, headers [][2]string) (*sdktest.Stream, *sdktest.Call) {
	t.Helper()
	s := h.NewStream()
	s.SetProperty("sluice.client_ip", []byte("203.0.113.9"))
	if a := s.SendRequestHeaders(headers, true); a != sdk.Pause {
		t.Fatalf("action %v; want Pause while the auth service is asked", a)
	}
	calls := h.HTTPCalls()
	if len(calls) != 1 {
		t.Fatalf("%d subrequests; want 1", len(calls))
	}
	return s, calls[0]
}

func TestForwardAuthSubrequest(t *testing.T) {
	tests := []struct {
		name         string
		config       string
		wantUpstream string
		wantHeaders  [][2]string
		wantTimeout  time.Duration
	}{
		{name: "all headers", config: `{"auth_url":"http://auth/verify?realm=a"}`, wantUpstream: "auth",
			wantTimeout: 10 * time.Second,
			wantHeaders: [][2]string{
				{":method", "GET"}, {":path", "/verify?realm=a"}, {":authority", "auth"}, {":scheme", "http"},
				{"cookie", "sid=1"}, {"authorization", "Bearer t"}, {"x-custom", "a"}, {"x-custom", "b"},
				{"x-forwarded-method", "POST"}, {"x-forwarded-proto", "https"}, {"x-forwarded-host", "shop.example"},
				{"x-forwarded-uri", "/cart?id=7"}, {"x-forwarded-for", "203.0.113.9"},
			}},
		{name: "chosen headers, upstream and timeout", config: `{"auth_url":"https://10.0.0.1:9000","upstream":"authsvc",` +
			`"request_headers":["Cookie","X-Custom","X-Forwarded-For"],"timeout":"250ms"}`, wantUpstream: "authsvc",
			wantTimeout: 250 * time.Millisecond,
			wantHeaders: [][2]string{
				{":method", "GET"}, {":path", "/"}, {":authority", "10.0.0.1:9000"}, {":scheme", "https"},
				{"cookie", "sid=1"}, {"x-custom", "a"}, {"x-custom", "b"},
				{"x-forwarded-method", "POST"}, {"x-forwarded-proto", "https"}, {"x-forwarded-host", "shop.example"},
				{"x-forwarded-uri", "/cart?id=7"}, {"x-forwarded-for", "203.0.113.9"},
			}},
		{name: "url port names no upstream", config: `{"auth_url":"http://auth:8080?x"}`, wantUpstream: "auth",
			wantTimeout: 10 * time.Second,
			wantHeaders: [][2]string{
				{":method", "GET"}, {":path", "/?x"}, {":authority", "auth:8080"}, {":scheme", "http"},
				{"cookie", "sid=1"}, {"authorization", "Bearer t"}, {"x-custom", "a"}, {"x-custom", "b"},
				{"x-forwarded-method", "POST"}, {"x-forwarded-proto", "https"}, {"x-forwarded-host", "shop.example"},
				{"x-forwarded-uri", "/cart?id=7"}, {"x-forwarded-for", "203.0.113.9"},
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := sdktest.Start(t, tc.config)
			req := [][2]string{
				{":method", "POST"}, {":path", "/cart?id=7"}, {":authority", "shop.example"}, {":scheme", "https"},
				{"cookie", "sid=1"}, {"authorization", "Bearer t"}, {"content-length", "5"}, {"connection", "keep-alive"},
				{"x-custom", "a"}, {"x-custom", "b"}, {"x-forwarded-uri", "/forged"}, {"x-forwarded-for", "6.6.6.6"},
				{"transfer-encoding", "chunked"},
			}
			_, call := send(t, h, req)
			if call.Upstream != tc.wantUpstream || call.Timeout != tc.wantTimeout || len(call.Body) != 0 {
				t.Errorf("subrequest to %q, timeout %v, body %q; want %q, %v, none", call.Upstream, call.Timeout, call.Body, tc.wantUpstream, tc.wantTimeout)
			}
			if !reflect.DeepEqual(call.Headers, tc.wantHeaders) {
				t.Errorf("subrequest headers\n%q\nwant\n%q", call.Headers, tc.wantHeaders)
			}
		})
	}
}

func TestForwardAuthAnswers(t *testing.T) {
	config := `{"auth_url":"http://auth/verify","add_headers":["X-User","X-Roles"]}`
	tests := []struct {
		name        string
		answer      [][2]string
		body        string
		fail        bool
		wantStatus  int // 0: passed on
		wantBody    string
		wantHeaders [][2]string // of the local response
		wantUser    []string    // X-User values upstream
		wantRoles   []string
	}{
		{name: "2xx copies add_headers", answer: sdktest.Response(200, "X-User", "alice", "X-Roles", "a", "X-Roles", "b", "X-Other", "no"),
			wantUser: []string{"alice"}, wantRoles: []string{"a", "b"}},
		{name: "2xx without a header removes the forged one", answer: sdktest.Response(204, "X-User", "alice"),
			wantUser: []string{"alice"}},
		{name: "401 relayed", answer: sdktest.Response(401, "WWW-Authenticate", `Bearer realm="x"`, "Content-Length", "6", "Connection", "close"),
			body: "denied", wantStatus: 401, wantBody: "denied",
			wantHeaders: [][2]string{{"www-authenticate", `Bearer realm="x"`}}},
		{name: "redirect relayed", answer: sdktest.Response(302, "Location", "/login", "Set-Cookie", "a=1"),
			wantStatus: 302, wantHeaders: [][2]string{{"location", "/login"}, {"set-cookie", "a=1"}}},
		{name: "3xx is not success", answer: sdktest.Response(304), wantStatus: 304, wantHeaders: [][2]string{}},
		{name: "failure is 502", fail: true, wantStatus: 502, wantBody: "Auth service unavailable",
			wantHeaders: [][2]string{{"content-type", "text/plain; charset=utf-8"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := sdktest.Start(t, config)
			s, call := send(t, h, sdktest.Get("/", "X-User", "forged", "X-Roles", "admin"))
			if tc.fail {
				call.Fail()
			} else {
				call.Respond(tc.answer, []byte(tc.body), nil)
			}
			lr := s.LocalResponse()
			if tc.wantStatus == 0 {
				if lr != nil || s.Resumed(0) != 1 {
					t.Fatalf("response %+v, resumed %d; want the request resumed", lr, s.Resumed(0))
				}
				var user, roles []string
				for _, kv := range s.RequestHeaders() {
					switch kv[0] {
					case "x-user":
						user = append(user, kv[1])
					case "x-roles":
						roles = append(roles, kv[1])
					}
				}
				if !reflect.DeepEqual(user, tc.wantUser) || !reflect.DeepEqual(roles, tc.wantRoles) {
					t.Errorf("upstream X-User %q, X-Roles %q; want %q, %q", user, roles, tc.wantUser, tc.wantRoles)
				}
				return
			}
			if lr == nil || lr.Status != tc.wantStatus || string(lr.Body) != tc.wantBody {
				t.Fatalf("response %+v; want %d %q", lr, tc.wantStatus, tc.wantBody)
			}
			if len(lr.Headers) != len(tc.wantHeaders) || len(tc.wantHeaders) > 0 && !reflect.DeepEqual(lr.Headers, tc.wantHeaders) {
				t.Errorf("response headers %q; want %q", lr.Headers, tc.wantHeaders)
			}
		})
	}
}

func TestForwardAuthUnknownUpstream(t *testing.T) {
	h := sdktest.Start(t, `{"auth_url":"http://nowhere/verify"}`, sdktest.WithUpstreams("auth"))
	for range 2 {
		s := h.NewStream()
		s.SendRequestHeaders(sdktest.Get("/"), true)
		if lr := s.LocalResponse(); lr == nil || lr.Status != 502 {
			t.Fatalf("response %+v; want 502", lr)
		}
	}
	if msgs := h.LogMessages(sdk.LevelError); len(msgs) != 1 || !strings.Contains(msgs[0], `upstream "nowhere"`) {
		t.Errorf("errors logged %q; want one naming the upstream", msgs)
	}
}

func TestForwardAuthClientGone(t *testing.T) {
	h := sdktest.Start(t, `{"auth_url":"http://auth/verify"}`)
	s, call := send(t, h, sdktest.Get("/"))
	s.Complete()
	call.Respond(sdktest.Response(401), nil, nil)
	if msgs := h.LogMessages(sdk.LevelWarn); len(msgs) != 0 {
		t.Errorf("logged %q; a client that went away is not an error", msgs)
	}
}

func TestForwardAuthSourceAddress(t *testing.T) {
	h := sdktest.Start(t, `{"auth_url":"http://auth/verify"}`)
	s := h.NewStream()
	s.SetProperty("source.address", []byte("[2001:db8::5]:4000"))
	s.SendRequestHeaders(sdktest.Get("/"), true)
	if got := h.HTTPCalls()[0].Header("x-forwarded-for"); got != "2001:db8::5" {
		t.Errorf("X-Forwarded-For %q; want the peer address", got)
	}
}

func TestForwardAuthBadConfig(t *testing.T) {
	tests := []struct{ name, config, want string }{
		{name: "no auth_url", config: `{}`, want: `key "auth_url": required`},
		{name: "not http", config: `{"auth_url":"ftp://auth/x"}`, want: `key "auth_url": want an http:// or https:// URL`},
		{name: "no scheme", config: `{"auth_url":"auth/x"}`, want: `key "auth_url"`},
		{name: "no host", config: `{"auth_url":"http:///x"}`, want: `key "auth_url": want a host`},
		{name: "user info", config: `{"auth_url":"http://u:s3cr3t@auth/x"}`, want: `key "auth_url": credentials in the URL are not supported`},
		{name: "empty upstream", config: `{"auth_url":"http://auth/x","upstream":""}`, want: `key "upstream": must not be empty`},
		{name: "request_headers", config: `{"auth_url":"http://auth/x","request_headers":["Bad Name"]}`, want: `key "request_headers[0]": "Bad Name" is not a valid header name`},
		{name: "add_headers", config: `{"auth_url":"http://auth/x","add_headers":"X-User"}`, want: `key "add_headers": want an array of strings`},
		{name: "timeout", config: `{"auth_url":"http://auth/x","timeout":"0s"}`, want: `key "timeout": must be more than 0`},
		{name: "timeout type", config: `{"auth_url":"http://auth/x","timeout":10}`, want: `key "timeout": want a duration`},
		{name: "step", config: `{"auth_url":"http://auth/x","step":"response"}`, want: `key "step": forward_auth runs at the request step`},
		{name: "unknown", config: `{"auth_url":"http://auth/x","add_header":[]}`, want: `unknown key "add_header" (did you mean "add_headers"?)`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := sdktest.New(t).Configure(tc.config)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Configure(%s) = %v; want %q", tc.config, err, tc.want)
			}
			if strings.Contains(err.Error(), "s3cr3t") {
				t.Errorf("error %q shows a password", err)
			}
		})
	}
}

// The subrequest costs three crossings of the Wasm boundary: the request
// headers (one read of the whole map), the client address, the call.
func TestForwardAuthHostCalls(t *testing.T) {
	h := sdktest.Start(t, `{"auth_url":"http://auth/verify"}`)
	s := h.NewStream()
	s.SetProperty("sluice.client_ip", []byte("203.0.113.9"))
	h.ResetHostCalls()
	s.SendRequestHeaders(sdktest.Get("/", "cookie", "a=1"), true)
	want := map[string]int{"proxy_get_header_map_pairs": 1, "proxy_get_property": 1, "proxy_http_call": 1}
	if got := h.HostCalls(); !reflect.DeepEqual(got, want) {
		t.Errorf("host calls %v; want %v", got, want)
	}
}
