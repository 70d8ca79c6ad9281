package transport

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// echoHandler reports what the backend received.
func echoHandler(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	w.Header().Set("X-Method", r.Method)
	w.Header().Set("X-URI", r.RequestURI)
	w.Header().Set("X-Host", r.Host)
	w.Header().Set("X-UA", strings.Join(r.Header["User-Agent"], ","))
	w.Header().Set("X-AE", strings.Join(r.Header["Accept-Encoding"], ","))
	w.Header().Set("X-Foo", strings.Join(r.Header["Foo"], ","))
	w.Header().Set("X-CL", strconv.FormatInt(r.ContentLength, 10))
	w.Header().Set("X-TE", strings.Join(r.TransferEncoding, ","))
	var tk []string
	for k, v := range r.Trailer {
		tk = append(tk, k+"="+strings.Join(v, ","))
	}
	w.Header().Set("X-Trailers", strings.Join(tk, ";"))
	w.Write(body)
}

func TestRoundTripBasics(t *testing.T) {
	srv, _ := newServer(t, http.HandlerFunc(echoHandler))
	tp := newT(t, Options{})
	req := newReq(t, "GET", "/a%2Fb/c?x=1&y=%20", nil)
	req.Host = "front.example:8443"
	req.Header.Add("Foo", "one")
	req.Header.Add("Foo", " two ")
	var tr Trace
	resp, body := mustDo(t, tp, req, addrOf(srv), &tr)
	for _, c := range []struct{ name, got, want string }{
		{"status", resp.Status, "200 OK"},
		{"proto", resp.Proto, "HTTP/1.1"},
		{"method", resp.Header.Get("X-Method"), "GET"},
		{"uri", resp.Header.Get("X-URI"), "/a%2Fb/c?x=1&y=%20"},
		{"host", resp.Header.Get("X-Host"), "front.example:8443"},
		{"no user agent added", resp.Header.Get("X-UA"), ""},
		{"no accept-encoding added", resp.Header.Get("X-AE"), ""},
		{"repeated header, trimmed", resp.Header.Get("X-Foo"), "one,two"},
		{"body", body, ""},
	} {
		if c.got != c.want {
			t.Errorf("%s: got %q; want %q", c.name, c.got, c.want)
		}
	}
	if tr.Reused || tr.RemoteAddr == nil || tr.RemoteAddr.String() != addrOf(srv) || tr.LocalAddr == nil {
		t.Errorf("trace of a new connection: %+v", tr)
	}
	if tr.FirstByte <= 0 || tr.Connect <= 0 {
		t.Errorf("trace timings: connect %v, first byte %v; want both > 0", tr.Connect, tr.FirstByte)
	}
	if resp.Request != req {
		t.Errorf("resp.Request is not the request")
	}
}

func TestKeepAliveReuse(t *testing.T) {
	srv, cl := newServer(t, http.HandlerFunc(echoHandler))
	tp := newT(t, Options{})
	var tr Trace
	for i := range 1000 {
		resp, _ := mustDo(t, tp, newReq(t, "GET", "/"+strconv.Itoa(i), nil), addrOf(srv), &tr)
		if got, want := resp.Header.Get("X-URI"), "/"+strconv.Itoa(i); got != want {
			t.Fatalf("request %d: backend saw %q; want %q", i, got, want)
		}
		if i > 0 && !tr.Reused {
			t.Fatalf("request %d was not on a reused connection", i)
		}
	}
	if n := cl.n.Load(); n != 1 {
		t.Errorf("accepted %d connections for 1000 sequential requests; want 1", n)
	}
}

func TestConcurrency(t *testing.T) {
	const workers, each = 200, 10
	for _, tc := range []struct {
		name    string
		maxIdle int
	}{
		{"pool larger than concurrency", 256},
		{"small pool", 8},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// Connections are counted on the client side, through the
			// Dialer seam: a close is seen at once, not when the server
			// notices it.
			var open, maxOpen atomic.Int32
			var nd net.Dialer
			dialer := dialFunc(func(ctx context.Context, network, addr string) (net.Conn, error) {
				c, err := nd.DialContext(ctx, network, addr)
				if err != nil {
					return nil, err
				}
				n := open.Add(1)
				for m := maxOpen.Load(); n > m && !maxOpen.CompareAndSwap(m, n); m = maxOpen.Load() {
				}
				return &closeCountConn{Conn: c, open: &open}, nil
			})
			srv, cl := newServer(t, http.HandlerFunc(echoHandler))
			tp := newT(t, Options{MaxIdlePerHost: tc.maxIdle, Dialer: dialer})
			var wg sync.WaitGroup
			errs := make(chan error, workers)
			for w := range workers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := range each {
						body := fmt.Sprintf("w%d-%d", w, i)
						req := newReq(t, "POST", "/", strings.NewReader(body))
						_, got, err := do(t, tp, req, addrOf(srv), nil)
						if err == nil && got != body {
							err = fmt.Errorf("got body %q; want %q", got, body)
						}
						if err != nil {
							errs <- err
							return
						}
					}
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Fatal(err)
			}
			if m := maxOpen.Load(); m > workers {
				t.Errorf("%d connections open at once; want <= %d", m, workers)
			}
			if tc.maxIdle >= workers {
				if n := cl.n.Load(); n > workers {
					t.Errorf("accepted %d connections; want <= %d", n, workers)
				}
			}
			if n := tp.h1.idleCount(addrOf(srv)); n > tc.maxIdle {
				t.Errorf("%d idle connections; want <= %d", n, tc.maxIdle)
			}
		})
	}
}

// closeCountConn decrements a counter of open connections once, on Close.
type closeCountConn struct {
	net.Conn
	open *atomic.Int32
	once sync.Once
}

func (c *closeCountConn) Close() error {
	c.once.Do(func() { c.open.Add(-1) })
	return c.Conn.Close()
}

// onlyReader hides every method but Read, like a streamed client body.
type onlyReader struct{ r io.Reader }

func (o onlyReader) Read(p []byte) (int, error) { return o.r.Read(p) }

func TestRequestBodies(t *testing.T) {
	srv, _ := newServer(t, http.HandlerFunc(echoHandler))
	big := strings.Repeat("0123456789", 10_000)
	for _, tc := range []struct {
		name     string
		method   string
		body     io.Reader
		length   int64
		trailer  http.Header
		wantCL   string
		wantTE   string
		wantBody string
		wantTr   string
	}{
		{name: "content length", method: "PUT", body: strings.NewReader("hello"), length: 5, wantCL: "5", wantBody: "hello"},
		{name: "large content length", method: "POST", body: onlyReader{strings.NewReader(big)}, length: int64(len(big)), wantCL: strconv.Itoa(len(big)), wantBody: big},
		{name: "empty post sends length 0", method: "POST", wantCL: "0"},
		{name: "get without body", method: "GET", wantCL: "0"},
		{name: "unknown length is chunked", method: "POST", body: onlyReader{strings.NewReader(big)}, length: -1, wantCL: "-1", wantTE: "chunked", wantBody: big},
		{name: "zero length with data is probed", method: "POST", body: onlyReader{strings.NewReader("abc")}, length: 0, wantCL: "-1", wantTE: "chunked", wantBody: "abc"},
		{name: "zero length and empty is no body", method: "POST", body: onlyReader{strings.NewReader("")}, length: 0, wantCL: "0"},
		{name: "chunked with trailers", method: "POST", body: onlyReader{strings.NewReader("data")}, length: -1,
			trailer: http.Header{"X-Sum": {"42"}}, wantCL: "-1", wantTE: "chunked", wantBody: "data", wantTr: "X-Sum=42"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tp := newT(t, Options{})
			req := newReq(t, tc.method, "/", nil)
			if tc.body != nil {
				req.Body = io.NopCloser(tc.body)
			}
			req.ContentLength = tc.length
			req.Trailer = tc.trailer
			resp, body := mustDo(t, tp, req, addrOf(srv), nil)
			for _, c := range []struct{ name, got, want string }{
				{"content length seen", resp.Header.Get("X-CL"), tc.wantCL},
				{"transfer encoding seen", resp.Header.Get("X-TE"), tc.wantTE},
				{"trailers seen", resp.Header.Get("X-Trailers"), tc.wantTr},
			} {
				if c.got != c.want {
					t.Errorf("%s: got %q; want %q", c.name, c.got, c.want)
				}
			}
			if body != tc.wantBody {
				t.Errorf("echoed body: %d bytes; want %d", len(body), len(tc.wantBody))
			}
		})
	}
}

// closeTracker records Close on a request body.
type closeTracker struct {
	io.Reader
	closed atomic.Int32
}

func (c *closeTracker) Close() error { c.closed.Add(1); return nil }

func TestRequestBodyErrors(t *testing.T) {
	srv, _ := newServer(t, http.HandlerFunc(echoHandler))
	tp := newT(t, Options{})
	t.Run("shorter than content length", func(t *testing.T) {
		b := &closeTracker{Reader: strings.NewReader("abc")}
		req := newReq(t, "POST", "/", nil)
		req.Body, req.ContentLength = b, 10
		_, err := tp.RoundTrip(req, addrOf(srv), nil)
		e := asError(t, err)
		if e.Op != OpBody || !errors.Is(err, errBodyShort) || e.Timeout {
			t.Errorf("got %v; want a body error for a short body", err)
		}
		if b.closed.Load() != 1 {
			t.Errorf("request body closed %d times; want 1", b.closed.Load())
		}
	})
	t.Run("reading fails", func(t *testing.T) {
		boom := errors.New("client went away")
		req := newReq(t, "POST", "/", nil)
		req.Body, req.ContentLength = io.NopCloser(io.MultiReader(strings.NewReader("ab"), iotestErr{boom})), -1
		_, err := tp.RoundTrip(req, addrOf(srv), nil)
		if e := asError(t, err); e.Op != OpBody || !errors.Is(err, boom) {
			t.Errorf("got %v; want the body's error with Op body", err)
		}
	})
}

// TestUnsentBodyUntouched pins the contract the proxy's retries rely on:
// Sent false means the request body was neither read nor closed; once any
// of it is read, Sent is true even if no byte reached a socket.
func TestUnsentBodyUntouched(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refused := ln.Addr().String()
	ln.Close()
	brokenPipe := dialFunc(func(context.Context, string, string) (net.Conn, error) {
		return &fakeConn{r: strings.NewReader(""), writeErr: syscall.EPIPE}, nil
	})
	for _, tc := range []struct {
		name       string
		opts       Options
		addr       string
		method     string
		length     int64
		badHeader  bool
		wantOp     string
		wantSent   bool
		wantClosed int32
	}{
		{name: "connect refused", addr: refused, method: "POST", length: 5, wantOp: OpDial},
		{name: "connect refused, h2c", opts: Options{Protocol: H2}, addr: refused, method: "POST", length: 5, wantOp: OpDial},
		{name: "invalid request", addr: refused, method: "POST", length: 5, badHeader: true, wantOp: OpRequest},
		{name: "write fails after the body was buffered", opts: Options{Dialer: brokenPipe}, addr: "10.0.0.1:80", method: "POST", length: 5, wantOp: OpWrite, wantSent: true, wantClosed: 1},
		{name: "streamed body probed, then write fails", opts: Options{Dialer: brokenPipe}, addr: "10.0.0.1:80", method: "POST", length: 0, wantOp: OpWrite, wantSent: true, wantClosed: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tp := newT(t, tc.opts)
			b := &closeTracker{Reader: strings.NewReader("hello")}
			req := newReq(t, tc.method, "/", nil)
			req.Body, req.ContentLength = b, tc.length
			if tc.badHeader {
				req.Header.Set("Bad", "a\r\nInjected: yes")
			}
			_, err := tp.RoundTrip(req, tc.addr, nil)
			e := asError(t, err)
			if e.Op != tc.wantOp || e.Sent != tc.wantSent {
				t.Errorf("got Op %q Sent %v (%v); want %q %v", e.Op, e.Sent, err, tc.wantOp, tc.wantSent)
			}
			if n := b.closed.Load(); n != tc.wantClosed {
				t.Errorf("request body closed %d times; want %d", n, tc.wantClosed)
			}
			if !tc.wantSent {
				if rest, _ := io.ReadAll(b); string(rest) != "hello" {
					t.Errorf("the unsent body was read: %q left", rest)
				}
			}
		})
	}
}

type iotestErr struct{ err error }

func (e iotestErr) Read([]byte) (int, error) { return 0, e.err }

func TestResponseTrailers(t *testing.T) {
	srv, cl := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Trailer", "X-Checksum, X-Late")
		w.Write([]byte("part one, "))
		w.(http.Flusher).Flush()
		w.Write([]byte("part two"))
		w.Header().Set("X-Checksum", "abc")
		w.Header().Set("X-Late", "yes")
	}))
	tp := newT(t, Options{})
	for range 2 {
		resp, err := tp.RoundTrip(newReq(t, "GET", "/", nil), addrOf(srv), nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := resp.Trailer["X-Checksum"]; !ok || resp.Trailer.Get("X-Checksum") != "" {
			t.Errorf("before EOF: trailer %v; want announced keys without values", resp.Trailer)
		}
		if resp.Header.Get("Trailer") != "" || len(resp.TransferEncoding) != 1 || resp.ContentLength != -1 {
			t.Errorf("framing leaked into the header: %v, TE %v, CL %d", resp.Header, resp.TransferEncoding, resp.ContentLength)
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || string(b) != "part one, part two" {
			t.Fatalf("body %q, %v", b, err)
		}
		if got := resp.Trailer.Get("X-Checksum") + "," + resp.Trailer.Get("X-Late"); got != "abc,yes" {
			t.Errorf("after EOF: trailers %v; want X-Checksum=abc, X-Late=yes", resp.Trailer)
		}
	}
	if n := cl.n.Load(); n != 1 {
		t.Errorf("accepted %d connections; want 1 (reused after chunked body)", n)
	}
}

func TestNoBodyResponses(t *testing.T) {
	srv, cl := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/204":
			w.WriteHeader(http.StatusNoContent)
		case "/304":
			w.WriteHeader(http.StatusNotModified)
		default:
			w.Header().Set("Content-Length", "11")
			w.Write([]byte("hello world"))
		}
	}))
	tp := newT(t, Options{})
	for _, tc := range []struct {
		name, method, path string
		wantStatus         int
		wantLength         int64
	}{
		{"head keeps declared length", "HEAD", "/", 200, 11},
		{"204", "GET", "/204", 204, 0},
		{"304", "GET", "/304", 304, 0},
		{"get after them reuses", "GET", "/", 200, 11},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := tp.RoundTrip(newReq(t, tc.method, tc.path, nil), addrOf(srv), nil)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if resp.StatusCode != tc.wantStatus || resp.ContentLength != tc.wantLength {
				t.Errorf("got %d with length %d; want %d with %d", resp.StatusCode, resp.ContentLength, tc.wantStatus, tc.wantLength)
			}
			if tc.method == "HEAD" || tc.wantStatus != 200 {
				if resp.Body != http.NoBody {
					t.Errorf("body is %T; want http.NoBody", resp.Body)
				}
			}
		})
	}
	if n := cl.n.Load(); n != 1 {
		t.Errorf("accepted %d connections; want 1", n)
	}
}

func TestInterimResponses(t *testing.T) {
	srv, _ := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/hints":
			w.Header().Set("Link", "</style.css>; rel=preload")
			w.WriteHeader(http.StatusEarlyHints)
			w.Header().Del("Link")
			w.Write([]byte("final"))
		case "/reject":
			// Answers without reading: net/http then sends no 100.
			w.WriteHeader(http.StatusExpectationFailed)
		default:
			b, _ := io.ReadAll(r.Body)
			w.Write(b)
		}
	}))
	type got struct {
		code int
		link string
	}
	for _, tc := range []struct {
		name       string
		path       string
		expect     bool
		wantStatus int
		wantBody   string
		want1xx    []got
		maxElapsed time.Duration
	}{
		{name: "103 early hints", path: "/hints", wantStatus: 200, wantBody: "final", want1xx: []got{{103, "</style.css>; rel=preload"}}},
		{name: "100 continue then body", path: "/echo", expect: true, wantStatus: 200, wantBody: "payload", want1xx: []got{{100, ""}}},
		{name: "final answer instead of 100", path: "/reject", expect: true, wantStatus: 417, maxElapsed: 2 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tp := newT(t, Options{ExpectContinueTimeout: 5 * time.Second})
			req := newReq(t, "POST", tc.path, strings.NewReader("payload"))
			if tc.expect {
				req.Header.Set("Expect", "100-continue")
			}
			var seen []got
			tr := Trace{Got1xx: func(code int, h http.Header) { seen = append(seen, got{code, h.Get("Link")}) }}
			start := time.Now()
			resp, body := mustDo(t, tp, req, addrOf(srv), &tr)
			if resp.StatusCode != tc.wantStatus || body != tc.wantBody {
				t.Errorf("got %d %q; want %d %q", resp.StatusCode, body, tc.wantStatus, tc.wantBody)
			}
			if fmt.Sprint(seen) != fmt.Sprint(tc.want1xx) {
				t.Errorf("interim responses %v; want %v", seen, tc.want1xx)
			}
			if tc.maxElapsed > 0 && time.Since(start) > tc.maxElapsed {
				t.Errorf("took %v; the final answer should not wait for the continue timeout", time.Since(start))
			}
		})
	}
}

func TestExpectContinueTimeout(t *testing.T) {
	// A backend that never sends 100 Continue but waits for the body: the
	// body goes out once ExpectContinueTimeout has passed.
	srv := newRawServer(t, func(c net.Conn, br *bufio.Reader) {
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		b, _ := io.ReadAll(req.Body)
		fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s", len(b), b)
	})
	const wait = 50 * time.Millisecond
	tp := newT(t, Options{ExpectContinueTimeout: wait})
	req := newReq(t, "PUT", "/", strings.NewReader("late body"))
	req.Header.Set("Expect", "100-continue")
	start := time.Now()
	_, body := mustDo(t, tp, req, srv.addr(), nil)
	if elapsed := time.Since(start); body != "late body" || elapsed < wait || elapsed > 20*wait {
		t.Errorf("got %q after %v; want the body echoed after about %v", body, elapsed, wait)
	}
}

func TestTooManyInterimResponses(t *testing.T) {
	srv := newRawServer(t, serveCanned(strings.Repeat("HTTP/1.1 103 Early Hints\r\n\r\n", maxInformational+1)+
		"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"))
	tp := newT(t, Options{})
	_, err := tp.RoundTrip(newReq(t, "GET", "/", nil), srv.addr(), nil)
	if !errors.Is(err, ErrMalformedResponse) {
		t.Errorf("got %v; want a malformed response error", err)
	}
}

func TestUpgradeTunnel(t *testing.T) {
	srv := newRawServer(t, func(c net.Conn, br *bufio.Reader) {
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		if req.Header.Get("Upgrade") != "websocket" {
			io.WriteString(c, "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
			return
		}
		// The greeting travels in the same segment as the head.
		io.WriteString(c, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\nhello\n")
		io.Copy(c, br) // echo
	})
	tp := newT(t, Options{ReadTimeout: 50 * time.Millisecond})
	req := newReq(t, "GET", "/ws", nil)
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Upgrade", "websocket")
	resp, err := tp.RoundTrip(req, srv.addr(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("status %d; want 101", resp.StatusCode)
	}
	rwc, ok := resp.Body.(io.ReadWriteCloser)
	if !ok {
		t.Fatalf("body %T is not an io.ReadWriteCloser", resp.Body)
	}
	r := bufio.NewReader(rwc)
	// Waiting longer than ReadTimeout: the tunnel has no read timeout.
	time.Sleep(100 * time.Millisecond)
	for _, want := range []string{"hello\n", "ping\n", "pong\n"} {
		if want != "hello\n" {
			if _, err := io.WriteString(rwc, want); err != nil {
				t.Fatal(err)
			}
		}
		line, err := r.ReadString('\n')
		if err != nil || line != want {
			t.Fatalf("read %q, %v; want %q", line, err, want)
		}
	}
	if cw, ok := resp.Body.(interface{ CloseWrite() error }); !ok {
		t.Error("tunnel body has no CloseWrite")
	} else if err := cw.CloseWrite(); err != nil {
		t.Errorf("CloseWrite: %v", err)
	}
	if _, err := r.ReadString('\n'); err != io.EOF {
		t.Errorf("after half-close: %v; want EOF from the echo's end", err)
	}
}

func TestUnsolicitedUpgrade(t *testing.T) {
	srv := newRawServer(t, serveCanned("HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\n\r\n"))
	tp := newT(t, Options{})
	_, err := tp.RoundTrip(newReq(t, "GET", "/", nil), srv.addr(), nil)
	if !errors.Is(err, ErrMalformedResponse) {
		t.Errorf("got %v; want a malformed response error for a 101 nobody asked for", err)
	}
}

const okResponse = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"

func TestStaleConnection(t *testing.T) {
	// The backend answers one request per connection, then closes it
	// without saying so: the pooled connection is stale.
	closesAfterOne := func(t *testing.T) *rawServer { return newRawServer(t, serveOnce(okResponse)) }
	// The backend keeps the connection open but drops it when a second
	// request arrives: invisible to the idle check.
	dropsSecond := func(t *testing.T) *rawServer {
		return newRawServer(t, func(c net.Conn, br *bufio.Reader) {
			if req, err := http.ReadRequest(br); err == nil {
				io.Copy(io.Discard, req.Body)
				io.WriteString(c, okResponse)
			}
			http.ReadRequest(br)
		})
	}
	for _, tc := range []struct {
		name         string
		server       func(*testing.T) *rawServer
		method       string
		getBody      bool
		idemKey      bool
		waitClose    bool
		wantErr      bool
		wantRetried  bool
		wantAccepted int32
	}{
		{name: "get is retried", server: closesAfterOne, method: "GET", waitClose: true, wantRetried: true, wantAccepted: 2},
		{name: "post with GetBody is not idempotent: idle check instead", server: closesAfterOne, method: "POST", getBody: true, waitClose: true, wantAccepted: 2},
		{name: "streamed post passes the idle check", server: closesAfterOne, method: "POST", waitClose: true, wantAccepted: 2},
		{name: "get dropped on arrival is retried", server: dropsSecond, method: "GET", wantRetried: true, wantAccepted: 2},
		{name: "streamed post dropped on arrival fails", server: dropsSecond, method: "POST", wantErr: true, wantAccepted: 1},
		{name: "post with idempotency key is replayed", server: dropsSecond, method: "POST", getBody: true, idemKey: true, wantRetried: true, wantAccepted: 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := tc.server(t)
			tp := newT(t, Options{})
			mustDo(t, tp, newReq(t, "GET", "/", nil), srv.addr(), nil)
			if tc.waitClose {
				time.Sleep(50 * time.Millisecond) // let the FIN arrive
			}
			req := newReq(t, tc.method, "/", nil)
			var getBodyCalls atomic.Int32
			if tc.method == "POST" {
				req.Body, req.ContentLength = io.NopCloser(onlyReader{strings.NewReader("data")}), 4
				if tc.getBody {
					req.GetBody = func() (io.ReadCloser, error) {
						getBodyCalls.Add(1)
						return io.NopCloser(strings.NewReader("data")), nil
					}
				}
			}
			if tc.idemKey {
				req.Header.Set("Idempotency-Key", "k1")
			}
			var tr Trace
			_, body, err := do(t, tp, req, srv.addr(), &tr)
			if tc.wantErr {
				e := asError(t, err)
				if !e.Sent || e.Timeout || e.Op != OpRead || !errors.Is(err, ErrClosedBeforeResponse) {
					t.Errorf("got %+v; want a read error after sending, not a timeout", e)
				}
			} else if err != nil || body != "ok" {
				t.Fatalf("got %q, %v; want ok", body, err)
			}
			if tr.Retried != tc.wantRetried {
				t.Errorf("Retried = %v; want %v", tr.Retried, tc.wantRetried)
			}
			if want := tc.wantRetried && tc.getBody; (getBodyCalls.Load() == 1) != want {
				t.Errorf("GetBody called %d times; want a call: %v", getBodyCalls.Load(), want)
			}
			if n := srv.accepted.Load(); n != tc.wantAccepted {
				t.Errorf("accepted %d connections; want %d", n, tc.wantAccepted)
			}
		})
	}
}

func TestConnectionClose(t *testing.T) {
	for _, tc := range []struct {
		name         string
		response     string
		opts         Options
		reqClose     bool
		wantAccepted int32
		wantHeader   bool
	}{
		{name: "server says close", response: "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok", wantAccepted: 3},
		{name: "request says close", response: okResponse, reqClose: true, wantAccepted: 3, wantHeader: true},
		{name: "keep-alive disabled", response: okResponse, opts: Options{MaxIdlePerHost: -1}, wantAccepted: 3, wantHeader: true},
		{name: "http/1.0 without keep-alive", response: "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok", wantAccepted: 3},
		{name: "http/1.0 with keep-alive", response: "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\nok", wantAccepted: 1},
		{name: "body until close", response: "HTTP/1.1 200 OK\r\n\r\nok", wantAccepted: 3},
		{name: "plain keep-alive", response: okResponse, wantAccepted: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var sawClose atomic.Bool
			srv := newRawServer(t, func(c net.Conn, br *bufio.Reader) {
				for {
					req, err := http.ReadRequest(br)
					if err != nil {
						return
					}
					if req.Close {
						sawClose.Store(true)
					}
					io.WriteString(c, tc.response)
					if req.Close || !strings.Contains(tc.response, "Content-Length") || strings.Contains(tc.response, "close") ||
						strings.HasPrefix(tc.response, "HTTP/1.0") && !strings.Contains(tc.response, "keep-alive") {
						return
					}
				}
			})
			tp := newT(t, tc.opts)
			for range 3 {
				req := newReq(t, "GET", "/", nil)
				req.Close = tc.reqClose
				resp, body := mustDo(t, tp, req, srv.addr(), nil)
				if body != "ok" {
					t.Fatalf("body %q; want ok", body)
				}
				if wantClose := tc.wantAccepted != 1; resp.Close != wantClose {
					t.Errorf("resp.Close = %v; want %v", resp.Close, wantClose)
				}
			}
			if n := srv.accepted.Load(); n != tc.wantAccepted {
				t.Errorf("accepted %d connections; want %d", n, tc.wantAccepted)
			}
			if sawClose.Load() != tc.wantHeader {
				t.Errorf("server saw Connection: close = %v; want %v", sawClose.Load(), tc.wantHeader)
			}
		})
	}
}

func TestBodyClose(t *testing.T) {
	small := strings.Repeat("s", 1000)
	large := strings.Repeat("L", 4<<20)
	srv, cl := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/small":
			io.WriteString(w, small)
		case "/large":
			io.WriteString(w, large)
		case "/chunked":
			for range 3 {
				io.WriteString(w, "chunk")
				w.(http.Flusher).Flush()
			}
		}
	}))
	tp := newT(t, Options{})
	mustDo(t, tp, newReq(t, "GET", "/small", nil), addrOf(srv), nil) // warm the pool
	for _, tc := range []struct {
		name      string
		path      string
		wantReuse bool
	}{
		{"small rest is drained", "/small", true},
		{"chunked rest is drained", "/chunked", true},
		{"large rest closes", "/large", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := cl.n.Load()
			resp, err := tp.RoundTrip(newReq(t, "GET", tc.path, nil), addrOf(srv), nil)
			if err != nil {
				t.Fatal(err)
			}
			var one [1]byte
			if _, err := io.ReadFull(resp.Body, one[:]); err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if _, err := resp.Body.Read(one[:]); err != ErrBodyClosed {
				t.Errorf("Read after Close: %v; want ErrBodyClosed", err)
			}
			mustDo(t, tp, newReq(t, "GET", "/small", nil), addrOf(srv), nil)
			newConns := cl.n.Load() - before
			if got := newConns == 0; got != tc.wantReuse {
				t.Errorf("%d new connections after Close; reuse = %v, want %v", newConns, got, tc.wantReuse)
			}
		})
	}
}

func TestCloseUnblocksRead(t *testing.T) {
	srv := newRawServer(t, func(c net.Conn, br *bufio.Reader) {
		http.ReadRequest(br)
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nabc")
		io.Copy(io.Discard, br) // stall until the client closes
	})
	tp := newT(t, Options{})
	resp, err := tp.RoundTrip(newReq(t, "GET", "/", nil), srv.addr(), nil)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 3)
	io.ReadFull(resp.Body, buf)
	done := make(chan error, 1)
	go func() {
		_, err := resp.Body.Read(buf)
		done <- err
	}()
	time.Sleep(20 * time.Millisecond)
	resp.Body.Close()
	select {
	case err := <-done:
		if err == nil {
			t.Error("blocked Read returned no error after Close")
		}
	case <-time.After(2 * time.Second):
		t.Fatal("Close did not unblock Read")
	}
}

func TestLargeResponseHead(t *testing.T) {
	// Heads larger than the read buffer take the copying path.
	for _, tc := range []struct {
		name    string
		size    int
		wantErr error
	}{
		{"fits the buffer", 1000, nil},
		{"larger than the buffer", 3 * readBufferSize, nil},
		{"one long line", readBufferSize + 100, nil},
		{"over the cap", DefaultMaxResponseHeaderBytes + 10, ErrHeaderTooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var head bytes.Buffer
			head.WriteString("HTTP/1.1 200 OK\r\n")
			if tc.name == "one long line" {
				fmt.Fprintf(&head, "X-Long: %s\r\n", strings.Repeat("v", tc.size))
			} else {
				for i := 0; head.Len() < tc.size; i++ {
					fmt.Fprintf(&head, "X-H%d: %s\r\n", i, strings.Repeat("v", 50))
				}
			}
			head.WriteString("Content-Length: 4\r\n\r\nbody")
			srv := newRawServer(t, serveCanned(head.String()))
			tp := newT(t, Options{})
			for range 2 {
				resp, body, err := do(t, tp, newReq(t, "GET", "/", nil), srv.addr(), nil)
				if tc.wantErr != nil {
					if !errors.Is(err, tc.wantErr) {
						t.Fatalf("got %v; want %v", err, tc.wantErr)
					}
					return
				}
				if err != nil || body != "body" || resp.Header.Get("X-H0")+resp.Header.Get("X-Long") == "" {
					t.Fatalf("got %q, %v", body, err)
				}
			}
			if n := srv.accepted.Load(); n != 1 {
				t.Errorf("accepted %d; want 1", n)
			}
		})
	}
}
