package transport

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/sluice-proxy/sluice/host/internal/h1wire"
)

// captureServer records the raw bytes of the first request on each
// connection (head and body, as far as the framing the server parses).
func captureServer(t *testing.T) (*rawServer, <-chan string) {
	got := make(chan string, 16)
	srv := newRawServer(t, func(c net.Conn, br *bufio.Reader) {
		var raw strings.Builder
		tee := bufio.NewReader(io.TeeReader(br, &raw))
		req, err := http.ReadRequest(tee)
		if err != nil {
			got <- "error: " + err.Error()
			return
		}
		io.Copy(io.Discard, req.Body)
		got <- raw.String()
		io.WriteString(c, "HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n")
	})
	return srv, got
}

// headLines splits a captured head into its lines, without the blank one.
func headLines(raw string) []string {
	head, _, _ := strings.Cut(raw, "\r\n\r\n")
	return strings.Split(head, "\r\n")
}

func TestWriteRequestHead(t *testing.T) {
	srv, got := captureServer(t)
	tp := newT(t, Options{})
	req := newReq(t, "GET", "/p/a%20th?q=1", nil)
	req.Host = "site.example"
	req.Header = http.Header{"X-One": {"1"}}
	mustDo(t, tp, req, srv.addr(), nil)
	lines := headLines(<-got)
	want := []string{"GET /p/a%20th?q=1 HTTP/1.1", "Host: site.example", "X-One: 1"}
	if strings.Join(lines, "|") != strings.Join(want, "|") {
		t.Errorf("head lines %q; want exactly %q", lines, want)
	}
}

func TestWriteTargets(t *testing.T) {
	srv, got := captureServer(t)
	tp := newT(t, Options{})
	for _, tc := range []struct {
		name string
		req  func() *http.Request
		want string
	}{
		{"empty path", func() *http.Request {
			return &http.Request{Method: "GET", URL: &url.URL{Host: "h"}, Header: http.Header{}}
		}, "GET / HTTP/1.1"},
		{"no host uses the address", func() *http.Request {
			return &http.Request{Method: "GET", URL: &url.URL{Path: "/"}, Header: http.Header{}}
		}, "GET / HTTP/1.1|Host: " + srv.addr()},
		{"empty method is GET", func() *http.Request {
			return &http.Request{URL: &url.URL{Path: "/x"}, Host: "h", Header: http.Header{}}
		}, "GET /x HTTP/1.1"},
		{"force query", func() *http.Request {
			return &http.Request{Method: "GET", URL: &url.URL{Path: "/x", ForceQuery: true}, Host: "h", Header: http.Header{}}
		}, "GET /x? HTTP/1.1"},
		{"options star", func() *http.Request {
			return &http.Request{Method: "OPTIONS", URL: &url.URL{Path: "*"}, Host: "h", Header: http.Header{}}
		}, "OPTIONS * HTTP/1.1"},
		{"raw path kept", func() *http.Request {
			return &http.Request{Method: "GET", URL: &url.URL{Path: "/a/b", RawPath: "/a%2Fb"}, Host: "h", Header: http.Header{}}
		}, "GET /a%2Fb HTTP/1.1"},
		{"path escaped", func() *http.Request {
			return &http.Request{Method: "GET", URL: &url.URL{Path: "/a b\r\n"}, Host: "h", Header: http.Header{}}
		}, "GET /a%20b%0D%0A HTTP/1.1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mustDo(t, tp, tc.req(), srv.addr(), nil)
			lines := headLines(<-got)
			if n := strings.Count(tc.want, "|") + 1; strings.Join(lines[:n], "|") != tc.want {
				t.Errorf("request starts %q; want %q", lines[:n], tc.want)
			}
		})
	}
}

func TestWriteOwnFraming(t *testing.T) {
	// A request carrying hostile framing headers: the transport must send
	// only its own, so that the backend frames the body as we do.
	srv, got := captureServer(t)
	tp := newT(t, Options{})
	for _, tc := range []struct {
		name      string
		body      string
		length    int64
		wantFrame string
	}{
		{"known length", "hello", 5, "Content-Length: 5"},
		{"streamed", "hello", -1, "Transfer-Encoding: chunked"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := newReq(t, "POST", "/", nil)
			req.Body, req.ContentLength = io.NopCloser(onlyReader{strings.NewReader(tc.body)}), tc.length
			req.Header = http.Header{
				"Content-Length":    {"0"},
				"content-length":    {"100"},
				"Transfer-Encoding": {"chunked"},
				"transfer-encoding": {"identity"},
				"Trailer":           {"X-Evil"},
				"Host":              {"evil.example"},
			}
			mustDo(t, tp, req, srv.addr(), nil)
			raw := <-got
			lines := headLines(raw)
			var framing []string
			for _, l := range lines[1:] {
				name, _, _ := strings.Cut(l, ":")
				if framingHeader(name) && !strings.EqualFold(name, "Host") {
					framing = append(framing, l)
				}
				if strings.EqualFold(name, "Host") && l != "Host: backend.test" {
					t.Errorf("host line %q; want the request's Host only", l)
				}
			}
			if len(framing) != 1 || framing[0] != tc.wantFrame {
				t.Errorf("framing headers %q; want only %q", framing, tc.wantFrame)
			}
			if !strings.Contains(raw, tc.body) {
				t.Errorf("body missing from %q", raw)
			}
		})
	}
}

func TestWriteInvalid(t *testing.T) {
	srv, _ := captureServer(t)
	tp := newT(t, Options{})
	for _, tc := range []struct {
		name string
		mod  func(*http.Request)
	}{
		{"CRLF in value", func(r *http.Request) { r.Header.Set("X-A", "v\r\nInjected: 1") }},
		{"LF in value", func(r *http.Request) { r.Header.Set("X-A", "v\nInjected: 1") }},
		{"NUL in value", func(r *http.Request) { r.Header.Set("X-A", "v\x00") }},
		{"CR in name", func(r *http.Request) { r.Header["X-A\r\nB"] = []string{"v"} }},
		{"space in name", func(r *http.Request) { r.Header["X A"] = []string{"v"} }},
		{"empty name", func(r *http.Request) { r.Header[""] = []string{"v"} }},
		{"bad method", func(r *http.Request) { r.Method = "GET /evil HTTP/1.1\r\n" }},
		{"space in query", func(r *http.Request) { r.URL.RawQuery = "a=b c" }},
		{"CRLF in host", func(r *http.Request) { r.Host = "h\r\nX: y" }},
		{"bad trailer name", func(r *http.Request) { r.Trailer = http.Header{"Content-Length": {"1"}} }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := newReq(t, "GET", "/", nil)
			tc.mod(req)
			_, err := tp.RoundTrip(req, srv.addr(), nil)
			e := asError(t, err)
			if e.Op != OpRequest || e.Sent || !errors.Is(err, ErrInvalidRequest) {
				t.Errorf("got %v; want an invalid request error with nothing sent", err)
			}
		})
	}
	if n := srv.accepted.Load(); n != 0 {
		t.Errorf("the server accepted %d connections for invalid requests; want 0", n)
	}
}

func TestWriteChunkedTrailers(t *testing.T) {
	srv, got := captureServer(t)
	tp := newT(t, Options{})
	req := newReq(t, "POST", "/", nil)
	req.Body, req.ContentLength = io.NopCloser(strings.NewReader("abc")), 3
	req.Trailer = http.Header{"X-Digest": nil}
	// As with net/http, trailer values are read once the body is done.
	req.Body = io.NopCloser(io.MultiReader(strings.NewReader("abc"), readerFunc(func([]byte) (int, error) {
		req.Trailer.Set("X-Digest", "sha=1")
		return 0, io.EOF
	})))
	mustDo(t, tp, req, srv.addr(), nil)
	raw := <-got
	for _, want := range []string{"Transfer-Encoding: chunked\r\n", "Trailer: X-Digest\r\n", "3\r\nabc\r\n0\r\nX-Digest: sha=1\r\n\r\n"} {
		if !strings.Contains(raw, want) {
			t.Errorf("request %q lacks %q", raw, want)
		}
	}
}

type readerFunc func([]byte) (int, error)

func (f readerFunc) Read(p []byte) (int, error) { return f(p) }

func TestHasToken(t *testing.T) {
	for _, tc := range []struct {
		values []string
		token  string
		want   bool
	}{
		{[]string{"close"}, "close", true},
		{[]string{"Keep-Alive, CLOSE"}, "close", true},
		{[]string{"keep-alive", " upgrade ,close "}, "close", true},
		{[]string{"closed"}, "close", false},
		{[]string{"x-close"}, "close", false},
		{nil, "close", false},
		{[]string{",,"}, "close", false},
	} {
		if got := h1wire.HasToken(tc.values, tc.token); got != tc.want {
			t.Errorf("h1wire.HasToken(%q, %q) = %v; want %v", tc.values, tc.token, got, tc.want)
		}
	}
}

func TestSNIHost(t *testing.T) {
	for _, tc := range []struct{ host, want string }{
		{"example.com", "example.com"},
		{"example.com:8443", "example.com"},
		{"[::1]:443", "::1"},
		{"", ""},
	} {
		req := &http.Request{Host: tc.host, URL: &url.URL{}}
		if got := sniHost(req); got != tc.want {
			t.Errorf("sniHost(%q) = %q; want %q", tc.host, got, tc.want)
		}
	}
}
