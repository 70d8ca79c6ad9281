package metrics

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
)

// PluginMetricKind is the type of a plugin-defined metric.
type PluginMetricKind int

// Plugin metric kinds, as proxy_define_metric declares them.
const (
	PluginCounter PluginMetricKind = iota
	PluginGauge
	PluginHistogram
)

// PluginMetric is one metric a plugin defined through the ABI, as the Wasm
// runtime reports it.
type PluginMetric struct {
	// Plugin is the plugin (or module) that defined it; Name the name it
	// gave. It is exported as sluice_plugin_<name>{plugin="..."}, with
	// characters a metric name cannot hold made '_' and "_total" added to
	// counters.
	Plugin, Name string
	Kind         PluginMetricKind
	// Value is a counter's total or a gauge's value.
	Value int64
	// Count, Sum and Buckets describe a histogram: Buckets are
	// cumulative counts by upper bound, increasing, the last one +Inf
	// (any bound at or above math.MaxInt64).
	Count   uint64
	Sum     int64
	Buckets []PluginBucket
}

// PluginBucket is one cumulative histogram bucket.
type PluginBucket struct {
	UpperBound int64
	Count      uint64
}

// stateCollector reads, at each scrape, the figures that are state rather
// than events: upstream backends, access-log outputs, plugin metrics and
// TCP connection counts. Its series are made anew each time, so it
// describes nothing up front (an unchecked collector).
type stateCollector struct{ r *Registry }

func (c *stateCollector) Describe(chan<- *prometheus.Desc) {}

var (
	upCurrentDesc   = desc("upstream_connections_current", "Requests in flight to the upstream's backends.", "upstream")
	upAvailableDesc = desc("upstream_backends_available", "Backends that are healthy with a circuit that is not open.", "upstream")
	beHealthyDesc   = desc("upstream_backend_healthy", "1 if the backend passes its health check, else 0.", "upstream", "backend")
	beCircuitDesc   = desc("upstream_backend_circuit_state", "The backend's circuit breaker: 0 closed, 1 open, 2 half-open.", "upstream", "backend")
	beRequestsDesc  = desc("upstream_backend_requests", "Requests to the backend over the stats window (enable_backend_stats).", "upstream", "backend")
	beFailureDesc   = desc("upstream_backend_failure_ratio", "Failed share of the backend's requests over the stats window, 0 to 1 (Pingap's failure_rate is this times 100).", "upstream", "backend")
	beInflightDesc  = desc("upstream_backend_inflight", "Requests in flight to the backend.", "upstream", "backend")
	logLinesDesc    = desc("access_log_lines_total", "Access-log lines handed to the output.", "output")
	logDroppedDesc  = desc("access_log_dropped_total", "Access-log lines dropped because the output's queue was full (a slow disk).", "output")
	logErrorsDesc   = desc("access_log_write_errors_total", "Failed writes to the access-log output.", "output")
	tcpDesc         = desc("tcp_count", "TCP sockets over IPv4 in the process's network namespace (Pingap's tcp_count).")
	tcp6Desc        = desc("tcp6_count", "TCP sockets over IPv6 in the process's network namespace (Pingap's tcp6_count).")
)

func desc(name, help string, labels ...string) *prometheus.Desc {
	return prometheus.NewDesc(prometheus.BuildFQName(namespace, "", name), help, labels, nil)
}

func (c *stateCollector) Collect(ch chan<- prometheus.Metric) {
	o := c.r.o
	if o.Upstreams != nil {
		for _, u := range o.Upstreams() {
			var inflight int64
			for _, b := range u.Backends {
				inflight += b.Inflight
				ch <- prometheus.MustNewConstMetric(beHealthyDesc, prometheus.GaugeValue, b2f(b.Healthy), u.Name, b.Addr)
				ch <- prometheus.MustNewConstMetric(beCircuitDesc, prometheus.GaugeValue, float64(b.Circuit), u.Name, b.Addr)
				ch <- prometheus.MustNewConstMetric(beRequestsDesc, prometheus.GaugeValue, float64(b.Requests), u.Name, b.Addr)
				ch <- prometheus.MustNewConstMetric(beFailureDesc, prometheus.GaugeValue, b.FailureRate, u.Name, b.Addr)
				ch <- prometheus.MustNewConstMetric(beInflightDesc, prometheus.GaugeValue, float64(b.Inflight), u.Name, b.Addr)
			}
			ch <- prometheus.MustNewConstMetric(upCurrentDesc, prometheus.GaugeValue, float64(inflight), u.Name)
			ch <- prometheus.MustNewConstMetric(upAvailableDesc, prometheus.GaugeValue, float64(u.Available), u.Name)
		}
	}
	if o.AccessLogs != nil {
		o.AccessLogs(func(s AccessLogStats) {
			ch <- prometheus.MustNewConstMetric(logLinesDesc, prometheus.CounterValue, float64(s.Written), s.Output)
			ch <- prometheus.MustNewConstMetric(logDroppedDesc, prometheus.CounterValue, float64(s.Dropped), s.Output)
			ch <- prometheus.MustNewConstMetric(logErrorsDesc, prometheus.CounterValue, float64(s.Errors), s.Output)
		})
	}
	if o.Plugins != nil {
		c.collectPlugins(ch)
	}
	if n, ok := countLines(filepath.Join(o.ProcRoot, "net", "tcp")); ok {
		ch <- prometheus.MustNewConstMetric(tcpDesc, prometheus.GaugeValue, float64(n))
	}
	if n, ok := countLines(filepath.Join(o.ProcRoot, "net", "tcp6")); ok {
		ch <- prometheus.MustNewConstMetric(tcp6Desc, prometheus.GaugeValue, float64(n))
	}
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// collectPlugins exports plugin-defined metrics. A name used by two
// plugins with different kinds keeps the first kind seen (in plugin
// order); the others are left out, since one family has one type.
func (c *stateCollector) collectPlugins(ch chan<- prometheus.Metric) {
	var ms []PluginMetric
	c.r.o.Plugins(func(m PluginMetric) { ms = append(ms, m) })
	sort.SliceStable(ms, func(i, j int) bool { return ms[i].Plugin < ms[j].Plugin })
	kinds := map[string]PluginMetricKind{}
	descs := map[string]*prometheus.Desc{}
	for _, m := range ms {
		name := "plugin_" + sanitize(m.Name)
		if m.Kind == PluginCounter && !strings.HasSuffix(name, "_total") {
			name += "_total"
		}
		if k, seen := kinds[name]; seen && k != m.Kind {
			continue
		}
		kinds[name] = m.Kind
		d := descs[name]
		if d == nil {
			d = desc(name, "Defined by a plugin: "+m.Name+".", "plugin")
			descs[name] = d
		}
		switch m.Kind {
		case PluginCounter:
			ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(m.Value), m.Plugin)
		case PluginGauge:
			ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, float64(m.Value), m.Plugin)
		case PluginHistogram:
			buckets := make(map[float64]uint64, len(m.Buckets))
			for _, b := range m.Buckets {
				if b.UpperBound >= math.MaxInt64 {
					continue // +Inf is implied by the count
				}
				buckets[float64(b.UpperBound)] = b.Count
			}
			h, err := prometheus.NewConstHistogram(d, m.Count, float64(m.Sum), buckets, m.Plugin)
			if err != nil {
				continue
			}
			ch <- h
		}
	}
}

// countLines returns the number of entries of a /proc/net/tcp-style file
// (its lines less the header), false if it cannot be read.
func countLines(path string) (int, bool) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, false
	}
	n := bytes.Count(b, []byte{'\n'})
	if len(b) > 0 && b[len(b)-1] != '\n' {
		n++
	}
	return max(n-1, 0), true
}
