package e2e

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// guest returns the path of a .wasm built from testdata/wasm/NAME.wat.
func guest(t *testing.T, name string) string {
	t.Helper()
	p := filepath.Join(repoRoot, "testdata", "wasm", name+".wasm")
	if _, err := os.Stat(p); err != nil {
		t.Skipf("%s not built (make testdata): %v", p, err)
	}
	return p
}

const chainConf = `
[basic]
wasm_vms = 2
wasm_call_timeout = "200ms"

[servers.main]
addr = "{{.addr}}"
locations = ["order", "local", "callout", "buffer", "tick", "misbehave"]

[locations.order]
path = "/order"
upstream = "b"
plugins = ["first", "second", "third"]

[locations.local]
path = "/local"
upstream = "b"
plugins = ["first", "answer", "third"]

[locations.callout]
path = "/callout"
upstream = "b"
plugins = ["callout"]

[locations.buffer]
path = "/buffer"
upstream = "b"
plugins = ["buffer"]

[locations.tick]
path = "/tick"
upstream = "b"
plugins = ["tick"]

[locations.misbehave]
path = "~^/(fine|trap|loop|memory|proc_exit)$"
upstream = "b"
plugins = ["misbehave"]

[upstreams.b]
addrs = ["{{.b}}"]

[upstreams.auth]
addrs = ["{{.auth}}"]

[plugins.first]
wasm = "{{.order}}"
[plugins.second]
wasm = "{{.order}}"
[plugins.third]
wasm = "{{.order}}"
[plugins.answer]
wasm = "{{.local}}"
[plugins.callout]
wasm = "{{.callout}}"
[plugins.buffer]
wasm = "{{.buffer}}"
[plugins.tick]
wasm = "{{.tick}}"
[plugins.misbehave]
wasm = "{{.misbehave}}"
`

// Issue 3: plugin chains through the real binary.
func TestPluginChains(t *testing.T) {
	var backendHits atomic.Int32
	back := backend(t, func(w http.ResponseWriter, r *http.Request) {
		backendHits.Add(1)
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("X-Seen-Order", strings.Join(r.Header.Values("X-Order"), ","))
		w.Header().Set("X-Seen-User", r.Header.Get("X-User"))
		w.Header().Set("X-Seen-Ok", r.Header.Get("X-Ok"))
		fmt.Fprintf(w, "%s", body)
	})
	var authCalls atomic.Int32
	var denyAuth atomic.Bool
	auth := backend(t, func(w http.ResponseWriter, r *http.Request) {
		authCalls.Add(1)
		b, _ := io.ReadAll(r.Body)
		if r.URL.Path != "/check" || string(b) != "payload" || r.Header.Get("X-From") != "callout" {
			w.WriteHeader(400)
			return
		}
		if denyAuth.Load() {
			w.WriteHeader(403)
			return
		}
		w.Header().Set("X-User", "alice")
	})
	addr := freePort(t)
	conf := filepath.Join(t.TempDir(), "sluice.toml")
	writeConf(t, conf, chainConf, map[string]any{
		"addr": addr, "b": back, "auth": auth,
		"order": guest(t, "order"), "local": guest(t, "local"), "callout": guest(t, "callout"),
		"buffer": guest(t, "buffer"), "tick": guest(t, "tick"), "misbehave": guest(t, "misbehave"),
	})
	p := start(t, conf, addr)
	base := "http://" + addr

	t.Run("request in order, response reversed", func(t *testing.T) {
		resp, err := http.Get(base + "/order")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if got := resp.Header.Get("X-Seen-Order"); got != "first,second,third" {
			t.Errorf("backend saw x-order %q; want first,second,third", got)
		}
		if got := strings.Join(resp.Header.Values("X-Order"), ","); got != "third,second,first" {
			t.Errorf("client got x-order %q; want third,second,first", got)
		}
	})

	t.Run("local response stops the chain and crosses the plugins entered", func(t *testing.T) {
		before := backendHits.Load()
		resp, err := http.Get(base + "/local")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 418 {
			t.Errorf("status %d (%q); want the plugin's 418", resp.StatusCode, body)
		}
		if backendHits.Load() != before {
			t.Error("the backend was reached despite the local response")
		}
		if got := strings.Join(resp.Header.Values("X-Order"), ","); got != "first" {
			t.Errorf("x-order %q; want only the plugin entered before the answer (first)", got)
		}
	})

	t.Run("pause and resume around an http callout", func(t *testing.T) {
		resp, err := http.Get(base + "/callout")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 || resp.Header.Get("X-Seen-User") != "alice" {
			t.Errorf("allowed: %d, backend saw x-user %q; want 200 and alice from the callout", resp.StatusCode, resp.Header.Get("X-Seen-User"))
		}
		denyAuth.Store(true)
		defer denyAuth.Store(false)
		before := backendHits.Load()
		code, body, _ := httpGet(t, http.DefaultClient, base+"/callout")
		if code != 403 || !strings.Contains(body, "forbidden") || backendHits.Load() != before {
			t.Errorf("denied: %d %q (backend reached: %v); want the plugin's 403", code, body, backendHits.Load() != before)
		}
		if authCalls.Load() != 2 {
			t.Errorf("auth upstream called %d times; want 2", authCalls.Load())
		}
	})

	t.Run("body buffering and replacement", func(t *testing.T) {
		resp, err := http.Post(base+"/buffer", "text/plain", strings.NewReader("hello"))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		// The backend echoes "[hello]"; the response plugin wraps it in { }.
		if string(body) != "{[hello]}" {
			t.Errorf("body %q; want {[hello]}", body)
		}
	})

	t.Run("a request held until the plugin's tick", func(t *testing.T) {
		start := time.Now()
		resp, err := http.Get(base + "/tick")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("status %d; want 200 once the tick resumed it", resp.StatusCode)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("took %v; the tick should resume it within ~10ms", d)
		}
	})

	t.Run("a broken plugin fails only its own requests", func(t *testing.T) {
		// Steady traffic through other plugins must not notice.
		stop := make(chan struct{})
		var wg sync.WaitGroup
		var other, otherFailed atomic.Int32
		var firstFailure atomic.Value
		for range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					select {
					case <-stop:
						return
					default:
					}
					resp, err := http.Get(base + "/order")
					if err != nil || resp.StatusCode != 200 {
						otherFailed.Add(1)
						if err == nil {
							b, _ := io.ReadAll(resp.Body)
							err = fmt.Errorf("status %d: %q", resp.StatusCode, b)
						}
						firstFailure.CompareAndSwap(nil, err.Error())
					} else {
						other.Add(1)
					}
					if err == nil {
						resp.Body.Close()
					}
				}
			}()
		}
		for _, bad := range []string{"/trap", "/loop", "/memory", "/proc_exit"} {
			code, _, _ := httpGet(t, http.DefaultClient, base+bad)
			if code != 500 {
				t.Errorf("%s: %d; want 500 (fail_policy closed)", bad, code)
			}
			// The plugin serves again, on a surviving or a fresh VM.
			code, _, h := httpGet(t, http.DefaultClient, base+"/fine")
			if code != 200 || h.Get("X-Seen-Ok") != "1" {
				t.Errorf("after %s: /fine got %d (backend saw x-ok %q); want 200 through the plugin", bad, code, h.Get("X-Seen-Ok"))
			}
		}
		close(stop)
		wg.Wait()
		if otherFailed.Load() != 0 || other.Load() == 0 {
			t.Errorf("other plugins' traffic: %d ok, %d failed (first: %v); want none failed", other.Load(), otherFailed.Load(), firstFailure.Load())
		}
		if !strings.Contains(p.Log(), "plugin VM failed; replacing it") {
			t.Errorf("no log line about the failed VMs:\n%s", p.Log())
		}
	})
}

// Issue 3: a changed .wasm in the plugin dir is swapped in under load with
// no failed request.
func TestPluginHotReplacement(t *testing.T) {
	back := backend(t, func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })
	dir := t.TempDir()
	plugins := filepath.Join(dir, "plugins")
	os.Mkdir(plugins, 0o755)
	copyFile(t, guest(t, "version_a"), filepath.Join(plugins, "ver.wasm"))
	addr := freePort(t)
	conf := filepath.Join(dir, "sluice.toml")
	writeConf(t, conf, `
[basic]
plugin_dir = "plugins"
[servers.main]
addr = "{{.addr}}"
locations = ["all"]
[locations.all]
upstream = "b"
plugins = ["ver"]
[upstreams.b]
addrs = ["{{.b}}"]
[plugins.ver]
category = "ver"
`, map[string]any{"addr": addr, "b": back})
	start(t, conf, addr)

	var failed atomic.Int32
	var sawB atomic.Bool
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				resp, err := http.Get("http://" + addr + "/")
				if err != nil || resp.StatusCode != 200 {
					failed.Add(1)
					if err == nil {
						resp.Body.Close()
					}
					continue
				}
				if resp.Header.Get("X-Version") == "b" {
					sawB.Store(true)
				}
				resp.Body.Close()
			}
		}()
	}
	time.Sleep(200 * time.Millisecond)
	// Write the new version beside and rename it over, as a deploy would.
	copyFile(t, guest(t, "version_b"), filepath.Join(plugins, "ver.wasm.tmp"))
	if err := os.Rename(filepath.Join(plugins, "ver.wasm.tmp"), filepath.Join(plugins, "ver.wasm")); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for !sawB.Load() && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond)
	close(stop)
	wg.Wait()
	if !sawB.Load() {
		t.Fatal("the new module never served a request")
	}
	if failed.Load() != 0 {
		t.Errorf("%d requests failed during the replacement", failed.Load())
	}
}

// Issue 2/3: the default config of `make run` works as README says.
func TestDefaultConfig(t *testing.T) {
	needPlugins(t)
	// Run it on other ports, as written otherwise.
	b, err := os.ReadFile(filepath.Join(repoRoot, "configs", "default.toml"))
	if err != nil {
		t.Fatal(err)
	}
	front, demo := freePort(t), freePort(t)
	s := strings.ReplaceAll(string(b), "0.0.0.0:6188", front)
	s = strings.ReplaceAll(s, "127.0.0.1:6189", demo)
	s = strings.ReplaceAll(s, `plugin_dir = "../plugins"`, fmt.Sprintf("plugin_dir = %q", pluginDir))
	conf := filepath.Join(t.TempDir(), "default.toml")
	if err := os.WriteFile(conf, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
	p := start(t, conf, front)
	code, body, h := httpGet(t, http.DefaultClient, "http://"+front+"/")
	if code != 200 || !strings.Contains(body, "It works.") || h.Get("X-Request-Id") == "" || h.Get("Via") != "1.1 sluice" {
		t.Errorf("GET /: %d %v\n%s", code, h, body)
	}
	code, body, _ = httpGet(t, http.DefaultClient, "http://"+front+"/ping")
	if code != 200 || body != "pong" {
		t.Errorf("GET /ping: %d %q", code, body)
	}
	code, body, _ = httpGet(t, http.DefaultClient, "http://"+front+"/api/hello")
	if code != 200 || !strings.Contains(body, `"hello": "world"`) {
		t.Errorf("GET /api/hello: %d %q", code, body)
	}
	p.signal(syscall.SIGHUP)
	p.waitLog("config reloaded", 1)
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o644); err != nil {
		t.Fatal(err)
	}
}
