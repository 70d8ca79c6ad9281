package upstream

import (
	"context"
	"errors"
	"time"

	"github.com/sluice-proxy/sluice/host/config"
)

// CircuitState is the state of a backend's circuit breaker. The numbers are
// Pingap's and appear as such in metrics and the admin API.
type CircuitState int32

const (
	// CircuitClosed lets every request through.
	CircuitClosed CircuitState = 0
	// CircuitOpen keeps the backend out of selection until open_duration
	// has passed.
	CircuitOpen CircuitState = 1
	// CircuitHalfOpen lets trial requests through: enough successes in a
	// row close the circuit, one failure opens it again.
	CircuitHalfOpen CircuitState = 2
)

// String returns "closed", "open" or "half_open".
func (s CircuitState) String() string {
	switch s {
	case CircuitClosed:
		return "closed"
	case CircuitOpen:
		return "open"
	case CircuitHalfOpen:
		return "half_open"
	}
	return "unknown"
}

// breakerConfig is the compiled passive-stats and circuit-breaker part of an
// upstream's config.
type breakerConfig struct {
	stats       bool // enable_backend_stats: Done records outcomes
	enabled     bool // stats and at least one rule to open a circuit
	maxConsec   int
	maxPercent  int
	minRequests int
	halfOpenOK  int
	openFor     time.Duration
	span        time.Duration
	failures    statusSet
}

// Defaults of the breaker keys, as documented in config.Upstream.
const (
	defaultStatsInterval = 60 * time.Second
	defaultMinRequests   = 10
	defaultHalfOpenOK    = 5
	defaultOpenDuration  = 10 * time.Second
)

func compileBreaker(c *config.Upstream) (breakerConfig, error) {
	fs, err := parseStatusSet(c.BackendFailureStatusCode)
	if err != nil {
		return breakerConfig{}, err
	}
	if c.CircuitBreakMaxFailurePercent < 0 || c.CircuitBreakMaxFailurePercent > 100 {
		return breakerConfig{}, errors.New("circuit_break_max_failure_percent must be from 0 to 100")
	}
	for _, v := range []struct {
		n   int
		key string
	}{
		{c.CircuitBreakMaxConsecutiveFailures, "circuit_break_max_consecutive_failures"},
		{c.CircuitBreakMinRequestsThreshold, "circuit_break_min_requests_threshold"},
		{c.CircuitBreakHalfOpenConsecutiveSuccessThreshold, "circuit_break_half_open_consecutive_success_threshold"},
		{int(c.CircuitBreakOpenDuration), "circuit_break_open_duration"},
		{int(c.BackendStatsInterval), "backend_stats_interval"},
	} {
		if v.n < 0 {
			return breakerConfig{}, errors.New(v.key + " must not be negative")
		}
	}
	b := breakerConfig{
		stats:       c.EnableBackendStats,
		maxConsec:   c.CircuitBreakMaxConsecutiveFailures,
		maxPercent:  c.CircuitBreakMaxFailurePercent,
		minRequests: orInt(c.CircuitBreakMinRequestsThreshold, defaultMinRequests),
		halfOpenOK:  orInt(c.CircuitBreakHalfOpenConsecutiveSuccessThreshold, defaultHalfOpenOK),
		openFor:     orDur(c.CircuitBreakOpenDuration.D(), defaultOpenDuration),
		span:        orDur(c.BackendStatsInterval.D(), defaultStatsInterval),
		failures:    fs,
	}
	b.enabled = b.stats && (b.maxConsec > 0 || b.maxPercent > 0)
	return b, nil
}

// admits reports whether b's circuit lets a request through now. An open
// circuit whose open_duration has passed turns half-open here, on the first
// Pick that looks at it, so no timer is needed per backend.
func (p *pool) admits(b *Backend) bool {
	if CircuitState(b.circuit.Load()) != CircuitOpen {
		return true
	}
	now := p.clock.Now().UnixNano()
	if now < b.openUntil.Load() {
		return false
	}
	b.mu.Lock()
	changed := CircuitState(b.circuit.Load()) == CircuitOpen && now >= b.openUntil.Load()
	if changed {
		b.circuit.Store(int32(CircuitHalfOpen))
		b.halfOpenOK = 0
	}
	b.mu.Unlock()
	if changed {
		p.circuitChanged(b, CircuitOpen, CircuitHalfOpen)
	}
	return true
}

// done records the outcome of a request to b: it ends its in-flight count
// and, with backend stats on, feeds the window and the breaker.
func (p *pool) done(b *Backend, status int, err error) {
	b.inflight.Add(-1)
	if !p.br.stats {
		return
	}
	// A client that went away says nothing about the backend.
	if err != nil && errors.Is(err, context.Canceled) {
		return
	}
	fail := err != nil || p.br.failures.has(status)
	now := p.clock.Now().UnixNano()

	b.mu.Lock()
	b.win.add(now, fail)
	from := CircuitState(b.circuit.Load())
	if !p.br.enabled {
		if fail {
			b.consecFail++
		} else {
			b.consecFail = 0
		}
		b.mu.Unlock()
		return
	}
	st := from
	if st == CircuitOpen && now >= b.openUntil.Load() {
		// The open period ended and no Pick noticed yet: this outcome is
		// the first trial.
		st = CircuitHalfOpen
		b.halfOpenOK = 0
	}
	to := st
	switch st {
	case CircuitClosed:
		if !fail {
			b.consecFail = 0
			break
		}
		b.consecFail++
		if p.br.maxConsec > 0 && b.consecFail >= p.br.maxConsec {
			to = CircuitOpen
		} else if p.br.maxPercent > 0 {
			total, failed := b.win.sums(now)
			if total >= uint64(p.br.minRequests) && failed*100 > uint64(p.br.maxPercent)*total {
				to = CircuitOpen
			}
		}
	case CircuitHalfOpen:
		if fail {
			to = CircuitOpen
			break
		}
		b.halfOpenOK++
		if b.halfOpenOK >= p.br.halfOpenOK {
			to = CircuitClosed
		}
	case CircuitOpen:
		// The response of a request picked before the circuit opened;
		// the breaker has already acted on this backend.
	}
	switch {
	case to == CircuitOpen && st != CircuitOpen:
		b.openUntil.Store(now + int64(p.br.openFor))
		b.halfOpenOK = 0
	case to == CircuitClosed && st == CircuitHalfOpen:
		// Start afresh, or the failures that opened the circuit would open
		// it again at once through the percentage rule.
		b.consecFail = 0
		b.win.reset()
	}
	b.circuit.Store(int32(to))
	b.mu.Unlock()
	if to != from {
		p.circuitChanged(b, from, to)
	}
}

func (p *pool) circuitChanged(b *Backend, from, to CircuitState) {
	lvl := p.log.Info
	if to == CircuitOpen {
		lvl = p.log.Warn
	}
	lvl("circuit breaker changed", "backend", b.addr, "from", from.String(), "to", to.String())
	p.obs.CircuitChanged(p.name, b.addr, from, to)
}

func orInt(v, def int) int {
	if v == 0 {
		return def
	}
	return v
}

func orDur(v, def time.Duration) time.Duration {
	if v == 0 {
		return def
	}
	return v
}
