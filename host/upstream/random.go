package upstream

// weightedRandom picks a backend at random with probability proportional to
// its weight, from the cumulative weights by binary search. When the
// backend drawn is not eligible it draws again among the eligible ones only,
// so the others keep their relative shares.
type weightedRandom struct {
	cum   []uint64 // cum[i] = sum of weights of backends 0..i
	total uint64
}

func newWeightedRandom(bs []*Backend) *weightedRandom {
	r := &weightedRandom{cum: make([]uint64, len(bs))}
	for i, b := range bs {
		r.total += uint64(b.weight)
		r.cum[i] = r.total
	}
	return r
}

func (r *weightedRandom) pick(p *pool, bs []*Backend, tried []*Backend) *Backend {
	x := p.rand() % r.total
	lo, hi := 0, len(r.cum)-1
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if r.cum[mid] > x {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	if b := bs[lo]; p.eligible(b, tried) {
		return b
	}
	var avail uint64
	for _, b := range bs {
		if p.eligible(b, tried) {
			avail += uint64(b.weight)
		}
	}
	if avail == 0 {
		return nil
	}
	x = p.rand() % avail
	var last *Backend
	for _, b := range bs {
		if !p.eligible(b, tried) {
			continue
		}
		last = b
		if x < uint64(b.weight) {
			return b
		}
		x -= uint64(b.weight)
	}
	// Eligibility changed between the two passes; any eligible one will do.
	return last
}
