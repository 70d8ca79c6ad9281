package upstream

import "sync"

// leastConn is nginx's least_conn: it picks the eligible backend with the
// fewest requests in flight relative to its weight (inflight/weight,
// compared by cross-multiplying), and when several tie, as all do when
// idle, it chooses among those by smooth weighted round robin, so weights
// still hold under light load.
type leastConn struct {
	mu      sync.Mutex
	current []int // smooth round-robin state, same index as the set
}

func newLeastConn(n int) *leastConn { return &leastConn{current: make([]int, n)} }

func (l *leastConn) pick(p *pool, bs []*Backend, tried []*Backend) *Backend {
	l.mu.Lock()
	defer l.mu.Unlock()
	best, ties := -1, false
	var bestLoad, bestWeight int64
	for i, b := range bs {
		if !p.eligible(b, tried) {
			continue
		}
		load, w := b.inflight.Load(), int64(b.weight)
		switch {
		case best < 0 || load*bestWeight < bestLoad*w:
			best, bestLoad, bestWeight, ties = i, load, w, false
		case load*bestWeight == bestLoad*w:
			ties = true
		}
	}
	if best < 0 {
		return nil
	}
	if !ties {
		return bs[best]
	}
	// Counts may have moved since the first pass; a backend no longer tied
	// is left out, and if none is, best stands.
	chosen, total := -1, 0
	for i := best; i < len(bs); i++ {
		b := bs[i]
		if b.inflight.Load()*bestWeight != bestLoad*int64(b.weight) || !p.eligible(b, tried) {
			continue
		}
		l.current[i] += b.weight
		total += b.weight
		if chosen < 0 || l.current[i] > l.current[chosen] {
			chosen = i
		}
	}
	if chosen < 0 {
		return bs[best]
	}
	l.current[chosen] -= total
	return bs[chosen]
}
