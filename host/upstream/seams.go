package upstream

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"strings"
	"sync/atomic"
	"time"

	"github.com/sluice-proxy/sluice/host/upstream/transport"
)

// Options are the Registry's collaborators. Every side effect the package
// has (time, DNS, dialing, randomness, transports, notifications) goes
// through one of them, so tests can replace it. The zero value uses the real
// ones.
type Options struct {
	// Logger receives flips of backend health and circuit state, discovery
	// failures and configuration warnings, with component=upstream. Nil
	// means slog.Default().
	Logger *slog.Logger
	// Clock tells the time and runs the timers of health checks and DNS
	// refreshes. Nil means the system clock.
	Clock Clock
	// NewResolver returns the resolver used for an upstream's host names.
	// servers is the upstream's dns_server list ("ip" or "ip:port"); empty
	// means the system resolver. Nil means SystemResolver.
	NewResolver func(servers []string) (Resolver, error)
	// Dial opens the connections of active health checks. Nil means a
	// net.Dialer.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
	// NewTransport builds the transport of an upstream from the options
	// derived from its config. Nil means transport.New.
	NewTransport func(transport.Options) (RoundTripper, error)
	// Observer is told about health, circuit and discovery events, for
	// metrics and webhooks. Nil means none.
	Observer Observer
	// Rand returns uniformly distributed random numbers for the random
	// balancer. It is called concurrently. Nil means math/rand/v2.
	Rand func() uint64
}

// Clock is the time source of the package.
type Clock interface {
	// Now returns the current time.
	Now() time.Time
	// NewTimer returns a timer that fires once after d.
	NewTimer(d time.Duration) Timer
}

// Timer is a one-shot timer made by a Clock.
type Timer interface {
	// C delivers the time when the timer fires.
	C() <-chan time.Time
	// Stop prevents the timer from firing; it reports whether it did.
	Stop() bool
}

type systemClock struct{}

func (systemClock) Now() time.Time                 { return time.Now() }
func (systemClock) NewTimer(d time.Duration) Timer { return systemTimer{time.NewTimer(d)} }

type systemTimer struct{ t *time.Timer }

func (t systemTimer) C() <-chan time.Time { return t.t.C }
func (t systemTimer) Stop() bool          { return t.t.Stop() }

// Resolver looks up the IP addresses of a host name. network is "ip" or
// "ip4". *net.Resolver satisfies it.
type Resolver interface {
	LookupIP(ctx context.Context, network, host string) ([]net.IP, error)
}

var _ Resolver = (*net.Resolver)(nil)

// SystemResolver is the default Options.NewResolver. With no servers it
// returns net.DefaultResolver. Otherwise it returns Go's resolver sending
// its queries to the given nameservers in turn; a server without a port
// uses 53.
func SystemResolver(servers []string) (Resolver, error) {
	if len(servers) == 0 {
		return net.DefaultResolver, nil
	}
	addrs := make([]string, 0, len(servers))
	for _, s := range servers {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		host, port := s, "53"
		if h, p, err := net.SplitHostPort(s); err == nil {
			host, port = h, p
		}
		if net.ParseIP(host) == nil {
			return nil, fmt.Errorf("dns_server %q: not an IP address", s)
		}
		addrs = append(addrs, net.JoinHostPort(host, port))
	}
	if len(addrs) == 0 {
		return net.DefaultResolver, nil
	}
	var next atomic.Uint32
	var d net.Dialer
	return &net.Resolver{
		PreferGo: true,
		// The Go resolver calls Dial once per query; rotating the server
		// spreads queries and gets past one that is down on the retry.
		Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
			i := int(next.Add(1)-1) % len(addrs)
			return d.DialContext(ctx, network, addrs[i])
		},
	}, nil
}

// Observer is told what happens to upstreams, for metrics and webhooks. It
// is called synchronously from health-check goroutines and, for circuit
// changes, from request goroutines: it must be quick and must not block.
type Observer interface {
	// BackendHealthChanged reports an active health check flipping a
	// backend; cause is the last check's error when it became unhealthy.
	BackendHealthChanged(upstream, backend string, healthy bool, cause error)
	// CircuitChanged reports a backend's circuit breaker changing state.
	CircuitChanged(upstream, backend string, from, to CircuitState)
	// UpstreamAvailabilityChanged reports an upstream losing its last
	// usable backend (available=false) or getting one back.
	UpstreamAvailabilityChanged(upstream string, available bool)
	// DiscoveryFailed reports a failed DNS refresh; the upstream keeps its
	// last good set of backends.
	DiscoveryFailed(upstream string, err error)
}

// NopObserver ignores every event. Embed it to implement only some of
// Observer's methods.
type NopObserver struct{}

// BackendHealthChanged implements Observer.
func (NopObserver) BackendHealthChanged(string, string, bool, error) {}

// CircuitChanged implements Observer.
func (NopObserver) CircuitChanged(string, string, CircuitState, CircuitState) {}

// UpstreamAvailabilityChanged implements Observer.
func (NopObserver) UpstreamAvailabilityChanged(string, bool) {}

// DiscoveryFailed implements Observer.
func (NopObserver) DiscoveryFailed(string, error) {}

var _ Observer = NopObserver{}

// withDefaults fills the zero fields of o with the real implementations.
func (o Options) withDefaults() Options {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	o.Logger = o.Logger.With("component", "upstream")
	if o.Clock == nil {
		o.Clock = systemClock{}
	}
	if o.NewResolver == nil {
		o.NewResolver = SystemResolver
	}
	if o.Dial == nil {
		var d net.Dialer
		o.Dial = d.DialContext
	}
	if o.NewTransport == nil {
		o.NewTransport = newDefaultTransport
	}
	if o.Observer == nil {
		o.Observer = NopObserver{}
	}
	if o.Rand == nil {
		o.Rand = rand.Uint64
	}
	return o
}
