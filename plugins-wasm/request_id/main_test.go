package main

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sluice-proxy/sluice/sdk"
	"github.com/sluice-proxy/sluice/sdk/sdktest"
)

var (
	uuid7Pattern = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	nanoPattern  = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)
)

func TestRequestID(t *testing.T) {
	tests := []struct {
		name     string
		config   string
		incoming [][2]string
		header   string
		check    func(t *testing.T, id string)
	}{
		{name: "uuid v7 by default", config: `{}`, header: "x-request-id", check: func(t *testing.T, id string) {
			if !uuid7Pattern.MatchString(id) {
				t.Errorf("id %q is not a UUIDv7", id)
			}
			if !strings.HasPrefix(id, "01941f29-7c00-7") { // 2025-01-01T00:00:00Z is 0x01941f297c00 ms
				t.Errorf("id %q does not start with the timestamp", id)
			}
		}},
		{name: "explicit uuid", config: `{"algorithm":"uuid"}`, header: "x-request-id", check: func(t *testing.T, id string) {
			if !uuid7Pattern.MatchString(id) {
				t.Errorf("id %q is not a UUIDv7", id)
			}
		}},
		{name: "nanoid default size", config: `{"algorithm":"nanoid"}`, header: "x-request-id", check: func(t *testing.T, id string) {
			if len(id) != 8 || !nanoPattern.MatchString(id) {
				t.Errorf("id %q; want 8 URL-safe characters", id)
			}
		}},
		{name: "nanoid size", config: `{"algorithm":"nanoid","size":21}`, header: "x-request-id", check: func(t *testing.T, id string) {
			if len(id) != 21 || !nanoPattern.MatchString(id) {
				t.Errorf("id %q; want 21 URL-safe characters", id)
			}
		}},
		{name: "header name", config: `{"header_name":"X-Trace"}`, header: "x-trace", check: func(t *testing.T, id string) {
			if !uuid7Pattern.MatchString(id) {
				t.Errorf("id %q", id)
			}
		}},
		{name: "incoming id kept", config: `{}`, incoming: [][2]string{{"X-Request-Id", "abc"}}, header: "x-request-id",
			check: func(t *testing.T, id string) {
				if id != "abc" {
					t.Errorf("id %q; want the client's abc", id)
				}
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := sdktest.Start(t, tc.config, sdktest.WithNow(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)))
			s := h.NewStream()
			req := sdktest.Get("/")
			req = append(req, tc.incoming...)
			if a := s.SendRequestHeaders(req, true); a != sdk.Continue {
				t.Fatalf("action %v", a)
			}
			up := s.RequestHeader(tc.header)
			tc.check(t, up)
			s.SendResponseHeaders(sdktest.Response(200), true)
			if got := s.ResponseHeader(tc.header); got != up {
				t.Errorf("response %s = %q; want the request's %q", tc.header, got, up)
			}
			s.Complete()
		})
	}
}

func TestRequestIDUnique(t *testing.T) {
	for _, alg := range []string{"uuid", "nanoid"} {
		t.Run(alg, func(t *testing.T) {
			h := sdktest.Start(t, `{"algorithm":"`+alg+`","size":16}`)
			seen := map[string]bool{}
			for range 1000 {
				s := h.NewStream()
				s.SendRequestHeaders(sdktest.Get("/"), true)
				id := s.RequestHeader("x-request-id")
				if seen[id] {
					t.Fatalf("duplicate id %q", id)
				}
				seen[id] = true
				s.Complete()
			}
		})
	}
}

func TestRequestIDBadConfig(t *testing.T) {
	tests := []struct{ name, config, want string }{
		{name: "algorithm", config: `{"algorithm":"ulid"}`, want: `key "algorithm": want "uuid" or "nanoid", got "ulid"`},
		{name: "size", config: `{"algorithm":"nanoid","size":0}`, want: `key "size": must be between 1 and 128`},
		{name: "size type", config: `{"size":"8"}`, want: `key "size": want an integer`},
		{name: "header name", config: `{"header_name":"X Id"}`, want: `key "header_name": "X Id" is not a valid header name`},
		{name: "unknown", config: `{"header":"x"}`, want: `unknown key "header"`},
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
