package upstream

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sluice-proxy/sluice/host/config"
)

// Issue 2: DNS discovery re-resolves every update_frequency; each IP is a
// backend with its entry's port and weight; a backend that stays keeps its
// state; a failed lookup keeps the last good set and is retried sooner.
func TestDNSDiscovery(t *testing.T) {
	e := newEnv(t)
	e.res.set("svc.local", "10.0.0.2", "10.0.0.1")
	u := e.build(t, "svc", &config.Upstream{
		Addrs:           []string{"svc.local:8080 3", "10.9.9.9:81"},
		UpdateFrequency: config.Duration(30 * time.Second),
		DNSServer:       "192.0.2.53, 192.0.2.54:5353",
	})
	defer u.Release()
	if u.p.disc != discDNS {
		t.Fatalf("discovery = %v; want dns, guessed from the host name", u.p.disc)
	}
	wantAddrs(t, u, "10.0.0.1:8080*3", "10.0.0.2:8080*3", "10.9.9.9:81*1")
	if got := fmt.Sprint(e.servers); got != "[[192.0.2.53 192.0.2.54:5353]]" {
		t.Errorf("resolver built for servers %s", got)
	}

	kept := backend(t, u, "10.0.0.1:8080")
	e.clock.waitTimers(t, 2) // checker and discovery are waiting
	kept.healthy.Store(false)

	e.res.set("svc.local", "10.0.0.3", "10.0.0.1")
	e.clock.Advance(30 * time.Second)
	eventually(t, "the new answer", func() bool { return slices.Contains(addrsOf(u), "10.0.0.3:8080*3") })
	wantAddrs(t, u, "10.0.0.1:8080*3", "10.0.0.3:8080*3", "10.9.9.9:81*1")
	if backend(t, u, "10.0.0.1:8080") != kept {
		t.Error("a backend that stayed in the answer was replaced")
	}
	if got := e.transports()[0].closedAddrs(); !slices.Equal(got, []string{"10.0.0.2:8080"}) {
		t.Errorf("idle connections closed for %v; want those of 10.0.0.2:8080, which left the set", got)
	}

	e.clock.waitTimers(t, 2)
	e.res.fail(errors.New("SERVFAIL"))
	calls := e.res.callCount()
	e.clock.Advance(30 * time.Second)
	eventually(t, "the failure to be reported", func() bool { return slices.Contains(e.obs.list(), "discovery-failed svc") })
	wantAddrs(t, u, "10.0.0.1:8080*3", "10.0.0.3:8080*3", "10.9.9.9:81*1")

	// After a failure the next try comes after 5s, not 30s.
	e.res.fail(nil)
	e.res.set("svc.local", "10.0.0.4")
	e.clock.waitTimers(t, 2)
	e.clock.Advance(5 * time.Second)
	eventually(t, "the retry", func() bool { return slices.Contains(addrsOf(u), "10.0.0.4:8080*3") })
	wantAddrs(t, u, "10.0.0.4:8080*3", "10.9.9.9:81*1")
	if n := e.res.callCount(); n <= calls+1 {
		t.Errorf("resolver called %d times; want a retry", n-calls)
	}
}

func wantAddrs(t *testing.T, u *Upstream, want ...string) {
	t.Helper()
	if got := addrsOf(u); !slices.Equal(got, want) {
		t.Fatalf("backends = %v; want %v", got, want)
	}
}

func TestDiscoveryVariants(t *testing.T) {
	for _, tc := range []struct {
		name    string
		cfg     config.Upstream
		answers map[string][]string
		want    []string
		network string
		err     string
	}{
		{
			name: "static resolves host names once",
			cfg:  config.Upstream{Addrs: []string{"a.local 2", "b.local"}, Discovery: "static"},
			answers: map[string][]string{
				"a.local": {"10.0.0.1", "2001:db8::1"},
				"b.local": {"10.0.0.1"},
			},
			// Two names, one IP: the backend gets both weights.
			want:    []string{"10.0.0.1:80*3", "[2001:db8::1]:80*2"},
			network: "ip",
		},
		{
			name: "ipv4_only drops AAAA answers",
			cfg:  config.Upstream{Addrs: []string{"a.local"}, Ipv4Only: true},
			answers: map[string][]string{
				"a.local": {"2001:db8::1", "10.0.0.1"},
			},
			want:    []string{"10.0.0.1:80*1"},
			network: "ip4",
		},
		{
			name:    "sni makes the default port 443",
			cfg:     config.Upstream{Addrs: []string{"a.local", "10.1.1.1"}, Sni: "a.example"},
			answers: map[string][]string{"a.local": {"10.0.0.1"}},
			want:    []string{"10.0.0.1:443*1", "10.1.1.1:443*1"},
			network: "ip",
		},
		{
			name:    "unusable answers are skipped",
			cfg:     config.Upstream{Addrs: []string{"a.local"}},
			answers: map[string][]string{"a.local": {"0.0.0.0", "224.0.0.1", "10.0.0.7"}},
			want:    []string{"10.0.0.7:80*1"},
			network: "ip",
		},
		{
			name: "static fails on a name that does not resolve",
			cfg:  config.Upstream{Addrs: []string{"gone.local"}, Discovery: "static"},
			err:  `resolving "gone.local"`,
		},
		{
			name:    "static fails on a name with no usable address",
			cfg:     config.Upstream{Addrs: []string{"v6.local"}, Discovery: "static", Ipv4Only: true},
			answers: map[string][]string{"v6.local": {"2001:db8::1"}},
			err:     "no usable address",
		},
		{
			name: "literal IPs need no resolver",
			cfg:  config.Upstream{Addrs: []string{"[2001:db8::2]:8443 4", "::1"}},
			want: []string{"[2001:db8::2]:8443*4", "[::1]:80*1"},
		},
		{
			name: "docker is refused",
			cfg:  config.Upstream{Addrs: []string{"label"}, Discovery: "docker"},
			err:  "not supported",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			for h, ips := range tc.answers {
				e.res.set(h, ips...)
			}
			u, err := e.reg.Build("u", &tc.cfg, nil)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) || !strings.Contains(err.Error(), `upstream "u"`) {
					t.Fatalf("err = %v; want it to name the upstream and contain %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer u.Release()
			wantAddrs(t, u, tc.want...)
			if tc.network != "" && (len(e.res.networks) == 0 || e.res.networks[0] != tc.network) {
				t.Errorf("looked up with networks %v; want %q", e.res.networks, tc.network)
			}
		})
	}
}

// A DNS upstream whose name does not resolve at first still builds, answers
// ErrNoBackend, and fills in as soon as a retry succeeds.
func TestDNSDiscoveryStartsEmpty(t *testing.T) {
	e := newEnv(t)
	u := e.build(t, "late", &config.Upstream{Addrs: []string{"late.local:7000"}, Discovery: "dns"})
	defer u.Release()
	if _, err := u.Pick(Key{}, nil); !errors.Is(err, ErrNoBackend) {
		t.Fatalf("Pick = %v; want ErrNoBackend", err)
	}
	if got := u.Status(); len(got.Backends) != 0 || got.Available != 0 {
		t.Errorf("status = %+v; want no backends", got)
	}
	e.res.set("late.local", "10.0.0.9")
	e.clock.waitTimers(t, 2)
	e.clock.Advance(retryAfterFailure)
	eventually(t, "the backend", func() bool { return len(addrsOf(u)) == 1 })
	if b, err := u.Pick(Key{}, nil); err != nil || b.Addr() != "10.0.0.9:7000" {
		t.Fatalf("Pick = %v, %v", b, err)
	}
}

// Issue 2: a transparent upstream sends each request to its own host, on
// port 80, or 443 with sni, ignoring a port in the Host header.
func TestTransparent(t *testing.T) {
	for _, tc := range []struct {
		name, sni, host, want string
	}{
		{"plain", "", "example.com", "example.com:80"},
		{"port ignored", "", "example.com:8080", "example.com:80"},
		{"tls", "$host", "example.com", "example.com:443"},
		{"ipv6", "", "[2001:db8::1]:81", "[2001:db8::1]:80"},
		{"empty host", "", "", ""},
		{"invalid host", "", "exa mple/", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			u := e.build(t, "t", &config.Upstream{Addrs: []string{"ignored"}, Discovery: "transparent", Sni: tc.sni})
			defer u.Release()
			r := &http.Request{Host: tc.host, Header: http.Header{}}
			b, err := u.Pick(Key{Req: r}, nil)
			if tc.want == "" {
				if !errors.Is(err, ErrNoBackend) {
					t.Fatalf("Pick = %v, %v; want ErrNoBackend", b, err)
				}
				return
			}
			if err != nil || b.Addr() != tc.want {
				t.Fatalf("Pick = %v, %v; want %s", b, err, tc.want)
			}
			again, _ := u.Pick(Key{Req: r}, nil)
			if again != b {
				t.Error("the same host got a new backend")
			}
			if _, err := u.Pick(Key{Req: r}, []*Backend{b}); !errors.Is(err, ErrNoBackend) {
				t.Errorf("Pick with the host tried = %v; want ErrNoBackend", err)
			}
			if st := u.Status(); len(st.Backends) != 1 || st.Backends[0].Addr != tc.want || st.Discovery != "transparent" {
				t.Errorf("status = %+v", st)
			}
		})
	}
}
