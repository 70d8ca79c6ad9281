package h1

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// serve runs s on a loopback listener and returns its address.
func serve(t *testing.T, s *Server) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close(); s.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go s.ServeConn(c)
		}
	}()
	return ln.Addr().String()
}

// client is a raw connection to the server under test.
type client struct {
	t  *testing.T
	c  net.Conn
	br *bufio.Reader
}

func dial(t *testing.T, addr string) *client {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(10 * time.Second))
	return &client{t: t, c: c, br: bufio.NewReader(c)}
}

func (cl *client) send(s string) {
	cl.t.Helper()
	if _, err := io.WriteString(cl.c, s); err != nil {
		cl.t.Fatal(err)
	}
}

// response reads one response to a request with the given method.
func (cl *client) response(method string) (*http.Response, string) {
	cl.t.Helper()
	resp, err := http.ReadResponse(cl.br, &http.Request{Method: method})
	if err != nil {
		cl.t.Fatalf("reading response: %v", err)
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		cl.t.Fatalf("reading body: %v", err)
	}
	return resp, string(b)
}

// closed reports whether the server closes the connection within 2s.
func (cl *client) closed() bool { return cl.closedWithin(2 * time.Second) }

func (cl *client) closedWithin(d time.Duration) bool {
	cl.c.SetReadDeadline(time.Now().Add(d))
	_, err := cl.br.ReadByte()
	return errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET)
}

// echo answers with what it saw of the request.
var echo = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	b, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, "body: "+err.Error(), 500)
		return
	}
	fmt.Fprintf(w, "%s %s %s host=%s len=%d body=%q trailer=%v", r.Method, r.URL.Path, r.Proto, r.Host, r.ContentLength, b, r.Trailer)
})

func TestRequests(t *testing.T) {
	tests := []struct {
		name    string
		handler http.Handler
		req     string
		method  string
		status  int
		body    string            // "" skips the check
		header  map[string]string // "" means absent
		close   bool              // the server closes the connection after
	}{
		{name: "GET", req: "GET /a?b=1 HTTP/1.1\r\nHost: x\r\n\r\n", status: 200,
			body: `GET /a HTTP/1.1 host=x len=0 body="" trailer=map[]`, header: map[string]string{"Content-Length": "50", "Transfer-Encoding": ""}},
		{name: "bare LF line endings", req: "GET / HTTP/1.1\nHost: x\n\n", status: 200},
		{name: "empty line before the request line", req: "\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n", status: 200},
		{name: "absolute-form target gives the host", req: "GET http://y:8/p HTTP/1.1\r\nHost: x\r\n\r\n", status: 200,
			body: `GET /p HTTP/1.1 host=y:8 len=0 body="" trailer=map[]`},
		{name: "Content-Length body", req: "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello", status: 200,
			body: `POST / HTTP/1.1 host=x len=5 body="hello" trailer=map[]`},
		{name: "chunked body with a trailer", req: "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTrailer: X-Sum\r\n\r\n3\r\nhel\r\n2;ext=1\r\nlo\r\n0\r\nX-Sum: 9\r\n\r\n", status: 200,
			body: `POST / HTTP/1.1 host=x len=-1 body="hello" trailer=map[X-Sum:[9]]`},
		{name: "HTTP/1.0 closes by default", req: "GET / HTTP/1.0\r\n\r\n", status: 200, close: true,
			header: map[string]string{"Connection": "close"}},
		{name: "HTTP/1.0 keep-alive", req: "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", status: 200,
			header: map[string]string{"Connection": "keep-alive"}},
		{name: "Connection: close", req: "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", status: 200, close: true},
		{name: "HEAD", method: "HEAD", req: "HEAD / HTTP/1.1\r\nHost: x\r\n\r\n", status: 200, body: "",
			header: map[string]string{"Content-Length": "50"}},

		{name: "both Transfer-Encoding and Content-Length", req: "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", status: 400, close: true},
		{name: "conflicting Content-Length", req: "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd", status: 400, close: true},
		{name: "negative Content-Length", req: "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n", status: 400, close: true},
		{name: "unknown Transfer-Encoding", req: "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", status: 501, close: true},
		{name: "Transfer-Encoding in HTTP/1.0", req: "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", status: 400, close: true},
		{name: "missing Host", req: "GET / HTTP/1.1\r\n\r\n", status: 400, close: true},
		{name: "two Hosts", req: "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", status: 400, close: true},
		{name: "bad Host", req: "GET / HTTP/1.1\r\nHost: a b\r\n\r\n", status: 400, close: true},
		{name: "obsolete line folding", req: "GET / HTTP/1.1\r\nHost: x\r\nX: a\r\n b\r\n\r\n", status: 400, close: true},
		{name: "space before colon", req: "GET / HTTP/1.1\r\nHost : x\r\n\r\n", status: 400, close: true},
		{name: "control byte in a value", req: "GET / HTTP/1.1\r\nHost: x\r\nX: a\x01b\r\n\r\n", status: 400, close: true},
		{name: "bad method", req: "G(T / HTTP/1.1\r\nHost: x\r\n\r\n", status: 400, close: true},
		{name: "space in target", req: "GET /a b HTTP/1.1\r\nHost: x\r\n\r\n", status: 400, close: true},
		{name: "HTTP/2.0 request line", req: "GET / HTTP/2.0\r\nHost: x\r\n\r\n", status: 505, close: true},
		{name: "h2c preface without HTTP/2", req: h2Preface, status: 505, close: true},
		{name: "garbage version", req: "GET / HTPT/1.1\r\nHost: x\r\n\r\n", status: 400, close: true},
		{name: "head over the limit", req: "GET / HTTP/1.1\r\nHost: x\r\nX: " + strings.Repeat("a", 5000) + "\r\n\r\n", status: 431, close: true},
		{name: "Expect other than 100-continue", req: "POST / HTTP/1.1\r\nHost: x\r\nExpect: teapot\r\nContent-Length: 1\r\n\r\na", status: 417, close: true},

		{name: "long body is chunked", handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Write([]byte(strings.Repeat("x", holdLimit)))
			w.Write([]byte("y"))
		}), req: "GET / HTTP/1.1\r\nHost: x\r\n\r\n", status: 200, body: strings.Repeat("x", holdLimit) + "y",
			header: map[string]string{"Content-Length": "", "Transfer-Encoding": "chunked"}},
		{name: "long body to HTTP/1.0 ends with the connection", handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Write([]byte(strings.Repeat("x", holdLimit+1)))
		}), req: "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", status: 200, body: strings.Repeat("x", holdLimit+1), close: true},
		{name: "declared Content-Length streams", handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", "10000")
			w.Write([]byte(strings.Repeat("x", 10000)))
		}), req: "GET / HTTP/1.1\r\nHost: x\r\n\r\n", status: 200, header: map[string]string{"Content-Length": "10000", "Transfer-Encoding": ""}},
		{name: "short of the declared length closes", handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", "3")
			w.Write([]byte("ab"))
		}), req: "GET / HTTP/1.1\r\nHost: x\r\n\r\n", status: -1, close: true},
		{name: "flush commits to chunks", handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Write([]byte("a"))
			w.(http.Flusher).Flush()
			w.Write([]byte("b"))
		}), req: "GET / HTTP/1.1\r\nHost: x\r\n\r\n", status: 200, body: "ab", header: map[string]string{"Transfer-Encoding": "chunked"}},
		{name: "204 has no body or length", handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", "5")
			w.WriteHeader(204)
			if _, err := w.Write([]byte("x")); err != http.ErrBodyNotAllowed {
				panic(err)
			}
		}), req: "GET / HTTP/1.1\r\nHost: x\r\n\r\n", status: 204, body: "", header: map[string]string{"Content-Length": ""}},
		{name: "empty handler", handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}),
			req: "GET / HTTP/1.1\r\nHost: x\r\n\r\n", status: 200, body: "", header: map[string]string{"Content-Length": "0"}},
		{name: "handler Date and Connection: close", handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Date", "yesterday")
			w.Header().Set("Connection", "close")
		}), req: "GET / HTTP/1.1\r\nHost: x\r\n\r\n", status: 200, close: true, header: map[string]string{"Date": "yesterday", "Connection": "close"}},
		{name: "a value cannot split the head", handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("X-A", "1\r\nX-Injected: 2")
			w.Header()["Bad Name"] = []string{"v"}
		}), req: "GET / HTTP/1.1\r\nHost: x\r\n\r\n", status: 200, header: map[string]string{"X-A": "1  X-Injected: 2", "X-Injected": "", "Bad Name": ""}},
		{name: "trailers", handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Trailer", "X-Sum")
			w.Write([]byte("data"))
			w.Header().Set("X-Sum", "4")
			w.Header().Set(http.TrailerPrefix+"X-Late", "yes")
		}), req: "GET / HTTP/1.1\r\nHost: x\r\n\r\n", status: 200, body: "data", header: map[string]string{"Transfer-Encoding": "chunked"}},
		{name: "panic closes without an answer", handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			panic(http.ErrAbortHandler)
		}), req: "GET / HTTP/1.1\r\nHost: x\r\n\r\n", status: -1, close: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := tc.handler
			if h == nil {
				h = echo
			}
			addr := serve(t, &Server{Handler: h, MaxHeaderBytes: 4096, Logger: discard()})
			cl := dial(t, addr)
			cl.send(tc.req)
			if tc.status == -1 {
				// Whatever was sent, the connection must end.
				cl.c.SetReadDeadline(time.Now().Add(2 * time.Second))
				if _, err := io.ReadAll(cl.br); err != nil {
					t.Fatalf("the connection stayed open: %v", err)
				}
				return
			}
			method := tc.method
			if method == "" {
				method = "GET"
			}
			resp, body := cl.response(method)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d; want %d (body %q)", resp.StatusCode, tc.status, body)
			}
			if tc.body != "" || tc.method == "HEAD" || tc.status == 204 {
				if body != tc.body {
					t.Errorf("body %q; want %q", body, tc.body)
				}
			}
			raw := resp.Header.Clone()
			if resp.TransferEncoding != nil {
				raw["Transfer-Encoding"] = resp.TransferEncoding
			}
			if resp.Close && raw.Get("Connection") == "" {
				raw.Set("Connection", "close")
			}
			for k, want := range tc.header {
				if got := raw.Get(k); got != want {
					t.Errorf("header %s = %q; want %q", k, got, want)
				}
			}
			if raw.Get("Date") == "" {
				t.Error("no Date header")
			}
			if tc.name == "trailers" {
				if resp.Trailer.Get("X-Sum") != "4" || resp.Trailer.Get("X-Late") != "yes" {
					t.Errorf("trailers %v", resp.Trailer)
				}
			}
			wait := 2 * time.Second
			if !tc.close {
				wait = 300 * time.Millisecond // long enough to see a close that is on its way
			}
			if got := cl.closedWithin(wait); got != tc.close {
				t.Errorf("connection closed: %v; want %v", got, tc.close)
			}
		})
	}
}

func TestKeepAlive(t *testing.T) {
	var n atomic.Int32
	addr := serve(t, &Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "%d %s", n.Add(1), r.URL.Path)
	})})
	cl := dial(t, addr)

	t.Run("pipelined requests are answered in order", func(t *testing.T) {
		cl.send("GET /1 HTTP/1.1\r\nHost: x\r\n\r\nGET /2 HTTP/1.1\r\nHost: x\r\n\r\n")
		for _, want := range []string{"1 /1", "2 /2"} {
			if _, body := cl.response("GET"); body != want {
				t.Fatalf("body %q; want %q", body, want)
			}
		}
	})
	t.Run("a small unread body is skipped", func(t *testing.T) {
		cl.send("POST /3 HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhelloGET /4 HTTP/1.1\r\nHost: x\r\n\r\n")
		for _, want := range []string{"3 /3", "4 /4"} {
			if _, body := cl.response("GET"); body != want {
				t.Fatalf("body %q; want %q", body, want)
			}
		}
	})
	t.Run("a large unread body closes the connection", func(t *testing.T) {
		cl.send(fmt.Sprintf("POST /5 HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n", maxDrain+1))
		if _, body := cl.response("GET"); body != "5 /5" {
			t.Fatalf("body %q", body)
		}
		if !cl.closed() {
			t.Fatal("connection kept with an unread body over the drain limit")
		}
	})
}

func TestExpectContinue(t *testing.T) {
	addr := serve(t, &Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/deny" {
			http.Error(w, "no", http.StatusUnauthorized)
			return
		}
		if r.Header.Get("Expect") != "" {
			t.Error("the handler saw the Expect header")
		}
		b, _ := io.ReadAll(r.Body)
		w.Write(b)
	})})

	cl := dial(t, addr)
	cl.send("POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n")
	line, err := cl.br.ReadString('\n')
	if err != nil || line != "HTTP/1.1 100 Continue\r\n" {
		t.Fatalf("first line %q, %v; want 100 Continue", line, err)
	}
	cl.br.ReadString('\n')
	cl.send("ok")
	if resp, body := cl.response("POST"); resp.StatusCode != 200 || body != "ok" {
		t.Fatalf("%d %q", resp.StatusCode, body)
	}

	// Refused before the body: no 100, and the connection cannot be
	// reused since the client may or may not send the body now.
	cl = dial(t, addr)
	cl.send("POST /deny HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n")
	if resp, _ := cl.response("POST"); resp.StatusCode != 401 {
		t.Fatalf("status %d; want 401", resp.StatusCode)
	}
	if !cl.closed() {
		t.Fatal("connection kept after an unanswered 100-continue")
	}
}

func TestHijack(t *testing.T) {
	addr := serve(t, &Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := http.NewResponseController(w).SetReadDeadline(time.Time{}); err != nil {
			t.Error(err)
		}
		c, brw, err := w.(http.Hijacker).Hijack()
		if err != nil {
			t.Error(err)
			return
		}
		defer c.Close()
		brw.WriteString("HTTP/1.1 101 Switching Protocols\r\n\r\n")
		brw.Flush()
		line, _ := brw.ReadString('\n')
		brw.WriteString("echo " + line)
		brw.Flush()
	})})
	cl := dial(t, addr)
	cl.send("GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n\r\n")
	if resp, _ := cl.response("GET"); resp.StatusCode != 101 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	cl.send("ping\n")
	if line, _ := cl.br.ReadString('\n'); line != "echo ping\n" {
		t.Fatalf("got %q", line)
	}
}

// TestHijackAfterWatch hijacks a request that ran long enough for the
// client watch to start: the pending read must give the connection back
// intact.
func TestHijackAfterWatch(t *testing.T) {
	addr := serve(t, &Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(3 * watchDelay)
		c, brw, err := w.(http.Hijacker).Hijack()
		if err != nil {
			t.Error(err)
			return
		}
		defer c.Close()
		line, err := brw.ReadString('\n')
		if err != nil {
			t.Errorf("reading the hijacked connection: %v", err)
		}
		brw.WriteString("echo " + line)
		brw.Flush()
	})})
	cl := dial(t, addr)
	cl.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	time.Sleep(5 * watchDelay)
	cl.send("ping\n")
	if line, _ := cl.br.ReadString('\n'); line != "echo ping\n" {
		t.Fatalf("got %q", line)
	}
}

// TestClientGone checks that the request context ends when the client
// closes its connection while the handler waits.
func TestClientGone(t *testing.T) {
	canceled := make(chan time.Duration, 1)
	addr := serve(t, &Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		select {
		case <-r.Context().Done():
			canceled <- time.Since(start)
		case <-time.After(5 * time.Second):
			canceled <- -1
		}
	})})
	for _, req := range []string{
		"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc", // body never read
	} {
		cl := dial(t, addr)
		cl.send(req)
		time.Sleep(50 * time.Millisecond)
		cl.c.Close()
		d := <-canceled
		if strings.HasPrefix(req, "POST") {
			// Nobody read the body, so nobody may read past it: the
			// handler learns nothing until it writes.
			if d != -1 {
				t.Logf("unread body: canceled after %v", d)
			}
			continue
		}
		if d < 0 {
			t.Fatal("the request context outlived its client")
		}
	}
}

func TestPipelinedBytesSurviveTheWatch(t *testing.T) {
	addr := serve(t, &Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			time.Sleep(3 * watchDelay)
		}
		io.WriteString(w, r.URL.Path)
	})})
	cl := dial(t, addr)
	cl.send("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
	time.Sleep(2 * watchDelay) // the watch is pending now
	cl.send("GET /next HTTP/1.1\r\nHost: x\r\n\r\n")
	for _, want := range []string{"/slow", "/next"} {
		if _, body := cl.response("GET"); body != want {
			t.Fatalf("body %q; want %q", body, want)
		}
	}
}

func TestShutdown(t *testing.T) {
	release := make(chan struct{})
	entered := make(chan struct{}, 1)
	s := &Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/hold" {
			entered <- struct{}{}
			<-release
		}
		io.WriteString(w, "done")
	})}
	addr := serve(t, s)
	idle := dial(t, addr)
	idle.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	idle.response("GET")
	busy := dial(t, addr)
	busy.send("GET /hold HTTP/1.1\r\nHost: x\r\n\r\n")
	<-entered

	shut := make(chan error, 1)
	go func() { shut <- s.Shutdown(context.Background()) }()
	if !idle.closed() {
		t.Fatal("idle connection not closed by Shutdown")
	}
	select {
	case err := <-shut:
		t.Fatalf("Shutdown returned (%v) with a request in flight", err)
	case <-time.After(100 * time.Millisecond):
	}
	close(release)
	resp, body := busy.response("GET")
	if body != "done" || !resp.Close {
		t.Fatalf("in-flight request: %q close=%v; want done and Connection: close", body, resp.Close)
	}
	if err := <-shut; err != nil {
		t.Fatal(err)
	}
}

// Regression: Shutdown (a reload retiring a server, or SIGTERM) closed a
// connection accepted just before, whose request could be on the wire,
// and its client got a reset it would not retry. A new connection now
// gets its first request served; one that stays silent is closed after
// newConnGrace.
func TestShutdownNewConnection(t *testing.T) {
	defer func(d time.Duration) { newConnGrace = d }(newConnGrace)
	newConnGrace = 300 * time.Millisecond
	tracked := make(chan struct{}, 2)
	s := &Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "done") }),
		ConnState: func(_ net.Conn, st http.ConnState) {
			if st == http.StateNew {
				tracked <- struct{}{}
			}
		},
	}
	addr := serve(t, s)
	late, silent := dial(t, addr), dial(t, addr)
	<-tracked
	<-tracked

	shut := make(chan error, 1)
	go func() { shut <- s.Shutdown(context.Background()) }()
	time.Sleep(50 * time.Millisecond) // Shutdown has run closeIdle
	late.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	resp, body := late.response("GET")
	if body != "done" || !resp.Close {
		t.Fatalf("request on a new connection during Shutdown: %q close=%v; want done and Connection: close", body, resp.Close)
	}
	if !silent.closed() {
		t.Fatal("a silent new connection outlived newConnGrace")
	}
	select {
	case err := <-shut:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Shutdown did not return")
	}
}

func TestH2Handoff(t *testing.T) {
	got := make(chan string, 1)
	addr := serve(t, &Server{Handler: echo, H2: func(c net.Conn) {
		defer c.Close()
		b := make([]byte, len(h2Preface)+4)
		_, err := io.ReadFull(c, b)
		if err != nil {
			got <- err.Error()
			return
		}
		got <- string(b)
	}})
	cl := dial(t, addr)
	cl.send(h2Preface[:5])
	time.Sleep(20 * time.Millisecond)
	cl.send(h2Preface[5:] + "more")
	if s := <-got; s != h2Preface+"more" {
		t.Fatalf("HTTP/2 server read %q", s)
	}
}

// TestSplitRequestLine sends a request whose first packet could be the
// start of the HTTP/2 preface.
func TestSplitRequestLine(t *testing.T) {
	addr := serve(t, &Server{Handler: echo, H2: func(c net.Conn) { c.Close(); t.Error("handed to HTTP/2") }})
	cl := dial(t, addr)
	cl.send("P")
	time.Sleep(20 * time.Millisecond)
	cl.send("UT / HTTP/1.0\r\n\r\n")
	if resp, body := cl.response("PUT"); resp.StatusCode != 200 || !strings.HasPrefix(body, "PUT / HTTP/1.0") {
		t.Fatalf("%d %q", resp.StatusCode, body)
	}
}

func TestTimeouts(t *testing.T) {
	addr := serve(t, &Server{Handler: echo, ReadHeaderTimeout: 200 * time.Millisecond, IdleTimeout: 300 * time.Millisecond})
	t.Run("slow head", func(t *testing.T) {
		cl := dial(t, addr)
		cl.send("GET / HTTP/1.1\r\n")
		start := time.Now()
		if !cl.closed() {
			t.Fatal("a head that never ends kept the connection")
		}
		if d := time.Since(start); d > 1500*time.Millisecond {
			t.Fatalf("closed after %v", d)
		}
	})
	t.Run("slow head on a kept-alive connection", func(t *testing.T) {
		s := &Server{Handler: echo, ReadHeaderTimeout: 200 * time.Millisecond, IdleTimeout: 5 * time.Second}
		cl := dial(t, serve(t, s))
		cl.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
		cl.response("GET")
		cl.send("GET / HTTP/1.1\r\n")
		start := time.Now()
		if !cl.closed() {
			t.Fatal("a head that never ends kept the connection")
		}
		if d := time.Since(start); d > 1500*time.Millisecond {
			t.Fatalf("closed after %v: the idle timeout, not the header timeout, applied", d)
		}
	})
	t.Run("idle", func(t *testing.T) {
		cl := dial(t, addr)
		cl.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
		cl.response("GET")
		if !cl.closed() {
			t.Fatal("idle connection kept past IdleTimeout")
		}
	})
	t.Run("upload slower than the header timeout", func(t *testing.T) {
		cl := dial(t, addr)
		cl.send("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\na")
		time.Sleep(400 * time.Millisecond)
		cl.send("b")
		if _, body := cl.response("POST"); !strings.Contains(body, `body="ab"`) {
			t.Fatalf("body %q", body)
		}
	})
}

func discard() *slog.Logger { return slog.New(slog.DiscardHandler) }
