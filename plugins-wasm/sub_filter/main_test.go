package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/sluice-proxy/sluice/sdk"
	"github.com/sluice-proxy/sluice/sdk/sdktest"
)

// run sends one response through the plugin in chunks of n bytes and
// returns what the client gets.
func run(t *testing.T, h *sdktest.Host, req, resp [][2]string, body string, n int) (*sdktest.Stream, string) {
	t.Helper()
	s := h.NewStream()
	s.SendRequestHeaders(req, true)
	s.SendResponseHeaders(resp, body == "")
	for b := []byte(body); len(b) > 0; {
		k := min(n, len(b))
		s.SendResponseBody(b[:k], k == len(b))
		b = b[k:]
	}
	return s, string(s.ResponseBody())
}

func TestFilters(t *testing.T) {
	html := sdktest.Response(200, "content-type", "text/html; charset=utf-8", "content-length", "0")
	tests := []struct {
		name    string
		filters string
		body    string
		want    string
	}{
		{"literal first only", `"sub_filter 'http://' 'https://'"`, "http://a http://b", "https://a http://b"},
		{"literal global", `"sub_filter 'http://' 'https://' g"`, "http://a http://b", "https://a https://b"},
		{"literal is case-sensitive", `"sub_filter 'HTTP' 'x' g"`, "http HTTP", "http x"},
		{"double quotes and spaces", `"sub_filter \"a b\" \"c  d\" g"`, "a b a b", "c  d c  d"},
		{"escaped quote", `"sub_filter 'it\\'s' 'it is'"`, "it's fine", "it is fine"},
		{"regexp first only", `"subs_filter 'v(\\d+)' 'version $1'"`, "v1 v2", "version 1 v2"},
		{"regexp global", `"subs_filter 'v(\\d+)' 'version ${1}' g"`, "v1 v2", "version 1 version 2"},
		{"regexp case-insensitive", `"subs_filter 'hello' 'bye' gi"`, "Hello HELLO hello", "bye bye bye"},
		{"regexp case-sensitive without i", `"subs_filter 'hello' 'bye' g"`, "Hello hello", "Hello bye"},
		{"rules in order", `"sub_filter 'a' 'b' g", "sub_filter 'b' 'c' g"`, "ab", "cc"},
		{"no match leaves the body", `"sub_filter 'zzz' 'y'"`, "abc", "abc"},
		{"match across chunks", `"sub_filter 'boundary' 'X' g"`, strings.Repeat("-", 99) + "boundary" + strings.Repeat("-", 99), strings.Repeat("-", 99) + "X" + strings.Repeat("-", 99)},
		{"replacement may be empty", `"sub_filter '<script>bad()</script>' ''"`, "a<script>bad()</script>b", "ab"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := sdktest.Start(t, `{"filters":[`+tc.filters+`]}`)
			s, got := run(t, h, sdktest.Get("/"), html, tc.body, 10)
			if got != tc.want {
				t.Errorf("body %q; want %q", got, tc.want)
			}
			if s.ResponseHeader("content-length") != "" {
				t.Error("content-length kept")
			}
		})
	}
}

func TestWhenApplied(t *testing.T) {
	const cfg = `{"filters":["sub_filter 'old' 'new' g"],"path":"^/app/","status_codes":"200, 404"}`
	tests := []struct {
		name string
		req  [][2]string
		resp [][2]string
		want string
	}{
		{"applies", sdktest.Get("/app/x?q=1"), sdktest.Response(200, "content-type", "text/plain"), "new"},
		{"listed status", sdktest.Get("/app/x"), sdktest.Response(404, "content-type", "text/plain"), "new"},
		{"path does not match", sdktest.Get("/other/app/"), sdktest.Response(200, "content-type", "text/plain"), "old"},
		{"query not part of the path", sdktest.Get("/x?/app/"), sdktest.Response(200, "content-type", "text/plain"), "old"},
		{"status not listed", sdktest.Get("/app/x"), sdktest.Response(201, "content-type", "text/plain"), "old"},
		{"binary type", sdktest.Get("/app/x"), sdktest.Response(200, "content-type", "image/png"), "old"},
		{"json", sdktest.Get("/app/x"), sdktest.Response(200, "content-type", "application/json"), "new"},
		{"encoded body", sdktest.Get("/app/x"), sdktest.Response(200, "content-type", "text/plain", "content-encoding", "gzip"), "old"},
		{"websocket upgrade", sdktest.Get("/app/ws", "upgrade", "websocket", "connection", "upgrade"), sdktest.Response(200, "content-type", "text/plain"), "old"},
		{"switching protocols", sdktest.Get("/app/ws"), sdktest.Response(101, "content-type", "text/plain"), "old"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := sdktest.Start(t, cfg)
			_, got := run(t, h, tc.req, tc.resp, "old", 100)
			if got != tc.want {
				t.Errorf("body %q; want %q", got, tc.want)
			}
		})
	}
}

// Issue 5: a body too large to hold passes unfiltered instead of failing.
func TestLargeBodyPasses(t *testing.T) {
	h := sdktest.Start(t, `{"filters":["sub_filter 'a' 'b' g"]}`)
	body := strings.Repeat("a", maxBuffer+200<<10)
	s, got := run(t, h, sdktest.Get("/"), sdktest.Response(200, "content-type", "text/plain"), body, 64<<10)
	if got != body {
		t.Errorf("large body changed (%d bytes)", len(got))
	}
	if s.Paused(1) {
		t.Error("stream left paused")
	}
	h2 := len(h.LogMessages(sdk.LevelWarn))
	if h2 == 0 {
		t.Error("no warning")
	}
	// A known length over the limit is not held at all.
	s = h.NewStream()
	s.SendRequestHeaders(sdktest.Get("/"), true)
	s.SendResponseHeaders(sdktest.Response(200, "content-type", "text/plain", "content-length", "900000"), false)
	if a := s.SendResponseBody([]byte("aaa"), false); a != sdk.Continue {
		t.Errorf("action %v; want Continue", a)
	}
	if s.ResponseHeader("content-length") != "900000" {
		t.Error("content-length dropped from a body left alone")
	}
}

func TestBadConfig(t *testing.T) {
	tests := []struct{ name, config, want string }{
		{"no filters", `{}`, `key "filters": required`},
		{"unknown directive", `{"filters":["replace 'a' 'b'"]}`, `key "filters[0]": unknown directive "replace"`},
		{"too few words", `{"filters":["sub_filter 'a'"]}`, `key "filters[0]": want sub_filter`},
		{"unclosed quote", `{"filters":["sub_filter 'a' 'b"]}`, `key "filters[0]": unclosed quote`},
		{"bad sub flag", `{"filters":["sub_filter 'a' 'b' i"]}`, `only g is known`},
		{"bad subs flag", `{"filters":["subs_filter 'a' 'b' gx"]}`, `only g and i are known`},
		{"bad regexp", `{"filters":["subs_filter '(' 'b'"]}`, `bad regexp`},
		{"empty literal", `{"filters":["sub_filter '' 'b'"]}`, `empty string`},
		{"bad path", `{"filters":["sub_filter 'a' 'b'"],"path":"["}`, `key "path": bad regexp`},
		{"bad status", `{"filters":["sub_filter 'a' 'b'"],"status_codes":"200,abc"}`, `key "status_codes": not a status code: "abc"`},
		{"unknown key", `{"filters":["sub_filter 'a' 'b'"],"paths":"x"}`, `unknown key "paths"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := sdktest.New(t).Configure(tc.config)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Configure(%s) = %v; want %q", tc.config, err, tc.want)
			}
		})
	}
}

func FuzzParseRule(f *testing.F) {
	for _, s := range []string{"sub_filter 'a' 'b' g", `subs_filter "x(\d)" '$1' gi`, "sub_filter 'it\\'s' x"} {
		f.Add(s, "body it's x1 a")
	}
	f.Fuzz(func(t *testing.T, line, body string) {
		r, err := parseRule(line)
		if err != nil {
			return
		}
		out := r.apply([]byte(body))
		if r.re == nil && !bytes.Contains([]byte(body), r.literal) && string(out) != body {
			t.Fatalf("rule %q changed %q without a match", line, body)
		}
	})
}
