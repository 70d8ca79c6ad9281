package tlsx

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluice-proxy/sluice/host/config"
)

// handshakeLog collects OnHandshake calls.
type handshakeLog struct {
	mu    sync.Mutex
	infos []ConnInfo
	errs  []error
	got   chan struct{}
}

func newHandshakeLog() *handshakeLog { return &handshakeLog{got: make(chan struct{}, 100)} }

func (h *handshakeLog) observe(_ net.Conn, info ConnInfo, err error) {
	h.mu.Lock()
	h.infos = append(h.infos, info)
	h.errs = append(h.errs, err)
	h.mu.Unlock()
	h.got <- struct{}{}
}

func (h *handshakeLog) wait(t *testing.T) (ConnInfo, error) {
	t.Helper()
	select {
	case <-h.got:
	case <-time.After(5 * time.Second):
		t.Fatal("OnHandshake was not called")
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.infos[len(h.infos)-1], h.errs[len(h.errs)-1]
}

// TestListenerWithHTTPServer runs net/http on a Listener: requests see TLS
// and h2, and ConnContext reads the handshake details.
func TestListenerWithHTTPServer(t *testing.T) {
	m := newTestManager(t)
	m.Swap(build(t, m, oneServer(config.Server{EnabledH2: true})))
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	// Each handshake costs at least a millisecond on this fake clock.
	var clock sync.Mutex
	now := time.Unix(0, 0)
	log := newHandshakeLog()
	l := NewListener(inner, m.TLSConfig("web"), ListenerOptions{
		OnHandshake: log.observe,
		Now: func() time.Time {
			clock.Lock()
			defer clock.Unlock()
			now = now.Add(time.Millisecond)
			return now
		},
	})
	type infoKey struct{}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		info := r.Context().Value(infoKey{}).(ConnInfo)
		if r.TLS == nil {
			t.Error("request has no TLS state")
		}
		io.WriteString(w, strings.Join([]string{r.Proto, info.VersionName(), info.CipherName(),
			info.NegotiatedProtocol, info.ServerName, info.HandshakeDuration.String()}, " "))
	}))
	srv.Listener = l
	srv.EnableHTTP2 = true
	srv.Config.ConnContext = func(ctx context.Context, c net.Conn) context.Context {
		info, ok := Info(c)
		if !ok {
			t.Error("Info: not a finished TLS connection")
		}
		return context.WithValue(ctx, infoKey{}, info)
	}
	srv.Start() // Serves on l as is: httptest wraps only when TLS is not set up by the caller.
	t.Cleanup(srv.Close)

	client := &http.Client{Transport: &http.Transport{
		TLSClientConfig:   &tls.Config{RootCAs: rootPool(t), ServerName: "a.test"},
		ForceAttemptHTTP2: true,
	}}
	t.Cleanup(client.CloseIdleConnections)
	resp, err := client.Get("https://" + l.Addr().String() + "/")
	if err != nil {
		t.Fatalf("GET: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	want := "HTTP/2.0 TLSv1.3 TLS_AES_128_GCM_SHA256 h2 a.test 1ms"
	if string(body) != want {
		t.Errorf("handler saw %q; want %q", body, want)
	}
	info, herr := log.wait(t)
	if herr != nil || info.ServerName != "a.test" || info.HandshakeDuration != time.Millisecond {
		t.Errorf("OnHandshake(%+v, %v); want a.test in 1ms, no error", info, herr)
	}
}

func TestListenerFailuresDoNotBlockAccept(t *testing.T) {
	m := newTestManager(t)
	m.Swap(build(t, m, oneServer(config.Server{})))
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	log := newHandshakeLog()
	l := NewListener(inner, m.TLSConfig("web"), ListenerOptions{
		HandshakeTimeout: 300 * time.Millisecond,
		OnHandshake:      log.observe,
	})
	t.Cleanup(func() { l.Close() })
	addr := l.Addr().String()

	// A client that connects and says nothing holds a handshake open.
	silent, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()

	// A plain-HTTP client fails its handshake.
	plain, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(plain, "GET / HTTP/1.1\r\nHost: a.test\r\n\r\n")
	defer plain.Close()
	if _, herr := log.wait(t); herr == nil {
		t.Error("plain HTTP on a TLS listener: OnHandshake got no error")
	}

	// Meanwhile a real client is accepted at once.
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := l.Accept()
		if err != nil {
			t.Errorf("Accept: %v", err)
		}
		accepted <- c
	}()
	good, err := dial(t, addr, "a.test", nil)
	if err != nil {
		t.Fatalf("handshake: %v", err)
	}
	select {
	case c := <-accepted:
		if _, ok := c.(*tls.Conn); !ok {
			t.Errorf("Accept returned %T; want *tls.Conn", c)
		}
		c.Close()
	case <-time.After(2 * time.Second):
		t.Fatal("Accept is blocked by a silent client")
	}
	good.Close()
	if _, herr := log.wait(t); herr != nil {
		t.Errorf("good handshake reported %v", herr)
	}

	// The silent client runs into the handshake timeout.
	_, herr := log.wait(t)
	var ne net.Error
	if !errors.As(herr, &ne) || !ne.Timeout() {
		t.Errorf("silent client: OnHandshake error %v; want a timeout", herr)
	}
}

func TestListenerClose(t *testing.T) {
	m := newTestManager(t)
	m.Swap(build(t, m, oneServer(config.Server{})))
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := NewListener(inner, m.TLSConfig("web"), ListenerOptions{HandshakeTimeout: time.Minute})
	silent, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	time.Sleep(20 * time.Millisecond) // Let the handshake start.

	done := make(chan error, 1)
	go func() { _, err := l.Accept(); done <- err }()
	start := time.Now()
	if err := l.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Close waited %v for a handshake in progress", d)
	}
	if err := <-done; !errors.Is(err, net.ErrClosed) {
		t.Errorf("Accept after Close: %v; want net.ErrClosed", err)
	}
	silent.SetReadDeadline(time.Now().Add(2 * time.Second))
	if _, err := silent.Read(make([]byte, 1)); err == nil {
		t.Error("the half-open connection was not closed")
	}
	if err := l.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestInfoOnOtherConns(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	if _, ok := Info(a); ok {
		t.Error("Info on a plain connection reported ok")
	}
	if _, ok := Info(tls.Server(a, &tls.Config{})); ok {
		t.Error("Info before the handshake reported ok")
	}
}

func TestListenerInnerClosed(t *testing.T) {
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := NewListener(inner, &tls.Config{}, ListenerOptions{})
	defer l.Close()
	inner.Close()
	for i := range 3 {
		res := make(chan error, 1)
		go func() { _, err := l.Accept(); res <- err }()
		select {
		case err := <-res:
			if !errors.Is(err, net.ErrClosed) {
				t.Errorf("Accept %d after the inner listener closed: %v; want net.ErrClosed", i, err)
			}
		case <-time.After(2 * time.Second):
			t.Fatalf("Accept %d blocks after the inner listener closed", i)
		}
	}
}
