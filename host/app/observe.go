package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/sluice-proxy/sluice/abi"
	"github.com/sluice-proxy/sluice/host/accesslog"
	"github.com/sluice-proxy/sluice/host/config"
	"github.com/sluice-proxy/sluice/host/metrics"
	"github.com/sluice-proxy/sluice/host/proxy"
	"github.com/sluice-proxy/sluice/host/tracing"
	"github.com/sluice-proxy/sluice/host/wasm"
)

// observability is the process-long part of observing: the metrics
// registry, the access-log outputs, and the OTLP tracers and push-gateway
// pushers, each shared by every generation that configures it the same
// way (reference counted, so a reload neither reopens a file nor restarts
// an exporter), plus what each generation holds of them.
type observability struct {
	log      *slog.Logger
	outputs  *accesslog.Outputs
	hostname string

	mu         sync.Mutex
	reg        *metrics.Registry
	upstreams  func() []metrics.UpstreamState
	plugins    atomic.Pointer[wasm.Runtime]
	processing map[string]*atomic.Int64 // by server
	tracers    map[string]*shared[*tracing.Tracer]
	pushers    map[string]*shared[*metrics.Pusher]
	held       map[*config.Config][]func()
	closed     bool
	// collectors are other host packages' metrics, set before the first
	// registry() call.
	collectors []prometheus.Collector
}

// shared is a reference-counted process-long object.
type shared[T any] struct {
	v    T
	refs int
}

// newObservability returns the observability of an App whose upstream
// states come from ups (nil: none).
func newObservability(log *slog.Logger, ups func() []metrics.UpstreamState) *observability {
	host, _ := os.Hostname()
	return &observability{
		log:        log,
		outputs:    accesslog.NewOutputs(accesslog.OutputsOptions{Logger: log}),
		hostname:   host,
		upstreams:  ups,
		processing: map[string]*atomic.Int64{},
		tracers:    map[string]*shared[*tracing.Tracer]{},
		pushers:    map[string]*shared[*metrics.Pusher]{},
		held:       map[*config.Config][]func(){},
	}
}

// observability returns a's observability.
func (a *App) observability() *observability { return a.obs }

// upstreamStates reports every upstream's backends to the metrics.
func (a *App) upstreamStates() []metrics.UpstreamState {
	st := a.ups.Status()
	out := make([]metrics.UpstreamState, len(st))
	for i, u := range st {
		s := metrics.UpstreamState{Name: u.Name, Available: u.Available, Backends: make([]metrics.BackendState, len(u.Backends))}
		for j, b := range u.Backends {
			s.Backends[j] = metrics.BackendState{
				Addr: b.Addr, Healthy: b.Healthy, Circuit: int(b.Circuit), Inflight: b.Inflight,
				Requests: b.Requests, FailureRate: b.FailureRate,
			}
		}
		out[i] = s
	}
	return out
}

// observers builds the access log, metrics, tracing and Server-Timing of
// servers.NAME for the generation of cfg. Every problem is reported, with
// the key it comes from; what was taken is given back on error.
func (a *App) observers(cfg *config.Config, name string) (proxy.Observers, error) {
	o := a.observability()
	sc := cfg.Servers[name]
	var obs proxy.Observers
	if sc == nil {
		return obs, nil
	}
	obs.ServerTiming = sc.EnableServerTiming
	var errs []error
	var taken []func()

	if sc.AccessLog != "" {
		l, release, err := o.accessLog(cfg, sc.AccessLog)
		if err != nil {
			errs = append(errs, fmt.Errorf("servers.%s.access_log: %w", name, err))
		} else {
			taken = append(taken, release)
			obs.AccessLog = l
			obs.Processing = o.processingOf(name)
		}
	}

	if pm := sc.PrometheusMetrics; pm != "" {
		reg := o.registry()
		upstreams := make([]string, 0, len(cfg.Upstreams))
		for u := range cfg.Upstreams {
			upstreams = append(upstreams, u)
		}
		sort.Strings(upstreams)
		if pm[0] == '/' {
			obs.MetricsHandler = reg.Handler()
			obs.Metrics = reg.Server(name, sc.Locations, upstreams)
		} else if release, err := o.pusher(name, pm); err != nil {
			errs = append(errs, fmt.Errorf("servers.%s.prometheus_metrics: %w", name, err))
		} else {
			taken = append(taken, release)
			obs.Metrics = reg.Server(name, sc.Locations, upstreams)
		}
	}

	if sc.OTLPExporter != "" {
		tr, release, err := o.tracer(name, sc.OTLPExporter)
		if err != nil {
			errs = append(errs, fmt.Errorf("servers.%s.otlp_exporter: %w", name, err))
		} else {
			taken = append(taken, release)
			obs.Tracer = tr
		}
	}

	if len(errs) > 0 {
		for _, f := range taken {
			f()
		}
		return proxy.Observers{}, errors.Join(errs...)
	}
	o.mu.Lock()
	o.held[cfg] = append(o.held[cfg], taken...)
	o.mu.Unlock()
	return obs, nil
}

func (o *observability) accessLog(cfg *config.Config, setting string) (*accesslog.Logger, func(), error) {
	sp, err := accesslog.ParseSpec(setting)
	if err != nil {
		return nil, nil, err
	}
	tmpl, err := accesslog.Compile(sp.Format, accesslog.Options{Hostname: o.hostname})
	if err != nil {
		return nil, nil, err
	}
	if sp.Path != "" {
		sp.Path = cfg.Resolve(sp.Path)
	}
	out, err := o.outputs.Open(sp)
	if err != nil {
		return nil, nil, err
	}
	return accesslog.NewLogger(tmpl, out, sp.JSON), out.Release, nil
}

func (o *observability) processingOf(server string) *atomic.Int64 {
	o.mu.Lock()
	defer o.mu.Unlock()
	p := o.processing[server]
	if p == nil {
		p = new(atomic.Int64)
		o.processing[server] = p
	}
	return p
}

// registry returns the metrics registry, made on first use.
func (o *observability) registry() *metrics.Registry {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.reg == nil {
		o.reg = metrics.New(metrics.Options{
			Upstreams:  o.upstreams,
			Plugins:    o.pluginMetrics,
			AccessLogs: o.accessLogStats,
			Logger:     o.log,
			Collectors: o.collectors,
		})
	}
	return o.reg
}

func (o *observability) accessLogStats(fn func(metrics.AccessLogStats)) {
	o.outputs.Each(func(s accesslog.OutputStats) {
		fn(metrics.AccessLogStats{Output: s.Name, Written: s.Written, Dropped: s.Dropped, Errors: s.Errors})
	})
}

// pluginMetrics reports the metrics plugins defined (proxy_define_metric).
func (o *observability) pluginMetrics(fn func(metrics.PluginMetric)) {
	rt := o.plugins.Load()
	if rt == nil {
		return
	}
	rt.EachMetric(func(s wasm.MetricSample) {
		m := metrics.PluginMetric{Plugin: s.Plugin, Name: s.Name, Value: s.Value}
		switch s.Type {
		case abi.MetricCounter:
			m.Kind = metrics.PluginCounter
		case abi.MetricGauge:
			m.Kind = metrics.PluginGauge
		case abi.MetricHistogram:
			m.Kind = metrics.PluginHistogram
			if h := s.Histogram; h != nil {
				m.Count, m.Sum = h.Count, h.Sum
				m.Buckets = make([]metrics.PluginBucket, len(h.Buckets))
				for i, b := range h.Buckets {
					m.Buckets[i] = metrics.PluginBucket{UpperBound: b.UpperBound, Count: b.Count}
				}
			}
		default:
			return
		}
		fn(m)
	})
}

// watchPlugins makes the metrics of rt's plugins part of the registry.
// The app calls it once the Wasm runtime exists.
func (o *observability) watchPlugins(rt *wasm.Runtime) { o.plugins.Store(rt) }

// wasmObserver is the wasm.Observer the app puts in wasm.Options, so that
// VM failures and restarts are counted.
func (o *observability) wasmObserver() wasm.Observer { return vmObserver{o} }

type vmObserver struct{ o *observability }

// VMFailed implements wasm.Observer.
func (v vmObserver) VMFailed(module string, reason wasm.FailureReason) {
	v.o.registry().VMFailed(module, string(reason))
}

var _ wasm.Observer = vmObserver{}

// pusher starts (or shares) the push of server's metrics to rawURL.
func (o *observability) pusher(server, rawURL string) (func(), error) {
	t, err := metrics.ParsePushURL(rawURL, o.hostname)
	if err != nil {
		return nil, err
	}
	reg := o.registry()
	key := server + "\x00" + rawURL
	o.mu.Lock()
	defer o.mu.Unlock()
	s := o.pushers[key]
	if s == nil {
		s = &shared[*metrics.Pusher]{v: reg.NewPusher(t, server, metrics.PushOptions{})}
		o.pushers[key] = s
	}
	s.refs++
	return o.releaser(func() {
		if s.refs--; s.refs == 0 {
			delete(o.pushers, key)
			go s.v.Stop()
		}
	}), nil
}

// tracer builds (or shares) server's tracer for rawURL.
func (o *observability) tracer(server, rawURL string) (*tracing.Tracer, func(), error) {
	c, err := tracing.ParseURL(rawURL, server)
	if err != nil {
		return nil, nil, err
	}
	key := server + "\x00" + rawURL
	o.mu.Lock()
	defer o.mu.Unlock()
	s := o.tracers[key]
	if s == nil {
		tr, err := tracing.New(context.Background(), c, tracing.Options{Version: Version})
		if err != nil {
			return nil, nil, err
		}
		for _, w := range c.Warnings {
			o.log.Warn("otlp_exporter", "server", server, "warning", w)
		}
		s = &shared[*tracing.Tracer]{v: tr}
		o.tracers[key] = s
	}
	s.refs++
	return s.v, o.releaser(func() {
		if s.refs--; s.refs == 0 {
			delete(o.tracers, key)
			go func() {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				s.v.Shutdown(ctx)
			}()
		}
	}), nil
}

// releaser wraps f, which runs with o.mu held, into a release function
// that takes the lock and runs at most once.
func (o *observability) releaser(f func()) func() {
	var once sync.Once
	return func() {
		once.Do(func() {
			o.mu.Lock()
			defer o.mu.Unlock()
			f()
		})
	}
}

// releaseObservers gives back what observers took for cfg's generation:
// files no generation writes to any more are closed, exporters and
// pushers no generation uses are stopped. The app calls it when the
// generation is released (retired and idle, or never installed).
func (a *App) releaseObservers(cfg *config.Config) {
	o := a.observability()
	o.mu.Lock()
	rel := o.held[cfg]
	delete(o.held, cfg)
	o.mu.Unlock()
	for _, f := range rel {
		f()
	}
}

// closeObservers flushes and closes everything at the end of the process:
// queued access-log lines are written, spans exported, pushers stopped.
func (a *App) closeObservers(ctx context.Context) {
	o := a.observability()
	o.mu.Lock()
	if o.closed {
		o.mu.Unlock()
		return
	}
	o.closed = true
	tracers, pushers := o.tracers, o.pushers
	o.tracers, o.pushers = map[string]*shared[*tracing.Tracer]{}, map[string]*shared[*metrics.Pusher]{}
	o.held = map[*config.Config][]func(){}
	o.mu.Unlock()
	for _, p := range pushers {
		p.v.Stop()
	}
	for _, t := range tracers {
		if err := t.v.Shutdown(ctx); err != nil {
			o.log.Warn("exporting the last spans failed", "err", err)
		}
	}
	if err := o.outputs.Close(ctx); err != nil {
		o.log.Warn("access log lines may be lost", "err", err)
	}
}
