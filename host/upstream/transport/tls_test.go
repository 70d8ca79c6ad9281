package transport

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// tlsBackend is an httptest TLS server that records the SNI of each
// handshake. h2 offers HTTP/2 by ALPN besides HTTP/1.1.
type tlsBackend struct {
	srv  *httptest.Server
	cl   *countingListener
	mu   sync.Mutex
	snis []string
}

func newTLSBackend(t *testing.T, h2 bool, h http.Handler) *tlsBackend {
	t.Helper()
	b := &tlsBackend{}
	srv := httptest.NewUnstartedServer(h)
	b.cl = &countingListener{Listener: srv.Listener}
	srv.Listener = b.cl
	srv.EnableHTTP2 = h2
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // failed handshakes are the point of some tests
	srv.TLS = &tls.Config{
		GetConfigForClient: func(hello *tls.ClientHelloInfo) (*tls.Config, error) {
			b.mu.Lock()
			b.snis = append(b.snis, hello.ServerName)
			b.mu.Unlock()
			return nil, nil
		},
	}
	if h2 {
		srv.TLS.NextProtos = []string{"h2", "http/1.1"}
	}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	b.srv = srv
	return b
}

func (b *tlsBackend) addr() string { return b.srv.Listener.Addr().String() }

func (b *tlsBackend) roots() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(b.srv.Certificate())
	return p
}

func (b *tlsBackend) seen() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.snis)
}

// protoHandler answers with the protocol it was reached by.
var protoHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	w.Header().Set("X-Proto", r.Proto)
	w.Header().Set("X-Host", r.Host)
	w.Write(b)
})

func TestTLS(t *testing.T) {
	be := newTLSBackend(t, false, protoHandler)
	for _, tc := range []struct {
		name     string
		cfg      func() *tls.Config
		wantSNI  string
		wantFail bool
	}{
		{"verified against the address", func() *tls.Config { return &tls.Config{RootCAs: be.roots()} }, "", false},
		{"verified against a fixed name", func() *tls.Config { return &tls.Config{RootCAs: be.roots(), ServerName: "example.com"} }, "example.com", false},
		{"unknown authority", func() *tls.Config { return &tls.Config{} }, "", true},
		{"name not in certificate", func() *tls.Config { return &tls.Config{RootCAs: be.roots(), ServerName: "wrong.test"} }, "wrong.test", true},
		{"verification off", func() *tls.Config { return &tls.Config{InsecureSkipVerify: true, ServerName: "any.test"} }, "any.test", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := len(be.seen())
			tp := newT(t, Options{TLS: tc.cfg()})
			var tr Trace
			resp, body, err := do(t, tp, newReq(t, "POST", "/", strings.NewReader("secret")), be.addr(), &tr)
			if got := be.seen()[before:]; len(got) != 1 || got[0] != tc.wantSNI {
				t.Errorf("server saw SNI %q; want [%q]", got, tc.wantSNI)
			}
			if tc.wantFail {
				e := asError(t, err)
				var verr *tls.CertificateVerificationError
				if e.Op != OpTLS || e.Timeout || e.Sent || !errors.As(err, &verr) {
					t.Errorf("got %v; want a certificate verification failure", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if body != "secret" || resp.TLS == nil || resp.Header.Get("X-Proto") != "HTTP/1.1" {
				t.Errorf("got %q, TLS %v, proto %q", body, resp.TLS != nil, resp.Header.Get("X-Proto"))
			}
			if tr.TLSHandshake <= 0 {
				t.Errorf("TLS handshake time %v; want > 0", tr.TLSHandshake)
			}
		})
	}
}

func TestSNIFromRequest(t *testing.T) {
	be := newTLSBackend(t, false, protoHandler)
	tp := newT(t, Options{TLS: &tls.Config{InsecureSkipVerify: true}, SNIFromRequest: true})
	for _, host := range []string{"a.test", "b.test:8443", "a.test:443", "b.test"} {
		req := newReq(t, "GET", "/", nil)
		req.Host = host
		resp, _ := mustDo(t, tp, req, be.addr(), nil)
		if got := resp.Header.Get("X-Host"); got != host {
			t.Errorf("backend saw Host %q; want %q", got, host)
		}
	}
	if got, want := be.seen(), []string{"a.test", "b.test"}; !slices.Equal(got, want) {
		t.Errorf("SNIs %q; want %q (one connection per name, then reused)", got, want)
	}
	t.Run("verified against the request's name", func(t *testing.T) {
		tp := newT(t, Options{TLS: &tls.Config{RootCAs: be.roots()}, SNIFromRequest: true})
		req := newReq(t, "GET", "/", nil)
		req.Host = "example.com"
		mustDo(t, tp, req, be.addr(), nil)
		req = newReq(t, "GET", "/", nil)
		req.Host = "evil.test"
		if _, err := tp.RoundTrip(req, be.addr(), nil); err == nil {
			t.Error("a name the certificate does not cover was accepted")
		}
	})
}

func TestHTTP2(t *testing.T) {
	h2srv := newTLSBackend(t, true, protoHandler)
	h1srv := newTLSBackend(t, false, protoHandler)
	h2c := httptest.NewUnstartedServer(protoHandler)
	h2c.Config.Protocols = new(http.Protocols)
	h2c.Config.Protocols.SetHTTP1(true)
	h2c.Config.Protocols.SetUnencryptedHTTP2(true)
	h2c.Start()
	t.Cleanup(h2c.Close)

	for _, tc := range []struct {
		name      string
		protocol  Protocol
		tls       *tls.Config
		addr      string
		wantProto string
		wantErrOp string
	}{
		{"h2 over TLS", H2, &tls.Config{RootCAs: h2srv.roots()}, h2srv.addr(), "HTTP/2.0", ""},
		{"h2c prior knowledge", H2, nil, addrOf(h2c), "HTTP/2.0", ""},
		{"h2h1 picks h2", H2H1, &tls.Config{RootCAs: h2srv.roots()}, h2srv.addr(), "HTTP/2.0", ""},
		{"h2h1 falls back to h1", H2H1, &tls.Config{RootCAs: h1srv.roots()}, h1srv.addr(), "HTTP/1.1", ""},
		{"h2h1 without TLS is h1", H2H1, nil, addrOf(h2c), "HTTP/1.1", ""},
		{"h2 required", H2, &tls.Config{RootCAs: h1srv.roots()}, h1srv.addr(), "", OpTLS},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tp := newT(t, Options{Protocol: tc.protocol, TLS: tc.tls})
			for i := range 2 {
				var tr Trace
				req := newReq(t, "POST", "/x", strings.NewReader("payload"))
				req.Host = "front.test"
				resp, body, err := do(t, tp, req, tc.addr, &tr)
				if tc.wantErrOp != "" {
					if e := asError(t, err); e.Op != tc.wantErrOp {
						t.Errorf("got %v; want Op %s", err, tc.wantErrOp)
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				if got := resp.Header.Get("X-Proto"); got != tc.wantProto || body != "payload" || resp.Header.Get("X-Host") != "front.test" {
					t.Errorf("backend saw %s, host %q, body %q; want %s", got, resp.Header.Get("X-Host"), body, tc.wantProto)
				}
				if tr.Reused != (i == 1) || tr.FirstByte <= 0 || tr.RemoteAddr == nil || tr.RemoteAddr.String() != tc.addr {
					t.Errorf("request %d trace %+v", i, tr)
				}
				if i == 0 && tc.tls != nil && tr.TLSHandshake <= 0 {
					t.Errorf("TLS handshake time %v; want > 0", tr.TLSHandshake)
				}
			}
		})
	}
}

func TestH2H1Upgrade(t *testing.T) {
	// With h2h1 against an HTTP/1.1 backend, net/http carries the request;
	// a 101 must still yield a tunnel.
	be := newTLSBackend(t, false, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, rw, err := w.(http.Hijacker).Hijack()
		if err != nil {
			return
		}
		defer conn.Close()
		rw.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
		rw.Flush()
		io.Copy(conn, rw)
	}))
	tp := newT(t, Options{Protocol: H2H1, TLS: &tls.Config{RootCAs: be.roots()}})
	req := newReq(t, "GET", "/ws", nil)
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Upgrade", "websocket")
	resp, err := tp.RoundTrip(req, be.addr(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	rwc, ok := resp.Body.(io.ReadWriteCloser)
	if resp.StatusCode != 101 || !ok {
		t.Fatalf("got %d with body %T; want 101 with a tunnel", resp.StatusCode, resp.Body)
	}
	io.WriteString(rwc, "echo")
	buf := make([]byte, 4)
	if _, err := io.ReadFull(rwc, buf); err != nil || string(buf) != "echo" {
		t.Errorf("tunnel read %q, %v", buf, err)
	}
}

func TestHTTP2Features(t *testing.T) {
	be := newTLSBackend(t, true, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/trailers":
			w.Header().Set("Trailer", "X-Sum")
			w.Write([]byte("data"))
			w.Header().Set("X-Sum", "9")
		case "/hints":
			w.Header().Set("Link", "</a.css>")
			w.WriteHeader(http.StatusEarlyHints)
			w.Write([]byte("final"))
		case "/stall":
			w.Write([]byte("start"))
			w.(http.Flusher).Flush()
			<-r.Context().Done()
		}
	}))
	tp := newT(t, Options{Protocol: H2, TLS: &tls.Config{RootCAs: be.roots()}, ReadTimeout: 200 * time.Millisecond})

	t.Run("trailers", func(t *testing.T) {
		resp, body := mustDo(t, tp, newReq(t, "GET", "/trailers", nil), be.addr(), nil)
		if body != "data" || resp.Trailer.Get("X-Sum") != "9" {
			t.Errorf("got %q, trailer %v", body, resp.Trailer)
		}
	})
	t.Run("interim responses", func(t *testing.T) {
		var links []string
		var mu sync.Mutex
		tr := Trace{Got1xx: func(code int, h http.Header) {
			mu.Lock()
			links = append(links, h.Get("Link"))
			mu.Unlock()
		}}
		_, body := mustDo(t, tp, newReq(t, "GET", "/hints", nil), be.addr(), &tr)
		mu.Lock()
		defer mu.Unlock()
		if body != "final" || !slices.Equal(links, []string{"</a.css>"}) {
			t.Errorf("got %q, hints %q", body, links)
		}
	})
	t.Run("body read timeout", func(t *testing.T) {
		start := time.Now()
		_, _, err := do(t, tp, newReq(t, "GET", "/stall", nil), be.addr(), nil)
		e := asError(t, err)
		if !errors.Is(err, ErrTimeout) || e.Op != OpRead || !e.Sent || time.Since(start) > 2*time.Second {
			t.Errorf("got %v after %v; want a read timeout", err, time.Since(start))
		}
	})
	t.Run("invalid header refused before sending", func(t *testing.T) {
		req := newReq(t, "GET", "/", nil)
		req.Header.Set("X-Bad", "a\nb")
		_, err := tp.RoundTrip(req, be.addr(), nil)
		if e := asError(t, err); e.Op != OpRequest {
			t.Errorf("got %v; want an invalid request error", err)
		}
	})
	t.Run("refused", func(t *testing.T) {
		_, err := tp.RoundTrip(newReq(t, "GET", "/", nil), "127.0.0.1:1", nil)
		if e := asError(t, err); e.Op != OpDial || e.Timeout || e.Sent {
			t.Errorf("got %+v; want a dial failure", e)
		}
	})
	t.Run("works after Close", func(t *testing.T) {
		tp := newT(t, Options{Protocol: H2, TLS: &tls.Config{RootCAs: be.roots()}})
		mustDo(t, tp, newReq(t, "GET", "/trailers", nil), be.addr(), nil)
		tp.Close()
		mustDo(t, tp, newReq(t, "GET", "/trailers", nil), be.addr(), nil)
	})
}
