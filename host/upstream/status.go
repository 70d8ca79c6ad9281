package upstream

// UpstreamStatus is an upstream's state, for the admin API and metrics.
type UpstreamStatus struct {
	// Name is the upstream's name in the config.
	Name string `json:"name"`
	// Algo is the balancing algorithm, as configured.
	Algo string `json:"algo"`
	// Discovery is "static", "dns" or "transparent".
	Discovery string `json:"discovery"`
	// Available counts the backends that are healthy with a circuit that
	// is not open.
	Available int `json:"available"`
	// Backends are the current backends (for transparent upstreams, the
	// hosts seen so far).
	Backends []BackendStatus `json:"backends"`
}

// BackendStatus is one backend's state.
type BackendStatus struct {
	Addr   string `json:"addr"`
	Weight int    `json:"weight"`
	// Healthy is the active health check's verdict.
	Healthy bool `json:"healthy"`
	// Circuit is the breaker's state: 0 closed, 1 open, 2 half-open.
	Circuit CircuitState `json:"circuit"`
	// Inflight counts requests picked and not yet Done.
	Inflight int64 `json:"inflight"`
	// Requests and Failures are counted over backend_stats_interval, when
	// enable_backend_stats is on; FailureRate is their ratio (0 to 1).
	Requests    uint64  `json:"requests"`
	Failures    uint64  `json:"failures"`
	FailureRate float64 `json:"failure_rate"`
	// ConsecutiveFailures counts failed requests in a row.
	ConsecutiveFailures int `json:"consecutive_failures"`
}

func (p *pool) status() UpstreamStatus {
	algo := p.key.up.Algo
	if algo == "" {
		algo = "round_robin"
	}
	s := UpstreamStatus{Name: p.name, Algo: algo, Discovery: p.disc.String()}
	var bs []*Backend
	if p.disc == discTransparent {
		p.tcache.Range(func(_, v any) bool {
			bs = append(bs, v.(*Backend))
			return true
		})
	} else {
		bs = p.set.Load().backends
	}
	now := p.clock.Now().UnixNano()
	s.Backends = make([]BackendStatus, len(bs))
	for i, b := range bs {
		b.mu.Lock()
		total, fail := b.win.sums(now)
		consec := b.consecFail
		b.mu.Unlock()
		st := BackendStatus{
			Addr:                b.addr,
			Weight:              b.weight,
			Healthy:             b.healthy.Load(),
			Circuit:             CircuitState(b.circuit.Load()),
			Inflight:            b.inflight.Load(),
			Requests:            total,
			Failures:            fail,
			ConsecutiveFailures: consec,
		}
		if total > 0 {
			st.FailureRate = float64(fail) / float64(total)
		}
		if st.Healthy && st.Circuit != CircuitOpen {
			s.Available++
		}
		s.Backends[i] = st
	}
	return s
}
