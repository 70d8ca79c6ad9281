package upstream

import (
	"fmt"
	"reflect"
	"slices"
	"sort"
	"sync"

	"github.com/sluice-proxy/sluice/host/config"
)

// Registry builds upstreams for config generations and keeps what must
// outlive a reload. It lives as long as the process.
//
// Each config generation calls Build for every upstream it has and Release
// on each result when the generation is retired. Builds of an unchanged
// config share one pool (backends, balancer, transport, health checker),
// counted by reference and closed with the last Release. A changed config
// gets a new pool whose backends start with the health, circuit and
// statistics of the running pool's backends with the same address.
type Registry struct {
	o Options

	mu     sync.Mutex
	pools  map[string][]*pool // live pools by upstream name, oldest first
	closed bool
}

// NewRegistry returns an empty Registry using o's collaborators.
func NewRegistry(o Options) *Registry {
	return &Registry{o: o.withDefaults(), pools: map[string][]*pool{}}
}

// poolKey is what decides whether two builds of an upstream can share a
// pool: its config, minus the keys that change nothing at run time, and the
// basic keys it uses.
type poolKey struct {
	up        config.Upstream
	keepalive int
}

func makeKey(c *config.Upstream, b *config.Basic) poolKey {
	k := poolKey{up: *c}
	k.up.Remark = ""
	k.up.Includes = nil
	if b != nil {
		k.keepalive = b.UpstreamKeepalivePoolSize
	}
	// Own copies, so that the key cannot change if the caller's config
	// does.
	k.up.Addrs = slices.Clone(c.Addrs)
	if c.VerifyCert != nil {
		v := *c.VerifyCert
		k.up.VerifyCert = &v
	}
	return k
}

// Build returns the upstream called name for a new config generation. b
// may be nil (defaults). If a live build of the upstream has the same
// config, the result shares its pool; otherwise a new pool is built, which
// resolves static addresses and dials nothing until its checker runs. The
// caller owns the result and must Release it.
func (r *Registry) Build(name string, c *config.Upstream, b *config.Basic) (*Upstream, error) {
	if c == nil {
		return nil, fmt.Errorf("upstream %q: no config", name)
	}
	key := makeKey(c, b)
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil, ErrClosed
	}
	if p := r.findLocked(name, key); p != nil {
		p.refs++
		r.mu.Unlock()
		return &Upstream{p: p}, nil
	}
	var prev *pool
	if live := r.pools[name]; len(live) > 0 {
		prev = live[len(live)-1]
	}
	r.mu.Unlock()

	// Built without the lock: resolving static names may take a while,
	// and Status must not wait for it.
	p, err := newPool(r, name, c, b, key, prev)
	if err != nil {
		return nil, fmt.Errorf("upstream %q: %w", name, err)
	}

	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		p.close()
		return nil, ErrClosed
	}
	if q := r.findLocked(name, key); q != nil {
		// A concurrent Build got there first.
		p.close()
		q.refs++
		return &Upstream{p: q}, nil
	}
	p.refs = 1
	r.pools[name] = append(r.pools[name], p)
	p.start()
	return &Upstream{p: p}, nil
}

func (r *Registry) findLocked(name string, key poolKey) *pool {
	live := r.pools[name]
	for i := len(live) - 1; i >= 0; i-- {
		if reflect.DeepEqual(live[i].key, key) {
			return live[i]
		}
	}
	return nil
}

// release drops one reference to p and closes it with the last one.
func (r *Registry) release(p *pool) {
	r.mu.Lock()
	p.refs--
	last := p.refs == 0
	if last {
		live := slices.DeleteFunc(r.pools[p.name], func(q *pool) bool { return q == p })
		if len(live) == 0 {
			delete(r.pools, p.name)
		} else {
			r.pools[p.name] = live
		}
	}
	r.mu.Unlock()
	if last {
		p.close()
	}
}

// Status returns the state of every upstream, by name, as its newest live
// build sees it.
func (r *Registry) Status() []UpstreamStatus {
	r.mu.Lock()
	ps := make([]*pool, 0, len(r.pools))
	for _, live := range r.pools {
		ps = append(ps, live[len(live)-1])
	}
	r.mu.Unlock()
	sort.Slice(ps, func(i, j int) bool { return ps[i].name < ps[j].name })
	out := make([]UpstreamStatus, len(ps))
	for i, p := range ps {
		out[i] = p.status()
	}
	return out
}

// Close stops every pool at once, whatever its references, for process
// shutdown. Later Builds fail with ErrClosed; later Releases do nothing.
func (r *Registry) Close() {
	r.mu.Lock()
	r.closed = true
	var all []*pool
	for _, live := range r.pools {
		all = append(all, live...)
	}
	r.pools = map[string][]*pool{}
	r.mu.Unlock()
	for _, p := range all {
		p.close()
	}
}
