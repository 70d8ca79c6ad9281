package transport

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"
)

// dialFunc adapts a function to Dialer, for injected failures.
type dialFunc func(ctx context.Context, network, addr string) (net.Conn, error)

func (f dialFunc) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	return f(ctx, network, addr)
}

// blackHole is a dialer whose connects never complete.
var blackHole = dialFunc(func(ctx context.Context, _, _ string) (net.Conn, error) {
	<-ctx.Done()
	return nil, &net.OpError{Op: "dial", Net: "tcp", Err: ctx.Err()}
})

// patternReader yields n bytes without holding them.
type patternReader struct{ n int64 }

func (p *patternReader) Read(b []byte) (int, error) {
	if p.n <= 0 {
		return 0, io.EOF
	}
	if int64(len(b)) > p.n {
		b = b[:p.n]
	}
	for i := range b {
		b[i] = 'x'
	}
	p.n -= int64(len(b))
	return len(b), nil
}

func TestTimeouts(t *testing.T) {
	const short = 100 * time.Millisecond
	// stop releases the handler that never reads, when the subtest ends.
	var stop chan struct{}
	stallHead := func(c net.Conn, br *bufio.Reader) {
		http.ReadRequest(br)
		io.Copy(io.Discard, br)
	}
	drip := func(c net.Conn, br *bufio.Reader) {
		http.ReadRequest(br)
		for _, b := range []byte("HTTP/1.1 200 OK\r\nX-Slow: yes\r\n") {
			if _, err := c.Write([]byte{b}); err != nil {
				return
			}
			time.Sleep(short / 4)
		}
	}
	stallBody := func(c net.Conn, br *bufio.Reader) {
		http.ReadRequest(br)
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc")
		io.Copy(io.Discard, br)
	}
	neverRead := func(c net.Conn, br *bufio.Reader) {
		<-stop
	}
	silentTLS := func(c net.Conn, br *bufio.Reader) { io.Copy(io.Discard, br) }

	for _, tc := range []struct {
		name     string
		opts     Options
		server   func(net.Conn, *bufio.Reader)
		dialer   Dialer
		body     io.Reader
		length   int64
		readBody bool
		wantOp   string
		wantSent bool
		maxTime  time.Duration
	}{
		{name: "connect", opts: Options{ConnectTimeout: short}, dialer: blackHole, wantOp: OpDial},
		{name: "total connect", opts: Options{ConnectTimeout: time.Minute, TotalConnectTimeout: short}, dialer: blackHole, wantOp: OpDial},
		{name: "tls handshake", opts: Options{TotalConnectTimeout: short, TLS: &tls.Config{InsecureSkipVerify: true}}, server: silentTLS, wantOp: OpTLS},
		{name: "response head", opts: Options{ReadTimeout: short}, server: stallHead, wantOp: OpRead, wantSent: true},
		{name: "slow drip head", opts: Options{ReadTimeout: short}, server: drip, wantOp: OpRead, wantSent: true},
		{name: "body read", opts: Options{ReadTimeout: short}, server: stallBody, readBody: true, wantOp: OpRead, wantSent: true},
		{name: "write", opts: Options{WriteTimeout: short}, server: neverRead, body: &patternReader{n: 1 << 30}, length: 1 << 30, wantOp: OpWrite, wantSent: true, maxTime: 2 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			addr := "192.0.2.1:80" // TEST-NET-1, never dialed for real
			stop = make(chan struct{})
			if tc.server != nil {
				addr = newRawServer(t, tc.server).addr()
			}
			t.Cleanup(func() { close(stop) })
			tc.opts.Dialer = tc.dialer
			tp := newT(t, tc.opts)
			req := newReq(t, "POST", "/", nil)
			if tc.body != nil {
				req.Body, req.ContentLength = io.NopCloser(tc.body), tc.length
			}
			start := time.Now()
			resp, err := tp.RoundTrip(req, addr, nil)
			if tc.readBody {
				if err != nil {
					t.Fatalf("RoundTrip: %v", err)
				}
				_, err = io.ReadAll(resp.Body)
				resp.Body.Close()
			}
			elapsed := time.Since(start)
			if !errors.Is(err, ErrTimeout) {
				t.Fatalf("got %v; want a timeout", err)
			}
			e := asError(t, err)
			if e.Op != tc.wantOp || e.Sent != tc.wantSent || !e.Timeout {
				t.Errorf("got Op %q Sent %v Timeout %v; want %q %v true", e.Op, e.Sent, e.Timeout, tc.wantOp, tc.wantSent)
			}
			if e.Connecting() != (tc.wantOp == OpDial || tc.wantOp == OpTLS) {
				t.Errorf("Connecting() = %v for op %s", e.Connecting(), e.Op)
			}
			maxTime := tc.maxTime
			if maxTime == 0 {
				maxTime = 10 * short
			}
			if elapsed < short || elapsed > maxTime {
				t.Errorf("took %v; want between %v and %v", elapsed, short, maxTime)
			}
		})
	}
}

func TestConnectFailures(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refused := ln.Addr().String()
	ln.Close()
	boom := errors.New("injected")
	for _, tc := range []struct {
		name   string
		dialer Dialer
		addr   string
		want   error
	}{
		{"refused", nil, refused, syscall.ECONNREFUSED},
		{"injected", dialFunc(func(context.Context, string, string) (net.Conn, error) { return nil, boom }), "10.0.0.1:80", boom},
		{"bad address", nil, "no-port", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tp := newT(t, Options{Dialer: tc.dialer})
			_, err := tp.RoundTrip(newReq(t, "GET", "/", nil), tc.addr, nil)
			e := asError(t, err)
			if e.Op != OpDial || e.Sent || e.Timeout || errors.Is(err, ErrTimeout) || !e.Connecting() || e.Addr != tc.addr {
				t.Errorf("got %+v; want a dial failure that is not a timeout", e)
			}
			if tc.want != nil && !errors.Is(err, tc.want) {
				t.Errorf("got %v; want it to wrap %v", err, tc.want)
			}
		})
	}
}

func TestContextCancellation(t *testing.T) {
	srv := newRawServer(t, func(c net.Conn, br *bufio.Reader) {
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		if req.URL.Path == "/body" {
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc")
		}
		io.Copy(io.Discard, br)
	})
	for _, tc := range []struct {
		name        string
		path        string
		deadline    bool
		readBody    bool
		wantTimeout bool
		wantErr     error
	}{
		{name: "cancel while waiting for the head", path: "/", wantErr: context.Canceled},
		{name: "cancel while reading the body", path: "/body", readBody: true, wantErr: context.Canceled},
		{name: "deadline while waiting for the head", path: "/", deadline: true, wantTimeout: true, wantErr: context.DeadlineExceeded},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tp := newT(t, Options{ReadTimeout: time.Minute})
			var ctx context.Context
			var cancel context.CancelFunc
			if tc.deadline {
				ctx, cancel = context.WithTimeout(context.Background(), 50*time.Millisecond)
			} else {
				ctx, cancel = context.WithCancel(context.Background())
				time.AfterFunc(50*time.Millisecond, cancel)
			}
			defer cancel()
			req := newReq(t, "GET", tc.path, nil).WithContext(ctx)
			start := time.Now()
			resp, err := tp.RoundTrip(req, srv.addr(), nil)
			if tc.readBody {
				if err != nil {
					t.Fatal(err)
				}
				_, err = io.ReadAll(resp.Body)
				resp.Body.Close()
			}
			if time.Since(start) > 2*time.Second {
				t.Errorf("took %v; cancellation should be prompt", time.Since(start))
			}
			e := asError(t, err)
			if !errors.Is(err, tc.wantErr) || e.Timeout != tc.wantTimeout {
				t.Errorf("got %v (timeout %v); want %v (timeout %v)", err, e.Timeout, tc.wantErr, tc.wantTimeout)
			}
			if n := tp.h1.idleCount(srv.addr()); n != 0 {
				t.Errorf("%d idle connections after a cancelled request; want 0", n)
			}
		})
	}
}

func TestEarlyResponse(t *testing.T) {
	// The backend refuses a large upload after reading a little, answers
	// and closes; the answer must win over the write error.
	srv := newRawServer(t, func(c net.Conn, br *bufio.Reader) {
		http.ReadRequest(br)
		io.CopyN(io.Discard, br, 1000)
		io.WriteString(c, "HTTP/1.1 413 Content Too Large\r\nContent-Length: 8\r\nConnection: close\r\n\r\ntoo big!")
		if tc, ok := c.(*net.TCPConn); ok {
			tc.CloseWrite()
		}
		time.Sleep(500 * time.Millisecond) // like a lingering close
	})
	tp := newT(t, Options{WriteTimeout: time.Second})
	req := newReq(t, "PUT", "/", nil)
	req.Body, req.ContentLength = io.NopCloser(&patternReader{n: 64 << 20}), 64<<20
	resp, body, err := do(t, tp, req, srv.addr(), nil)
	if err != nil {
		t.Fatalf("got %v; want the backend's 413", err)
	}
	if resp.StatusCode != 413 || body != "too big!" {
		t.Errorf("got %d %q; want 413 too big!", resp.StatusCode, body)
	}
	if !strings.Contains(resp.Status, "Too Large") {
		t.Errorf("status %q", resp.Status)
	}
}
