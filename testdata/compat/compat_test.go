//go:build !wasm

package main

import (
	"bytes"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestSluiceRunsPublicSDKPlugin starts the real sluice binary with
// compat.wasm in a location in front of a test backend, and checks what the
// plugin promises: the header on the request upstream and on the response,
// and the local answer on its path.
//
// It needs the binary (SLUICE_BIN, default ../../bin/sluice: `make build`)
// and compat.wasm (./build.sh); without them it skips.
func TestSluiceRunsPublicSDKPlugin(t *testing.T) {
	bin := os.Getenv("SLUICE_BIN")
	if bin == "" {
		bin = filepath.Join("..", "..", "bin", "sluice")
	}
	bin, _ = filepath.Abs(bin)
	wasm, _ := filepath.Abs("compat.wasm")
	for _, f := range []string{bin, wasm} {
		if _, err := os.Stat(f); err != nil {
			t.Skipf("%s missing (make build; testdata/compat/build.sh): %v", f, err)
		}
	}

	seen := make(chan string, 4)
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen <- r.Header.Get("X-Sdk")
		w.Header().Set("X-Sdk", "from-backend")
		io.WriteString(w, "backend")
	}))
	defer backend.Close()

	addr := freeAddr(t)
	conf := filepath.Join(t.TempDir(), "sluice.toml")
	err := os.WriteFile(conf, []byte(`
[upstreams.backend]
addrs = ["`+strings.TrimPrefix(backend.URL, "http://")+`"]

[locations.main]
upstream = "backend"
plugins = ["compat"]

[servers.main]
addr = "`+addr+`"
locations = ["main"]

[plugins.compat]
wasm = "`+wasm+`"
header = "x-sdk"
value = "yes"
path = "/hello"
`), 0o644)
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	cmd := exec.Command(bin, "run", "-c", conf)
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	defer func() {
		cmd.Process.Signal(os.Interrupt)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
		}
		if t.Failed() {
			t.Logf("sluice output:\n%s", logs.String())
		}
	}()
	waitListening(t, addr, exited, 60*time.Second) // a cold compile of a Go plugin takes seconds

	resp, err := http.Get("http://" + addr + "/app")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != "backend" || resp.Header.Get("X-Sdk") != "yes" {
		t.Errorf("/app: %d %q x-sdk=%q; want 200 backend yes", resp.StatusCode, body, resp.Header.Get("X-Sdk"))
	}
	select {
	case got := <-seen:
		if got != "yes" {
			t.Errorf("backend saw x-sdk %q; want yes", got)
		}
	case <-time.After(5 * time.Second):
		t.Error("backend not reached")
	}

	resp, err = http.Get("http://" + addr + "/hello")
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.HasPrefix(string(body), "hello from compat (") || resp.Header.Get("X-Sdk") != "yes" {
		t.Errorf("/hello: %d %q x-sdk=%q; want 200 \"hello from compat (...\" yes", resp.StatusCode, body, resp.Header.Get("X-Sdk"))
	}
	select {
	case <-seen:
		t.Error("/hello reached the backend; the plugin should have answered it")
	default:
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func waitListening(t *testing.T, addr string, exited <-chan struct{}, limit time.Duration) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			t.Fatal("sluice exited before listening")
		default:
		}
		if c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond); err == nil {
			c.Close()
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("sluice did not listen on %s within %v", addr, limit)
}
