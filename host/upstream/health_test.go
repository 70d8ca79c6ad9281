package upstream

import (
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluice-proxy/sluice/host/config"
)

// liveRegistry uses the real clock and real dials, for checks against
// loopback servers.
func liveRegistry(t *testing.T, obs Observer) *Registry {
	t.Helper()
	r := NewRegistry(Options{
		Logger:       slog.New(slog.NewTextHandler(io.Discard, nil)),
		NewTransport: nopTransport,
		Observer:     obs,
	})
	t.Cleanup(func() {
		r.Close()
		checkNoLeaks(t)
	})
	return r
}

func waitHealthy(t *testing.T, u *Upstream, addr string, want bool) {
	t.Helper()
	b := backend(t, u, addr)
	eventually(t, fmt.Sprintf("%s healthy=%v", addr, want), func() bool { return b.Healthy() == want })
}

// Issue 2: a TCP check marks a backend down when its listener closes and
// up again when it comes back, and Pick follows.
func TestHealthCheckTCPFlips(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	go acceptAndClose(ln)
	other, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	go acceptAndClose(other)

	obs := &recorder{}
	reg := liveRegistry(t, obs)
	u, err := reg.Build("web", &config.Upstream{
		Addrs:       []string{addr, other.Addr().String()},
		HealthCheck: "tcp://web?check_frequency=20ms&failure=2&success=2&connection_timeout=500ms",
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer u.Release()

	ln.Close()
	waitHealthy(t, u, addr, false)
	for range 20 {
		b, err := u.Pick(Key{}, nil)
		if err != nil || b.Addr() == addr {
			t.Fatalf("Pick = %v, %v; want the healthy backend only", b, err)
		}
		u.Done(b, 200, nil)
	}

	ln2, err := net.Listen("tcp", addr)
	if err != nil {
		t.Skipf("cannot listen on %s again: %v", addr, err)
	}
	defer ln2.Close()
	go acceptAndClose(ln2)
	waitHealthy(t, u, addr, true)

	waitEvents(t, obs, "health web "+addr+" false", "health web "+addr+" true")
}

// waitEvents waits for the observer to have heard as many events as want
// and then compares them. The checker flips a backend's flag before it tells
// the observer, so a test that saw the flag may get there first (CI caught
// TestHealthCheckTCPFlips doing so).
func waitEvents(t *testing.T, obs *recorder, want ...string) {
	t.Helper()
	eventually(t, fmt.Sprintf("%d observer events", len(want)), func() bool { return len(obs.list()) >= len(want) })
	if got := obs.list(); !slices.Equal(got, want) {
		t.Errorf("events = %q; want %q", got, want)
	}
}

func acceptAndClose(ln net.Listener) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		c.Close()
	}
}

// Issue 2: an HTTP check sends GET path?query with the URL's host as Host,
// counts only 200 as healthy, and respects the thresholds.
func TestHealthCheckHTTPFlips(t *testing.T) {
	var status atomic.Int32
	status.Store(http.StatusInternalServerError)
	var hits atomic.Int32
	var bad atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		if r.Host != "checker.internal" || r.URL.Path != "/healthz" || r.URL.RawQuery != "deep=1" || r.Method != http.MethodGet {
			bad.Store(fmt.Sprintf("%s %s %s", r.Method, r.Host, r.URL))
		}
		w.WriteHeader(int(status.Load()))
		io.WriteString(w, "body")
	}))
	defer srv.Close()
	addr := srv.Listener.Addr().String()

	obs := &recorder{}
	reg := liveRegistry(t, obs)
	u, err := reg.Build("api", &config.Upstream{
		Addrs:       []string{addr},
		HealthCheck: "http://checker.internal/healthz?deep=1&check_frequency=20ms&success=1&failure=2&reuse",
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer u.Release()

	waitHealthy(t, u, addr, false)
	if n := hits.Load(); n < 2 {
		t.Errorf("flipped after %d checks; want failure=2", n)
	}
	if _, err := u.Pick(Key{}, nil); err == nil {
		t.Error("Pick found a backend while the only one is unhealthy")
	}
	status.Store(http.StatusOK)
	waitHealthy(t, u, addr, true)
	if v := bad.Load(); v != nil {
		t.Errorf("check request was %v; want GET checker.internal /healthz?deep=1", v)
	}
	waitEvents(t, obs, "health api "+addr+" false", "available api false", "health api "+addr+" true", "available api true")
}

// An HTTPS check does not verify the backend's certificate, and a
// redirect is not healthy.
func TestHealthCheckHTTPS(t *testing.T) {
	var redirect atomic.Bool
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if redirect.Load() {
			http.Redirect(w, r, "/elsewhere", http.StatusFound)
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	defer srv.Close()
	addr := srv.Listener.Addr().String()
	reg := liveRegistry(t, nil)
	u, err := reg.Build("tls", &config.Upstream{
		Addrs:       []string{addr},
		HealthCheck: "https://tls.example/?check_frequency=20ms&failure=1",
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer u.Release()
	redirect.Store(true)
	waitHealthy(t, u, addr, false)
	redirect.Store(false)
	waitHealthy(t, u, addr, true)
}

// With `parallel`, a slow backend does not hold up the others' checks.
func TestHealthCheckParallel(t *testing.T) {
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(2 * time.Second):
		case <-r.Context().Done():
		}
	}))
	defer slow.Close()
	var fastHits atomic.Int32
	fast := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fastHits.Add(1)
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	defer fast.Close()

	reg := liveRegistry(t, nil)
	u, err := reg.Build("p", &config.Upstream{
		Addrs:       []string{slow.Listener.Addr().String(), fast.Listener.Addr().String()},
		HealthCheck: "http://p/?check_frequency=20ms&read_timeout=5s&failure=1&parallel",
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer u.Release()
	// Sequentially, the fast backend would wait behind the slow one's 2s.
	waitFor := time.Now().Add(time.Second)
	for time.Now().Before(waitFor) && backend(t, u, fast.Listener.Addr().String()).Healthy() {
		time.Sleep(5 * time.Millisecond)
	}
	if backend(t, u, fast.Listener.Addr().String()).Healthy() {
		t.Fatal("the fast backend was not checked while the slow one was")
	}
	u.Release() // must not wait the slow check out
}

func TestParseHealthCheck(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   string
		want healthCheck
		err  string
	}{
		{name: "empty is tcp every 10s, 1/1", in: "", want: healthCheck{kind: checkTCP, connectTimeout: 3 * time.Second, readTimeout: 3 * time.Second, frequency: 10 * time.Second, success: 1, failure: 1}},
		{name: "tcp defaults", in: "tcp://up", want: healthCheck{kind: checkTCP, host: "up", path: "/", connectTimeout: 3 * time.Second, readTimeout: 3 * time.Second, frequency: 10 * time.Second, success: 1, failure: 2}},
		{
			name: "http with every option",
			in:   "http://api.internal:8080/ping?connection_timeout=1s&read_timeout=500ms&check_frequency=7s&success=3&failure=4&reuse&parallel=true",
			want: healthCheck{kind: checkHTTP, host: "api.internal:8080", path: "/ping", connectTimeout: time.Second, readTimeout: 500 * time.Millisecond, frequency: 7 * time.Second, success: 3, failure: 4, reuse: true, parallel: true},
		},
		{name: "frequency is not rounded to 10s", in: "http://a/?check_frequency=250ms", want: healthCheck{kind: checkHTTP, host: "a", path: "/", connectTimeout: 3 * time.Second, readTimeout: 3 * time.Second, frequency: 250 * time.Millisecond, success: 1, failure: 2}},
		{name: "unknown params stay in the query", in: "https://a/h?token=x&b=2&parallel=false", want: healthCheck{kind: checkHTTPS, host: "a", path: "/h?b=2&token=x", connectTimeout: 3 * time.Second, readTimeout: 3 * time.Second, frequency: 10 * time.Second, success: 1, failure: 2}},
		{name: "gRPC options are dropped", in: "HTTP://a/x?tls&service=s", want: healthCheck{kind: checkHTTP, host: "a", path: "/x", connectTimeout: 3 * time.Second, readTimeout: 3 * time.Second, frequency: 10 * time.Second, success: 1, failure: 2}},
		{name: "grpc unsupported", in: "grpc://a", err: "grpc checks are not supported"},
		{name: "bad scheme", in: "ftp://a", err: `scheme "ftp"`},
		{name: "no host", in: "http:///x", err: "missing host"},
		{name: "bad duration", in: "tcp://a?check_frequency=often", err: "check_frequency"},
		{name: "zero frequency", in: "tcp://a?check_frequency=0s", err: "must be positive"},
		{name: "zero threshold", in: "tcp://a?success=0", err: "success"},
		{name: "bad flag", in: "tcp://a?reuse=maybe", err: "not a boolean"},
		{name: "not a URL", in: "http://a b/%zz", err: "health_check"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseHealthCheck(tc.in)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v; want it to contain %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("got  %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func FuzzParseHealthCheck(f *testing.F) {
	for _, s := range []string{"", "tcp://a", "http://h/p?check_frequency=1s&success=2&reuse", "https://x:1/%41?a=b&failure=3", "grpc://g?service=x", "http://[::1]/"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		hc, err := parseHealthCheck(s)
		if err != nil {
			return
		}
		if hc.frequency < time.Millisecond || hc.connectTimeout <= 0 || hc.readTimeout <= 0 || hc.success < 1 || hc.failure < 1 {
			t.Fatalf("accepted %q with invalid settings %+v", s, hc)
		}
		if hc.kind != checkTCP && !strings.HasPrefix(hc.path, "/") {
			t.Fatalf("accepted %q with path %q", s, hc.path)
		}
	})
}
