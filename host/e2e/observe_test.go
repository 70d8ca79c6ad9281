package e2e

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// everyPlaceholder is an access-log template with every placeholder
// sluice knows, separated by '|'.
var everyPlaceholder = strings.Join([]string{
	"{host}", "{method}", "{path}", "{proto}", "{query}", "{remote}", "{client_ip}", "{scheme}", "{uri}",
	"{referer}", "{user_agent}", "{when}", "{when_utc_iso}", "{when_unix}", "{size}", "{size_human}",
	"{status}", "{latency}", "{latency_human}", "{payload_size}", "{payload_size_human}", "{request_id}",
	"{~uid}", "{>X-Tenant}", "{<Content-Type}", "{$SLUICE_E2E_ENV}", "{$hostname}",
	"{:connection_id}", "{:upstream_reused}", "{:upstream_status}", "{:upstream_addr}", "{:upstream}",
	"{:processing}", "{:upstream_connected}", "{:upstream_connect_time}", "{:upstream_connect_time_human}",
	"{:upstream_tcp_connect_time}", "{:upstream_tls_handshake_time}", "{:upstream_processing_time}",
	"{:upstream_processing_time_human}", "{:upstream_response_time}", "{:upstream_connection_time}",
	"{:connection_time}", "{:connection_time_human}", "{:location}", "{:server}", "{:connection_reused}",
	"{:tls_version}", "{:tls_cipher}", "{:tls_handshake_time}", "{:compression_time}",
	"{:compression_ratio}", "{:cache_lookup_time}", "{:cache_lock_time}", "{:service_time}",
	"{:service_time_human}", "{:plugin_time}", "{:retries}", "{:error}",
}, "|")

const accessLogConf = `
[servers.main]
addr = "{{.addr}}"
locations = ["api"]
global_certificates = true
access_log = "{{.log}} {{.format}}"

[locations.api]
upstream = "b"

[upstreams.b]
addrs = ["{{.b}}"]

[certificates.a]
tls_cert = "{{.dir}}/a.test.pem"
tls_key = "{{.dir}}/a.test.key"
`

// volatile says how each volatile field of everyPlaceholder is checked
// before it is replaced by <kind> in the golden line.
var volatile = map[string]*regexp.Regexp{
	"when":     regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d$`),
	"when_utc": regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$`),
	"unix":     regexp.MustCompile(`^1\d{12}$`),
	"ms":       regexp.MustCompile(`^\d+$`),
	"human":    regexp.MustCompile(`^\d+(\.\d)?(ms|s|m|h)$`),
	"id":       regexp.MustCompile(`^[0-9A-Za-z_-]{8,}$`),
	"cipher":   regexp.MustCompile(`^TLS_[A-Z0-9_]+$`),
}

// kinds maps fields of everyPlaceholder (by placeholder) to a kind of
// volatile.
var kinds = map[string]string{
	"{when}": "when", "{when_utc_iso}": "when_utc", "{when_unix}": "unix", "{latency}": "ms", "{latency_human}": "human",
	"{request_id}": "id", "{:connection_id}": "ms", "{:upstream_connect_time}": "ms", "{:upstream_connect_time_human}": "human",
	"{:upstream_tcp_connect_time}": "ms", "{:upstream_processing_time}": "ms", "{:upstream_processing_time_human}": "human",
	"{:upstream_response_time}": "ms", "{:connection_time}": "ms", "{:connection_time_human}": "human",
	"{:tls_cipher}": "cipher", "{:tls_handshake_time}": "ms", "{:service_time}": "ms", "{:service_time_human}": "human",
}

// normalise checks the volatile fields of a line of everyPlaceholder and
// replaces them with <kind>.
func normalise(t *testing.T, line string) string {
	t.Helper()
	names := strings.Split(everyPlaceholder, "|")
	fields := strings.Split(line, "|")
	if len(fields) != len(names) {
		t.Fatalf("line has %d fields; want %d:\n%s", len(fields), len(names), line)
	}
	for i, name := range names {
		k, ok := kinds[name]
		if !ok {
			continue
		}
		if !volatile[k].MatchString(fields[i]) {
			t.Errorf("%s = %q; want a %s", name, fields[i], k)
		}
		fields[i] = "<" + k + ">"
	}
	return strings.Join(fields, "|")
}

func testCA(t *testing.T) *x509.CertPool {
	t.Helper()
	caPEM, err := os.ReadFile(filepath.Join(repoRoot, "testdata", "tls", "ca.pem"))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	return pool
}

// waitFile waits until path holds at least n lines and returns them.
func waitFile(t *testing.T, p *proc, path string, n int) []string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		b, _ := os.ReadFile(path)
		lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
		if len(b) > 0 && len(lines) >= n {
			return lines
		}
		if time.Now().After(deadline) {
			log := ""
			if p != nil {
				log = p.Log()
			}
			t.Fatalf("%s has %q after 10s; want %d lines\n%s", path, b, n, log)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Issue 6: every placeholder rendered for a real proxied request over TLS.
func TestAccessLogEveryPlaceholder(t *testing.T) {
	back := backend(t, func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"ok":true}`)
	})
	dir := t.TempDir()
	logPath := filepath.Join(dir, "logs", "access.log")
	addr := freePort(t)
	conf := filepath.Join(dir, "sluice.toml")
	writeConf(t, conf, accessLogConf, map[string]string{"addr": addr, "b": back, "log": logPath,
		"format": everyPlaceholder, "dir": filepath.Join(repoRoot, "testdata", "tls")})
	p := start(t, conf, addr, "SLUICE_E2E_ENV=e2e-value")

	c := &http.Client{Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: testCA(t), ServerName: "a.test"},
		TLSNextProto:    map[string]func(string, *tls.Conn) http.RoundTripper{}, // HTTP/1.1
	}}
	for range 2 {
		req, _ := http.NewRequest("POST", "https://"+addr+"/api/users?id=7", strings.NewReader("hello"))
		req.Host = "a.test"
		req.Header.Set("Referer", "https://ref.test/")
		req.Header.Set("User-Agent", "e2e/1.0")
		req.Header.Set("Cookie", "a=1; uid=42")
		req.Header.Set("X-Tenant", "acme")
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("status %d", resp.StatusCode)
		}
	}
	lines := waitFile(t, p, logPath, 2)
	host, _ := os.Hostname()
	golden := strings.Join([]string{
		"a.test", "POST", "/api/users", "HTTP/1.1", "id=7", "127.0.0.1", "127.0.0.1", "https", "/api/users?id=7",
		"https://ref.test/", "e2e/1.0", "<when>", "<when_utc>", "<unix>", "11", "11B",
		"200", "<ms>", "<human>", "5", "5B", "<id>",
		"42", "acme", "application/json", "e2e-value", host,
		"<ms>", "false", "200", back, "b",
		"1", "-", "<ms>", "<human>",
		"<ms>", "-", "<ms>",
		"<human>", "<ms>", "-",
		"<ms>", "<human>", "api", "main", "false",
		"TLSv1.3", "<cipher>", "<ms>", "-",
		"-", "-", "-", "<ms>",
		"<human>", "-", "0", "-",
	}, "|")
	if got := normalise(t, lines[0]); got != golden {
		t.Errorf("first line\ngot  %s\nwant %s", got, golden)
	}
	// The second request came on the same client connection and went out
	// on the pooled upstream connection.
	second := strings.Split(lines[1], "|")
	idx := func(name string) int {
		for i, n := range strings.Split(everyPlaceholder, "|") {
			if n == name {
				return i
			}
		}
		t.Fatalf("no %s", name)
		return 0
	}
	for name, want := range map[string]string{"{:connection_reused}": "true", "{:upstream_reused}": "true",
		"{:upstream_connect_time}": "-", "{:tls_handshake_time}": "<ms>"} {
		got := second[idx(name)]
		if want == "<ms>" && volatile["ms"].MatchString(got) {
			continue
		}
		if got != want {
			t.Errorf("second line %s = %q; want %q", name, got, want)
		}
	}
	if a, b := strings.Split(lines[0], "|")[idx("{:connection_id}")], second[idx("{:connection_id}")]; a != b {
		t.Errorf("connection ids %s and %s; want one connection", a, b)
	}
}

const rotationConf = `
[servers.daily]
addr = "{{.a}}"
locations = ["all"]
access_log = "{{.dir}}/daily.log?rolling=daily tiny"

[servers.plain]
addr = "{{.b}}"
locations = ["all"]
access_log = "{{.dir}}/plain.log?rolling=never&format=json {method} {status}"

[servers.stdout]
addr = "{{.c}}"
locations = ["all"]
access_log = "?format=json {method} {uri} {status}"

[locations.all]
upstream = "u"

[upstreams.u]
addrs = ["{{.u}}"]
`

// Issue 6: the rolling option names the files as Pingap's appender does,
// JSON lines, and access lines on standard output.
func TestAccessLogFiles(t *testing.T) {
	back := backend(t, func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })
	dir := t.TempDir()
	v := map[string]string{"a": freePort(t), "b": freePort(t), "c": freePort(t), "u": back, "dir": dir}
	conf := filepath.Join(dir, "sluice.toml")
	writeConf(t, conf, rotationConf, v)
	p := start(t, conf, v["a"])
	waitListening(t, p, v["b"])
	waitListening(t, p, v["c"])
	day := time.Now().UTC().Format("2006-01-02")
	for _, a := range []string{v["a"], v["b"], v["c"]} {
		if code, _, _ := httpGet(t, freshClient(t), "http://"+a+"/x?y=1"); code != 200 {
			t.Fatalf("status %d", code)
		}
	}
	lines := waitFile(t, p, filepath.Join(dir, "daily.log."+day), 1)
	if !regexp.MustCompile(`^GET /x\?y=1 200 2B - \d+ms$`).MatchString(lines[0]) {
		t.Errorf("daily line %q", lines[0])
	}
	if lines := waitFile(t, p, filepath.Join(dir, "plain.log"), 1); lines[0] != `{"method":"GET","status":200}` {
		t.Errorf("json line %q", lines[0])
	}
	p.waitLog(`{"method":"GET","uri":"/x?y=1","status":200}`, 1)
}

const metricsConf = `
[servers.main]
addr = "{{.addr}}"
locations = ["api", "dead"]
prometheus_metrics = "/metrics"
access_log = "{{.log}} tiny"

[locations.api]
path = "/api"
upstream = "b"

[locations.dead]
path = "/dead"
upstream = "gone"

[upstreams.b]
addrs = ["{{.b}}"]

[upstreams.gone]
addrs = ["{{.gone}}"]
`

func scrape(t *testing.T, url string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := freshClient(t).Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("GET %s: %d %s", url, resp.StatusCode, b)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parsing %s: %v", url, err)
	}
	return mfs
}

// metricValue returns the value of the series of family name whose labels
// include want ("k=v"), or -1 if there is none.
func metricValue(mfs map[string]*dto.MetricFamily, name string, want ...string) float64 {
	mf := mfs[name]
	if mf == nil {
		return -1
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
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue()
		case m.Gauge != nil:
			return m.Gauge.GetValue()
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount())
		case m.Untyped != nil:
			return m.Untyped.GetValue()
		}
	}
	return -1
}

// Issue 6: the pull endpoint, parsed with the Prometheus text parser,
// after known traffic.
func TestMetricsPull(t *testing.T) {
	back := backend(t, func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "hello") })
	dir := t.TempDir()
	v := map[string]string{"addr": freePort(t), "b": back, "gone": freePort(t), "log": filepath.Join(dir, "a.log")}
	conf := filepath.Join(dir, "sluice.toml")
	writeConf(t, conf, metricsConf, v)
	start(t, conf, v["addr"])
	base := "http://" + v["addr"]
	for range 3 {
		if code, _, _ := httpGet(t, freshClient(t), base+"/api/x"); code != 200 {
			t.Fatalf("/api/x: %d", code)
		}
	}
	for range 2 {
		if code, _, _ := httpGet(t, freshClient(t), base+"/nowhere"); code != 404 {
			t.Fatalf("/nowhere: %d", code)
		}
	}
	// 502, or 503 once the health check has seen the backend is gone.
	if code, _, _ := httpGet(t, freshClient(t), base+"/dead"); code != 502 && code != 503 {
		t.Fatalf("/dead: %d", code)
	}
	waitFile(t, nil, v["log"], 6) // the access-log lines are all handed over
	mfs := scrape(t, base+"/metrics")
	tests := []struct {
		family string
		labels []string
		want   float64
	}{
		{"sluice_http_requests_total", []string{"server=main", "location=api"}, 3},
		{"sluice_http_requests_total", []string{"server=main", "location="}, 2},
		{"sluice_http_requests_total", []string{"server=main", "location=dead"}, 1},
		{"sluice_http_requests_current", []string{"server=main", "location=api"}, 0},
		{"sluice_http_responses_total", []string{"location=api", "code=2xx"}, 3},
		{"sluice_http_responses_total", []string{"location=", "code=4xx"}, 2},
		{"sluice_http_responses_total", []string{"location=dead", "code=5xx"}, 1},
		{"sluice_http_response_time_seconds", []string{"location=api"}, 3},
		{"sluice_http_sent_bytes_total", []string{"location=api"}, 15},
		{"sluice_upstream_processing_time_seconds", []string{"upstream=b"}, 3},
		{"sluice_upstream_backend_healthy", []string{"upstream=b", "backend=" + back}, 1},
		{"sluice_upstream_connections_current", []string{"upstream=b"}, 0},
		{"sluice_access_log_lines_total", []string{"output=" + v["log"]}, 6},
		{"sluice_access_log_dropped_total", []string{"output=" + v["log"]}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.family+fmt.Sprint(tt.labels), func(t *testing.T) {
			if got := metricValue(mfs, tt.family, tt.labels...); got != tt.want {
				t.Errorf("got %v; want %v", got, tt.want)
			}
		})
	}
	for _, f := range []string{"go_goroutines", "process_open_fds", "process_resident_memory_bytes", "sluice_tcp_count"} {
		if mfs[f] == nil {
			t.Errorf("%s missing", f)
		}
	}
}

const pushConf = `
[servers.main]
addr = "{{.addr}}"
locations = ["api"]
prometheus_metrics = "http://{{.gw}}/metrics/job/sluice-e2e/instance/$hostname?interval=300ms"

[locations.api]
upstream = "b"

[upstreams.b]
addrs = ["{{.b}}"]
`

// Issue 6: push to a real prometheus-pushgateway every ?interval= (well
// under Pingap's one minute), read back from the gateway.
func TestMetricsPush(t *testing.T) {
	gwBin, err := findPushgateway()
	if err != nil {
		t.Skip("prometheus-pushgateway is not installed (Debian package prometheus-pushgateway, in make deps)")
	}
	gw := freePort(t)
	// Debian's build persists to /var/lib by default: keep it in memory.
	cmd := exec.Command(gwBin, "--web.listen-address="+gw, "--persistence.file=")
	cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Signal(syscall.SIGTERM); cmd.Wait() })
	waitListening(t, &proc{t: t, done: make(chan struct{})}, gw)

	back := backend(t, func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })
	v := map[string]string{"addr": freePort(t), "b": back, "gw": gw}
	conf := filepath.Join(t.TempDir(), "sluice.toml")
	writeConf(t, conf, pushConf, v)
	start(t, conf, v["addr"])
	for range 4 {
		httpGet(t, freshClient(t), "http://"+v["addr"]+"/x")
	}
	host, _ := os.Hostname()
	want := []string{"job=sluice-e2e", "instance=" + host, "server=main", "location=api"}
	var mfs map[string]*dto.MetricFamily
	deadline := time.Now().Add(10 * time.Second)
	for {
		mfs = scrape(t, "http://"+gw+"/metrics")
		if metricValue(mfs, "sluice_http_requests_total", want...) == 4 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the gateway never had 4 requests: %v", metricValue(mfs, "sluice_http_requests_total", want...))
		}
		time.Sleep(50 * time.Millisecond)
	}
	// The gateway stamps each push: two pushes 300ms apart must both
	// land within a second.
	first := metricValue(mfs, "push_time_seconds", "job=sluice-e2e")
	time.Sleep(time.Second)
	second := metricValue(scrape(t, "http://"+gw+"/metrics"), "push_time_seconds", "job=sluice-e2e")
	if first <= 0 || second-first < 0.3 || second-first > 1.5 {
		t.Errorf("push times %v then %v a second later; want pushes every 300ms", first, second)
	}
	if metricValue(mfs, "go_goroutines", "job=sluice-e2e") < 0 {
		t.Error("the process-wide series were not pushed")
	}
}

// Issue 6: a stuck disk never holds requests up; lines are dropped and
// counted instead.
func TestAccessLogSlowDisk(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "stuck.log")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	// A reader that never reads: the writer's pipe fills and its writes
	// block for good, as on a disk that stopped.
	r, err := os.OpenFile(fifo, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	back := backend(t, func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })
	v := map[string]string{"addr": freePort(t), "b": back, "gone": freePort(t),
		"log": fifo + "?channel_buffer=64"}
	conf := filepath.Join(dir, "sluice.toml")
	writeConf(t, conf, metricsConf, v)
	start(t, conf, v["addr"])

	const n = 3000
	tr := &http.Transport{MaxIdleConnsPerHost: 8}
	c := &http.Client{Transport: tr, Timeout: 5 * time.Second}
	var mu sync.Mutex
	var worst time.Duration
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += 8 {
				t0 := time.Now()
				resp, err := c.Get("http://" + v["addr"] + "/api/" + strings.Repeat("x", 200))
				if err != nil {
					t.Errorf("request %d: %v", i, err)
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				d := time.Since(t0)
				mu.Lock()
				worst = max(worst, d)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if worst > time.Second {
		t.Errorf("slowest request took %v with the log stuck", worst)
	}
	mfs := scrape(t, "http://"+v["addr"]+"/metrics")
	dropped := metricValue(mfs, "sluice_access_log_dropped_total", "output="+fifo)
	written := metricValue(mfs, "sluice_access_log_lines_total", "output="+fifo)
	// Up to the queue (64) and the line stuck in the write are neither.
	if dropped <= 0 || dropped+written > n || dropped+written < n-65 {
		t.Errorf("dropped %v, handed to the file %v; want drops, adding up to %d less at most 65", dropped, written, n)
	}
}

func findPushgateway() (string, error) {
	for _, p := range []string{"/usr/bin/prometheus-pushgateway", "/usr/local/bin/prometheus-pushgateway"} {
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return exec.LookPath("prometheus-pushgateway")
}

const reloadLogConf = `
[servers.main]
addr = "{{.addr}}"
locations = ["all"]
access_log = "{{.log}} {{.format}}"

[locations.all]
upstream = "b"

[upstreams.b]
addrs = ["{{.b}}"]
`

// Issue 6: a reload that keeps the access-log path shares the open file
// (never two descriptors on it) and switches to the new format.
func TestAccessLogReload(t *testing.T) {
	back := backend(t, func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })
	dir := t.TempDir()
	v := map[string]string{"addr": freePort(t), "b": back, "log": filepath.Join(dir, "a.log"), "format": "{status} old"}
	conf := filepath.Join(dir, "sluice.toml")
	writeConf(t, conf, reloadLogConf, v)
	p := start(t, conf, v["addr"])
	httpGet(t, freshClient(t), "http://"+v["addr"]+"/")
	waitFile(t, p, v["log"], 1)

	v["format"] = "{status} new"
	writeConf(t, conf, reloadLogConf, v)
	p.signal(syscall.SIGHUP)
	p.waitLog("config reloaded", 1)
	httpGet(t, freshClient(t), "http://"+v["addr"]+"/")
	lines := waitFile(t, p, v["log"], 2)
	if lines[0] != "200 old" || lines[1] != "200 new" {
		t.Errorf("lines %q; want the old format, then the new one", lines)
	}
	fds, _ := filepath.Glob(fmt.Sprintf("/proc/%d/fd/*", p.cmd.Process.Pid))
	open := 0
	for _, fd := range fds {
		if target, err := os.Readlink(fd); err == nil && target == v["log"] {
			open++
		}
	}
	if len(fds) > 0 && open != 1 {
		t.Errorf("%s is open %d times in the process; want once", v["log"], open)
	}
}

// freshClient returns a client with its own connection pool, so that no
// idle connection to a port an earlier test's process had is reused.
func freshClient(t *testing.T) *http.Client {
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 10 * time.Second}
}
