// Package e2e drives the real sluice binary against real backends on
// loopback: the binary is built once in TestMain, each test writes a config,
// starts the process, sends traffic and signals.
package e2e

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"text/template"
	"time"
)

var (
	binPath   string
	pluginDir string // built plugins (make plugins), "" if none
	repoRoot  string
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "sluice-e2e")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	repoRoot, _ = filepath.Abs(filepath.Join("..", ".."))
	binPath = filepath.Join(dir, "sluice")
	build := exec.Command("go", "build", "-o", binPath, "./cmd/sluice")
	build.Dir = repoRoot
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building sluice:", err)
		os.Exit(1)
	}
	if p := filepath.Join(repoRoot, "plugins"); hasWasm(p) {
		pluginDir = p
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func hasWasm(dir string) bool {
	m, _ := filepath.Glob(filepath.Join(dir, "*.wasm"))
	return len(m) > 0
}

// needPlugins skips a test that needs the built plugins when `make plugins`
// has not run (make test always runs it first).
func needPlugins(t *testing.T) {
	t.Helper()
	if pluginDir == "" {
		t.Skip("plugins/*.wasm not built: run `make plugins` (make test does)")
	}
}

// freePort returns a loopback address nothing listens on right now.
func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// proc is a running sluice.
type proc struct {
	t    *testing.T
	cmd  *exec.Cmd
	conf string
	mu   sync.Mutex
	log  bytes.Buffer
	done chan struct{}
	err  error
}

func (p *proc) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.log.Write(b)
}

// Log returns what the process logged so far.
func (p *proc) Log() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.log.String()
}

// writeConf renders a text/template config into path.
func writeConf(t *testing.T, path, conf string, data any) {
	t.Helper()
	var b bytes.Buffer
	if err := template.Must(template.New("c").Option("missingkey=error").Parse(conf)).Execute(&b, data); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// start runs `sluice run -c conf` and waits until addr answers.
func start(t *testing.T, conf, addr string, env ...string) *proc {
	t.Helper()
	p := launch(t, conf, env...)
	waitListening(t, p, addr)
	return p
}

// launch runs `sluice run -c conf` and returns at once; the process is
// stopped when the test ends.
func launch(t *testing.T, conf string, env ...string) *proc {
	t.Helper()
	p := &proc{t: t, conf: conf, done: make(chan struct{})}
	p.cmd = exec.Command(binPath, "run", "-c", conf)
	p.cmd.Stdout, p.cmd.Stderr = p, p
	p.cmd.Env = append(os.Environ(), env...)
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.err = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(10 * time.Second):
			p.cmd.Process.Kill()
			<-p.done
		}
		if t.Failed() {
			t.Logf("sluice log:\n%s", p.Log())
		}
	})
	return p
}

func waitListening(t *testing.T, p *proc, addr string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-p.done:
			t.Fatalf("sluice exited: %v\n%s", p.err, p.Log())
		default:
		}
		if c, err := net.DialTimeout("tcp", addr, 100*time.Millisecond); err == nil {
			c.Close()
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("sluice does not listen on %s after 30s:\n%s", addr, p.Log())
}

// signal sends sig to the process.
func (p *proc) signal(sig os.Signal) {
	if err := p.cmd.Process.Signal(sig); err != nil {
		p.t.Fatal(err)
	}
}

// waitLog waits until the log contains s n times in all.
func (p *proc) waitLog(s string, n int) {
	p.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if strings.Count(p.Log(), s) >= n {
			return
		}
		select {
		case <-p.done:
			p.t.Fatalf("sluice exited (%v) before its log had %q %d times:\n%s", p.err, s, n, p.Log())
		case <-time.After(10 * time.Millisecond):
		}
	}
	p.t.Fatalf("log never had %q %d times:\n%s", s, n, p.Log())
}

// backend is a real HTTP server on loopback.
func backend(t *testing.T, h http.HandlerFunc) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return l.Addr().String()
}

// validateRefuses runs `sluice validate -c conf`, which must refuse the
// config and print every string of want; it returns the output.
func validateRefuses(t *testing.T, conf string, want ...string) string {
	t.Helper()
	b, err := exec.Command(binPath, "validate", "-c", conf).CombinedOutput()
	out := string(b)
	if err == nil {
		t.Fatalf("validate accepted the config:\n%s", out)
	}
	missing := false
	for _, w := range want {
		if !strings.Contains(out, w) {
			t.Errorf("validate output lacks %q", w)
			missing = true
		}
	}
	if missing {
		t.Logf("validate output:\n%s", out)
	}
	return out
}

func httpGet(t *testing.T, c *http.Client, url string) (int, string, http.Header) {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}
