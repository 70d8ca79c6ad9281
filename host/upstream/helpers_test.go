package upstream

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluice-proxy/sluice/host/config"
	"github.com/sluice-proxy/sluice/host/upstream/transport"
)

// fakeClock is a Clock whose time moves only when a test calls Advance.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	timers []*fakeTimer
}

type fakeTimer struct {
	clk *fakeClock
	c   chan time.Time
	at  time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{now: time.Unix(1_700_000_000, 0)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) NewTimer(d time.Duration) Timer {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &fakeTimer{clk: c, c: make(chan time.Time, 1), at: c.now.Add(d)}
	if d <= 0 {
		t.c <- c.now
		return t
	}
	c.timers = append(c.timers, t)
	return t
}

func (t *fakeTimer) C() <-chan time.Time { return t.c }

func (t *fakeTimer) Stop() bool {
	c := t.clk
	c.mu.Lock()
	defer c.mu.Unlock()
	n := len(c.timers)
	c.timers = slices.DeleteFunc(c.timers, func(x *fakeTimer) bool { return x == t })
	return len(c.timers) != n
}

// Advance moves the time on and fires the timers that are due.
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	c.timers = slices.DeleteFunc(c.timers, func(t *fakeTimer) bool {
		if t.at.After(c.now) {
			return false
		}
		t.c <- c.now
		return true
	})
}

// waitTimers waits until at least n timers are pending, so that an Advance
// is not lost on a goroutine that has not armed its timer yet.
func (c *fakeClock) waitTimers(t *testing.T, n int) {
	t.Helper()
	eventually(t, fmt.Sprintf("%d pending timers", n), func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		return len(c.timers) >= n
	})
}

// eventually polls cond for up to 5 seconds.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// fakeResolver answers from a map that tests change.
type fakeResolver struct {
	mu       sync.Mutex
	answers  map[string][]net.IP
	err      error
	calls    int
	networks []string
}

func (r *fakeResolver) LookupIP(_ context.Context, network, host string) ([]net.IP, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls++
	r.networks = append(r.networks, network)
	if r.err != nil {
		return nil, r.err
	}
	ips, ok := r.answers[host]
	if !ok {
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}
	return slices.Clone(ips), nil
}

func (r *fakeResolver) set(host string, ips ...string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.answers == nil {
		r.answers = map[string][]net.IP{}
	}
	r.answers[host] = nil
	for _, s := range ips {
		r.answers[host] = append(r.answers[host], net.ParseIP(s))
	}
}

func (r *fakeResolver) callCount() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.calls
}

func (r *fakeResolver) fail(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.err = err
}

// recorder is an Observer that keeps every event as a line of text.
type recorder struct {
	mu     sync.Mutex
	events []string
}

func (o *recorder) add(s string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.events = append(o.events, s)
}

func (o *recorder) BackendHealthChanged(up, b string, healthy bool, _ error) {
	o.add(fmt.Sprintf("health %s %s %v", up, b, healthy))
}

func (o *recorder) CircuitChanged(up, b string, from, to CircuitState) {
	o.add(fmt.Sprintf("circuit %s %s %s->%s", up, b, from, to))
}

func (o *recorder) UpstreamAvailabilityChanged(up string, avail bool) {
	o.add(fmt.Sprintf("available %s %v", up, avail))
}

func (o *recorder) DiscoveryFailed(up string, err error) { o.add("discovery-failed " + up) }

func (o *recorder) list() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return slices.Clone(o.events)
}

var _ Observer = (*recorder)(nil)

// fakeRT is a RoundTripper over net/http that records its lifecycle.
type fakeRT struct {
	opts       transport.Options
	hc         *http.Transport
	closed     atomic.Bool
	idleClosed atomic.Int32
	mu         sync.Mutex
	idleAddrs  []string
}

func (f *fakeRT) RoundTrip(req *http.Request, addr string, _ *transport.Trace) (*http.Response, error) {
	if f.closed.Load() {
		return nil, errors.New("fakeRT: closed")
	}
	out := req.Clone(req.Context())
	out.URL.Scheme, out.URL.Host, out.RequestURI = "http", addr, ""
	return f.hc.RoundTrip(out)
}

func (f *fakeRT) CloseIdle() { f.idleClosed.Add(1); f.hc.CloseIdleConnections() }

// CloseIdleAddr records the addresses whose idle connections were closed,
// as the real transport's method of that name would close them.
func (f *fakeRT) CloseIdleAddr(addr string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.idleAddrs = append(f.idleAddrs, addr)
}

func (f *fakeRT) closedAddrs() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.idleAddrs)
}
func (f *fakeRT) Close() { f.closed.Store(true); f.hc.CloseIdleConnections() }

// env is a Registry with fakes for every seam and what they recorded.
type env struct {
	reg   *Registry
	clock *fakeClock
	res   *fakeResolver
	obs   *recorder
	mu    sync.Mutex
	rts   []*fakeRT
	// down holds the addresses whose health-check dials fail.
	down    sync.Map
	servers [][]string
}

// newEnv builds a Registry on fakes: a fake clock, a fake resolver,
// health-check dials that succeed at once (unless the address is in down), and
// fakeRT transports.
func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{clock: newFakeClock(), res: &fakeResolver{}, obs: &recorder{}}
	e.reg = NewRegistry(Options{
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Clock:  e.clock,
		NewResolver: func(servers []string) (Resolver, error) {
			e.mu.Lock()
			e.servers = append(e.servers, servers)
			e.mu.Unlock()
			return e.res, nil
		},
		Dial: func(ctx context.Context, network, addr string) (net.Conn, error) {
			if _, ok := e.down.Load(addr); ok {
				return nil, errors.New("connection refused")
			}
			c1, c2 := net.Pipe()
			c2.Close()
			return c1, nil
		},
		NewTransport: func(o transport.Options) (RoundTripper, error) {
			rt := &fakeRT{opts: o, hc: &http.Transport{}}
			e.mu.Lock()
			e.rts = append(e.rts, rt)
			e.mu.Unlock()
			return rt, nil
		},
		Observer: e.obs,
		Rand:     lockedRand(1),
	})
	t.Cleanup(e.reg.Close)
	return e
}

func (e *env) build(t *testing.T, name string, c *config.Upstream) *Upstream {
	t.Helper()
	u, err := e.reg.Build(name, c, nil)
	if err != nil {
		t.Fatalf("Build(%q): %v", name, err)
	}
	return u
}

func (e *env) transports() []*fakeRT {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.rts)
}

// backend returns u's backend with addr.
func backend(t *testing.T, u *Upstream, addr string) *Backend {
	t.Helper()
	for _, b := range u.p.set.Load().backends {
		if b.addr == addr {
			return b
		}
	}
	t.Fatalf("upstream %s has no backend %s", u.Name(), addr)
	return nil
}

func addrsOf(u *Upstream) []string {
	var out []string
	for _, b := range u.p.set.Load().backends {
		out = append(out, fmt.Sprintf("%s*%d", b.addr, b.weight))
	}
	return out
}

// packageGoroutines returns the stacks of goroutines running this package's
// code (other than tests), to check that nothing leaks.
func packageGoroutines() []string {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	var out []string
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, "sluice/host/upstream.(*pool)") || strings.Contains(g, "sluice/host/upstream.(*checker)") {
			out = append(out, g)
		}
	}
	return out
}

func checkNoLeaks(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		gs := packageGoroutines()
		if len(gs) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines of the package still running:\n%s", len(gs), strings.Join(gs, "\n\n"))
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func boolPtr(v bool) *bool { return &v }

// lockedRand is a seeded, concurrency-safe Options.Rand, so that random
// balancing is the same on every run.
func lockedRand(seed uint64) func() uint64 {
	var mu sync.Mutex
	r := rand.New(rand.NewPCG(seed, seed))
	return func() uint64 {
		mu.Lock()
		defer mu.Unlock()
		return r.Uint64()
	}
}

func nopTransport(transport.Options) (RoundTripper, error) {
	return &fakeRT{hc: &http.Transport{}}, nil
}

func pipeDial(context.Context, string, string) (net.Conn, error) {
	c1, c2 := net.Pipe()
	c2.Close()
	return c1, nil
}
