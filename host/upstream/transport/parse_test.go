package transport

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"github.com/sluice-proxy/sluice/host/internal/h1wire"
	"io"
	"net"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeConn serves canned response bytes and swallows the request. It lets
// the parser run through the real RoundTrip without sockets.
type fakeConn struct {
	mu       sync.Mutex
	r        io.Reader
	w        bytes.Buffer
	writeErr error // when set, every write fails with it
	closed   bool
}

func (c *fakeConn) Read(p []byte) (int, error) { return c.r.Read(p) }
func (c *fakeConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.writeErr != nil {
		return 0, c.writeErr
	}
	return c.w.Write(p)
}
func (c *fakeConn) Close() error {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	return nil
}
func (c *fakeConn) LocalAddr() net.Addr              { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 1} }
func (c *fakeConn) RemoteAddr() net.Addr             { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 2} }
func (c *fakeConn) SetDeadline(time.Time) error      { return nil }
func (c *fakeConn) SetReadDeadline(time.Time) error  { return nil }
func (c *fakeConn) SetWriteDeadline(time.Time) error { return nil }

// cannedTransport returns a Transport whose every connection serves data.
func cannedTransport(t testing.TB, data []byte) (*Transport, *fakeConn) {
	t.Helper()
	fc := &fakeConn{r: bytes.NewReader(data)}
	tp, err := New(Options{Dialer: dialFunc(func(context.Context, string, string) (net.Conn, error) { return fc, nil })})
	if err != nil {
		t.Fatal(err)
	}
	return tp, fc
}

// ourRead runs data through RoundTrip and reads the whole body.
func ourRead(t testing.TB, data []byte, method string) (*http.Response, []byte, error) {
	tp, _ := cannedTransport(t, data)
	defer tp.Close()
	req, _ := http.NewRequest(method, "http://backend.test/", nil)
	resp, err := tp.RoundTrip(req, "127.0.0.1:2", nil)
	if err != nil {
		return nil, nil, err
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, b, err
}

// stdRead is the oracle: net/http's parser, skipping interim responses as
// net/http's Transport does.
func stdRead(data []byte, method string) (*http.Response, []byte, error) {
	br := bufio.NewReader(bytes.NewReader(data))
	req := &http.Request{Method: method}
	for i := 0; ; i++ {
		resp, err := http.ReadResponse(br, req)
		if err != nil {
			return nil, nil, err
		}
		if resp.StatusCode >= 100 && resp.StatusCode < 200 && resp.StatusCode != 101 {
			if i >= maxInformational {
				return nil, nil, errors.New("too many interim responses")
			}
			continue
		}
		b, err := io.ReadAll(resp.Body)
		return resp, b, err
	}
}

func TestParseAccepted(t *testing.T) {
	for _, tc := range []struct {
		name, in   string
		method     string
		wantStatus string
		wantBody   string
		wantHeader http.Header
		wantTrail  http.Header
		wantClose  bool
	}{
		{name: "bare LF line endings", in: "HTTP/1.1 200 OK\nContent-Length: 2\n\nok",
			wantStatus: "200 OK", wantBody: "ok", wantHeader: http.Header{"Content-Length": {"2"}}},
		{name: "no reason phrase", in: "HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n", wantStatus: "200",
			wantHeader: http.Header{"Content-Length": {"0"}}},
		{name: "custom status", in: "HTTP/1.1 599 Whatever Else\r\nContent-Length: 0\r\n\r\n", wantStatus: "599 Whatever Else",
			wantHeader: http.Header{"Content-Length": {"0"}}},
		{name: "names canonicalized, values trimmed, repeats kept", in: "HTTP/1.1 200 OK\r\ncontent-TYPE:text/plain \t\r\nset-cookie: a=1\r\nSet-Cookie:  b=2\r\nx-empty:\r\nContent-Length: 0\r\n\r\n",
			wantStatus: "200 OK", wantHeader: http.Header{"Content-Type": {"text/plain"}, "Set-Cookie": {"a=1", "b=2"}, "X-Empty": {""}, "Content-Length": {"0"}}},
		{name: "identical lengths merged", in: "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nok",
			wantStatus: "200 OK", wantBody: "ok", wantHeader: http.Header{"Content-Length": {"2"}}},
		{name: "obs-text in value", in: "HTTP/1.1 200 OK\r\nX-Name: caf\xc3\xa9\r\nContent-Length: 0\r\n\r\n",
			wantStatus: "200 OK", wantHeader: http.Header{"X-Name": {"caf\xc3\xa9"}, "Content-Length": {"0"}}},
		{name: "chunked with extensions", in: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;name=val\r\nhello\r\n6 \r\n world\r\n0\r\n\r\n",
			wantStatus: "200 OK", wantBody: "hello world", wantHeader: http.Header{}},
		{name: "chunked with trailers", in: "HTTP/1.1 200 OK\r\nTransfer-Encoding: CHUNKED\r\nTrailer: x-sum\r\n\r\n2\r\nok\r\n0\r\nX-Sum: 7\r\nX-Extra: 1\r\n\r\n",
			wantStatus: "200 OK", wantBody: "ok", wantHeader: http.Header{}, wantTrail: http.Header{"X-Sum": {"7"}, "X-Extra": {"1"}}},
		{name: "chunked beats content length", in: "HTTP/1.1 200 OK\r\nContent-Length: 100\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n",
			wantStatus: "200 OK", wantBody: "ok", wantHeader: http.Header{}, wantClose: true},
		{name: "transfer encoding ignored in 1.0", in: "HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n",
			wantStatus: "200 OK", wantBody: "2\r\nok\r\n", wantHeader: http.Header{}, wantClose: true},
		{name: "body until close", in: "HTTP/1.1 200 OK\r\n\r\nall of it",
			wantStatus: "200 OK", wantBody: "all of it", wantHeader: http.Header{}, wantClose: true},
		{name: "interim responses skipped", in: "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
			wantStatus: "200 OK", wantBody: "ok", wantHeader: http.Header{"Content-Length": {"2"}}},
		{name: "head ignores the length", method: "HEAD", in: "HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\n",
			wantStatus: "200 OK", wantHeader: http.Header{"Content-Length": {"50"}}},
		{name: "204 ignores the framing", in: "HTTP/1.1 204 No Content\r\nTransfer-Encoding: chunked\r\n\r\n",
			wantStatus: "204 No Content", wantHeader: http.Header{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			method := tc.method
			if method == "" {
				method = "GET"
			}
			resp, body, err := ourRead(t, []byte(tc.in), method)
			if err != nil {
				t.Fatalf("got %v; want success", err)
			}
			if resp.Status != tc.wantStatus || string(body) != tc.wantBody {
				t.Errorf("got %q %q; want %q %q", resp.Status, body, tc.wantStatus, tc.wantBody)
			}
			if !reflect.DeepEqual(resp.Header, tc.wantHeader) {
				t.Errorf("header %v; want %v", resp.Header, tc.wantHeader)
			}
			if tc.wantTrail != nil && !reflect.DeepEqual(resp.Trailer, tc.wantTrail) {
				t.Errorf("trailer %v; want %v", resp.Trailer, tc.wantTrail)
			}
			if resp.Close != tc.wantClose {
				t.Errorf("Close = %v; want %v", resp.Close, tc.wantClose)
			}
			// net/http must agree on what we accept.
			sresp, sbody, err := stdRead([]byte(tc.in), method)
			if err != nil || sresp.StatusCode != resp.StatusCode || !bytes.Equal(sbody, body) {
				t.Errorf("net/http disagrees: %v, %q, %v", sresp, sbody, err)
			}
		})
	}
}

func TestParseRejected(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		inBody   bool  // the head parses; reading the body fails
		want     error // nil: any error
	}{
		{name: "empty", in: "", want: ErrClosedBeforeResponse},
		{name: "truncated head", in: "HTTP/1.1 200 OK\r\nX-A: b", want: io.ErrUnexpectedEOF},
		{name: "not http", in: "SSH-2.0-OpenSSH\r\n\r\n", want: ErrMalformedResponse},
		{name: "no status code", in: "HTTP/1.1 OK\r\n\r\n", want: ErrMalformedResponse},
		{name: "http/2 status line", in: "HTTP/2.0 200 OK\r\n\r\n", want: ErrMalformedResponse},
		{name: "http/1.2", in: "HTTP/1.2 200 OK\r\n\r\n", want: ErrMalformedResponse},
		{name: "status below 100", in: "HTTP/1.1 099 Low\r\n\r\n", want: ErrMalformedResponse},
		{name: "status not digits", in: "HTTP/1.1 2x0 OK\r\n\r\n", want: ErrMalformedResponse},
		{name: "no space after status", in: "HTTP/1.1 200OK\r\n\r\n", want: ErrMalformedResponse},
		{name: "control byte in reason", in: "HTTP/1.1 200 O\x00K\r\n\r\n", want: ErrMalformedResponse},
		{name: "conflicting lengths", in: "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello", want: ErrMalformedResponse},
		{name: "signed length", in: "HTTP/1.1 200 OK\r\nContent-Length: +5\r\n\r\nhello", want: ErrMalformedResponse},
		{name: "negative length", in: "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", want: ErrMalformedResponse},
		{name: "length list", in: "HTTP/1.1 200 OK\r\nContent-Length: 5, 5\r\n\r\nhello", want: ErrMalformedResponse},
		{name: "empty length", in: "HTTP/1.1 200 OK\r\nContent-Length:\r\n\r\n", want: ErrMalformedResponse},
		{name: "huge length", in: "HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n", want: ErrMalformedResponse},
		{name: "gzip transfer encoding", in: "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", want: ErrMalformedResponse},
		{name: "two transfer encodings", in: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", want: ErrMalformedResponse},
		{name: "transfer encoding list", in: "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", want: ErrMalformedResponse},
		{name: "obs-fold", in: "HTTP/1.1 200 OK\r\nX-A: one\r\n two\r\n\r\n", want: ErrMalformedResponse},
		{name: "space before colon", in: "HTTP/1.1 200 OK\r\nX-A : one\r\n\r\n", want: ErrMalformedResponse},
		{name: "no colon", in: "HTTP/1.1 200 OK\r\ngarbage\r\n\r\n", want: ErrMalformedResponse},
		{name: "empty name", in: "HTTP/1.1 200 OK\r\n: v\r\n\r\n", want: ErrMalformedResponse},
		{name: "non-token name", in: "HTTP/1.1 200 OK\r\nX(A): v\r\n\r\n", want: ErrMalformedResponse},
		{name: "NUL in value", in: "HTTP/1.1 200 OK\r\nX-A: a\x00b\r\n\r\n", want: ErrMalformedResponse},
		{name: "bare CR in value", in: "HTTP/1.1 200 OK\r\nX-A: a\rb\r\n\r\n", want: ErrMalformedResponse},
		{name: "framing trailer announced", in: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: Content-Length\r\n\r\n0\r\n\r\n", want: ErrMalformedResponse},
		{name: "head over the cap", in: "HTTP/1.1 200 OK\r\nX-A: " + strings.Repeat("a", DefaultMaxResponseHeaderBytes) + "\r\n\r\n", want: ErrHeaderTooLarge},
		{name: "truncated length body", in: "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", inBody: true, want: io.ErrUnexpectedEOF},
		{name: "bad chunk size", in: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", inBody: true, want: ErrMalformedResponse},
		{name: "empty chunk size", in: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\r\n", inBody: true, want: ErrMalformedResponse},
		{name: "chunk size with space inside", in: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5 ;x\r\nhello\r\n0\r\n\r\n", inBody: true, want: ErrMalformedResponse},
		{name: "chunk size too large", in: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10000000000000000\r\n", inBody: true, want: ErrMalformedResponse},
		{name: "chunk line bare LF", in: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\nhello\r\n0\r\n\r\n", inBody: true, want: ErrMalformedResponse},
		{name: "chunk data without CRLF", in: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloXX0\r\n\r\n", inBody: true, want: ErrMalformedResponse},
		{name: "truncated chunk", in: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel", inBody: true, want: io.ErrUnexpectedEOF},
		{name: "missing last chunk", in: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n", inBody: true, want: io.ErrUnexpectedEOF},
		{name: "trailer with bare LF", in: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX-A: b\n\r\n", inBody: true, want: ErrMalformedResponse},
		{name: "trailer without end", in: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX-A: b\r\n", inBody: true, want: io.ErrUnexpectedEOF},
		{name: "too much chunk framing", in: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + strings.Repeat("1;"+strings.Repeat("e", 1000)+"\r\nx\r\n", 40), inBody: true, want: ErrMalformedResponse},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tp, fc := cannedTransport(t, []byte(tc.in))
			defer tp.Close()
			resp, err := tp.RoundTrip(newReq(t, "GET", "/", nil), "127.0.0.1:2", nil)
			if tc.inBody {
				if err != nil {
					t.Fatalf("RoundTrip: %v; want the failure in the body", err)
				}
				_, err = io.ReadAll(resp.Body)
				resp.Body.Close()
			}
			if err == nil {
				t.Fatal("got no error")
			}
			if tc.want != nil && !errors.Is(err, tc.want) {
				t.Errorf("got %v; want %v", err, tc.want)
			}
			if e := asError(t, err); e.Op != OpRead || !e.Sent {
				t.Errorf("got Op %q Sent %v; want a read error after sending", e.Op, e.Sent)
			}
			fc.mu.Lock()
			closed := fc.closed
			fc.mu.Unlock()
			if !closed {
				t.Error("the connection was not closed after a bad response")
			}
		})
	}
}

func TestParseHeadDirect(t *testing.T) {
	// parseHead on its own: offsets and canonical names.
	b := []byte("HTTP/1.0 404 Not Found\r\nx-a-b: 1\r\nX-C:2\r\n\r\n")
	ph, err := parseHead(b, nil)
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	if ph.minor != 0 || ph.code != 404 || s[ph.ss:ph.se] != "404 Not Found" {
		t.Errorf("got minor %d code %d status %q", ph.minor, ph.code, s[ph.ss:ph.se])
	}
	if h := h1wire.BuildHeader(s, ph.fields); !reflect.DeepEqual(h, http.Header{"X-A-B": {"1"}, "X-C": {"2"}}) {
		t.Errorf("header %v", h)
	}
}

// FuzzResponse feeds arbitrary bytes to the response parser, through the
// real RoundTrip. It must not panic, and whatever it accepts net/http must
// accept with the same status, header, body and trailers.
func FuzzResponse(f *testing.F) {
	for _, s := range []string{
		"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
		"HTTP/1.1 200 OK\nContent-Length: 2\n\nok",
		"HTTP/1.0 200 OK\r\n\r\nbody",
		"HTTP/1.1 204 No Content\r\n\r\n",
		"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-T\r\n\r\n3;e=1\r\nabc\r\n0\r\nX-T: v\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc",
		"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
		"HTTP/1.1 200 OK\r\nX-A: one\r\n two\r\n\r\n",
		"HTTP/1.1 301 Moved\r\nLocation: /x\r\nSet-Cookie: a\r\nSet-Cookie: b\r\nContent-Length: 0\r\n\r\n",
	} {
		f.Add([]byte(s), false)
	}
	f.Add([]byte("HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n"), true)
	f.Fuzz(func(t *testing.T, data []byte, head bool) {
		method := "GET"
		if head {
			method = "HEAD"
		}
		resp, body, err := ourRead(t, data, method)
		if err != nil {
			return
		}
		sresp, sbody, serr := stdRead(data, method)
		if serr != nil {
			if strings.Contains(serr.Error(), "suspiciously long trailer") {
				return // net/http caps trailers at its 4 KiB buffer
			}
			t.Fatalf("we accepted what net/http rejects (%v):\n%q", serr, data)
		}
		if resp.StatusCode != sresp.StatusCode || !bytes.Equal(body, sbody) {
			t.Fatalf("got %d %q; net/http %d %q for\n%q", resp.StatusCode, body, sresp.StatusCode, sbody, data)
		}
		if !reflect.DeepEqual(resp.Header, sresp.Header) {
			t.Fatalf("header %v; net/http %v for\n%q", resp.Header, sresp.Header, data)
		}
		if len(resp.Trailer)+len(sresp.Trailer) > 0 && !reflect.DeepEqual(resp.Trailer, sresp.Trailer) {
			t.Fatalf("trailer %v; net/http %v for\n%q", resp.Trailer, sresp.Trailer, data)
		}
	})
}
