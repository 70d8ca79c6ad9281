package transport

import (
	"sync"
	"time"
)

// hostPool holds the idle keep-alive connections of one poolKey as a LIFO
// stack: the most recently used connection is taken first, since it is the
// least likely to have been closed by the backend, and the oldest sit at the
// bottom where the reaper finds them.
type hostPool struct {
	h   *h1
	key poolKey

	mu    sync.Mutex
	idle  []*conn // oldest first
	timer *time.Timer
	armed bool // timer will fire
	dead  bool // removed from h.pools; put must look the pool up again
}

// lookup returns the pool of key, or nil.
func (h *h1) lookup(key poolKey) *hostPool {
	h.mu.RLock()
	p := h.pools[key]
	h.mu.RUnlock()
	return p
}

// poolFor returns the pool of key, creating it.
func (h *h1) poolFor(key poolKey) *hostPool {
	if p := h.lookup(key); p != nil {
		return p
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	p := h.pools[key]
	if p == nil {
		p = &hostPool{h: h, key: key}
		h.pools[key] = p
	}
	return p
}

// get pops the most recently used idle connection that has not outlived
// the idle timeout. Expired connections are closed.
func (p *hostPool) get(now time.Time) *conn {
	p.mu.Lock()
	n := len(p.idle)
	if n == 0 {
		p.mu.Unlock()
		return nil
	}
	c := p.idle[n-1]
	p.idle[n-1] = nil
	p.idle = p.idle[:n-1]
	if now.Sub(c.idleAt) < p.h.s.idle {
		p.mu.Unlock()
		return c
	}
	// The freshest connection has expired, so all of them have: the
	// reaper is late. Drop the lot.
	old := p.idle
	p.idle = nil
	p.mu.Unlock()
	c.close()
	for _, o := range old {
		o.close()
	}
	return nil
}

// put returns c to its pool, or closes it when the pool is full or the
// transport is closed.
func (h *h1) put(c *conn) {
	c.idleAt = time.Now()
	for {
		p := h.poolFor(c.key)
		p.mu.Lock()
		if p.dead {
			p.mu.Unlock()
			continue
		}
		// Checked under p.mu: Close sets the flag before sweeping each
		// pool under the same lock, so no connection slips in after.
		if h.closed.Load() || len(p.idle) >= h.s.maxIdle {
			p.mu.Unlock()
			c.close()
			return
		}
		p.idle = append(p.idle, c)
		if !p.armed {
			p.armed = true
			if p.timer == nil {
				p.timer = time.AfterFunc(h.s.idle, p.reap)
			} else {
				p.timer.Reset(h.s.idle)
			}
		}
		p.mu.Unlock()
		return
	}
}

// reap closes the connections idle for longer than the idle timeout and
// re-arms the timer for the next one to expire. A pool left empty is
// removed, so that pools of departed backends (or, with SNIFromRequest, of
// one-off host names) do not accumulate.
func (p *hostPool) reap() {
	now := time.Now()
	idle := p.h.s.idle
	p.mu.Lock()
	expired := p.takeOldest(func(c *conn) bool { return now.Sub(c.idleAt) >= idle })
	n := len(p.idle)
	if n > 0 {
		p.timer.Reset(p.idle[0].idleAt.Add(idle).Sub(now))
	} else {
		p.armed = false
	}
	p.mu.Unlock()
	for _, c := range expired {
		c.close()
	}
	if n == 0 {
		p.h.removeIfEmpty(p)
	}
}

// takeOldest removes and returns the idle connections from the bottom of
// the stack for as long as old holds. p.mu must be held.
func (p *hostPool) takeOldest(old func(*conn) bool) []*conn {
	k := 0
	for k < len(p.idle) && old(p.idle[k]) {
		k++
	}
	taken := make([]*conn, k)
	copy(taken, p.idle[:k])
	n := copy(p.idle, p.idle[k:])
	clear(p.idle[n:])
	p.idle = p.idle[:n]
	return taken
}

// removeIfEmpty drops p from the pool map if it is still empty and unarmed.
func (h *h1) removeIfEmpty(p *hostPool) {
	h.mu.Lock()
	p.mu.Lock()
	if len(p.idle) == 0 && !p.armed && h.pools[p.key] == p {
		p.dead = true
		delete(h.pools, p.key)
	}
	p.mu.Unlock()
	h.mu.Unlock()
}

// dropOlder closes the idle connections of key that have been idle at least
// as long as one just found stale: the backend most likely closed them too.
func (h *h1) dropOlder(key poolKey, idleAt time.Time) {
	p := h.lookup(key)
	if p == nil {
		return
	}
	p.mu.Lock()
	old := p.takeOldest(func(c *conn) bool { return !c.idleAt.After(idleAt) })
	p.mu.Unlock()
	for _, c := range old {
		c.close()
	}
}

// closeIdle closes the idle connections of every pool for which match is
// true.
func (h *h1) closeIdle(match func(poolKey) bool) {
	var victims []*conn
	h.mu.RLock()
	for key, p := range h.pools {
		if !match(key) {
			continue
		}
		p.mu.Lock()
		victims = append(victims, p.idle...)
		clear(p.idle)
		p.idle = p.idle[:0]
		p.mu.Unlock()
	}
	h.mu.RUnlock()
	for _, c := range victims {
		c.close()
	}
}

// idleCount returns the number of idle connections of addr (all names).
func (h *h1) idleCount(addr string) int {
	n := 0
	h.mu.RLock()
	for key, p := range h.pools {
		if key.addr == addr {
			p.mu.Lock()
			n += len(p.idle)
			p.mu.Unlock()
		}
	}
	h.mu.RUnlock()
	return n
}
