package upstream

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"slices"
	"time"
)

// discoveryKind is how an upstream finds its backends.
type discoveryKind uint8

const (
	discStatic      discoveryKind = iota // resolve `addrs` once, when built
	discDNS                              // re-resolve every update_frequency
	discTransparent                      // the request's own host
)

func (d discoveryKind) String() string {
	switch d {
	case discDNS:
		return "dns"
	case discTransparent:
		return "transparent"
	}
	return "static"
}

// Discovery defaults.
const (
	defaultUpdateFrequency = 60 * time.Second
	// resolveTimeout bounds one lookup.
	resolveTimeout = 10 * time.Second
	// retryAfterFailure caps the wait before the next lookup after a failed
	// one, so that an upstream whose name did not resolve at start-up does
	// not stay empty for a whole update_frequency.
	retryAfterFailure = 5 * time.Second
)

// parseDiscovery parses the `discovery` key. Empty means "dns" when an
// address is a host name and "static" otherwise, as in Pingap.
func parseDiscovery(s string, entries []addrEntry) (discoveryKind, error) {
	switch s {
	case "static":
		return discStatic, nil
	case "dns":
		return discDNS, nil
	case "transparent":
		return discTransparent, nil
	case "":
		for _, e := range entries {
			if !e.isIP() {
				return discDNS, nil
			}
		}
		return discStatic, nil
	case "docker":
		return 0, fmt.Errorf("discovery %q is not supported; use static, dns or transparent", s)
	}
	return 0, fmt.Errorf("discovery %q: want static, dns or transparent", s)
}

// target is a backend address found by discovery.
type target struct {
	addr   string
	weight int
}

// resolve turns the upstream's entries into targets: IP literals as they
// are, host names through the resolver, every usable IP becoming a target
// with its entry's port and weight. IPs of one name are sorted so that a
// rotating DNS answer is not taken for a change. If any name fails, the
// whole resolve fails, so that a transient error does not drop part of the
// pool.
func (p *pool) resolve(ctx context.Context) ([]target, error) {
	var out []target
	index := map[string]int{}
	add := func(addr string, w int) {
		// The same address twice (two names, one IP) gets both weights.
		if i, ok := index[addr]; ok {
			out[i].weight = min(out[i].weight+w, maxWeight)
			return
		}
		index[addr] = len(out)
		out = append(out, target{addr, w})
	}
	for _, e := range p.entries {
		if e.isIP() {
			add(net.JoinHostPort(e.host, e.port), e.weight)
			continue
		}
		lctx, cancel := context.WithTimeout(ctx, resolveTimeout)
		ips, err := p.resolver.LookupIP(lctx, p.network, e.host)
		cancel()
		if err != nil {
			return nil, fmt.Errorf("resolving %q: %w", e.host, err)
		}
		slices.SortFunc(ips, func(a, b net.IP) int { return bytes.Compare(a.To16(), b.To16()) })
		n := 0
		for _, ip := range ips {
			if p.ipv4Only && ip.To4() == nil || checkIP(ip) != nil {
				continue
			}
			add(net.JoinHostPort(ip.String(), e.port), e.weight)
			n++
		}
		if n == 0 {
			return nil, fmt.Errorf("resolving %q: no usable address in %v", e.host, ips)
		}
	}
	return out, nil
}

// setTargets makes targets the current backend set. A backend whose address
// and weight are unchanged is kept as it is; one that is new to the set
// inherits the state of the backend with its address in from (the previous
// build of the upstream), if any.
func (p *pool) setTargets(targets []target, from map[string]*Backend) {
	p.setMu.Lock()
	defer p.setMu.Unlock()
	old := p.set.Load()
	if old != nil && sameTargets(old.backends, targets) {
		return
	}
	cur := map[string]*Backend{}
	if old != nil {
		for _, b := range old.backends {
			cur[b.addr] = b
		}
	}
	bs := make([]*Backend, len(targets))
	for i, t := range targets {
		if b := cur[t.addr]; b != nil && b.weight == t.weight {
			bs[i] = b
			continue
		}
		b := p.newBackend(t.addr, t.weight)
		if o := cur[t.addr]; o != nil {
			b.inherit(o)
		} else if o := from[t.addr]; o != nil {
			b.inherit(o)
		}
		bs[i] = b
	}
	p.set.Store(newBackendSet(p.algo, bs))
	if old == nil {
		return
	}
	p.log.Info("backends changed", "backends", len(bs), "before", len(old.backends))
	// Let go of pooled connections to addresses that left the set.
	for _, b := range old.backends {
		if p.rt == nil || slices.ContainsFunc(targets, func(t target) bool { return t.addr == b.addr }) {
			continue
		}
		if c, ok := p.rt.(interface{ CloseIdleAddr(addr string) }); ok {
			c.CloseIdleAddr(b.addr)
		} else {
			p.rt.CloseIdle()
		}
	}
}

func sameTargets(bs []*Backend, ts []target) bool {
	if len(bs) != len(ts) {
		return false
	}
	for i, b := range bs {
		if b.addr != ts[i].addr || b.weight != ts[i].weight {
			return false
		}
	}
	return true
}

// discover re-resolves the upstream's names every update_frequency until ctx
// is done. A failed lookup keeps the last good set, is logged and reported,
// and is retried sooner.
func (p *pool) discover(ctx context.Context, failed bool) {
	for {
		wait := p.freq
		if failed {
			wait = min(wait, retryAfterFailure)
		}
		t := p.clock.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C():
		}
		targets, err := p.resolve(ctx)
		if ctx.Err() != nil {
			return
		}
		failed = err != nil
		if err != nil {
			p.log.Warn("dns discovery failed; keeping the last backends", "error", err)
			p.obs.DiscoveryFailed(p.name, err)
			continue
		}
		p.setTargets(targets, nil)
	}
}
