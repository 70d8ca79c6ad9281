package e2e

import (
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"text/template"
	"time"
)

const benchConf = `
[servers.main]
addr = "{{.addr}}"
locations = ["all"]
{{.obs}}

[locations.all]
upstream = "b"

[upstreams.b]
addrs = ["{{.b}}"]
`

// BenchmarkObservers measures the proxy's throughput through the real
// binary with observability off, and with an access log (combined, to a
// file) and Prometheus metrics on; the ratio of the two req/s figures is
// the cost of observing (issue 6 target: on ≥ 0.9 × off).
//
//	go test -run XXX -bench Observers -benchtime 20000x ./host/e2e
func BenchmarkObservers(b *testing.B) {
	back := benchBackend(b)
	for _, bc := range []struct{ name, obs string }{
		{"off", ""},
		{"log+metrics", `access_log = "{{.dir}}/access.log combined"
prometheus_metrics = "/metrics"`},
	} {
		b.Run(bc.name, func(b *testing.B) {
			dir := b.TempDir()
			addr := freePortB(b)
			var obs bytesBuffer
			template.Must(template.New("o").Parse(bc.obs)).Execute(&obs, map[string]string{"dir": dir})
			conf := filepath.Join(dir, "sluice.toml")
			f, _ := os.Create(conf)
			template.Must(template.New("c").Parse(benchConf)).Execute(f, map[string]string{"addr": addr, "b": back, "obs": obs.String()})
			f.Close()
			cmd := exec.Command(binPath, "run", "-c", conf)
			cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
			if err := cmd.Start(); err != nil {
				b.Fatal(err)
			}
			defer func() { cmd.Process.Signal(syscall.SIGTERM); cmd.Wait() }()
			for deadline := time.Now().Add(20 * time.Second); ; {
				if c, err := net.Dial("tcp", addr); err == nil {
					c.Close()
					break
				}
				if time.Now().After(deadline) {
					b.Fatal("sluice did not start")
				}
				time.Sleep(20 * time.Millisecond)
			}
			c := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
			url := "http://" + addr + "/bench"
			b.SetParallelism(8)
			b.ResetTimer()
			start := time.Now()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					resp, err := c.Get(url)
					if err != nil {
						b.Error(err)
						return
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
			})
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "req/s")
		})
	}
}

type bytesBuffer struct{ b []byte }

func (w *bytesBuffer) Write(p []byte) (int, error) { w.b = append(w.b, p...); return len(p), nil }
func (w *bytesBuffer) String() string              { return string(w.b) }

func benchBackend(b *testing.B) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "hello, world")
	})}
	go srv.Serve(l)
	b.Cleanup(func() { srv.Close() })
	return l.Addr().String()
}

func freePortB(b *testing.B) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}
