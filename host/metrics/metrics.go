package metrics

import (
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

const namespace = "sluice"

// Buckets, as Pingap declares them (sizes in KiB there, bytes here).
var (
	responseTimeBuckets       = []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}
	receivedBuckets           = kib(1, 5, 10, 50, 100, 1000)
	sentBuckets               = kib(1, 5, 10, 50, 100, 1000, 10000)
	tlsHandshakeBuckets       = []float64{.01, .05, .1, .5, 1}
	upstreamConnectBuckets    = []float64{.005, .01, .05, .1, .5, 1}
	upstreamProcessingBuckets = []float64{.01, .02, .1, .5, 1, 5, 10}
	upstreamResponseBuckets   = []float64{.005, .01, .05, .1, .5, 1}
	cacheLookupBuckets        = []float64{.001, .005, .01, .05, .1, .25, .5, 1}
	cacheLockBuckets          = []float64{.01, .05, .1, 1, 3}
	compressionRatioBuckets   = []float64{1, 2, 3, 5, 10}
	// Plugin callbacks are meant to take microseconds; the top buckets
	// catch the ones that wait (http callouts) or run up to their budget.
	pluginCallBuckets = []float64{.00005, .0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, 1}
)

func kib(v ...float64) []float64 {
	for i := range v {
		v[i] *= 1024
	}
	return v
}

// Options are the sources of the figures read at scrape time. Every field
// is optional.
type Options struct {
	// Upstreams returns the state of every upstream and its backends.
	Upstreams func() []UpstreamState
	// Plugins calls fn for every metric plugins have defined.
	Plugins func(fn func(PluginMetric))
	// AccessLogs calls fn for every open access-log output.
	AccessLogs func(fn func(AccessLogStats))
	// ProcRoot is where the proc file system is, for the TCP connection
	// counts (Linux only). Default "/proc".
	ProcRoot string
	// Logger receives push failures. Default slog.Default().
	Logger *slog.Logger
	// Collectors are further collectors of other host packages (e.g. the
	// cache stores' sizes), registered as they are.
	Collectors []prometheus.Collector
}

// UpstreamState is an upstream's state at scrape time.
type UpstreamState struct {
	Name string
	// Available counts backends that are healthy with a circuit that is
	// not open.
	Available int
	Backends  []BackendState
}

// BackendState is one backend's state at scrape time.
type BackendState struct {
	Addr    string
	Healthy bool
	// Circuit is the breaker state: 0 closed, 1 open, 2 half-open.
	Circuit int
	// Inflight counts requests sent to it and not finished.
	Inflight int64
	// Requests counts requests over the stats window; FailureRate is the
	// failed share of them, 0 to 1.
	Requests    uint64
	FailureRate float64
}

// AccessLogStats are an access-log output's counters.
type AccessLogStats struct {
	// Output is the file path or "stdout".
	Output                   string
	Written, Dropped, Errors uint64
}

// Registry holds every sluice metric. It is safe for concurrent use.
type Registry struct {
	reg *prometheus.Registry
	o   Options
	log *slog.Logger

	// Per server and location (Pingap: pingap_http_*).
	requests     *prometheus.CounterVec   // sluice_http_requests_total (pingap_http_requests_total)
	current      *prometheus.GaugeVec     // sluice_http_requests_current (pingap_http_requests_current)
	received     *prometheus.HistogramVec // sluice_http_received_size_bytes (pingap_http_received, KiB)
	receivedSum  *prometheus.CounterVec   // sluice_http_received_bytes_total (pingap_http_received_bytes)
	responses    *prometheus.CounterVec   // sluice_http_responses_total{code} (pingap_http_responses_codes)
	responseTime *prometheus.HistogramVec // sluice_http_response_time_seconds (pingap_http_response_time)
	sent         *prometheus.HistogramVec // sluice_http_sent_size_bytes (pingap_http_sent, KiB)
	sentSum      *prometheus.CounterVec   // sluice_http_sent_bytes_total (pingap_http_sent_bytes)

	// Per server.
	connReuses   *prometheus.CounterVec   // sluice_connection_reuses_total (pingap_connection_reuses)
	tlsHandshake *prometheus.HistogramVec // sluice_tls_handshake_time_seconds (pingap_tls_handshake_time)
	cacheLookup  *prometheus.HistogramVec // sluice_cache_lookup_time_seconds (pingap_cache_lookup_time)
	cacheLock    *prometheus.HistogramVec // sluice_cache_lock_time_seconds (pingap_cache_lock_time)
	compression  *prometheus.HistogramVec // sluice_compression_ratio (pingap_compression_ratio)

	// Per server and upstream (Pingap: pingap_upstream_*).
	upConnect    *prometheus.HistogramVec // sluice_upstream_tcp_connect_time_seconds
	upTLS        *prometheus.HistogramVec // sluice_upstream_tls_handshake_time_seconds
	upReuses     *prometheus.CounterVec   // sluice_upstream_reuses_total
	upProcessing *prometheus.HistogramVec // sluice_upstream_processing_time_seconds
	upResponse   *prometheus.HistogramVec // sluice_upstream_response_time_seconds

	// Plugins (the Wasm runtime).
	pluginCalls *prometheus.HistogramVec // sluice_wasm_call_duration_seconds{server,plugin,phase}
	vmFailures  *prometheus.CounterVec   // sluice_wasm_vm_failures_total{module,reason}
	vmRestarts  *prometheus.CounterVec   // sluice_wasm_vm_restarts_total{module}
}

// New returns a registry with every sluice metric, the Go runtime
// collector and the process collector (memory, file descriptors, CPU).
func New(o Options) *Registry {
	if o.ProcRoot == "" {
		o.ProcRoot = "/proc"
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	r := &Registry{reg: prometheus.NewRegistry(), o: o, log: o.Logger.With("component", "metrics")}
	for _, c := range o.Collectors {
		r.reg.MustRegister(c)
	}
	loc := []string{"server", "location"}
	srv := []string{"server"}
	up := []string{"server", "upstream"}
	r.requests = r.counter("http_requests_total", "Requests received, by location (location=\"\": no location matched).", loc)
	r.current = r.gauge("http_requests_current", "Requests being processed, by location.", loc)
	r.received = r.histogram("http_received_size_bytes", "Request body sizes.", receivedBuckets, loc)
	r.receivedSum = r.counter("http_received_bytes_total", "Request body bytes received.", loc)
	r.responses = r.counter("http_responses_total", "Responses sent, by status class (1xx to 5xx, unknown).", append(loc, "code"))
	r.responseTime = r.histogram("http_response_time_seconds", "Time from the request's arrival to the end of its response.", responseTimeBuckets, loc)
	r.sent = r.histogram("http_sent_size_bytes", "Response body sizes.", sentBuckets, loc)
	r.sentSum = r.counter("http_sent_bytes_total", "Response body bytes sent.", loc)
	r.connReuses = r.counter("connection_reuses_total", "Requests that arrived on a reused client connection.", srv)
	r.tlsHandshake = r.histogram("tls_handshake_time_seconds", "Client TLS handshake times (observed with a connection's first request).", tlsHandshakeBuckets, srv)
	r.cacheLookup = r.histogram("cache_lookup_time_seconds", "Cache lookup times reported by a cache plugin.", cacheLookupBuckets, srv)
	r.cacheLock = r.histogram("cache_lock_time_seconds", "Cache lock waits reported by a cache plugin.", cacheLockBuckets, srv)
	r.compression = r.histogram("compression_ratio", "Compression ratios reported by a compression plugin.", compressionRatioBuckets, srv)
	r.upConnect = r.histogram("upstream_tcp_connect_time_seconds", "TCP connect times of new upstream connections.", upstreamConnectBuckets, up)
	r.upTLS = r.histogram("upstream_tls_handshake_time_seconds", "TLS handshake times of new upstream connections.", tlsHandshakeBuckets, up)
	r.upReuses = r.counter("upstream_reuses_total", "Upstream requests sent on a reused connection.", up)
	r.upProcessing = r.histogram("upstream_processing_time_seconds", "Time from sending the upstream request to its response headers.", upstreamProcessingBuckets, up)
	r.upResponse = r.histogram("upstream_response_time_seconds", "Time of the whole upstream exchange, body included.", upstreamResponseBuckets, up)
	r.pluginCalls = r.histogram("wasm_call_duration_seconds", "Time spent in plugin callbacks, by plugin and phase.", pluginCallBuckets, []string{"server", "plugin", "phase"})
	r.vmFailures = r.counter("wasm_vm_failures_total", "Plugin VMs stopped, by module and reason (trap, timeout, start).", []string{"module", "reason"})
	r.vmRestarts = r.counter("wasm_vm_restarts_total", "Plugin VMs replaced after a trap or a timeout.", []string{"module"})

	r.reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		&stateCollector{r: r},
	)
	return r
}

func (r *Registry) counter(name, help string, labels []string) *prometheus.CounterVec {
	v := prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Name: name, Help: help}, labels)
	r.reg.MustRegister(v)
	return v
}

func (r *Registry) gauge(name, help string, labels []string) *prometheus.GaugeVec {
	v := prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: namespace, Name: name, Help: help}, labels)
	r.reg.MustRegister(v)
	return v
}

func (r *Registry) histogram(name, help string, buckets []float64, labels []string) *prometheus.HistogramVec {
	v := prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: namespace, Name: name, Help: help, Buckets: buckets}, labels)
	r.reg.MustRegister(v)
	return v
}

// Handler serves every metric in the Prometheus text (or protobuf, by
// negotiation) format, for prometheus_metrics paths. A family that cannot
// be gathered (a plugin metric clashing with another) is left out rather
// than failing the scrape.
func (r *Registry) Handler() http.Handler {
	return promhttp.HandlerFor(r.reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})
}

// Gatherer returns the registry as a prometheus.Gatherer.
func (r *Registry) Gatherer() prometheus.Gatherer { return r.reg }

// VMFailed counts a plugin VM stopped for reason ("trap", "timeout" or
// "start"); a trap or a timeout also counts a restart, since the runtime
// replaces that VM. module is the module's file.
func (r *Registry) VMFailed(module, reason string) {
	module = filepath.Base(module)
	r.vmFailures.WithLabelValues(module, reason).Inc()
	if reason == "trap" || reason == "timeout" {
		r.vmRestarts.WithLabelValues(module).Inc()
	}
}

// codeClass returns the label of status's class.
func codeClass(status int) int {
	if status < 100 || status > 599 {
		return 5
	}
	return status/100 - 1
}

var codeLabels = [6]string{"1xx", "2xx", "3xx", "4xx", "5xx", "unknown"}

// sanitize makes s a valid metric name part: characters other than
// letters, digits and '_' become '_'.
func sanitize(s string) string {
	ok := true
	for i := 0; i < len(s); i++ {
		if !nameByte(s[i], i) {
			ok = false
			break
		}
	}
	if ok {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !nameByte(c, i) {
			c = '_'
		}
		b.WriteByte(c)
	}
	return b.String()
}

func nameByte(c byte, i int) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '_' || i > 0 && '0' <= c && c <= '9'
}
