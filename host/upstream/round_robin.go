package upstream

import "sync"

// smoothRR is nginx's smooth weighted round robin
// (ngx_http_upstream_get_peer): each pick adds every eligible backend's
// weight to its current value, takes the backend with the largest current
// value and subtracts the total from it. Weights 5,1,1 give a a b a c a a:
// the heavy backend's turns are spread out instead of bunched.
//
// Backends that are not eligible (down, open circuit, tried) take no part
// in the round, so their share goes smoothly to the others, as in nginx.
type smoothRR struct {
	mu      sync.Mutex
	current []int // per backend, same index as the set
}

func newSmoothRR(n int) *smoothRR { return &smoothRR{current: make([]int, n)} }

func (r *smoothRR) pick(p *pool, bs []*Backend, tried []*Backend) *Backend {
	r.mu.Lock()
	defer r.mu.Unlock()
	best, total := -1, 0
	for i, b := range bs {
		if !p.eligible(b, tried) {
			continue
		}
		r.current[i] += b.weight
		total += b.weight
		if best < 0 || r.current[i] > r.current[best] {
			best = i
		}
	}
	if best < 0 {
		return nil
	}
	r.current[best] -= total
	return bs[best]
}
