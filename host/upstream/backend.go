package upstream

import (
	"sync"
	"sync/atomic"
)

// Backend is one address an upstream sends requests to. Pick hands it out,
// the proxy passes it back to RoundTrip and Done. Its health, circuit and
// statistics live in it, so a Backend outlives a reload when its upstream's
// config did not change, and hands its state on when it did.
type Backend struct {
	addr   string // "ip:port", or "host:port" for transparent upstreams
	weight int

	// Read on every Pick without a lock.
	healthy   atomic.Bool
	circuit   atomic.Int32 // a CircuitState
	openUntil atomic.Int64 // unix nanoseconds at which an open circuit turns half-open
	inflight  atomic.Int64 // picked and not yet Done

	// mu guards the passive statistics, the breaker's counters and the
	// active checker's counters; transitions of circuit happen under it.
	mu         sync.Mutex
	win        window
	consecFail int // failures in a row seen by Done
	halfOpenOK int // successes in a row while half-open
	checkOK    int // active checks passed in a row
	checkFail  int // active checks failed in a row
}

// newBackend makes a backend of p's.
func (p *pool) newBackend(addr string, weight int) *Backend {
	b := &Backend{addr: addr, weight: weight, win: newWindow(p.br.span)}
	b.healthy.Store(true) // Backends start healthy, as in Pingap.
	return b
}

// Addr returns the backend's address, "ip:port" (or "host:port" for a
// transparent upstream), as the transport dials it.
func (b *Backend) Addr() string { return b.addr }

// Weight returns the backend's balancing weight.
func (b *Backend) Weight() int { return b.weight }

// Healthy reports whether the active health check considers the backend up.
func (b *Backend) Healthy() bool { return b.healthy.Load() }

// Circuit returns the state of the backend's circuit breaker.
func (b *Backend) Circuit() CircuitState { return CircuitState(b.circuit.Load()) }

// inherit copies the health, circuit and statistics of o, the backend with
// the same address in the upstream's previous build, so that a config change
// neither resurrects a dead backend nor forgets an open circuit. In-flight
// counts are not copied: o's requests will be Done on o.
func (b *Backend) inherit(o *Backend) {
	o.mu.Lock()
	win, width := o.win.buckets, o.win.width
	consec, half, ok, fail := o.consecFail, o.halfOpenOK, o.checkOK, o.checkFail
	healthy, circuit, until := o.healthy.Load(), o.circuit.Load(), o.openUntil.Load()
	o.mu.Unlock()

	b.mu.Lock()
	defer b.mu.Unlock()
	if width == b.win.width {
		// Buckets of another width count other time slices.
		b.win.buckets = win
	}
	b.consecFail, b.halfOpenOK, b.checkOK, b.checkFail = consec, half, ok, fail
	b.healthy.Store(healthy)
	b.circuit.Store(circuit)
	b.openUntil.Store(until)
}
