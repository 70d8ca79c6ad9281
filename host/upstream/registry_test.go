package upstream

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluice-proxy/sluice/host/config"
	"github.com/sluice-proxy/sluice/host/upstream/transport"
)

// Issue 2 (Reload): builds of an unchanged config share one pool, counted
// by reference; the last Release stops its goroutines and closes its
// transport.
func TestRegistrySharesUnchangedUpstreams(t *testing.T) {
	e := newEnv(t)
	c := staticUpstream("round_robin", "10.0.0.1:80", "10.0.0.2:80")
	c.UpdateFrequency = config.Duration(time.Second)
	c.Remark = "first"
	gen1 := e.build(t, "web", c)

	same := *c
	same.Remark = "a remark changes nothing at run time"
	same.Addrs = append([]string(nil), c.Addrs...)
	gen2 := e.build(t, "web", &same)
	if gen1.p != gen2.p {
		t.Fatal("an unchanged config got a new pool")
	}
	if n := len(e.transports()); n != 1 {
		t.Fatalf("%d transports built; want 1 shared", n)
	}
	eventually(t, "the health-check goroutine", func() bool { return len(packageGoroutines()) > 0 })

	gen1.Release()
	gen1.Release() // twice is harmless
	if e.transports()[0].closed.Load() {
		t.Fatal("transport closed while a generation still uses it")
	}
	if b, err := gen2.Pick(Key{}, nil); err != nil {
		t.Fatalf("Pick after the other generation's release: %v", err)
	} else {
		gen2.Done(b, 200, nil)
	}
	gen2.Release()
	if !e.transports()[0].closed.Load() {
		t.Error("transport not closed by the last Release")
	}
	checkNoLeaks(t)
	if st := e.reg.Status(); len(st) != 0 {
		t.Errorf("Status after release = %+v; want empty", st)
	}
}

// Issue 2 (Reload): a changed config builds a new pool whose backends with
// the same address keep their health and circuit state.
func TestRegistryCarriesStateOverChanges(t *testing.T) {
	e := newEnv(t)
	// Three failed checks flip a backend, so the new pool's own first
	// check cannot make 10.0.0.1 unhealthy: only inheritance can.
	const check = "tcp://web?failure=3&success=3"
	c1 := staticUpstream("round_robin", "10.0.0.1:80", "10.0.0.2:80", "10.0.0.3:80")
	c1.HealthCheck = check
	c1.EnableBackendStats = true
	c1.CircuitBreakMaxConsecutiveFailures = 1
	e.down.Store("10.0.0.1:80", true)
	old := e.build(t, "web", c1)
	for range 2 {
		e.clock.waitTimers(t, 1)
		e.clock.Advance(10 * time.Second)
	}
	eventually(t, "10.0.0.1 unhealthy", func() bool { return !backend(t, old, "10.0.0.1:80").Healthy() })
	tripped := backend(t, old, "10.0.0.2:80")
	tripped.inflight.Add(1)
	old.Done(tripped, 503, nil)
	if tripped.Circuit() != CircuitOpen {
		t.Fatal("setup: circuit did not open")
	}

	c2 := staticUpstream("least_conn", "10.0.0.1:80", "10.0.0.2:80", "10.0.0.4:80")
	c2.HealthCheck = check
	c2.EnableBackendStats = true
	c2.CircuitBreakMaxConsecutiveFailures = 1
	cur := e.build(t, "web", c2)
	defer cur.Release()
	if cur.p == old.p {
		t.Fatal("a changed config shared the old pool")
	}
	old.Release()
	if !e.transports()[0].closed.Load() || e.transports()[1].closed.Load() {
		t.Error("want the old transport closed and the new one open")
	}

	if backend(t, cur, "10.0.0.1:80").Healthy() {
		t.Error("an unhealthy backend came back healthy after a config change")
	}
	if got := backend(t, cur, "10.0.0.2:80").Circuit(); got != CircuitOpen {
		t.Errorf("circuit after a config change = %v; want open", got)
	}
	if st := cur.Status().Backends[1]; st.Requests != 1 || st.Failures != 1 {
		t.Errorf("stats after a config change = %+v; want the old window", st)
	}
	if !backend(t, cur, "10.0.0.4:80").Healthy() {
		t.Error("a new backend does not start healthy")
	}
	b, err := cur.Pick(Key{}, nil)
	if err != nil || b.Addr() != "10.0.0.4:80" {
		t.Errorf("Pick = %v, %v; want the only usable backend, 10.0.0.4:80", b, err)
	}
}

// A failed Build leaves the running pool alone and names the upstream and
// the problem.
func TestRegistryBuildErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  config.Upstream
		err  string
	}{
		{"no addrs", config.Upstream{}, "at least one address"},
		{"bad addr", config.Upstream{Addrs: []string{"10.0.0.1:80 x"}}, "addrs[0]"},
		{"bad algo", config.Upstream{Addrs: []string{"10.0.0.1"}, Algo: "fastest"}, `algo "fastest"`},
		{"bad discovery", config.Upstream{Addrs: []string{"10.0.0.1"}, Discovery: "consul"}, `discovery "consul"`},
		{"bad health check", config.Upstream{Addrs: []string{"10.0.0.1"}, HealthCheck: "udp://x"}, "health_check"},
		{"bad status list", config.Upstream{Addrs: []string{"10.0.0.1"}, BackendFailureStatusCode: "5xx"}, "backend_failure_status_code"},
		{"bad percent", config.Upstream{Addrs: []string{"10.0.0.1"}, CircuitBreakMaxFailurePercent: 101}, "circuit_break_max_failure_percent"},
		{"bad alpn", config.Upstream{Addrs: []string{"10.0.0.1"}, Alpn: "h3"}, "h3"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			_, err := e.reg.Build("api", &tc.cfg, nil)
			if err == nil || !strings.Contains(err.Error(), `upstream "api"`) || !strings.Contains(err.Error(), tc.err) {
				t.Fatalf("err = %v; want it to name the upstream and contain %q", err, tc.err)
			}
		})
	}
	t.Run("nil config", func(t *testing.T) {
		e := newEnv(t)
		if _, err := e.reg.Build("api", nil, nil); err == nil {
			t.Fatal("no error")
		}
	})
}

// Close stops everything, whatever the references; Build then fails.
func TestRegistryClose(t *testing.T) {
	e := newEnv(t)
	a := e.build(t, "a", &config.Upstream{Addrs: []string{"a.local"}, Discovery: "dns"})
	e.build(t, "b", staticUpstream("", "10.0.0.1"))
	e.reg.Close()
	checkNoLeaks(t)
	for _, rt := range e.transports() {
		if !rt.closed.Load() {
			t.Error("a transport is still open after Close")
		}
	}
	a.Release() // after Close: harmless
	if _, err := e.reg.Build("c", staticUpstream("", "10.0.0.1"), nil); !errors.Is(err, ErrClosed) {
		t.Errorf("Build after Close = %v; want ErrClosed", err)
	}
}

func TestRegistryStatus(t *testing.T) {
	e := newEnv(t)
	z := e.build(t, "zeta", staticUpstream("hash:ip", "10.0.0.2:80 2"))
	defer z.Release()
	a := e.build(t, "alpha", staticUpstream("", "10.0.0.1:80"))
	defer a.Release()
	st := e.reg.Status()
	got := fmt.Sprintf("%+v", st)
	want := "[{Name:alpha Algo:round_robin Discovery:static Available:1 Backends:[{Addr:10.0.0.1:80 Weight:1 Healthy:true Circuit:closed Inflight:0 Requests:0 Failures:0 FailureRate:0 ConsecutiveFailures:0}]} " +
		"{Name:zeta Algo:hash:ip Discovery:static Available:1 Backends:[{Addr:10.0.0.2:80 Weight:2 Healthy:true Circuit:closed Inflight:0 Requests:0 Failures:0 FailureRate:0 ConsecutiveFailures:0}]}]"
	if got != want {
		t.Errorf("Status =\n%s\nwant\n%s", got, want)
	}
	// The admin API and metrics see the circuit state as Pingap's number.
	js, err := json.Marshal(st[0].Backends[0])
	if err != nil || !strings.Contains(string(js), `"circuit":0`) {
		t.Errorf("JSON = %s, %v; want \"circuit\":0", js, err)
	}
}

// RoundTrip goes through the upstream's transport to the picked backend.
func TestRoundTripReachesBackend(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "%s %s", r.Method, r.URL.Path)
	}))
	defer srv.Close()
	e := newEnv(t)
	u := e.build(t, "u", staticUpstream("", srv.Listener.Addr().String()))
	defer u.Release()
	req := httptest.NewRequest(http.MethodGet, "http://front.example/hello", nil)
	b, err := u.Pick(Key{Req: req}, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := u.RoundTrip(req, b, nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	u.Done(b, resp.StatusCode, nil)
	if string(body) != "GET /hello" {
		t.Errorf("backend saw %q", body)
	}
}

// Hammer: requests keep flowing while generations are built and retired
// and DNS answers change; run with -race.
func TestRegistryHammer(t *testing.T) {
	e := newEnv(t)
	e.res.set("svc.local", "10.0.0.1", "10.0.0.2")
	cfg := func(i int) *config.Upstream {
		c := &config.Upstream{Addrs: []string{"svc.local:80", "10.0.1.1"}, Discovery: "dns", EnableBackendStats: true,
			CircuitBreakMaxConsecutiveFailures: 3, Algo: []string{"round_robin", "least_conn", "hash:url", "random"}[i%4]}
		return c
	}
	var cur sync.Map // "u" -> *Upstream
	first := e.build(t, "svc", cfg(0))
	cur.Store("u", first)
	var mu sync.RWMutex // held for reading by requests, as a generation's drain would
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			r := reqFor(t, "http://x/")
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				mu.RLock()
				v, _ := cur.Load("u")
				u := v.(*Upstream)
				r.URL.Path = fmt.Sprintf("/%d/%d", w, i)
				var tried []*Backend
				for range 2 {
					b, err := u.Pick(Key{Req: r}, tried)
					if err != nil {
						break
					}
					tried = append(tried, b)
					status := 200
					if i%7 == 0 {
						status = 502
					}
					u.Done(b, status, nil)
				}
				_ = u.Status()
				mu.RUnlock()
			}
		})
	}
	for i := 1; i <= 30; i++ {
		next := e.build(t, "svc", cfg(i/2)) // every other build is unchanged
		e.res.set("svc.local", fmt.Sprintf("10.0.0.%d", i%3+1), "10.0.0.9")
		e.clock.Advance(time.Minute)
		mu.Lock()
		old, _ := cur.Swap("u", next)
		mu.Unlock()
		old.(*Upstream).Release()
		_ = e.reg.Status()
	}
	close(stop)
	wg.Wait()
	v, _ := cur.Load("u")
	v.(*Upstream).Release()
	checkNoLeaks(t)
}

// With the default NewTransport, requests go through the real transport:
// kept alive between requests, and closed with the pool.
func TestRealTransport(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "%s via %s", r.URL.Path, r.Host)
	}))
	defer srv.Close()
	reg := NewRegistry(Options{Dial: pipeDial})
	defer reg.Close()
	u, err := reg.Build("real", staticUpstream("", srv.Listener.Addr().String()), &config.Basic{UpstreamKeepalivePoolSize: 4})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		req := httptest.NewRequest(http.MethodGet, "http://front.example/p", nil)
		b, err := u.Pick(Key{Req: req}, nil)
		if err != nil {
			t.Fatal(err)
		}
		var tr transport.Trace
		resp, err := u.RoundTrip(req, b, &tr)
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		u.Done(b, resp.StatusCode, err)
		if string(body) != "/p via front.example" {
			t.Errorf("body = %q", body)
		}
		if tr.Reused != (i == 1) {
			t.Errorf("request %d: Reused = %v", i, tr.Reused)
		}
	}
	u.Release()
	checkNoLeaks(t)
}
