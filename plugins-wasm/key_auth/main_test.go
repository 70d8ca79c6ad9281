package main

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/sluice-proxy/sluice/sdk"
	"github.com/sluice-proxy/sluice/sdk/sdktest"
)

const (
	headerConfig = `{"header":"X-Api-Key","keys":["k-123","k-456"]}`
	queryConfig  = `{"query":"api_key","keys":["k-123","k+4/56"]}`
)

func TestKeyAuth(t *testing.T) {
	tests := []struct {
		name     string
		config   string
		path     string
		headers  []string
		want     int // 0: passed on
		wantBody string
		wantPath string // :path upstream, when passed on ("" = unchanged)
		wantKey  string // the key header upstream, when passed on
	}{
		{name: "header", config: headerConfig, path: "/a", headers: []string{"x-api-key", "k-456"}, wantKey: "k-456"},
		{name: "header missing", config: headerConfig, path: "/a", want: 401, wantBody: "Key missing"},
		{name: "header empty", config: headerConfig, path: "/a", headers: []string{"x-api-key", ""}, want: 401, wantBody: "Key missing"},
		{name: "header wrong", config: headerConfig, path: "/a", headers: []string{"x-api-key", "k-12"}, want: 401, wantBody: "Key auth fail"},
		{name: "header wrong case", config: headerConfig, path: "/a", headers: []string{"x-api-key", "K-123"}, want: 401, wantBody: "Key auth fail"},
		{name: "key in the query is not the header", config: headerConfig, path: "/a?x-api-key=k-123", want: 401, wantBody: "Key missing"},
		{name: "header hidden", config: `{"header":"X-Api-Key","keys":["k-123"],"hide_credentials":true}`, path: "/a",
			headers: []string{"x-api-key", "k-123"}, wantKey: ""},
		{name: "query", config: queryConfig, path: "/a?b=1&api_key=k-123", wantPath: "/a?b=1&api_key=k-123"},
		{name: "query decoded", config: queryConfig, path: "/a?api_key=k%2B4%2F56", wantPath: "/a?api_key=k%2B4%2F56"},
		{name: "query missing", config: queryConfig, path: "/a?b=1", want: 401, wantBody: "Key missing"},
		{name: "query wrong", config: queryConfig, path: "/a?api_key=k-999", want: 401, wantBody: "Key auth fail"},
		{name: "query hidden", config: `{"query":"api_key","keys":["k-123"],"hide_credentials":true}`,
			path: "/a?b=1&api_key=k-123&c=2", wantPath: "/a?b=1&c=2"},
		{name: "query hidden, the only parameter", config: `{"query":"api_key","keys":["k-123"],"hide_credentials":true}`,
			path: "/a?api_key=k-123", wantPath: "/a"},
		{name: "query wins over header", config: `{"query":"api_key","header":"X-Api-Key","keys":["k-123"]}`,
			path: "/a", headers: []string{"x-api-key", "k-123"}, want: 401, wantBody: "Key missing"},
		{name: "proxy_upstream step", config: `{"step":"proxy_upstream","header":"X-Api-Key","keys":["k-123"]}`, path: "/a",
			headers: []string{"x-api-key", "k-123"}, wantKey: "k-123"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := sdktest.Start(t, tc.config)
			s := h.NewStream()
			a := s.SendRequestHeaders(sdktest.Get(tc.path, tc.headers...), true)
			lr := s.LocalResponse()
			if tc.want == 0 {
				if a != sdk.Continue || lr != nil {
					t.Fatalf("action %v, response %+v; want the request passed on", a, lr)
				}
				want := tc.wantPath
				if want == "" {
					want = tc.path
				}
				if got := s.RequestHeader(":path"); got != want {
					t.Errorf("upstream :path = %q; want %q", got, want)
				}
				if got := s.RequestHeader("x-api-key"); got != tc.wantKey {
					t.Errorf("upstream X-Api-Key = %q; want %q", got, tc.wantKey)
				}
				return
			}
			if lr == nil || lr.Status != tc.want || string(lr.Body) != tc.wantBody {
				t.Fatalf("response %+v; want %d %q", lr, tc.want, tc.wantBody)
			}
		})
	}
}

func TestKeyAuthDelay(t *testing.T) {
	h := sdktest.Start(t, `{"header":"X-Api-Key","keys":["k-123"],"delay":"500ms"}`)
	bad := h.NewStream()
	if a := bad.SendRequestHeaders(sdktest.Get("/", "x-api-key", "guess"), true); a != sdk.Pause || bad.LocalResponse() != nil {
		t.Fatalf("wrong key: action %v, response %+v; want Pause and no answer yet", a, bad.LocalResponse())
	}
	missing := h.NewStream()
	missing.SendRequestHeaders(sdktest.Get("/"), true)
	if lr := missing.LocalResponse(); lr == nil || string(lr.Body) != "Key missing" {
		t.Fatalf("missing key: response %+v; want 401 at once", lr)
	}
	good := h.NewStream()
	if a := good.SendRequestHeaders(sdktest.Get("/", "x-api-key", "k-123"), true); a != sdk.Continue {
		t.Fatalf("good key: action %v; want Continue at once", a)
	}
	h.Advance(450 * time.Millisecond)
	if bad.LocalResponse() != nil {
		t.Fatal("wrong key answered before the delay")
	}
	h.Advance(75 * time.Millisecond)
	if lr := bad.LocalResponse(); lr == nil || lr.Status != 401 || string(lr.Body) != "Key auth fail" {
		t.Fatalf("after the delay: response %+v; want 401 Key auth fail", lr)
	}
	for _, l := range h.Logs() {
		if strings.Contains(l.Message, "k-123") || strings.Contains(l.Message, "guess") {
			t.Errorf("log %q contains a key", l.Message)
		}
	}
}

func TestKeyAuthBadConfig(t *testing.T) {
	tests := []struct{ name, config, want string }{
		{name: "no header nor query", config: `{"keys":["k"]}`, want: `key "header": set header or query`},
		{name: "bad header", config: `{"header":"X Key","keys":["k"]}`, want: `key "header": "X Key" is not a valid header name`},
		{name: "no keys", config: `{"header":"X-Key"}`, want: `key "keys": required`},
		{name: "empty keys", config: `{"header":"X-Key","keys":[]}`, want: `key "keys": must not be empty`},
		{name: "empty key", config: `{"header":"X-Key","keys":["a",""]}`, want: `key "keys[1]": must not be empty`},
		{name: "keys type", config: `{"header":"X-Key","keys":[1]}`, want: `key "keys[0]": want a string`},
		{name: "delay", config: `{"header":"X-Key","keys":["k"],"delay":"1 sec"}`, want: `key "delay": invalid duration`},
		{name: "negative delay", config: `{"header":"X-Key","keys":["k"],"delay":"-5s"}`, want: `key "delay": invalid duration`},
		{name: "hide_credentials", config: `{"header":"X-Key","keys":["k"],"hide_credentials":1}`, want: `key "hide_credentials"`},
		{name: "step", config: `{"header":"X-Key","keys":["k"],"step":"response"}`, want: `key "step": key_auth runs at the "request" or "proxy_upstream" step`},
		{name: "unknown", config: `{"header":"X-Key","key":["k"]}`, want: `unknown key "key"`},
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

// A request that passes costs one crossing of the Wasm boundary: reading
// the key's header, or the path.
func TestKeyAuthHostCalls(t *testing.T) {
	tests := []struct{ name, config, path, header string }{
		{name: "header", config: headerConfig, path: "/", header: "k-123"},
		{name: "query", config: queryConfig, path: "/?api_key=k-123"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := sdktest.Start(t, tc.config)
			s := h.NewStream()
			h.ResetHostCalls()
			s.SendRequestHeaders(sdktest.Get(tc.path, "x-api-key", tc.header), true)
			if got, want := h.HostCalls(), map[string]int{"proxy_get_header_map_value": 1}; !reflect.DeepEqual(got, want) {
				t.Errorf("host calls %v; want %v", got, want)
			}
		})
	}
}
