package upstream

import "slices"

// Consistent hashing, ketama style: every backend owns pointsPerWeight
// virtual nodes per unit of weight on a ring of 64-bit hashes; a key goes to
// the owner of the first point at or after its hash. A point's position
// depends only on its backend's address, so adding or removing one backend
// moves only the keys that land on its points (about 1/n of them), and two
// proxies with the same backends agree on every key.
const (
	pointsPerWeight = 160
	// maxRingPoints bounds the ring's memory (12 bytes a point); past it
	// the points per unit of weight are scaled down.
	maxRingPoints = 1 << 18
	// golden spreads the virtual node numbers of one address apart before
	// mixing.
	golden = 0x9e3779b97f4a7c15
)

type ring struct {
	points []uint64 // sorted
	owner  []int32  // owner[i] is the index in the set of the backend at points[i]
}

func newRing(bs []*Backend) *ring {
	sum := 0
	for _, b := range bs {
		sum += b.weight
	}
	per := pointsPerWeight
	if sum*per > maxRingPoints {
		per = max(1, maxRingPoints/sum)
	}
	type point struct {
		h uint64
		o int32
	}
	pts := make([]point, 0, sum*per)
	for i, b := range bs {
		base := fnvString(fnvOffset, b.addr)
		for v := range b.weight * per {
			pts = append(pts, point{fmix64(base + uint64(v)*golden), int32(i)})
		}
	}
	// Ties (astronomically rare) are broken by address so that the ring
	// does not depend on the order of the set.
	slices.SortFunc(pts, func(a, b point) int {
		switch {
		case a.h < b.h:
			return -1
		case a.h > b.h:
			return 1
		}
		return cmpString(bs[a.o].addr, bs[b.o].addr)
	})
	r := &ring{points: make([]uint64, len(pts)), owner: make([]int32, len(pts))}
	for i, p := range pts {
		r.points[i], r.owner[i] = p.h, p.o
	}
	return r
}

// pick walks the ring clockwise from h and returns the first eligible
// backend. Rejected backends are remembered (for sets of up to 256) so a
// walk past a dead backend's many points is cheap, and the walk stops as
// soon as every backend has been rejected.
func (r *ring) pick(p *pool, bs []*Backend, h uint64, tried []*Backend) *Backend {
	n := len(r.points)
	lo, hi := 0, n
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if r.points[mid] < h {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	var seen [4]uint64
	track := len(bs) <= 256
	rejected, last := 0, int32(-1)
	i := lo
	for range n {
		if i == n {
			i = 0
		}
		o := r.owner[i]
		i++
		if o == last || track && seen[o>>6]&(1<<(o&63)) != 0 {
			continue
		}
		if b := bs[o]; p.eligible(b, tried) {
			return b
		}
		last = o
		if track {
			seen[o>>6] |= 1 << (o & 63)
			if rejected++; rejected == len(bs) {
				return nil
			}
		}
	}
	return nil
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
