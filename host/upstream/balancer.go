package upstream

import (
	"fmt"
	"net/http"
	"strings"
)

// Key is what a balancer may look at to choose a backend.
type Key struct {
	// Req is the request as it will be sent upstream (after rewrites).
	// Hash balancers read its URL, headers and cookies; nil hashes as an
	// empty key.
	Req *http.Request
	// ClientIP is the client's address after trusted proxies, for
	// "hash:ip". Empty means the host part of Req.RemoteAddr.
	ClientIP string
}

// algoKind is a balancing algorithm. Each one lives in its own file.
type algoKind uint8

const (
	algoRoundRobin algoKind = iota // round_robin.go
	algoLeastConn                  // least_conn.go
	algoRandom                     // random.go
	algoHash                       // hash.go, keyed by hash_key.go
)

// parseAlgo parses the `algo` key. Empty means round_robin.
func parseAlgo(s string) (algoKind, hashSpec, error) {
	switch s {
	case "", "round_robin":
		return algoRoundRobin, hashSpec{}, nil
	case "least_conn":
		return algoLeastConn, hashSpec{}, nil
	case "random":
		return algoRandom, hashSpec{}, nil
	}
	rest, ok := strings.CutPrefix(s, "hash")
	if !ok {
		return 0, hashSpec{}, fmt.Errorf("algo %q: want round_robin, least_conn, random or hash[:url|:ip|:path|:header:NAME|:cookie:NAME|:query:NAME]", s)
	}
	hs, err := parseHashSpec(rest)
	if err != nil {
		return 0, hashSpec{}, fmt.Errorf("algo %q: %w", s, err)
	}
	return algoHash, hs, nil
}

// backendSet is an immutable set of backends together with the balancer
// state built for it. Discovery replaces the whole set atomically; a
// balancer's mutable state (round-robin weights, counters) is per set.
type backendSet struct {
	backends []*Backend
	rr       *smoothRR
	lc       *leastConn
	rnd      *weightedRandom
	ring     *ring
}

func newBackendSet(algo algoKind, bs []*Backend) *backendSet {
	s := &backendSet{backends: bs}
	switch algo {
	case algoRoundRobin:
		s.rr = newSmoothRR(len(bs))
	case algoLeastConn:
		s.lc = newLeastConn(len(bs))
	case algoRandom:
		s.rnd = newWeightedRandom(bs)
	case algoHash:
		s.ring = newRing(bs)
	}
	return s
}

// pick asks the set's balancer for a backend that p.eligible accepts. The
// dispatch is a switch rather than an interface so that escape analysis
// keeps k and tried on the caller's stack.
func (p *pool) pick(s *backendSet, k *Key, tried []*Backend) *Backend {
	if len(s.backends) == 0 {
		return nil
	}
	switch p.algo {
	case algoLeastConn:
		return s.lc.pick(p, s.backends, tried)
	case algoRandom:
		return s.rnd.pick(p, s.backends, tried)
	case algoHash:
		return s.ring.pick(p, s.backends, p.hash.sum(k), tried)
	default:
		return s.rr.pick(p, s.backends, tried)
	}
}

// eligible reports whether b may take this request: not already tried for
// it, healthy, and its circuit not open.
func (p *pool) eligible(b *Backend, tried []*Backend) bool {
	for _, t := range tried {
		if t == b {
			return false
		}
	}
	return b.healthy.Load() && p.admits(b)
}
