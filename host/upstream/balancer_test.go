package upstream

import (
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/sluice-proxy/sluice/host/config"
)

func staticUpstream(algo string, addrs ...string) *config.Upstream {
	return &config.Upstream{Addrs: addrs, Algo: algo, Discovery: "static"}
}

func reqFor(t testing.TB, target string) *http.Request {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Request{Method: "GET", URL: u, Host: u.Host, Header: http.Header{}, RemoteAddr: "192.0.2.1:5555"}
}

// Issue 2: round_robin is nginx's smooth weighted round robin. The
// sequence for weights 5,1,1 is nginx's documented one (a a b a c a a).
func TestSmoothRoundRobinSequence(t *testing.T) {
	for _, tc := range []struct {
		name  string
		addrs []string
		want  string
	}{
		{"nginx 5,1,1", []string{"10.0.0.1:80 5", "10.0.0.2:80", "10.0.0.3:80"}, "aabacaa" + "aabacaa"},
		{"equal weights rotate", []string{"10.0.0.1:80", "10.0.0.2:80", "10.0.0.3:80"}, "abcabc"},
		{"2,1", []string{"10.0.0.1:80 2", "10.0.0.2:80"}, "abaaba"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			u := e.build(t, "u", staticUpstream("round_robin", tc.addrs...))
			defer u.Release()
			var got strings.Builder
			for range len(tc.want) {
				b, err := u.Pick(Key{}, nil)
				if err != nil {
					t.Fatal(err)
				}
				u.Done(b, 200, nil)
				got.WriteByte('a' + b.addr[7] - '1')
			}
			if got.String() != tc.want {
				t.Errorf("sequence = %s; want %s", got.String(), tc.want)
			}
		})
	}
}

// Every balancer gives each backend a share of picks proportional to its
// weight.
func TestBalancerDistribution(t *testing.T) {
	addrs := []string{"10.0.0.1:80 1", "10.0.0.2:80 2", "10.0.0.3:80 3", "10.0.0.4:80 4"}
	const picks = 10000
	for _, tc := range []struct {
		algo string
		// tol is the allowed deviation of a share, relative to it.
		// Deterministic balancers are exact; random is within 5 standard
		// deviations; the hash ring's shares depend on where 160 points
		// per unit of weight fall.
		tol  float64
		hold bool // keep requests in flight instead of finishing each
	}{
		{algo: "round_robin", tol: 0.001},
		{algo: "least_conn", tol: 0.001},
		{algo: "least_conn", tol: 0.01, hold: true},
		{algo: "random", tol: 0.12},
		{algo: "hash:url", tol: 0.10},
		{algo: "hash:ip", tol: 0.10},
	} {
		t.Run(fmt.Sprintf("%s/hold=%v", tc.algo, tc.hold), func(t *testing.T) {
			e := newEnv(t)
			u := e.build(t, "u", staticUpstream(tc.algo, addrs...))
			defer u.Release()
			count := map[string]int{}
			r := reqFor(t, "http://x/")
			for i := range picks {
				r.URL.Path = fmt.Sprintf("/item/%d", i)
				b, err := u.Pick(Key{Req: r, ClientIP: fmt.Sprintf("198.51.%d.%d", i/256, i%256)}, nil)
				if err != nil {
					t.Fatal(err)
				}
				count[b.addr]++
				if !tc.hold {
					u.Done(b, 200, nil)
				}
			}
			t.Logf("picks per backend: %v", count)
			for _, b := range u.p.set.Load().backends {
				want := float64(picks) * float64(b.weight) / 10
				if dev := math.Abs(float64(count[b.addr])-want) / want; dev > tc.tol {
					t.Errorf("%s (weight %d) got %d picks; want %.0f ± %.0f%%", b.addr, b.weight, count[b.addr], want, tc.tol*100)
				}
			}
		})
	}
}

// Selection skips backends that are unhealthy, whose circuit is open, or
// that the request already tried, for every balancer.
func TestPickSkips(t *testing.T) {
	addrs := []string{"10.0.0.1:80 3", "10.0.0.2:80", "10.0.0.3:80 2"}
	for _, algo := range []string{"round_robin", "least_conn", "random", "hash", "hash:url", "hash:header:X-User", "hash:cookie:sid", "hash:query:id", "hash:ip"} {
		for _, tc := range []struct {
			name  string
			setup func(e *env, u *Upstream) []*Backend // returns tried
			want  []string                             // the only addresses allowed; nil = ErrNoBackend
		}{
			{"unhealthy", func(e *env, u *Upstream) []*Backend {
				backend(t, u, "10.0.0.1:80").healthy.Store(false)
				return nil
			}, []string{"10.0.0.2:80", "10.0.0.3:80"}},
			{"open circuit", func(e *env, u *Upstream) []*Backend {
				b := backend(t, u, "10.0.0.3:80")
				b.circuit.Store(int32(CircuitOpen))
				b.openUntil.Store(e.clock.Now().Add(time.Minute).UnixNano())
				return nil
			}, []string{"10.0.0.1:80", "10.0.0.2:80"}},
			{"tried", func(e *env, u *Upstream) []*Backend {
				return []*Backend{backend(t, u, "10.0.0.1:80"), backend(t, u, "10.0.0.3:80")}
			}, []string{"10.0.0.2:80"}},
			{"all excluded", func(e *env, u *Upstream) []*Backend {
				backend(t, u, "10.0.0.1:80").healthy.Store(false)
				backend(t, u, "10.0.0.2:80").healthy.Store(false)
				return []*Backend{backend(t, u, "10.0.0.3:80")}
			}, nil},
		} {
			t.Run(algo+"/"+tc.name, func(t *testing.T) {
				e := newEnv(t)
				u := e.build(t, "u", staticUpstream(algo, addrs...))
				defer u.Release()
				e.clock.waitTimers(t, 1) // the checker's first round is over
				tried := tc.setup(e, u)
				for i := range 300 {
					r := reqFor(t, fmt.Sprintf("http://x/p/%d?id=%d", i, i))
					r.Header.Set("X-User", fmt.Sprint(i))
					r.Header.Set("Cookie", fmt.Sprintf("a=1; sid=%d", i))
					b, err := u.Pick(Key{Req: r, ClientIP: fmt.Sprintf("10.1.0.%d", i%250)}, tried)
					if tc.want == nil {
						if !errors.Is(err, ErrNoBackend) || b != nil {
							t.Fatalf("Pick = %v, %v; want ErrNoBackend", b, err)
						}
						if !strings.Contains(err.Error(), `upstream "u"`) {
							t.Fatalf("error %q does not name the upstream", err)
						}
						continue
					}
					if err != nil {
						t.Fatalf("Pick: %v", err)
					}
					if !contains(tc.want, b.addr) {
						t.Fatalf("picked %s; want one of %v", b.addr, tc.want)
					}
					u.Done(b, 200, nil)
				}
			})
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// least_conn prefers the backend with fewer requests in flight.
func TestLeastConnPrefersIdle(t *testing.T) {
	e := newEnv(t)
	u := e.build(t, "u", staticUpstream("least_conn", "10.0.0.1:80", "10.0.0.2:80"))
	defer u.Release()
	first, _ := u.Pick(Key{}, nil) // held
	for range 5 {
		b, _ := u.Pick(Key{}, nil)
		if b == first {
			t.Fatalf("picked %s, which has a request in flight, over an idle backend", b.addr)
		}
		u.Done(b, 200, nil)
	}
	u.Done(first, 200, nil)
	if got := first.inflight.Load(); got != 0 {
		t.Errorf("inflight after Done = %d; want 0", got)
	}
}

// Consistent hashing: the same key goes to the same backend; adding a
// backend moves about 1/n of the keys, all of them to the new backend;
// removing one moves only its own keys.
func TestConsistentHashStability(t *testing.T) {
	var addrs []string
	for i := 1; i <= 10; i++ {
		addrs = append(addrs, fmt.Sprintf("10.0.0.%d:80", i))
	}
	const keys = 10000
	mapping := func(u *Upstream) []string {
		out := make([]string, keys)
		r := reqFor(t, "http://x/")
		for i := range keys {
			r.URL.Path = fmt.Sprintf("/obj/%d", i)
			b, err := u.Pick(Key{Req: r}, nil)
			if err != nil {
				t.Fatal(err)
			}
			u.Done(b, 200, nil)
			out[i] = b.addr
		}
		return out
	}
	e := newEnv(t)
	u10 := e.build(t, "u", staticUpstream("hash:path", addrs...))
	defer u10.Release()
	before := mapping(u10)
	if again := mapping(u10); fmt.Sprint(again) != fmt.Sprint(before) {
		t.Fatal("the same keys mapped differently on a second pass")
	}

	t.Run("add", func(t *testing.T) {
		u11 := e.build(t, "u11", staticUpstream("hash:path", append(addrs, "10.0.0.11:80")...))
		defer u11.Release()
		after := mapping(u11)
		moved := 0
		for i := range keys {
			if after[i] != before[i] {
				moved++
				if after[i] != "10.0.0.11:80" {
					t.Fatalf("key %d moved from %s to %s, not to the new backend", i, before[i], after[i])
				}
			}
		}
		if frac := float64(moved) / keys; frac < 0.05 || frac > 0.14 {
			t.Errorf("adding the 11th backend moved %.1f%% of keys; want about 9.1%%", frac*100)
		}
	})
	t.Run("remove", func(t *testing.T) {
		u9 := e.build(t, "u9", staticUpstream("hash:path", addrs[1:]...))
		defer u9.Release()
		after := mapping(u9)
		for i := range keys {
			if before[i] != addrs[0] && after[i] != before[i] {
				t.Fatalf("key %d moved from %s to %s though its backend stayed", i, before[i], after[i])
			}
		}
	})
	t.Run("unhealthy and back", func(t *testing.T) {
		e.clock.waitTimers(t, 1)
		b := backend(t, u10, addrs[3])
		b.healthy.Store(false)
		during := mapping(u10)
		b.healthy.Store(true)
		after := mapping(u10)
		for i := range keys {
			if before[i] != addrs[3] && during[i] != before[i] {
				t.Fatalf("key %d moved off a healthy backend while another was down", i)
			}
			if during[i] == addrs[3] {
				t.Fatalf("key %d went to the unhealthy backend", i)
			}
			if after[i] != before[i] {
				t.Fatalf("key %d did not return to %s when it recovered", i, before[i])
			}
		}
	})
}

// Each hash key reads the right part of the request.
func TestHashKeys(t *testing.T) {
	for _, tc := range []struct {
		algo         string
		same, differ [2]func(*http.Request)
	}{
		{"hash:url",
			[2]func(*http.Request){func(r *http.Request) { r.URL.RawQuery = "a=1" }, func(r *http.Request) { r.URL.RawQuery = "a=1"; r.Header.Set("X", "y") }},
			[2]func(*http.Request){func(r *http.Request) { r.URL.RawQuery = "a=1" }, func(r *http.Request) { r.URL.RawQuery = "a=2" }}},
		{"hash:path",
			[2]func(*http.Request){func(r *http.Request) { r.URL.RawQuery = "a=1" }, func(r *http.Request) { r.URL.RawQuery = "a=2" }},
			[2]func(*http.Request){func(r *http.Request) { r.URL.Path = "/a" }, func(r *http.Request) { r.URL.Path = "/b" }}},
		{"hash:header:x-tenant",
			[2]func(*http.Request){func(r *http.Request) { r.Header.Set("X-Tenant", "t1"); r.URL.Path = "/a" }, func(r *http.Request) { r.Header.Set("X-Tenant", "t1"); r.URL.Path = "/b" }},
			[2]func(*http.Request){func(r *http.Request) { r.Header.Set("X-Tenant", "t1") }, func(r *http.Request) { r.Header.Set("X-Tenant", "t2") }}},
		{"hash:cookie:sid",
			[2]func(*http.Request){func(r *http.Request) { r.Header.Set("Cookie", "a=1; sid=s1") }, func(r *http.Request) { r.Header.Set("Cookie", `sid="s1"; b=2`) }},
			[2]func(*http.Request){func(r *http.Request) { r.Header.Set("Cookie", "sid=s1") }, func(r *http.Request) { r.Header.Set("Cookie", "sid=s2") }}},
		{"hash:query:id",
			[2]func(*http.Request){func(r *http.Request) { r.URL.RawQuery = "id=a+b&x=1" }, func(r *http.Request) { r.URL.RawQuery = "x=2&i%64=a%20b" }},
			[2]func(*http.Request){func(r *http.Request) { r.URL.RawQuery = "id=1" }, func(r *http.Request) { r.URL.RawQuery = "id=2" }}},
	} {
		t.Run(tc.algo, func(t *testing.T) {
			h, err := parseHashSpec(strings.TrimPrefix(tc.algo, "hash"))
			if err != nil {
				t.Fatal(err)
			}
			sum := func(f func(*http.Request)) uint64 {
				r := reqFor(t, "http://x/same")
				f(r)
				return h.sum(&Key{Req: r})
			}
			if a, b := sum(tc.same[0]), sum(tc.same[1]); a != b {
				t.Errorf("requests that should share a key hash differently")
			}
			if a, b := sum(tc.differ[0]), sum(tc.differ[1]); a == b {
				t.Errorf("requests with different keys hash the same")
			}
		})
	}
	t.Run("hash:ip falls back to RemoteAddr", func(t *testing.T) {
		h, _ := parseHashSpec(":ip")
		r := reqFor(t, "http://x/")
		r.RemoteAddr = "[2001:db8::1]:443"
		if h.sum(&Key{Req: r}) != h.sum(&Key{ClientIP: "2001:db8::1"}) {
			t.Error("an empty ClientIP did not hash as the host of RemoteAddr")
		}
	})
}

func TestParseAlgo(t *testing.T) {
	for _, tc := range []struct {
		in   string
		algo algoKind
		hash hashSpec
		err  string
	}{
		{in: "", algo: algoRoundRobin},
		{in: "round_robin", algo: algoRoundRobin},
		{in: "least_conn", algo: algoLeastConn},
		{in: "random", algo: algoRandom},
		{in: "hash", algo: algoHash, hash: hashSpec{kind: hashPath}},
		{in: "hash:path", algo: algoHash, hash: hashSpec{kind: hashPath}},
		{in: "hash:url", algo: algoHash, hash: hashSpec{kind: hashURL}},
		{in: "hash:ip", algo: algoHash, hash: hashSpec{kind: hashIP}},
		{in: "hash:header:x-user-id", algo: algoHash, hash: hashSpec{kind: hashHeader, name: "X-User-Id"}},
		{in: "hash:cookie:SID", algo: algoHash, hash: hashSpec{kind: hashCookie, name: "SID"}},
		{in: "hash:query:id", algo: algoHash, hash: hashSpec{kind: hashQuery, name: "id"}},
		{in: "hash:header:", err: "missing or invalid name"},
		{in: "hash:cookie:a;b", err: "missing or invalid name"},
		{in: "hash:body", err: "unknown hash key"},
		{in: "weighted", err: "want round_robin"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			algo, hs, err := parseAlgo(tc.in)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v; want %q", err, tc.err)
				}
				return
			}
			if err != nil || algo != tc.algo || hs != tc.hash {
				t.Fatalf("parseAlgo = %v, %+v, %v; want %v, %+v", algo, hs, err, tc.algo, tc.hash)
			}
		})
	}
}

// Pick and Done allocate nothing, whatever the balancer and with stats on.
func TestPickDoesNotAllocate(t *testing.T) {
	for _, algo := range []string{"round_robin", "least_conn", "random", "hash", "hash:url", "hash:ip", "hash:header:X-User", "hash:cookie:sid", "hash:query:id"} {
		t.Run(algo, func(t *testing.T) {
			e := newEnv(t)
			c := staticUpstream(algo, "10.0.0.1:80 2", "10.0.0.2:80", "10.0.0.3:80")
			c.EnableBackendStats = true
			c.CircuitBreakMaxConsecutiveFailures = 5
			u := e.build(t, "u", c)
			defer u.Release()
			r := pickRequest(t)
			tried := make([]*Backend, 0, 1)
			allocs := testing.AllocsPerRun(1000, func() {
				b, err := u.Pick(Key{Req: r, ClientIP: "203.0.113.9"}, tried[:0])
				if err != nil {
					panic(err)
				}
				u.Done(b, 200, nil)
			})
			if allocs != 0 {
				t.Errorf("Pick+Done allocates %.1f times; want 0", allocs)
			}
		})
	}
	t.Run("transparent", func(t *testing.T) {
		e := newEnv(t)
		u := e.build(t, "u", &config.Upstream{Addrs: []string{"127.0.0.1"}, Discovery: "transparent"})
		defer u.Release()
		r := pickRequest(t)
		if _, err := u.Pick(Key{Req: r}, nil); err != nil { // caches the host's backend
			t.Fatal(err)
		}
		allocs := testing.AllocsPerRun(1000, func() {
			b, _ := u.Pick(Key{Req: r}, nil)
			u.Done(b, 200, nil)
		})
		if allocs != 0 {
			t.Errorf("Pick+Done allocates %.1f times; want 0", allocs)
		}
	})
}

func pickRequest(t testing.TB) *http.Request {
	r := reqFor(t, "http://example.com/api/v1/items/42?id=42&page=3")
	r.Header.Set("X-User", "alice")
	r.Header.Set("Cookie", "theme=dark; sid=abcdef0123456789; lang=en")
	return r
}

func BenchmarkPick(b *testing.B) {
	for _, algo := range []string{"round_robin", "least_conn", "random", "hash:url", "hash:cookie:sid"} {
		b.Run(algo, func(b *testing.B) {
			reg := NewRegistry(Options{NewTransport: nopTransport, Dial: pipeDial})
			defer reg.Close()
			var addrs []string
			for i := 1; i <= 8; i++ {
				addrs = append(addrs, fmt.Sprintf("10.0.0.%d:80 %d", i, i))
			}
			u, err := reg.Build("u", staticUpstream(algo, addrs...), nil)
			if err != nil {
				b.Fatal(err)
			}
			defer u.Release()
			r := pickRequest(b)
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					be, err := u.Pick(Key{Req: r, ClientIP: "203.0.113.9"}, nil)
					if err != nil {
						b.Error(err)
						return
					}
					u.Done(be, 200, nil)
				}
			})
		})
	}
}
