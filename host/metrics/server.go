package metrics

import (
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sluice-proxy/sluice/host/internal/reqinfo"
)

// Server records the requests of one server. Registry.Server makes one per
// server and config generation; its series are resolved up front, so that
// recording costs no allocation.
type Server struct {
	r    *Registry
	name string

	locs    map[string]*locMetrics
	ups     map[string]*upMetrics
	dynLocs sync.Map // location name → *locMetrics, for names not known up front
	dynUps  sync.Map // upstream name → *upMetrics ($var upstreams)
	plugins sync.Map // pluginKey → prometheus.Observer

	connReuses   prometheus.Counter
	tlsHandshake prometheus.Observer
	cacheLookup  prometheus.Observer
	cacheLock    prometheus.Observer
	compression  prometheus.Observer
}

type locMetrics struct {
	requests     prometheus.Counter
	current      prometheus.Gauge
	codes        [6]prometheus.Counter
	responseTime prometheus.Observer
	received     prometheus.Observer
	receivedSum  prometheus.Counter
	sent         prometheus.Observer
	sentSum      prometheus.Counter
}

type upMetrics struct {
	connect, tls, processing, response prometheus.Observer
	reuses                             prometheus.Counter
}

type pluginKey struct{ plugin, phase string }

// Server returns the recorder of server name, whose requests go to the
// given locations and upstreams (other names still work, at the cost of
// a lookup in a concurrent map).
func (r *Registry) Server(name string, locations, upstreams []string) *Server {
	s := &Server{
		r:            r,
		name:         name,
		locs:         make(map[string]*locMetrics, len(locations)+1),
		ups:          make(map[string]*upMetrics, len(upstreams)),
		connReuses:   r.connReuses.WithLabelValues(name),
		tlsHandshake: r.tlsHandshake.WithLabelValues(name),
		cacheLookup:  r.cacheLookup.WithLabelValues(name),
		cacheLock:    r.cacheLock.WithLabelValues(name),
		compression:  r.compression.WithLabelValues(name),
	}
	s.locs[""] = s.newLoc("")
	for _, l := range locations {
		s.locs[l] = s.newLoc(l)
	}
	for _, u := range upstreams {
		s.ups[u] = s.newUp(u)
	}
	return s
}

func (s *Server) newLoc(loc string) *locMetrics {
	r := s.r
	m := &locMetrics{
		requests:     r.requests.WithLabelValues(s.name, loc),
		current:      r.current.WithLabelValues(s.name, loc),
		responseTime: r.responseTime.WithLabelValues(s.name, loc),
		received:     r.received.WithLabelValues(s.name, loc),
		receivedSum:  r.receivedSum.WithLabelValues(s.name, loc),
		sent:         r.sent.WithLabelValues(s.name, loc),
		sentSum:      r.sentSum.WithLabelValues(s.name, loc),
	}
	for i, c := range codeLabels {
		m.codes[i] = r.responses.WithLabelValues(s.name, loc, c)
	}
	return m
}

func (s *Server) newUp(up string) *upMetrics {
	r := s.r
	return &upMetrics{
		connect:    r.upConnect.WithLabelValues(s.name, up),
		tls:        r.upTLS.WithLabelValues(s.name, up),
		processing: r.upProcessing.WithLabelValues(s.name, up),
		response:   r.upResponse.WithLabelValues(s.name, up),
		reuses:     r.upReuses.WithLabelValues(s.name, up),
	}
}

func (s *Server) loc(name string) *locMetrics {
	if m := s.locs[name]; m != nil {
		return m
	}
	if m, ok := s.dynLocs.Load(name); ok {
		return m.(*locMetrics)
	}
	m, _ := s.dynLocs.LoadOrStore(name, s.newLoc(name))
	return m.(*locMetrics)
}

func (s *Server) up(name string) *upMetrics {
	if m := s.ups[name]; m != nil {
		return m
	}
	if m, ok := s.dynUps.Load(name); ok {
		return m.(*upMetrics)
	}
	m, _ := s.dynUps.LoadOrStore(name, s.newUp(name))
	return m.(*upMetrics)
}

// Routed counts a request in flight in its location, once the location is
// known. Done with counted set takes it out again.
func (s *Server) Routed(location string) { s.loc(location).current.Inc() }

// Done records a finished request. counted says Routed was called for it.
func (s *Server) Done(rec *reqinfo.Record, counted bool) {
	l := s.loc(rec.Location)
	l.requests.Inc()
	if counted {
		l.current.Dec()
	}
	l.codes[codeClass(rec.Status)].Inc()
	l.responseTime.Observe(rec.Latency.Seconds())
	l.received.Observe(float64(rec.BytesReceived))
	l.receivedSum.Add(float64(rec.BytesReceived))
	l.sent.Observe(float64(rec.BytesSent))
	l.sentSum.Add(float64(rec.BytesSent))

	if rec.ConnReused {
		s.connReuses.Inc()
	} else if rec.TLSVersion != "" && rec.TLSHandshake > 0 {
		// The first request of a TLS connection carries its handshake
		// time: each handshake is observed once.
		s.tlsHandshake.Observe(rec.TLSHandshake.Seconds())
	}

	if rec.Upstream != "" && rec.UpstreamAddr != "" {
		u := s.up(rec.Upstream)
		if rec.UpstreamReused {
			u.reuses.Inc()
		} else if rec.UpstreamConnect > 0 {
			u.connect.Observe(rec.UpstreamConnect.Seconds())
		}
		if rec.UpstreamTLS > 0 {
			u.tls.Observe(rec.UpstreamTLS.Seconds())
		}
		if rec.UpstreamStatus != 0 {
			u.processing.Observe(rec.UpstreamProcessing.Seconds())
			u.response.Observe(rec.UpstreamResponse.Seconds())
		}
	}

	if rec.Values != nil {
		if v, ok := valueFloat(rec.Values, "cache_lookup_time"); ok {
			s.cacheLookup.Observe(v / 1000)
		}
		if v, ok := valueFloat(rec.Values, "cache_lock_time"); ok {
			s.cacheLock.Observe(v / 1000)
		}
		if v, ok := valueFloat(rec.Values, "compression_ratio"); ok {
			s.compression.Observe(v)
		}
	}
}

// valueFloat reads a number a plugin set in the record's values.
func valueFloat(m map[string]string, k string) (float64, bool) {
	s, ok := m[k]
	if !ok {
		return 0, false
	}
	v, err := strconv.ParseFloat(s, 64)
	return v, err == nil && v >= 0
}

// PluginCall records the time plugin spent in one callback of phase (the
// ABI's callback names without "proxy_on_": request_headers,
// response_body, log, ...).
func (s *Server) PluginCall(plugin, phase string, d time.Duration) {
	k := pluginKey{plugin, phase}
	o, ok := s.plugins.Load(k)
	if !ok {
		o, _ = s.plugins.LoadOrStore(k, s.r.pluginCalls.WithLabelValues(s.name, plugin, phase))
	}
	o.(prometheus.Observer).Observe(d.Seconds())
}
