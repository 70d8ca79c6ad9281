package wasm_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluice-proxy/sluice/host/config"
	"github.com/sluice-proxy/sluice/host/wasm"
)

// guestDir holds the WAT guests and their .wasm (make testdata).
var guestDir = filepath.Join("..", "..", "testdata", "wasm")

func guest(t testing.TB, name string) string {
	t.Helper()
	p, err := filepath.Abs(filepath.Join(guestDir, name+".wasm"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("guest %s missing (run make testdata): %v", name, err)
	}
	return p
}

// logs captures log records, for tests reading what guests log.
type logs struct {
	mu      sync.Mutex
	records []logRecord
	changed chan struct{}
}

type logRecord struct {
	level  slog.Level
	msg    string
	plugin string
	attrs  map[string]string
}

func newLogs() *logs { return &logs{changed: make(chan struct{}, 1)} }

func (l *logs) handler() slog.Handler { return &logHandler{l: l} }

type logHandler struct {
	l     *logs
	attrs []slog.Attr
}

func (h *logHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *logHandler) WithGroup(string) slog.Handler            { return h }
func (h *logHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return &logHandler{l: h.l, attrs: append(append([]slog.Attr{}, h.attrs...), as...)}
}

func (h *logHandler) Handle(_ context.Context, r slog.Record) error {
	rec := logRecord{level: r.Level, msg: r.Message, attrs: map[string]string{}}
	add := func(a slog.Attr) bool {
		rec.attrs[a.Key] = a.Value.String()
		if a.Key == "plugin" {
			rec.plugin = a.Value.String()
		}
		return true
	}
	for _, a := range h.attrs {
		add(a)
	}
	r.Attrs(add)
	h.l.mu.Lock()
	h.l.records = append(h.l.records, rec)
	h.l.mu.Unlock()
	select {
	case h.l.changed <- struct{}{}:
	default:
	}
	return nil
}

// messages returns the messages logged by plugin (all if ""), in order.
func (l *logs) messages(plugin string) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, r := range l.records {
		if plugin == "" || r.plugin == plugin {
			out = append(out, r.msg)
		}
	}
	return out
}

// find returns the first record whose message contains s.
func (l *logs) find(s string) (logRecord, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, r := range l.records {
		if strings.Contains(r.msg, s) {
			return r, true
		}
	}
	return logRecord{}, false
}

func (l *logs) reset() {
	l.mu.Lock()
	l.records = nil
	l.mu.Unlock()
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// newRuntime returns a runtime logging into l, closed with the test.
func newRuntime(t testing.TB, l *logs, o wasm.Options) *wasm.Runtime {
	t.Helper()
	if o.CacheDir == "" {
		o.CacheDir = wasm.NoCacheDir
	}
	if o.VMs == 0 {
		o.VMs = 2
	}
	if l != nil {
		o.Logger = slog.New(l.handler())
	} else if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	o.NoWatch = o.NoWatch || !strings.Contains(t.Name(), "Hot")
	rt, err := wasm.NewRuntime(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := rt.Close(context.Background()); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return rt
}

// plug returns a plugin config running the module at path with params.
func plug(path string, params map[string]any) *config.Plugin {
	return &config.Plugin{Wasm: path, Params: params}
}

// load loads plugins and returns the set, closed with the test.
func load(t testing.TB, rt *wasm.Runtime, plugins map[string]*config.Plugin) *wasm.Set {
	t.Helper()
	set, err := rt.Load(context.Background(), plugins, t.TempDir())
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	t.Cleanup(set.Close)
	return set
}

func chain(t testing.TB, set *wasm.Set, names ...string) *wasm.Chain {
	t.Helper()
	c, err := set.Chain(names)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// fakeCaller answers http callouts from a function, counting calls.
type fakeCaller struct {
	upstreams map[string]bool
	answer    func(upstream string, headers [][2]string, body []byte) (int, [][2]string, []byte, [][2]string, error)
	mu        sync.Mutex
	calls     []string
}

func (c *fakeCaller) HasUpstream(name string) bool { return c.upstreams[name] }

func (c *fakeCaller) Call(ctx context.Context, upstream string, headers [][2]string, body []byte, trailers [][2]string,
	timeout time.Duration) (int, [][2]string, []byte, [][2]string, error) {
	c.mu.Lock()
	c.calls = append(c.calls, fmt.Sprintf("%s %q %q %q %v", upstream, headers, body, trailers, timeout))
	c.mu.Unlock()
	return c.answer(upstream, headers, body)
}
