package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strings"
	"testing"

	"github.com/andybalholm/brotli"
	kgzip "github.com/klauspost/compress/gzip"
	kzstd "github.com/klauspost/compress/zstd"

	"github.com/sluice-proxy/sluice/abi"
	"github.com/sluice-proxy/sluice/host/codec"
	"github.com/sluice-proxy/sluice/sdk"
	"github.com/sluice-proxy/sluice/sdk/sdktest"
)

// withCodec gives the fake host the real native codec, as sluice wires it.
func withCodec() []sdktest.Option {
	c := codec.New(codec.Options{})
	var opts []sdktest.Option
	for name, fn := range c.Functions() {
		opts = append(opts, sdktest.WithForeignFunction(name, func(args []byte) ([]byte, error) {
			out, err := fn("compression", args)
			switch {
			case errors.Is(err, fs.ErrNotExist):
				return nil, &sdktest.ForeignError{Status: abi.StatusNotFound, Err: err}
			case errors.Is(err, fs.ErrInvalid):
				return nil, &sdktest.ForeignError{Status: abi.StatusBadArgument, Err: err}
			}
			return out, err
		}))
	}
	return opts
}

func start(t *testing.T, config string) *sdktest.Host {
	t.Helper()
	return sdktest.Start(t, config, withCodec()...)
}

func jsonBody(n int) []byte {
	var b bytes.Buffer
	b.WriteByte('[')
	for i := 0; b.Len() < n-1; i++ {
		fmt.Fprintf(&b, `{"id":%d,"name":"item %d"},`, i, i)
	}
	out := b.Bytes()[:n-1]
	return append(out, ']')
}

func decode(t *testing.T, enc string, b []byte) []byte {
	t.Helper()
	var r io.Reader
	switch enc {
	case "gzip":
		zr, err := kgzip.NewReader(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("gzip: %v", err)
		}
		r = zr
	case "br":
		r = brotli.NewReader(bytes.NewReader(b))
	case "zstd":
		zr, err := kzstd.NewReader(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		defer zr.Close()
		r = zr
	default:
		return b
	}
	out, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("decoding %s: %v", enc, err)
	}
	return out
}

func encode(t *testing.T, enc string, b []byte) []byte {
	t.Helper()
	var out bytes.Buffer
	var w io.WriteCloser
	switch enc {
	case "gzip":
		w = kgzip.NewWriter(&out)
	case "br":
		w = brotli.NewWriter(&out)
	case "zstd":
		w, _ = kzstd.NewWriter(&out)
	}
	w.Write(b)
	w.Close()
	return out.Bytes()
}

// send runs a response through the stream in chunks and returns the body
// the client gets.
func send(t *testing.T, s *sdktest.Stream, headers [][2]string, body []byte, chunk int) []byte {
	t.Helper()
	if a := s.SendResponseHeaders(headers, len(body) == 0); a != sdk.Continue {
		t.Fatalf("response headers: action %v", a)
	}
	for len(body) > 0 {
		n := min(chunk, len(body))
		if a := s.SendResponseBody(body[:n], n == len(body)); a != sdk.Continue {
			t.Fatalf("response body: action %v", a)
		}
		body = body[n:]
	}
	return s.ResponseBody()
}

func TestChoose(t *testing.T) {
	all := [4]int{zstd: 3, br: 5, gzip: 6}
	tests := []struct {
		name   string
		ae     string
		levels [4]int
		want   encoding
	}{
		{"priority zstd first", "gzip, br, zstd", all, zstd},
		{"br before gzip", "gzip, br", all, br},
		{"q wins over priority", "zstd;q=0.5, gzip", all, gzip},
		{"tie goes to priority", "gzip;q=0.8, br;q=0.8", all, br},
		{"q=0 refuses", "zstd;q=0, br;q=0, gzip", all, gzip},
		{"only disabled ones", "zstd, br", [4]int{gzip: 6}, none},
		{"star", "*", [4]int{br: 5, gzip: 6}, br},
		{"star does not override a listed q=0", "br;q=0, *", [4]int{br: 5, gzip: 6}, gzip},
		{"star q=0", "*;q=0", all, none},
		{"identity only", "identity", all, none},
		{"x-gzip", "x-gzip", all, gzip},
		{"case and spaces", " GZIP ; Q=1 ", all, gzip},
		{"malformed q is 0", "br;q=abc, gzip;q=0.1", all, gzip},
		{"empty", "", all, none},
		{"listed twice: the first counts", "gzip;q=0, gzip", all, none},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := choose(tc.ae, &tc.levels); got != tc.want {
				t.Errorf("choose(%q) = %s; want %s", tc.ae, tokens[got], tokens[tc.want])
			}
		})
	}
}

func TestAccepts(t *testing.T) {
	tests := []struct {
		ae, coding string
		want       bool
	}{
		{"gzip", "gzip", true},
		{"x-gzip", "gzip", true},
		{"gzip", "x-gzip", true},
		{"br", "gzip", false},
		{"gzip;q=0", "gzip", false},
		{"*", "zstd", true},
		{"*, zstd;q=0", "zstd", false},
		{"", "gzip", false},
	}
	for _, tc := range tests {
		t.Run(tc.ae+"/"+tc.coding, func(t *testing.T) {
			if got := accepts(tc.ae, tc.coding); got != tc.want {
				t.Errorf("accepts(%q, %q) = %v; want %v", tc.ae, tc.coding, got, tc.want)
			}
		})
	}
}

func TestCompress(t *testing.T) {
	body := jsonBody(100 << 10)
	tests := []struct {
		name, config, ae, want string
		chunk                  int
	}{
		{name: "gzip streamed", config: `{"gzip_level":6}`, ae: "gzip", want: "gzip", chunk: 16 << 10},
		{name: "br streamed", config: `{"br_level":5}`, ae: "br", want: "br", chunk: 16 << 10},
		{name: "zstd streamed", config: `{"zstd_level":3}`, ae: "zstd", want: "zstd", chunk: 16 << 10},
		{name: "whole body in one chunk", config: `{"gzip_level":1}`, ae: "gzip", want: "gzip", chunk: len(body)},
		{name: "priority", config: `{"gzip_level":6,"br_level":5,"zstd_level":3}`, ae: "gzip, deflate, br, zstd", want: "zstd", chunk: 30000},
		{name: "highest level", config: `{"zstd_level":22,"br_level":11,"gzip_level":9}`, ae: "br", want: "br", chunk: 50000},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := start(t, tc.config)
			s := h.NewStream()
			s.SendRequestHeaders(sdktest.Get("/data", "accept-encoding", tc.ae), true)
			got := send(t, s, sdktest.Response(200, "content-type", "application/json", "content-length", fmt.Sprint(len(body)),
				"etag", `"abc"`, "accept-ranges", "bytes", "vary", "Origin"), body, tc.chunk)
			if ce := s.ResponseHeader("content-encoding"); ce != tc.want {
				t.Fatalf("content-encoding %q; want %q", ce, tc.want)
			}
			if plain := decode(t, tc.want, got); !bytes.Equal(plain, body) {
				t.Fatalf("decoded body differs: %d bytes, want %d", len(plain), len(body))
			}
			if len(got) > len(body)/3 {
				t.Errorf("compressed to %d bytes of %d", len(got), len(body))
			}
			hdr := s.ResponseHeaders()
			var vary []string
			for _, p := range hdr {
				switch p[0] {
				case "content-length", "accept-ranges":
					t.Errorf("header %s kept on a compressed response", p[0])
				case "vary":
					vary = append(vary, p[1])
				}
			}
			if strings.Join(vary, ", ") != "Origin, Accept-Encoding" {
				t.Errorf("vary %q", vary)
			}
			if e := s.ResponseHeader("etag"); e != `W/"abc"` {
				t.Errorf("etag %q; want the weak form", e)
			}
			s.Complete()
		})
	}
}

// Issue 5: what must not be compressed passes untouched.
func TestPassThrough(t *testing.T) {
	body := jsonBody(4000)
	gz := encode(t, "gzip", body)
	tests := []struct {
		name     string
		config   string
		request  [][2]string
		response [][2]string
		body     []byte
		vary     bool
	}{
		{name: "no accept-encoding", response: sdktest.Response(200, "content-type", "text/html"), body: body, vary: true},
		{name: "not compressible", request: sdktest.Get("/", "accept-encoding", "gzip"),
			response: sdktest.Response(200, "content-type", "image/png"), body: body},
		{name: "no content-type", request: sdktest.Get("/", "accept-encoding", "gzip"),
			response: sdktest.Response(200), body: body},
		{name: "below min_length", config: `{"gzip_level":6,"min_length":"5kb"}`, request: sdktest.Get("/", "accept-encoding", "gzip"),
			response: sdktest.Response(200, "content-type", "text/plain", "content-length", "4000"), body: body, vary: true},
		{name: "partial content", request: sdktest.Get("/", "accept-encoding", "gzip"),
			response: sdktest.Response(206, "content-type", "text/plain"), body: body},
		{name: "no content", request: sdktest.Get("/", "accept-encoding", "gzip"),
			response: sdktest.Response(204, "content-type", "text/plain")},
		{name: "not modified", request: sdktest.Get("/", "accept-encoding", "gzip"),
			response: sdktest.Response(304, "content-type", "text/plain")},
		{name: "no-transform", request: sdktest.Get("/", "accept-encoding", "gzip"),
			response: sdktest.Response(200, "content-type", "text/plain", "cache-control", "public, no-transform"), body: body},
		{name: "trailers announced", request: sdktest.Get("/", "accept-encoding", "gzip"),
			response: sdktest.Response(200, "content-type", "text/plain", "trailer", "x-checksum"), body: body},
		{name: "already encoded and accepted", config: `{"br_level":5,"decompression":true}`,
			request:  sdktest.Get("/", "accept-encoding", "gzip, br"),
			response: sdktest.Response(200, "content-type", "text/plain", "content-encoding", "gzip"), body: gz, vary: true},
		{name: "already encoded, decompression off", request: sdktest.Get("/", "accept-encoding", "br"),
			response: sdktest.Response(200, "content-type", "text/plain", "content-encoding", "gzip"), body: gz, vary: true},
		{name: "vary star kept", request: sdktest.Get("/", "accept-encoding", "identity"),
			response: sdktest.Response(200, "content-type", "text/plain", "vary", "*"), body: body},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := tc.config
			if cfg == "" {
				cfg = `{"gzip_level":6}`
			}
			h := start(t, cfg)
			s := h.NewStream()
			req := tc.request
			if req == nil {
				req = sdktest.Get("/")
			}
			s.SendRequestHeaders(req, true)
			got := send(t, s, tc.response, tc.body, 1000)
			if !bytes.Equal(got, tc.body) {
				t.Errorf("body changed: %d bytes, want %d", len(got), len(tc.body))
			}
			want := ""
			for _, p := range tc.response {
				if p[0] == "content-encoding" {
					want = p[1]
				}
			}
			if ce := s.ResponseHeader("content-encoding"); ce != want {
				t.Errorf("content-encoding %q; want %q", ce, want)
			}
			if v := s.ResponseHeader("vary"); (v == "Accept-Encoding") != tc.vary {
				t.Errorf("vary %q; want Accept-Encoding: %v", v, tc.vary)
			}
		})
	}
}

func TestDecompression(t *testing.T) {
	body := jsonBody(300 << 10)
	tests := []struct {
		name, config, upstream, ae, want string
	}{
		{name: "gzip to plain", config: `{"decompression":true}`, upstream: "gzip", ae: "identity", want: ""},
		{name: "br to plain", config: `{"decompression":true,"gzip_level":6}`, upstream: "br", ae: "", want: ""},
		{name: "zstd to gzip", config: `{"decompression":true,"gzip_level":6}`, upstream: "zstd", ae: "gzip", want: "gzip"},
		{name: "gzip to br", config: `{"decompression":true,"br_level":4,"gzip_level":6}`, upstream: "gzip", ae: "br;q=1, gzip;q=0", want: "br"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := start(t, tc.config)
			s := h.NewStream()
			s.SendRequestHeaders(sdktest.Get("/", "accept-encoding", tc.ae), true)
			z := encode(t, tc.upstream, body)
			got := send(t, s, sdktest.Response(200, "content-type", "text/plain", "content-encoding", tc.upstream,
				"content-length", fmt.Sprint(len(z))), z, 8192)
			if ce := s.ResponseHeader("content-encoding"); ce != tc.want {
				t.Fatalf("content-encoding %q; want %q", ce, tc.want)
			}
			if s.ResponseHeader("content-length") != "" {
				t.Error("content-length kept")
			}
			if plain := decode(t, tc.want, got); !bytes.Equal(plain, body) {
				t.Errorf("body: %d bytes, want %d", len(plain), len(body))
			}
		})
	}
}

// A corrupt body cannot be finished: the stream is reset, not cut short
// silently.
func TestCorruptUpstreamBody(t *testing.T) {
	h := start(t, `{"decompression":true}`)
	s := h.NewStream()
	s.SendRequestHeaders(sdktest.Get("/"), true)
	send(t, s, sdktest.Response(200, "content-type", "text/plain", "content-encoding", "gzip"), []byte("this is not gzip data at all"), 100)
	if !s.WasReset() {
		t.Error("stream not reset")
	}
	if len(h.LogMessages(abi.LogError)) == 0 {
		t.Error("nothing logged")
	}
}

// Issue 5: an event stream reaches the client chunk by chunk.
func TestEventStreamFlushed(t *testing.T) {
	h := start(t, `{"gzip_level":6}`)
	s := h.NewStream()
	s.SendRequestHeaders(sdktest.Get("/events", "accept-encoding", "gzip"), true)
	s.SendResponseHeaders(sdktest.Response(200, "content-type", "text/event-stream"), false)
	prev := 0
	for i := range 3 {
		s.SendResponseBody([]byte(fmt.Sprintf("data: event %d\n\n", i)), false)
		if n := len(s.ResponseBody()); n <= prev {
			t.Fatalf("event %d: nothing sent (%d bytes so far)", i, n)
		}
		prev = len(s.ResponseBody())
	}
	s.SendResponseBody(nil, true)
	if got := string(decode(t, "gzip", s.ResponseBody())); got != "data: event 0\n\ndata: event 1\n\ndata: event 2\n\n" {
		t.Errorf("events %q", got)
	}
}

// A response that breaks off leaves no session on the host.
func TestAbandonedStreamCloses(t *testing.T) {
	c := codec.New(codec.Options{})
	var opts []sdktest.Option
	for name, fn := range c.Functions() {
		opts = append(opts, sdktest.WithForeignFunction(name, func(args []byte) ([]byte, error) { return fn("compression", args) }))
	}
	h := sdktest.Start(t, `{"zstd_level":3}`, opts...)
	s := h.NewStream()
	s.SendRequestHeaders(sdktest.Get("/", "accept-encoding", "zstd"), true)
	s.SendResponseHeaders(sdktest.Response(200, "content-type", "text/plain"), false)
	s.SendResponseBody(jsonBody(5000), false)
	if c.Sessions() != 1 {
		t.Fatalf("%d sessions; want 1 while the body streams", c.Sessions())
	}
	s.Complete()
	if c.Sessions() != 0 {
		t.Errorf("%d sessions after the stream ended", c.Sessions())
	}
}

func TestBadConfig(t *testing.T) {
	tests := []struct{ name, config, want string }{
		{"nothing enabled", `{}`, `key "gzip_level": set gzip_level, br_level or zstd_level`},
		{"gzip level", `{"gzip_level":10}`, `key "gzip_level": must be 0 (off) or 1-9`},
		{"br level", `{"br_level":12}`, `key "br_level": must be 0 (off) or 1-11`},
		{"zstd level", `{"zstd_level":-1}`, `key "zstd_level": must be 0 (off) or 1-22`},
		{"min_length", `{"gzip_level":1,"min_length":"lots"}`, `key "min_length": want a size`},
		{"mode", `{"gzip_level":1,"mode":"sideways"}`, `key "mode": must be "" or "upstream"`},
		{"decompression type", `{"gzip_level":1,"decompression":"yes"}`, `key "decompression": want true or false`},
		{"unknown", `{"gzip_level":1,"gzip_levle":2}`, `unknown key "gzip_levle"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := sdktest.New(t, withCodec()...).Configure(tc.config)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Configure(%s) = %v; want %q", tc.config, err, tc.want)
			}
		})
	}
}

func TestNeedsHostCodec(t *testing.T) {
	err := sdktest.New(t).Configure(`{"gzip_level":6}`)
	if err == nil || !strings.Contains(err.Error(), "sluice.codec") {
		t.Errorf("Configure without the host codec = %v; want an error naming sluice.codec", err)
	}
}

func TestCompressible(t *testing.T) {
	for ct, want := range map[string]bool{
		"text/html; charset=utf-8": true, "application/json": true, "application/problem+json": true,
		"image/svg+xml": true, "APPLICATION/JAVASCRIPT": true, "application/wasm": true, "font/woff2": false,
		"image/png": false, "application/octet-stream": false, "": false, "video/mp4": false,
	} {
		if got := compressible(ct); got != want {
			t.Errorf("compressible(%q) = %v; want %v", ct, got, want)
		}
	}
}

// When the host refuses a session (too many open), the response goes out
// as it is instead of being cut.
func TestSessionRefusedPassesThrough(t *testing.T) {
	c := codec.New(codec.Options{MaxSessions: 1})
	var opts []sdktest.Option
	for name, fn := range c.Functions() {
		opts = append(opts, sdktest.WithForeignFunction(name, func(args []byte) ([]byte, error) { return fn("compression", args) }))
	}
	h := sdktest.Start(t, `{"gzip_level":6}`, opts...)
	first := h.NewStream()
	first.SendRequestHeaders(sdktest.Get("/", "accept-encoding", "gzip"), true)
	first.SendResponseHeaders(sdktest.Response(200, "content-type", "text/plain"), false)
	if first.ResponseHeader("content-encoding") != "gzip" {
		t.Fatal("first response not compressed")
	}
	body := jsonBody(3000)
	second := h.NewStream()
	second.SendRequestHeaders(sdktest.Get("/", "accept-encoding", "gzip"), true)
	got := send(t, second, sdktest.Response(200, "content-type", "text/plain", "content-length", "3000"), body, 1000)
	if ce := second.ResponseHeader("content-encoding"); ce != "" || !bytes.Equal(got, body) || second.ResponseHeader("content-length") != "3000" {
		t.Errorf("refused session: content-encoding %q, %d bytes; want the response untouched", ce, len(got))
	}
	if second.WasReset() {
		t.Error("stream reset")
	}
}

func FuzzAcceptEncoding(f *testing.F) {
	for _, s := range []string{"gzip, br;q=0.5, *;q=0", "zstd;q=1.0;x=y", ",,;q=", "x-gzip;Q=0.001", "gzip;q=0, gzip"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, ae string) {
		levels := [4]int{zstd: 3, gzip: 6}
		e := choose(ae, &levels)
		if e != none && (levels[e] == 0 || !accepts(ae, tokens[e])) {
			t.Fatalf("choose(%q) = %s, which is disabled or not accepted", ae, tokens[e])
		}
	})
}
