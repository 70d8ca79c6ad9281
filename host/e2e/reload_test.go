package e2e

import (
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

const reloadConf = `
[basic]
log_level = "info"
grace_period = "5s"

[servers.main]
addr = "{{.addr}}"
locations = ["all"]

[locations.all]
upstream = "{{.up}}"
proxy_set_headers = ["X-Gen: {{.gen}}"]

[upstreams.a]
addrs = ["{{.a}}"]

[upstreams.b]
addrs = ["{{.b}}"]
`

// Issue 2: a reload under continuous load fails no request.
func TestReloadUnderLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("50 reloads under load")
	}
	handler := func(name string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprintf(w, "%s gen=%s", name, r.Header.Get("X-Gen"))
		}
	}
	a, b := backend(t, handler("a")), backend(t, handler("b"))
	addr := freePort(t)
	conf := filepath.Join(t.TempDir(), "sluice.toml")
	data := map[string]any{"addr": addr, "a": a, "b": b, "up": "a", "gen": 0}
	writeConf(t, conf, reloadConf, data)
	p := start(t, conf, addr)

	var ok, failed atomic.Int64
	var firstErr atomic.Value
	stop := make(chan struct{})
	var wg sync.WaitGroup
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16}, Timeout: 10 * time.Second}
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				resp, err := client.Get("http://" + addr + "/")
				if err != nil {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
					continue
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, fmt.Sprintf("%d %s", resp.StatusCode, body))
					continue
				}
				ok.Add(1)
			}
		}()
	}

	const reloads = 50
	for i := 1; i <= reloads; i++ {
		data["gen"] = i
		data["up"] = []string{"a", "b"}[i%2]
		writeConf(t, conf, reloadConf, data)
		p.signal(syscall.SIGHUP)
		p.waitLog("config reloaded", i)
		want := fmt.Sprintf("%s gen=%d", data["up"], i)
		_, body, _ := httpGet(t, client, "http://"+addr+"/")
		if body != want {
			t.Fatalf("after reload %d: got %q; want %q", i, body, want)
		}
	}
	close(stop)
	wg.Wait()
	t.Logf("%d requests during %d reloads, %d failed", ok.Load(), reloads, failed.Load())
	if failed.Load() != 0 {
		t.Fatalf("%d requests failed during reloads; first: %v", failed.Load(), firstErr.Load())
	}
	if ok.Load() < reloads {
		t.Fatalf("only %d requests went through; the load did not run", ok.Load())
	}
}

// Issue 2: a bad config is refused with every error and the old one keeps
// serving.
func TestBadReloadKeepsRunningConfig(t *testing.T) {
	back := backend(t, func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "gen="+r.Header.Get("X-Gen")) })
	addr := freePort(t)
	conf := filepath.Join(t.TempDir(), "sluice.toml")
	data := map[string]any{"addr": addr, "a": back, "b": back, "up": "a", "gen": 1}
	writeConf(t, conf, reloadConf, data)
	p := start(t, conf, addr)

	bad := strings.Replace(reloadConf, `upstream = "{{.up}}"`, `upsteram = "a"
upstream = "missing"`, 1)
	writeConf(t, conf, bad, data)
	p.signal(syscall.SIGHUP)
	p.waitLog("reload refused", 1)
	log := p.Log()
	for _, want := range []string{`locations.all.upsteram`, `did you mean \"upstream\"`, `unknown upstream \"missing\"`} {
		if !strings.Contains(log, want) {
			t.Errorf("reload error does not mention %s:\n%s", want, log)
		}
	}
	if code, body, _ := httpGet(t, http.DefaultClient, "http://"+addr+"/"); code != 200 || body != "gen=1" {
		t.Errorf("after a refused reload: %d %q; want the old config's 200 gen=1", code, body)
	}
}

// Regression: SIGHUP was subscribed to only once the listeners were open,
// so one that came while the plugins compiled ended the process (the
// signal's default action). A loaded test run lost
// TestBadReloadKeepsRunningConfig that way. A SIGHUP during startup now
// reloads once the proxy is up.
func TestSIGHUPDuringStartup(t *testing.T) {
	needPlugins(t)
	back := backend(t, func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })
	addr := freePort(t)
	conf := filepath.Join(t.TempDir(), "sluice.toml")
	writeConf(t, conf, `
[basic]
plugin_dir = "{{.plugins}}"
work_stealing = true
[servers.main]
addr = "{{.addr}}"
locations = ["all"]
[locations.all]
upstream = "b"
plugins = ["noop"]
[upstreams.b]
addrs = ["{{.b}}"]
[plugins.noop]
category = "noop"
`, map[string]any{"addr": addr, "b": back, "plugins": pluginDir})
	p := launch(t, conf)
	// The warning is logged once the config is read, before the plugin is
	// compiled and the listener opened.
	p.waitLog("work_stealing", 1)
	p.signal(syscall.SIGHUP)
	waitListening(t, p, addr)
	p.waitLog("config reloaded", 1)
	if code, body, _ := httpGet(t, http.DefaultClient, "http://"+addr+"/"); code != 200 || body != "ok" {
		t.Errorf("after a SIGHUP during startup: %d %q; want 200 ok", code, body)
	}
}

// Issue 2: SIGTERM drains in-flight requests before the process exits.
func TestGracefulShutdown(t *testing.T) {
	started := make(chan struct{}, 1)
	back := backend(t, func(w http.ResponseWriter, r *http.Request) {
		started <- struct{}{}
		time.Sleep(time.Second)
		io.WriteString(w, "finished")
	})
	addr := freePort(t)
	conf := filepath.Join(t.TempDir(), "sluice.toml")
	writeConf(t, conf, reloadConf, map[string]any{"addr": addr, "a": back, "b": back, "up": "a", "gen": 1})
	p := start(t, conf, addr)

	type result struct {
		code int
		body string
		err  error
	}
	res := make(chan result, 1)
	go func() {
		resp, err := http.Get("http://" + addr + "/")
		if err != nil {
			res <- result{err: err}
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		res <- result{code: resp.StatusCode, body: string(b)}
	}()
	<-started
	p.signal(syscall.SIGTERM)
	r := <-res
	if r.err != nil || r.code != 200 || r.body != "finished" {
		t.Errorf("in-flight request during shutdown: %d %q %v; want 200 finished", r.code, r.body, r.err)
	}
	select {
	case <-p.done:
		if p.err != nil {
			t.Errorf("sluice exited with %v after SIGTERM; want 0", p.err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("sluice still running 10s after SIGTERM")
	}
}
