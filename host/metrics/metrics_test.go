package metrics

import (
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/sluice-proxy/sluice/host/internal/reqinfo"
)

// scrape fetches r's handler over HTTP and parses the text format.
func scrape(t *testing.T, r *Registry) map[string]*dto.MetricFamily {
	t.Helper()
	srv := httptest.NewServer(r.Handler())
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	p := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parsing the exposition: %v", err)
	}
	return mfs
}

// series finds the metric of family name whose labels include want
// ("k=v" pairs).
func series(mfs map[string]*dto.MetricFamily, name string, want ...string) *dto.Metric {
	mf := mfs[name]
	if mf == nil {
		return nil
	}
next:
	for _, m := range mf.Metric {
		have := map[string]string{}
		for _, l := range m.Label {
			have[l.GetName()] = l.GetValue()
		}
		for _, kv := range want {
			k, v, _ := strings.Cut(kv, "=")
			if have[k] != v {
				continue next
			}
		}
		return m
	}
	return nil
}

func value(m *dto.Metric) float64 {
	switch {
	case m == nil:
		return -1
	case m.Counter != nil:
		return m.Counter.GetValue()
	case m.Gauge != nil:
		return m.Gauge.GetValue()
	case m.Histogram != nil:
		return float64(m.Histogram.GetSampleCount())
	}
	return -1
}

func record() *reqinfo.Record {
	return &reqinfo.Record{
		Start: time.Now(), Latency: 30 * time.Millisecond,
		Server: "main", Location: "api", Upstream: "users",
		Method: "GET", Path: "/api/x", ClientIP: "10.0.0.9",
		Status: 201, BytesSent: 2048, BytesReceived: 100,
		TLSVersion: "TLSv1.3", TLSHandshake: 20 * time.Millisecond,
		UpstreamAddr: "127.0.0.1:1", UpstreamStatus: 201,
		UpstreamConnect: 2 * time.Millisecond, UpstreamTLS: 3 * time.Millisecond,
		UpstreamProcessing: 15 * time.Millisecond, UpstreamResponse: 20 * time.Millisecond,
		Values: map[string]string{"cache_lookup_time": "4", "compression_ratio": "2.5"},
	}
}

func TestServerDone(t *testing.T) {
	r := New(Options{ProcRoot: t.TempDir()})
	s := r.Server("main", []string{"api", "static"}, []string{"users"})
	s.Routed("api")
	s.Routed("api")
	s.Done(record(), true)
	reused := record()
	reused.ConnReused, reused.UpstreamReused, reused.Status = true, true, 503
	s.Done(reused, true)
	unmatched := &reqinfo.Record{Server: "main", Status: 404, Latency: time.Millisecond}
	s.Done(unmatched, false)
	noResponse := &reqinfo.Record{Server: "main", Location: "static"}
	s.Done(noResponse, false)
	s.PluginCall("auth", "request_headers", 80*time.Microsecond)
	r.VMFailed("/plugins/auth.wasm", "trap")
	r.VMFailed("/plugins/auth.wasm", "start")

	mfs := scrape(t, r)
	tests := []struct {
		name   string
		family string
		labels []string
		want   float64
	}{
		{"requests", "sluice_http_requests_total", []string{"server=main", "location=api"}, 2},
		{"unmatched requests", "sluice_http_requests_total", []string{"server=main", "location="}, 1},
		{"in flight back to zero", "sluice_http_requests_current", []string{"server=main", "location=api"}, 0},
		{"2xx", "sluice_http_responses_total", []string{"location=api", "code=2xx"}, 1},
		{"5xx", "sluice_http_responses_total", []string{"location=api", "code=5xx"}, 1},
		{"4xx unmatched", "sluice_http_responses_total", []string{"location=", "code=4xx"}, 1},
		{"no status", "sluice_http_responses_total", []string{"location=static", "code=unknown"}, 1},
		{"response time", "sluice_http_response_time_seconds", []string{"location=api"}, 2},
		{"received bytes", "sluice_http_received_bytes_total", []string{"location=api"}, 200},
		{"sent bytes", "sluice_http_sent_bytes_total", []string{"location=api"}, 4096},
		{"sent sizes", "sluice_http_sent_size_bytes", []string{"location=api"}, 2},
		{"connection reuses", "sluice_connection_reuses_total", []string{"server=main"}, 1},
		{"tls handshakes, first request only", "sluice_tls_handshake_time_seconds", []string{"server=main"}, 1},
		{"upstream connects, new connections only", "sluice_upstream_tcp_connect_time_seconds", []string{"upstream=users"}, 1},
		{"upstream tls", "sluice_upstream_tls_handshake_time_seconds", []string{"upstream=users"}, 2},
		{"upstream reuses", "sluice_upstream_reuses_total", []string{"upstream=users"}, 1},
		{"upstream processing", "sluice_upstream_processing_time_seconds", []string{"upstream=users"}, 2},
		{"upstream response", "sluice_upstream_response_time_seconds", []string{"upstream=users"}, 2},
		{"cache lookup", "sluice_cache_lookup_time_seconds", []string{"server=main"}, 2},
		{"compression", "sluice_compression_ratio", []string{"server=main"}, 2},
		{"plugin calls", "sluice_wasm_call_duration_seconds", []string{"plugin=auth", "phase=request_headers"}, 1},
		{"vm failures", "sluice_wasm_vm_failures_total", []string{"module=auth.wasm", "reason=trap"}, 1},
		{"vm restarts", "sluice_wasm_vm_restarts_total", []string{"module=auth.wasm"}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := value(series(mfs, tt.family, tt.labels...)); got != tt.want {
				t.Errorf("%s%v = %v; want %v", tt.family, tt.labels, got, tt.want)
			}
		})
	}
	t.Run("buckets", func(t *testing.T) {
		h := series(mfs, "sluice_http_response_time_seconds", "location=api").Histogram
		var bounds []float64
		for _, b := range h.Bucket {
			if !math.IsInf(b.GetUpperBound(), 1) {
				bounds = append(bounds, b.GetUpperBound())
			}
		}
		if fmt.Sprint(bounds) != fmt.Sprint(responseTimeBuckets) {
			t.Errorf("buckets %v; want Pingap's %v", bounds, responseTimeBuckets)
		}
		if got := series(mfs, "sluice_http_sent_size_bytes", "location=api").Histogram.Bucket[0].GetUpperBound(); got != 1024 {
			t.Errorf("first sent bucket %v; want 1024 (1 KiB)", got)
		}
	})
	t.Run("runtime and process", func(t *testing.T) {
		for _, f := range []string{"go_goroutines", "process_resident_memory_bytes", "process_open_fds"} {
			if mfs[f] == nil {
				t.Errorf("%s missing", f)
			}
		}
	})
}

// No label may come from the request itself: paths and client addresses
// would make the series unbounded.
func TestLabelsBounded(t *testing.T) {
	r := New(Options{})
	s := r.Server("main", []string{"api"}, []string{"users"})
	count := func() int {
		mfs, err := r.Gatherer().Gather()
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, mf := range mfs {
			if strings.HasPrefix(mf.GetName(), "sluice_") {
				n += len(mf.Metric)
			}
		}
		return n
	}
	s.Done(record(), false)
	before := count()
	for i := range 50 {
		rec := record()
		rec.Path = fmt.Sprintf("/api/%d", i)
		rec.ClientIP = fmt.Sprintf("10.0.%d.1", i)
		rec.Remote = rec.ClientIP + ":1234"
		rec.RequestID = fmt.Sprint(i)
		s.Done(rec, false)
	}
	if after := count(); after != before {
		t.Errorf("series went from %d to %d with 50 distinct paths and clients", before, after)
	}
}

func TestDoneAllocs(t *testing.T) {
	r := New(Options{})
	s := r.Server("main", []string{"api"}, []string{"users"})
	rec := record()
	rec.Values = nil
	s.Done(rec, false) // create every child first
	if n := testing.AllocsPerRun(200, func() {
		s.Routed("api")
		s.Done(rec, true)
	}); n != 0 {
		t.Errorf("%v allocations per request; want 0", n)
	}
}

func TestStateCollector(t *testing.T) {
	proc := t.TempDir()
	if err := os.MkdirAll(filepath.Join(proc, "net"), 0o755); err != nil {
		t.Fatal(err)
	}
	header := "  sl  local_address rem_address   st\n"
	os.WriteFile(filepath.Join(proc, "net", "tcp"), []byte(header+"0: a\n1: b\n2: c\n"), 0o644)
	os.WriteFile(filepath.Join(proc, "net", "tcp6"), []byte(header+"0: a\n"), 0o644)
	r := New(Options{
		ProcRoot: proc,
		Upstreams: func() []UpstreamState {
			return []UpstreamState{{Name: "users", Available: 1, Backends: []BackendState{
				{Addr: "10.0.0.1:80", Healthy: true, Inflight: 2, Requests: 10, FailureRate: 0.2},
				{Addr: "10.0.0.2:80", Circuit: 1, Inflight: 1},
			}}}
		},
		AccessLogs: func(fn func(AccessLogStats)) {
			fn(AccessLogStats{Output: "/var/log/a.log", Written: 7, Dropped: 3, Errors: 1})
		},
		Plugins: func(fn func(PluginMetric)) {
			fn(PluginMetric{Plugin: "b", Name: "hits", Kind: PluginGauge, Value: 9}) // clashes with a's counter
			fn(PluginMetric{Plugin: "a", Name: "hits", Kind: PluginCounter, Value: 5})
			fn(PluginMetric{Plugin: "a", Name: "cache.size", Kind: PluginGauge, Value: 42})
			fn(PluginMetric{Plugin: "a", Name: "lat", Kind: PluginHistogram, Count: 3, Sum: 12, Buckets: []PluginBucket{
				{UpperBound: 1, Count: 1}, {UpperBound: 5, Count: 2}, {UpperBound: 1<<63 - 1, Count: 3}}})
		},
	})
	mfs := scrape(t, r)
	tests := []struct {
		family string
		labels []string
		want   float64
	}{
		{"sluice_upstream_connections_current", []string{"upstream=users"}, 3},
		{"sluice_upstream_backends_available", []string{"upstream=users"}, 1},
		{"sluice_upstream_backend_healthy", []string{"backend=10.0.0.1:80"}, 1},
		{"sluice_upstream_backend_healthy", []string{"backend=10.0.0.2:80"}, 0},
		{"sluice_upstream_backend_circuit_state", []string{"backend=10.0.0.2:80"}, 1},
		{"sluice_upstream_backend_requests", []string{"backend=10.0.0.1:80"}, 10},
		{"sluice_upstream_backend_failure_ratio", []string{"backend=10.0.0.1:80"}, 0.2},
		{"sluice_access_log_lines_total", []string{"output=/var/log/a.log"}, 7},
		{"sluice_access_log_dropped_total", []string{"output=/var/log/a.log"}, 3},
		{"sluice_access_log_write_errors_total", []string{"output=/var/log/a.log"}, 1},
		{"sluice_tcp_count", nil, 3},
		{"sluice_tcp6_count", nil, 1},
		{"sluice_plugin_hits_total", []string{"plugin=a"}, 5},
		{"sluice_plugin_cache_size", []string{"plugin=a"}, 42},
		{"sluice_plugin_lat", []string{"plugin=a"}, 3},
	}
	for _, tt := range tests {
		t.Run(tt.family+fmt.Sprint(tt.labels), func(t *testing.T) {
			if got := value(series(mfs, tt.family, tt.labels...)); got != tt.want {
				t.Errorf("got %v; want %v", got, tt.want)
			}
		})
	}
	if m := series(mfs, "sluice_plugin_hits_total", "plugin=b"); m != nil {
		t.Errorf("plugin b's gauge \"hits\" was exported into a's counter family: %v", m)
	}
	h := series(mfs, "sluice_plugin_lat", "plugin=a").Histogram
	if h.GetSampleSum() != 12 || len(h.Bucket) != 3 || h.Bucket[1].GetCumulativeCount() != 2 || h.Bucket[1].GetUpperBound() != 5 {
		t.Errorf("plugin histogram = %v", h)
	}
}

func TestParsePushURL(t *testing.T) {
	tests := []struct {
		name, in string
		want     PushTarget
		err      string
	}{
		{name: "pingap form", in: "http://u:p%40ss@gw:9091/metrics/job/sluice?interval=15s",
			want: PushTarget{Gateway: "http://gw:9091", Job: "sluice", User: "u", Password: "p@ss", Interval: 15 * time.Second, Timeout: 10 * time.Second}},
		{name: "grouping and hostname", in: "https://gw/prefix/metrics/job/j/instance/$hostname/dc/eu?interval=250ms",
			want: PushTarget{Gateway: "https://gw/prefix", Job: "j", Grouping: [][2]string{{"instance", "web-1"}, {"dc", "eu"}}, Interval: 250 * time.Millisecond, Timeout: 250 * time.Millisecond}},
		{name: "defaults", in: "http://gw:9091/metrics/job/x",
			want: PushTarget{Gateway: "http://gw:9091", Job: "x", Interval: time.Minute, Timeout: 10 * time.Second}},
		{name: "no job", in: "http://gw:9091/metrics", err: "/metrics/job/NAME"},
		{name: "odd grouping", in: "http://gw/metrics/job/x/instance", err: "has no value"},
		{name: "bad interval", in: "http://gw/metrics/job/x?interval=0s", err: "positive duration"},
		{name: "unknown option", in: "http://gw/metrics/job/x?period=1s", err: `unknown option "period"`},
		{name: "scheme", in: "ftp://gw/metrics/job/x", err: "http(s)"},
		{name: "password not echoed", in: "http://u:secret@gw/metrics/job/x?nope=1", err: "xxxxx"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParsePushURL(tt.in, "web-1")
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error = %v; want %q", err, tt.err)
				}
				if strings.Contains(err.Error(), "secret") {
					t.Errorf("error shows the password: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestPusher(t *testing.T) {
	type pushed struct {
		method, path, user, pass string
		families                 map[string]*dto.MetricFamily
	}
	got := make(chan pushed, 16)
	gw := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		p := pushed{method: req.Method, path: req.URL.Path, families: map[string]*dto.MetricFamily{}}
		p.user, p.pass, _ = req.BasicAuth()
		dec := expfmt.NewDecoder(req.Body, expfmt.ResponseFormat(req.Header))
		for {
			mf := &dto.MetricFamily{}
			if err := dec.Decode(mf); err != nil {
				if err != io.EOF {
					t.Errorf("decoding the push: %v", err)
				}
				break
			}
			p.families[mf.GetName()] = mf
		}
		got <- p
		w.WriteHeader(http.StatusOK)
	}))
	defer gw.Close()

	r := New(Options{})
	r.Server("main", []string{"api"}, nil).Done(record(), false)
	r.Server("other", []string{"api"}, nil).Done(record(), false)
	target, err := ParsePushURL("http://u:pw@"+strings.TrimPrefix(gw.URL, "http://")+"/metrics/job/sluice/instance/i1?interval=1500ms", "h")
	if err != nil {
		t.Fatal(err)
	}
	ticks := make(chan time.Time)
	var interval time.Duration
	stopped := false
	p := r.NewPusher(target, "main", PushOptions{NewTicker: func(d time.Duration) (<-chan time.Time, func()) {
		interval = d
		return ticks, func() { stopped = true }
	}})
	var all []pushed
	select {
	case <-got:
		t.Fatal("pushed before the first tick")
	case <-time.After(50 * time.Millisecond):
	}
	ticks <- time.Now()
	all = append(all, <-got)
	ticks <- time.Now()
	all = append(all, <-got)
	ticks <- time.Now()
	all = append(all, <-got)
	p.Stop()
	if interval != 1500*time.Millisecond {
		t.Errorf("ticker interval %v; want exactly 1.5s", interval)
	}
	if !stopped {
		t.Error("Stop did not stop the ticker")
	}
	if len(got) != 0 {
		t.Errorf("%d pushes more than ticks", len(got))
	}
	for i, p := range all {
		if p.method != http.MethodPut || p.path != "/metrics/job/sluice/instance/i1" || p.user != "u" || p.pass != "pw" {
			t.Errorf("push %d: %s %s as %s:%s", i, p.method, p.path, p.user, p.pass)
		}
		mf := p.families["sluice_http_requests_total"]
		if mf == nil {
			t.Fatalf("push %d has no sluice_http_requests_total; has %v", i, keys(p.families))
		}
		for _, m := range mf.Metric {
			if serverOf(m) != "main" {
				t.Errorf("push %d for server main has a series of server %q", i, serverOf(m))
			}
		}
		if p.families["go_goroutines"] == nil {
			t.Errorf("push %d lacks the process-wide series", i)
		}
	}
}

func keys(m map[string]*dto.MetricFamily) []string {
	var k []string
	for n := range m {
		k = append(k, n)
	}
	sort.Strings(k)
	return k
}

// BenchmarkDone is the per-request cost of recording metrics.
func BenchmarkDone(b *testing.B) {
	r := New(Options{})
	s := r.Server("main", []string{"api"}, []string{"users"})
	rec := record()
	rec.Values = nil
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			s.Routed("api")
			s.Done(rec, true)
		}
	})
}

// TestMetricNames checks the naming conventions of every sluice metric:
// the sluice_ prefix, counters ending in _total, histograms in a unit.
func TestMetricNames(t *testing.T) {
	r := New(Options{})
	s := r.Server("main", []string{"api"}, []string{"users"})
	s.Done(record(), false)
	s.PluginCall("p", "request_headers", time.Millisecond)
	r.VMFailed("m.wasm", "trap")
	mfs, err := r.Gatherer().Gather()
	if err != nil {
		t.Fatal(err)
	}
	valid := regexp.MustCompile(`^sluice_[a-z][a-z0-9_]*$`)
	n := 0
	for _, mf := range mfs {
		name := mf.GetName()
		if !strings.HasPrefix(name, "sluice_") {
			continue
		}
		n++
		t.Run(name, func(t *testing.T) {
			if !valid.MatchString(name) {
				t.Errorf("not a valid sluice metric name")
			}
			switch mf.GetType() {
			case dto.MetricType_COUNTER:
				if !strings.HasSuffix(name, "_total") {
					t.Errorf("a counter's name must end in _total")
				}
			case dto.MetricType_HISTOGRAM:
				if !strings.HasSuffix(name, "_seconds") && !strings.HasSuffix(name, "_bytes") && !strings.HasSuffix(name, "_ratio") {
					t.Errorf("a histogram's name must end in its unit")
				}
			}
			if mf.GetHelp() == "" {
				t.Errorf("no help text")
			}
		})
	}
	if n < 20 {
		t.Errorf("only %d sluice families gathered", n)
	}
}
