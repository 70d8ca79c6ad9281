package upstream

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sluice-proxy/sluice/host/config"
)

// pool is the runtime of one build of one upstream: its backends, balancer,
// transport, health checker and discovery. Upstream handles share a pool
// for as long as the upstream's config does not change; the Registry counts
// them and closes the pool with the last one.
type pool struct {
	name string
	key  poolKey
	reg  *Registry
	log  *slog.Logger

	// Collaborators, from the Registry's Options.
	clock Clock
	obs   Observer
	rand  func() uint64
	dial  func(ctx context.Context, network, addr string) (net.Conn, error)

	algo algoKind
	hash hashSpec
	br   breakerConfig

	disc     discoveryKind
	entries  []addrEntry
	network  string // "ip" or "ip4"
	ipv4Only bool
	resolver Resolver
	freq     time.Duration

	set   atomic.Pointer[backendSet] // never nil once built
	setMu sync.Mutex                 // serializes writers of set

	// Transparent upstreams: backends made from request hosts, kept for
	// their breaker state, up to maxTransparent of them.
	tport  string
	tcache sync.Map // host -> *Backend
	tcount atomic.Int32

	rt           RoundTripper
	checker      *checker
	errNoBackend error // ErrNoBackend wrapped with the name, made once so Pick need not allocate

	refs int // guarded by reg.mu

	cancel    context.CancelFunc
	wg        sync.WaitGroup
	closeOnce sync.Once
	available bool // whether some backend could be picked at the last health round; checker goroutine only
	dnsFailed bool // the first lookup failed; discover retries sooner
}

// maxTransparent caps the backends a transparent upstream remembers, so that
// requests with made-up Host headers cannot grow memory without bound.
// Hosts past it get a fresh backend each time, without breaker history.
const maxTransparent = 4096

// newPool compiles c into a pool that is ready to start. prev is the
// newest live build of the same upstream, whose backends hand their state
// on to those with the same address; it may be nil.
func newPool(r *Registry, name string, c *config.Upstream, b *config.Basic, key poolKey, prev *pool) (*pool, error) {
	p := &pool{
		name:         name,
		key:          key,
		reg:          r,
		log:          r.o.Logger.With("upstream", name),
		clock:        r.o.Clock,
		obs:          r.o.Observer,
		rand:         r.o.Rand,
		dial:         r.o.Dial,
		network:      "ip",
		ipv4Only:     c.Ipv4Only,
		freq:         orDur(c.UpdateFrequency.D(), defaultUpdateFrequency),
		errNoBackend: fmt.Errorf("upstream %q: %w", name, ErrNoBackend),
		available:    true,
	}
	if p.ipv4Only {
		p.network = "ip4"
	}
	if p.freq < 0 {
		return nil, errors.New("update_frequency must not be negative")
	}
	var err error
	if p.algo, p.hash, err = parseAlgo(c.Algo); err != nil {
		return nil, err
	}
	if p.br, err = compileBreaker(c); err != nil {
		return nil, err
	}
	if !c.EnableBackendStats && (c.CircuitBreakMaxConsecutiveFailures > 0 || c.CircuitBreakMaxFailurePercent > 0) {
		// Pingap's rule: the breaker only sees traffic that the stats count.
		p.log.Warn("circuit_break_* keys have no effect without enable_backend_stats = true")
	}
	defaultPort := "80"
	if c.Sni != "" {
		defaultPort = "443"
	}
	p.tport = defaultPort
	if len(c.Addrs) == 0 {
		return nil, errors.New("addrs: at least one address is required")
	}
	for i, a := range c.Addrs {
		e, err := parseAddr(a, defaultPort)
		if err != nil {
			return nil, fmt.Errorf("addrs[%d]: %w", i, err)
		}
		p.entries = append(p.entries, e)
	}
	if p.disc, err = parseDiscovery(c.Discovery, p.entries); err != nil {
		return nil, err
	}
	hc, err := parseHealthCheck(c.HealthCheck)
	if err != nil {
		return nil, err
	}
	tc, err := transportOptions(c, b)
	if err != nil {
		return nil, err
	}

	var from map[string]*Backend
	if prev != nil {
		from = prev.backendsByAddr()
	}
	switch p.disc {
	case discTransparent:
		p.set.Store(newBackendSet(p.algo, nil))
		if prev != nil {
			p.inheritTransparent(prev)
		}
	default:
		if err := p.initialTargets(c, prev, from); err != nil {
			return nil, err
		}
		p.checker = newChecker(p, hc)
	}
	if p.rt, err = r.o.NewTransport(tc); err != nil {
		return nil, fmt.Errorf("building transport: %w", err)
	}
	return p, nil
}

// initialTargets resolves the backends when the pool is built. Static
// discovery must succeed: it never resolves again. DNS discovery starts
// from the previous build's backends, or with none, when the lookup fails,
// and retries soon.
func (p *pool) initialTargets(c *config.Upstream, prev *pool, from map[string]*Backend) error {
	needsResolver := false
	for _, e := range p.entries {
		if !e.isIP() {
			needsResolver = true
		}
	}
	if needsResolver {
		var servers []string
		for _, s := range strings.Split(c.DNSServer, ",") {
			if s = strings.TrimSpace(s); s != "" {
				servers = append(servers, s)
			}
		}
		res, err := p.reg.o.NewResolver(servers)
		if err != nil {
			return err
		}
		p.resolver = res
	}
	targets, err := p.resolve(context.Background())
	switch {
	case err == nil:
	case p.disc == discStatic:
		return err
	default:
		p.dnsFailed = true
		p.log.Warn("dns discovery failed; starting from the previous backends and retrying", "error", err)
		p.obs.DiscoveryFailed(p.name, err)
		if prev != nil {
			for _, b := range prev.set.Load().backends {
				targets = append(targets, target{b.addr, b.weight})
			}
		}
	}
	p.setTargets(targets, from)
	return nil
}

func (p *pool) backendsByAddr() map[string]*Backend {
	m := map[string]*Backend{}
	for _, b := range p.set.Load().backends {
		m[b.addr] = b
	}
	return m
}

func (p *pool) inheritTransparent(prev *pool) {
	prev.tcache.Range(func(k, v any) bool {
		o := v.(*Backend)
		if p.tcount.Load() >= maxTransparent {
			return false
		}
		host := k.(string)
		b := p.newBackend(net.JoinHostPort(host, p.tport), 1)
		if b.addr == o.addr {
			b.inherit(o)
		}
		p.tcache.Store(host, b)
		p.tcount.Add(1)
		return true
	})
}

// start launches the pool's goroutines: the health checker, and DNS
// discovery. Called once, under the Registry's lock.
func (p *pool) start() {
	ctx, cancel := context.WithCancel(context.Background())
	p.cancel = cancel
	// Plain go statements rather than wg.Go, so that goroutine dumps say
	// which pool started them.
	if p.checker != nil {
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			p.checker.run(ctx)
		}()
	}
	if p.disc == discDNS {
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			p.discover(ctx, p.dnsFailed)
		}()
	}
}

// close stops the pool's goroutines, waits for them, and closes its
// transport. Requests still streaming a response finish on their
// connections (see RoundTripper.Close).
func (p *pool) close() {
	p.closeOnce.Do(func() {
		if p.cancel != nil {
			p.cancel()
		}
		p.wg.Wait()
		if p.checker != nil {
			p.checker.close()
		}
		if p.rt != nil {
			p.rt.Close()
		}
	})
}

// pickBackend chooses a backend for k; nil if none can take it.
func (p *pool) pickBackend(k *Key, tried []*Backend) *Backend {
	if p.disc == discTransparent {
		return p.pickTransparent(k, tried)
	}
	return p.pick(p.set.Load(), k, tried)
}

// pickTransparent returns the backend for the request's own host, on port
// 80, or 443 when the upstream has an sni. An explicit port in the Host
// header is ignored, as in Pingap, so clients cannot aim at other ports.
func (p *pool) pickTransparent(k *Key, tried []*Backend) *Backend {
	if k.Req == nil {
		return nil
	}
	host := hostOnly(k.Req.Host)
	if host == "" {
		return nil
	}
	var b *Backend
	if v, ok := p.tcache.Load(host); ok {
		b = v.(*Backend)
	} else {
		if checkHost(host) != nil {
			return nil
		}
		b = p.newBackend(net.JoinHostPort(host, p.tport), 1)
		if p.tcount.Load() < maxTransparent {
			if v, loaded := p.tcache.LoadOrStore(host, b); loaded {
				b = v.(*Backend)
			} else {
				p.tcount.Add(1)
			}
		}
	}
	if !p.eligible(b, tried) {
		return nil
	}
	return b
}

// updateAvailability reports an upstream losing its last usable backend or
// getting one back. Called by the checker after each round.
func (p *pool) updateAvailability() {
	avail := false
	for _, b := range p.set.Load().backends {
		if b.healthy.Load() && CircuitState(b.circuit.Load()) != CircuitOpen {
			avail = true
			break
		}
	}
	if avail == p.available {
		return
	}
	p.available = avail
	if avail {
		p.log.Info("upstream has available backends again")
	} else {
		p.log.Error("upstream has no available backend")
	}
	p.obs.UpstreamAvailabilityChanged(p.name, avail)
}
