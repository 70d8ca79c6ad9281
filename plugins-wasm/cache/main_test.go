package main

import (
	"strings"
	"testing"
	"time"

	"github.com/sluice-proxy/sluice/abi"
	"github.com/sluice-proxy/sluice/sdk"
	"github.com/sluice-proxy/sluice/sdk/sdktest"
)

const dir = "memory://t"

// start configures the plugin with cfg (a JSON object's members, without
// braces) on a fake host with a fake cache store.
func start(t *testing.T, cfg string) (*sdktest.Host, *sdktest.CacheStore) {
	t.Helper()
	cs := sdktest.NewCacheStore()
	h := sdktest.Start(t, `{"directory":"`+dir+`"`+prefixComma(cfg)+`}`, cs.Option(),
		sdktest.WithNow(time.Unix(1_700_000_000, 0)))
	return h, cs
}

func prefixComma(s string) string {
	if s == "" {
		return ""
	}
	return "," + s
}

// upstream sends a request that goes upstream and answers it with the
// response headers and the body in chunks, then completes the stream.
func upstream(t *testing.T, h *sdktest.Host, req, resp [][2]string, chunks ...string) *sdktest.Stream {
	t.Helper()
	s := h.NewStream()
	if a := s.SendRequestHeaders(req, true); a != sdk.Continue || s.LocalResponse() != nil {
		t.Fatalf("request %v: action %v, local %+v; want it to go upstream", req, a, s.LocalResponse())
	}
	respond(t, s, resp, chunks...)
	return s
}

// respond delivers a response to a stream that went upstream and
// completes it.
func respond(t *testing.T, s *sdktest.Stream, resp [][2]string, chunks ...string) {
	t.Helper()
	s.SendResponseHeaders(resp, len(chunks) == 0)
	for i, c := range chunks {
		s.SendResponseBody([]byte(c), i == len(chunks)-1)
	}
	s.Complete()
}

// cached sends a request and returns the answer the cache gave, failing
// if it went upstream.
func cached(t *testing.T, h *sdktest.Host, req [][2]string) *sdktest.LocalResponse {
	t.Helper()
	s := h.NewStream()
	s.SendRequestHeaders(req, true)
	lr := s.LocalResponse()
	if lr == nil {
		t.Fatalf("request %v went upstream; want an answer from the cache", req)
	}
	s.SendResponseHeaders(lr.Pairs(), true)
	s.Complete()
	return lr
}

// missed sends a request, checks it goes upstream, and leaves the stream
// for the caller to answer.
func missed(t *testing.T, h *sdktest.Host, req [][2]string) *sdktest.Stream {
	t.Helper()
	s := h.NewStream()
	if a := s.SendRequestHeaders(req, true); a != sdk.Continue || s.LocalResponse() != nil {
		t.Fatalf("request %v: action %v, local %+v; want it upstream", req, a, s.LocalResponse())
	}
	return s
}

func ok(extra ...string) [][2]string {
	return sdktest.Response(200, append([]string{"cache-control", "max-age=60", "content-type", "text/plain"}, extra...)...)
}

func TestConfig(t *testing.T) {
	tests := []struct {
		name string
		cfg  string
		err  string
	}{
		{name: "defaults", cfg: `{}`},
		{name: "every parameter", cfg: `{"directory":"memory://x?max_size=10mb","namespace":"web","headers":["Accept-Encoding"],
			"max_ttl":"1h","max_file_size":"100kb","lock":"2s","check_cache_control":true,"skip":"^/api/",
			"purge_ip_list":["127.0.0.1","10.0.0.0/8","::1"],"eviction":true,"predictor":true,"step":"request"}`},
		{name: "lock off", cfg: `{"lock":"0s"}`},
		{name: "bad directory", cfg: `{"directory":"relative"}`, err: `key "directory"`},
		{name: "unknown directory parameter", cfg: `{"directory":"memory://?maxsize=1"}`, err: `unknown parameter "maxsize"`},
		{name: "bad lock", cfg: `{"lock":"soon"}`, err: `key "lock"`},
		{name: "negative lock", cfg: `{"lock":"-1s"}`, err: `key "lock"`},
		{name: "bad max_ttl", cfg: `{"max_ttl":5}`, err: `key "max_ttl"`},
		{name: "bad max_file_size", cfg: `{"max_file_size":"big"}`, err: `key "max_file_size"`},
		{name: "bad skip", cfg: `{"skip":"(["}`, err: `key "skip"`},
		{name: "bad purge ip", cfg: `{"purge_ip_list":["10.0.0.0/33"]}`, err: `key "purge_ip_list[0]"`},
		{name: "bad header name", cfg: `{"headers":["Accept Encoding"]}`, err: `key "headers[0]"`},
		{name: "wrong step", cfg: `{"step":"response"}`, err: `key "step"`},
		{name: "misspelled key", cfg: `{"namespce":"x"}`, err: `did you mean "namespace"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := sdktest.New(t, sdktest.NewCacheStore().Option())
			err := h.Configure(tc.cfg)
			if tc.err == "" {
				if err != nil {
					t.Errorf("Configure(%s): %v", tc.cfg, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("Configure(%s) = %v; want an error with %q", tc.cfg, err, tc.err)
			}
		})
	}
}

func TestNoHostStore(t *testing.T) {
	cs := sdktest.NewCacheStore()
	cs.Fail("sluice.cache.open", abi.StatusNotFound)
	h := sdktest.New(t, cs.Option())
	if err := h.Configure(`{}`); err == nil || !strings.Contains(err.Error(), "provides no cache store") {
		t.Errorf("Configure without a host store: %v", err)
	}
}

func TestMissThenHit(t *testing.T) {
	h, cs := start(t, "")
	s := upstream(t, h, sdktest.Get("/a?x=1"), ok("etag", `"v1"`), "hello, ", "world")
	if got := s.ResponseHeader("x-cache-status"); got != "MISS" {
		t.Errorf("first response x-cache-status = %q; want MISS", got)
	}
	if string(s.ResponseBody()) != "hello, world" {
		t.Errorf("the body passed through as %q", s.ResponseBody())
	}
	if v, _ := s.Property("sluice.ctx.cache_status"); string(v) != "MISS" {
		t.Errorf("cache_status property = %q; want MISS", v)
	}
	if keys := cs.Keys(dir); len(keys) != 1 || keys[0] != "|example.com/a?x=1|" {
		t.Errorf("stored keys %q", keys)
	}
	h.Advance(5 * time.Second)
	lr := cached(t, h, sdktest.Get("/a?x=1"))
	if lr.Status != 200 || string(lr.Body) != "hello, world" || lr.Header("x-cache-status") != "HIT" {
		t.Errorf("hit = %d %q status %q", lr.Status, lr.Body, lr.Header("x-cache-status"))
	}
	if lr.Header("age") != "5" || lr.Header("etag") != `"v1"` || lr.Header("content-type") != "text/plain" {
		t.Errorf("hit headers %v; want age 5 and the stored ones", lr.Headers)
	}
	if lr.Header("x-cache-lookup") == "" {
		t.Errorf("no x-cache-lookup in %v", lr.Headers)
	}
	// Another query string, another host: other keys.
	upstream(t, h, sdktest.Get("/a?x=2"), ok())
	upstream(t, h, sdktest.Request("GET", "/a?x=1", "other.example"), ok())
	if cs.Locks(dir) != 0 || cs.Writes() != 0 {
		t.Errorf("%d locks, %d writes left", cs.Locks(dir), cs.Writes())
	}
}

func TestStorability(t *testing.T) {
	tests := []struct {
		name   string
		cfg    string
		req    [][2]string
		resp   [][2]string
		stored bool
	}{
		{name: "max-age", resp: ok(), stored: true},
		{name: "s-maxage", resp: sdktest.Response(200, "cache-control", "s-maxage=10"), stored: true},
		{name: "expires", resp: sdktest.Response(200, "date", "Tue, 14 Nov 2023 22:13:20 GMT", "expires", "Tue, 14 Nov 2023 22:14:20 GMT"), stored: true},
		{name: "expires in the past", resp: sdktest.Response(200, "expires", "Thu, 01 Jan 1970 00:00:00 GMT")},
		{name: "invalid expires", resp: sdktest.Response(200, "expires", "0")},
		{name: "heuristic 200", resp: sdktest.Response(200), stored: true},
		{name: "heuristic 404", resp: sdktest.Response(404), stored: true},
		{name: "no heuristic for 302", resp: sdktest.Response(302, "location", "/x")},
		{name: "explicit 302", resp: sdktest.Response(302, "location", "/x", "cache-control", "max-age=5"), stored: true},
		{name: "500", resp: sdktest.Response(500, "cache-control", "max-age=5")},
		{name: "206", resp: sdktest.Response(206, "cache-control", "max-age=5")},
		{name: "no-store", resp: sdktest.Response(200, "cache-control", "no-store")},
		{name: "no-cache", resp: sdktest.Response(200, "cache-control", "max-age=60, no-cache")},
		{name: "private", resp: sdktest.Response(200, "cache-control", `private="x", max-age=60`)},
		{name: "max-age=0", resp: sdktest.Response(200, "cache-control", "max-age=0")},
		{name: "age past max-age", resp: sdktest.Response(200, "cache-control", "max-age=60", "age", "60")},
		{name: "set-cookie", resp: ok("set-cookie", "a=b")},
		{name: "vary star", resp: ok("vary", "*")},
		{name: "check_cache_control without it", cfg: `"check_cache_control":true`, resp: sdktest.Response(200)},
		{name: "check_cache_control with it", cfg: `"check_cache_control":true`, resp: sdktest.Response(200, "cache-control", "public"), stored: true},
		{name: "authorization, not public", req: sdktest.Get("/", "authorization", "Basic x"), resp: ok()},
		{name: "authorization, public", req: sdktest.Get("/", "authorization", "Basic x"), resp: sdktest.Response(200, "cache-control", "public, max-age=60"), stored: true},
		{name: "too large by content-length", cfg: `"max_file_size":"10b"`, resp: ok("content-length", "11")},
		{name: "head", req: sdktest.Request("HEAD", "/", "example.com"), resp: ok()},
		{name: "range", req: sdktest.Get("/", "range", "bytes=0-1"), resp: sdktest.Response(206, "cache-control", "max-age=60")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h, cs := start(t, tc.cfg)
			req := tc.req
			if req == nil {
				req = sdktest.Get("/")
			}
			upstream(t, h, req, tc.resp, "body")
			if got := len(cs.Keys(dir)) > 0; got != tc.stored {
				t.Errorf("stored = %v (%v); want %v", got, cs.Keys(dir), tc.stored)
			}
			if cs.Locks(dir) != 0 {
				t.Errorf("a lock is left")
			}
		})
	}
}

func TestFreshness(t *testing.T) {
	tests := []struct {
		name      string
		cfg       string
		resp      [][2]string
		freshFor  time.Duration // still a hit just before
		staleFrom time.Duration // no longer a hit from
	}{
		{name: "max-age", resp: ok(), freshFor: 59 * time.Second, staleFrom: 60 * time.Second},
		{name: "s-maxage wins", resp: sdktest.Response(200, "cache-control", "max-age=60, s-maxage=10"), freshFor: 9 * time.Second, staleFrom: 10 * time.Second},
		{name: "age counts", resp: sdktest.Response(200, "cache-control", "max-age=60", "age", "50"), freshFor: 9 * time.Second, staleFrom: 10 * time.Second},
		{name: "max_ttl caps", cfg: `"max_ttl":"5s"`, resp: ok(), freshFor: 4 * time.Second, staleFrom: 5 * time.Second},
		{name: "heuristic second", resp: sdktest.Response(200), freshFor: 900 * time.Millisecond, staleFrom: time.Second},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h, _ := start(t, tc.cfg)
			upstream(t, h, sdktest.Get("/"), tc.resp, "b")
			h.Advance(tc.freshFor)
			cached(t, h, sdktest.Get("/"))
			h.Advance(tc.staleFrom - tc.freshFor)
			s := missed(t, h, sdktest.Get("/"))
			respond(t, s, ok(), "b2")
			if got := s.ResponseHeader("x-cache-status"); got != "EXPIRED" {
				t.Errorf("x-cache-status = %q; want EXPIRED", got)
			}
		})
	}
}

func TestRevalidation(t *testing.T) {
	h, _ := start(t, "")
	upstream(t, h, sdktest.Get("/r"), ok("etag", `"v1"`, "last-modified", "Mon, 13 Nov 2023 00:00:00 GMT", "x-old", "1"), "stored body")
	h.Advance(90 * time.Second)

	s := missed(t, h, sdktest.Get("/r"))
	if s.RequestHeader("if-none-match") != `"v1"` || s.RequestHeader("if-modified-since") != "Mon, 13 Nov 2023 00:00:00 GMT" {
		t.Fatalf("revalidation request headers %v; want the entry's validators", s.RequestHeaders())
	}
	s.SendResponseHeaders(sdktest.Response(304, "cache-control", "max-age=30", "etag", `"v1"`, "x-new", "2"), true)
	lr := s.LocalResponse()
	if lr == nil {
		t.Fatal("the 304 was not replaced by the stored response")
	}
	if lr.Status != 200 || string(lr.Body) != "stored body" || lr.Header("x-cache-status") != "REVALIDATED" {
		t.Errorf("revalidated = %d %q %q", lr.Status, lr.Body, lr.Header("x-cache-status"))
	}
	if lr.Header("x-old") != "1" || lr.Header("x-new") != "2" || lr.Header("cache-control") != "max-age=30" {
		t.Errorf("headers not updated by the 304: %v", lr.Headers)
	}
	s.Complete()
	// Fresh again, for the 304's max-age.
	h.Advance(20 * time.Second)
	if lr := cached(t, h, sdktest.Get("/r")); string(lr.Body) != "stored body" || lr.Header("x-cache-status") != "HIT" {
		t.Errorf("after revalidation: %q %q", lr.Body, lr.Header("x-cache-status"))
	}

	// A client's own conditional goes through untouched, and is not
	// turned into a full response.
	h.Advance(time.Minute)
	s = missed(t, h, sdktest.Get("/r", "if-none-match", `"other"`))
	if s.RequestHeader("if-none-match") != `"other"` || s.RequestHeader("if-modified-since") != "" {
		t.Errorf("client conditional changed: %v", s.RequestHeaders())
	}
	s.SendResponseHeaders(sdktest.Response(304, "etag", `"other"`), true)
	if s.LocalResponse() != nil {
		t.Errorf("a 304 to the client's own condition was replaced")
	}
	s.Complete()
}

func TestStaleIfError(t *testing.T) {
	h, _ := start(t, "")
	upstream(t, h, sdktest.Get("/e"), ok("cache-control", "stale-if-error=60"), "good")
	h.Advance(90 * time.Second) // expired 30s ago, within stale-if-error
	s := missed(t, h, sdktest.Get("/e"))
	s.SendResponseHeaders(sdktest.Response(503), true)
	lr := s.LocalResponse()
	if lr == nil || string(lr.Body) != "good" || lr.Header("x-cache-status") != "STALE" {
		t.Fatalf("error answered with %+v; want the stale entry", lr)
	}
	s.Complete()
	h.Advance(60 * time.Second) // past stale-if-error
	s = missed(t, h, sdktest.Get("/e"))
	s.SendResponseHeaders(sdktest.Response(503), true)
	if s.LocalResponse() != nil {
		t.Errorf("stale served past stale-if-error")
	}
	s.Complete()
}

func TestStaleWhileRevalidate(t *testing.T) {
	h, _ := start(t, "")
	upstream(t, h, sdktest.Get("/w"), sdktest.Response(200, "cache-control", "max-age=10, stale-while-revalidate=60"), "old")
	h.Advance(20 * time.Second)
	refresher := missed(t, h, sdktest.Get("/w"))
	lr := cached(t, h, sdktest.Get("/w"))
	if string(lr.Body) != "old" || lr.Header("x-cache-status") != "STALE" {
		t.Errorf("while refreshing: %q %q; want the stale entry", lr.Body, lr.Header("x-cache-status"))
	}
	respond(t, refresher, sdktest.Response(200, "cache-control", "max-age=10"), "new")
	if lr := cached(t, h, sdktest.Get("/w")); string(lr.Body) != "new" {
		t.Errorf("after the refresh: %q", lr.Body)
	}
}

func TestVary(t *testing.T) {
	h, cs := start(t, "")
	gz := sdktest.Get("/v", "accept-encoding", "gzip")
	br := sdktest.Get("/v", "accept-encoding", "br")
	none := sdktest.Get("/v")
	upstream(t, h, gz, ok("vary", "Accept-Encoding", "content-encoding", "gzip"), "GZIP")
	if lr := cached(t, h, sdktest.Get("/v", "accept-encoding", "gzip")); string(lr.Body) != "GZIP" {
		t.Errorf("gzip variant: %q", lr.Body)
	}
	// Another variant is never served the first one's response.
	upstream(t, h, br, ok("vary", "Accept-Encoding", "content-encoding", "br"), "BR")
	upstream(t, h, none, ok("vary", "Accept-Encoding"), "PLAIN")
	for _, tc := range []struct {
		req  [][2]string
		want string
	}{{gz, "GZIP"}, {br, "BR"}, {none, "PLAIN"}, {sdktest.Get("/v", "accept-encoding", "gzip"), "GZIP"}} {
		if lr := cached(t, h, tc.req); string(lr.Body) != tc.want {
			t.Errorf("%v: %q; want %q", tc.req, lr.Body, tc.want)
		}
	}
	if keys := cs.Keys(dir); len(keys) != 4 {
		t.Errorf("keys %q; want a marker and three variants", keys)
	}
	// A new variant misses; blanks in a list do not make a variant.
	s := missed(t, h, sdktest.Get("/v", "accept-encoding", "zstd, gzip"))
	respond(t, s, ok("vary", "Accept-Encoding"), "Z")
	if lr := cached(t, h, sdktest.Get("/v", "accept-encoding", "zstd,gzip")); string(lr.Body) != "Z" {
		t.Errorf("zstd,gzip: %q", lr.Body)
	}
}

func TestConditionalAndRange(t *testing.T) {
	h, _ := start(t, "")
	upstream(t, h, sdktest.Get("/c"), ok("etag", `W/"v1"`, "last-modified", "Mon, 13 Nov 2023 00:00:00 GMT"), "0123456789")
	tests := []struct {
		name   string
		req    [][2]string
		status int
		body   string
		header [2]string
	}{
		{name: "if-none-match weak", req: sdktest.Get("/c", "if-none-match", `"v1"`), status: 304},
		{name: "if-none-match list", req: sdktest.Get("/c", "if-none-match", `"x", W/"v1"`), status: 304},
		{name: "if-none-match star", req: sdktest.Get("/c", "if-none-match", `*`), status: 304},
		{name: "if-none-match other", req: sdktest.Get("/c", "if-none-match", `"v2"`), status: 200, body: "0123456789"},
		{name: "if-modified-since later", req: sdktest.Get("/c", "if-modified-since", "Tue, 14 Nov 2023 00:00:00 GMT"), status: 304},
		{name: "if-modified-since earlier", req: sdktest.Get("/c", "if-modified-since", "Sun, 12 Nov 2023 00:00:00 GMT"), status: 200, body: "0123456789"},
		{name: "if-none-match wins", req: sdktest.Get("/c", "if-none-match", `"v2"`, "if-modified-since", "Tue, 14 Nov 2023 00:00:00 GMT"), status: 200, body: "0123456789"},
		{name: "range", req: sdktest.Get("/c", "range", "bytes=2-4"), status: 206, body: "234", header: [2]string{"content-range", "bytes 2-4/10"}},
		{name: "suffix range", req: sdktest.Get("/c", "range", "bytes=-3"), status: 206, body: "789", header: [2]string{"content-range", "bytes 7-9/10"}},
		{name: "open range", req: sdktest.Get("/c", "range", "bytes=8-"), status: 206, body: "89"},
		{name: "unsatisfiable", req: sdktest.Get("/c", "range", "bytes=10-"), status: 416, header: [2]string{"content-range", "bytes */10"}},
		{name: "several ranges: whole body", req: sdktest.Get("/c", "range", "bytes=0-1,3-4"), status: 200, body: "0123456789"},
		{name: "if-range mismatch: whole body", req: sdktest.Get("/c", "range", "bytes=0-1", "if-range", "Sun, 12 Nov 2023 00:00:00 GMT"), status: 200, body: "0123456789"},
		{name: "head", req: sdktest.Request("HEAD", "/c", "example.com"), status: 200, body: "0123456789"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			lr := cached(t, h, tc.req)
			if lr.Status != tc.status || string(lr.Body) != tc.body {
				t.Errorf("= %d %q; want %d %q", lr.Status, lr.Body, tc.status, tc.body)
			}
			if tc.header[0] != "" && lr.Header(tc.header[0]) != tc.header[1] {
				t.Errorf("%s = %q; want %q", tc.header[0], lr.Header(tc.header[0]), tc.header[1])
			}
			if tc.status == 304 && (lr.Header("etag") != `W/"v1"` || lr.Header("content-type") != "") {
				t.Errorf("304 headers %v; want the validators and not the body's", lr.Headers)
			}
		})
	}
}

func TestCoalescing(t *testing.T) {
	h, cs := start(t, `"lock":"5s"`)
	fetcher := missed(t, h, sdktest.Get("/slow"))
	var waiters []*sdktest.Stream
	for range 3 {
		s := h.NewStream()
		if a := s.SendRequestHeaders(sdktest.Get("/slow"), true); a != sdk.Pause || s.LocalResponse() != nil {
			t.Fatalf("concurrent miss: action %v; want it to wait", a)
		}
		waiters = append(waiters, s)
	}
	h.Advance(100 * time.Millisecond)
	respond(t, fetcher, ok(), "fetched once")
	for i, s := range waiters {
		lr := s.LocalResponse()
		if lr == nil || string(lr.Body) != "fetched once" || lr.Header("x-cache-status") != "HIT" {
			t.Fatalf("waiter %d: %+v; want the fetched entry", i, lr)
		}
		if lr.Header("x-cache-lock") == "" {
			t.Errorf("waiter %d: no x-cache-lock in %v", i, lr.Headers)
		}
		if v, _ := s.Property("sluice.ctx.cache_lock_time"); len(v) == 0 {
			t.Errorf("waiter %d: no cache_lock_time", i)
		}
		s.Complete()
	}
	if st := cs.Stats(dir); st.Waits != 3 || st.Writes != 1 {
		t.Errorf("stats %+v; want 3 waits and 1 write", st)
	}
	if h.TickPeriod() != 0 {
		t.Errorf("tick period %v with nobody waiting; want 0", h.TickPeriod())
	}
}

func TestCoalescingUncacheable(t *testing.T) {
	h, _ := start(t, `"lock":"5s"`)
	fetcher := missed(t, h, sdktest.Get("/nc"))
	w := h.NewStream()
	w.SendRequestHeaders(sdktest.Get("/nc"), true)
	respond(t, fetcher, sdktest.Response(200, "cache-control", "no-store"), "x")
	if w.LocalResponse() != nil || w.Resumed(abi.StreamHTTPRequest) != 1 {
		t.Errorf("waiter: local %+v, resumed %d; want it sent upstream", w.LocalResponse(), w.Resumed(abi.StreamHTTPRequest))
	}
	respond(t, w, sdktest.Response(200, "cache-control", "no-store"), "x")
	if got := w.ResponseHeader("x-cache-status"); got != "MISS" {
		t.Errorf("waiter's x-cache-status %q; want MISS", got)
	}
}

func TestLockTimeout(t *testing.T) {
	h, _ := start(t, `"lock":"1s"`)
	fetcher := missed(t, h, sdktest.Get("/stuck"))
	w := h.NewStream()
	w.SendRequestHeaders(sdktest.Get("/stuck"), true)
	if h.TickPeriod() == 0 {
		t.Fatal("no tick while a request waits")
	}
	h.Advance(900 * time.Millisecond)
	if w.Resumed(abi.StreamHTTPRequest) != 0 {
		t.Fatal("the waiter left before its lock time")
	}
	h.Advance(200 * time.Millisecond)
	if w.Resumed(abi.StreamHTTPRequest) != 1 {
		t.Fatal("the waiter is still held past its lock time")
	}
	respond(t, w, ok(), "own")
	if got := w.ResponseHeader("x-cache-lock"); got == "" {
		t.Errorf("no x-cache-lock after a timed-out wait")
	}
	fetcher.Complete() // the fetch never answered: its lock goes
	if h.TickPeriod() != 0 {
		t.Errorf("still ticking")
	}
}

func TestDisconnectReleases(t *testing.T) {
	h, cs := start(t, `"lock":"5s"`)
	s := missed(t, h, sdktest.Get("/cut"))
	w := h.NewStream()
	w.SendRequestHeaders(sdktest.Get("/cut"), true)
	s.SendResponseHeaders(ok(), false)
	s.SendResponseBody([]byte("part"), false)
	s.Complete() // gone before the end of the body
	if cs.Writes() != 0 || cs.Locks(dir) != 0 || len(cs.Keys(dir)) != 0 {
		t.Errorf("after a cut response: %d writes, %d locks, keys %v", cs.Writes(), cs.Locks(dir), cs.Keys(dir))
	}
	if w.Resumed(abi.StreamHTTPRequest) != 1 {
		t.Errorf("the waiter was not let go")
	}
	w.Complete()
}

func TestMaxFileSizeWhileStreaming(t *testing.T) {
	h, cs := start(t, `"max_file_size":"8b"`)
	s := upstream(t, h, sdktest.Get("/big"), ok(), "12345", "67890")
	if string(s.ResponseBody()) != "1234567890" {
		t.Errorf("the client got %q", s.ResponseBody())
	}
	if len(cs.Keys(dir)) != 0 || cs.Writes() != 0 {
		t.Errorf("stored %v, %d writes open; want nothing", cs.Keys(dir), cs.Writes())
	}
}

func TestTrailersNotStored(t *testing.T) {
	h, cs := start(t, "")
	s := missed(t, h, sdktest.Get("/t"))
	s.SendResponseHeaders(ok(), false)
	s.SendResponseBody([]byte("body"), false)
	s.SendResponseTrailers([][2]string{{"grpc-status", "0"}})
	s.Complete()
	if len(cs.Keys(dir)) != 0 || cs.Writes() != 0 {
		t.Errorf("stored %v with trailers", cs.Keys(dir))
	}
}

func TestBypass(t *testing.T) {
	h, cs := start(t, `"skip":"^/api/"`)
	for _, tc := range []struct {
		name string
		req  [][2]string
	}{
		{"skip", sdktest.Get("/api/x")},
		{"post", sdktest.Request("POST", "/x", "example.com")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := upstream(t, h, tc.req, ok(), "b")
			if got := s.ResponseHeader("x-cache-status"); got != "BYPASS" {
				t.Errorf("x-cache-status %q; want BYPASS", got)
			}
			if v, _ := s.Property("sluice.ctx.cache_status"); string(v) != "BYPASS" {
				t.Errorf("cache_status %q", v)
			}
		})
	}
	if len(cs.Keys(dir)) != 0 {
		t.Errorf("stored %v", cs.Keys(dir))
	}
}

func TestHeadersInKey(t *testing.T) {
	h, cs := start(t, `"namespace":"web","headers":["X-Tenant"]`)
	upstream(t, h, sdktest.Get("/k", "x-tenant", "a"), ok(), "A")
	upstream(t, h, sdktest.Get("/k", "x-tenant", "b"), ok(), "B")
	upstream(t, h, sdktest.Get("/k"), ok(), "none")
	if lr := cached(t, h, sdktest.Get("/k", "x-tenant", "a")); string(lr.Body) != "A" {
		t.Errorf("tenant a: %q", lr.Body)
	}
	if lr := cached(t, h, sdktest.Get("/k", "x-tenant", "b")); string(lr.Body) != "B" {
		t.Errorf("tenant b: %q", lr.Body)
	}
	if keys := cs.Keys(dir); len(keys) != 3 || !strings.HasPrefix(keys[0], "web|") {
		t.Errorf("keys %q", keys)
	}
}

func TestPurge(t *testing.T) {
	h, cs := start(t, `"namespace":"web","purge_ip_list":["127.0.0.1","10.0.0.0/8"]`)
	upstream(t, h, sdktest.Get("/p", "accept-encoding", "gzip"), ok("vary", "accept-encoding"), "gz")
	upstream(t, h, sdktest.Get("/p"), ok("vary", "accept-encoding"), "plain")
	upstream(t, h, sdktest.Get("/q"), ok(), "q")
	purge := func(ip, path string) *sdktest.LocalResponse {
		s := h.NewStream()
		s.SetProperty("sluice.client_ip", []byte(ip))
		s.SendRequestHeaders(sdktest.Request("PURGE", path, "example.com"), true)
		lr := s.LocalResponse()
		if lr == nil {
			t.Fatalf("PURGE %s from %s was not answered", path, ip)
		}
		s.Complete()
		return lr
	}
	if lr := purge("192.0.2.1", "/p"); lr.Status != 403 {
		t.Errorf("PURGE from an unlisted IP: %d; want 403", lr.Status)
	}
	if lr := purge("10.1.2.3", "/p"); lr.Status != 204 || lr.Header("x-cache-purged") != "3" {
		t.Errorf("PURGE /p: %d, purged %q; want 204 and the marker and its 2 variants", lr.Status, lr.Header("x-cache-purged"))
	}
	if keys := cs.Keys(dir); len(keys) != 1 {
		t.Errorf("left %q; want /q only", keys)
	}
	missed(t, h, sdktest.Get("/p")).Complete()
	upstream(t, h, sdktest.Get("/dir/a"), ok(), "a")
	upstream(t, h, sdktest.Get("/dir/b?x=1"), ok(), "b")
	upstream(t, h, sdktest.Request("GET", "/dir/c", "other.example"), ok(), "c")
	if lr := purge("127.0.0.1", "/dir/*"); lr.Status != 204 || lr.Header("x-cache-purged") != "2" {
		t.Errorf("PURGE /dir/*: %d, purged %q; want this host's 2", lr.Status, lr.Header("x-cache-purged"))
	}
	if lr := purge("::ffff:127.0.0.1", "/*"); lr.Status != 204 || lr.Header("x-cache-purged") != "2" {
		t.Errorf("PURGE /*: %d, purged %q", lr.Status, lr.Header("x-cache-purged"))
	}
	if keys := cs.Keys(dir); len(keys) != 0 {
		t.Errorf("left %q after purging the namespace", keys)
	}
}

func TestPurgeNotConfigured(t *testing.T) {
	h, _ := start(t, "")
	s := h.NewStream()
	s.SetProperty("sluice.client_ip", []byte("127.0.0.1"))
	s.SendRequestHeaders(sdktest.Request("PURGE", "/", "example.com"), true)
	if lr := s.LocalResponse(); lr == nil || lr.Status != 403 {
		t.Errorf("PURGE without purge_ip_list: %+v; want 403", lr)
	}
}

func TestPredictor(t *testing.T) {
	h, cs := start(t, `"predictor":true,"lock":"5s"`)
	upstream(t, h, sdktest.Get("/dyn"), sdktest.Response(200, "cache-control", "private"), "x")
	// Now known uncacheable: concurrent requests all go upstream at once.
	a := missed(t, h, sdktest.Get("/dyn"))
	b := missed(t, h, sdktest.Get("/dyn"))
	if cs.Locks(dir) != 0 {
		t.Errorf("%d locks taken for a predicted key", cs.Locks(dir))
	}
	respond(t, a, ok(), "now cacheable")
	respond(t, b, ok(), "now cacheable")
	if lr := cached(t, h, sdktest.Get("/dyn")); string(lr.Body) != "now cacheable" {
		t.Errorf("after becoming cacheable: %q", lr.Body)
	}
}

func TestLockOff(t *testing.T) {
	h, cs := start(t, `"lock":"0s"`)
	a := missed(t, h, sdktest.Get("/x"))
	b := missed(t, h, sdktest.Get("/x"))
	if cs.Locks(dir) != 0 {
		t.Errorf("locks with lock 0s")
	}
	respond(t, a, ok(), "a")
	respond(t, b, ok(), "b")
	if lr := cached(t, h, sdktest.Get("/x")); string(lr.Body) != "b" {
		t.Errorf("last write wins: %q", lr.Body)
	}
}
