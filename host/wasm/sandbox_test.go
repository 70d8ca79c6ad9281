package wasm_test

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluice-proxy/sluice/abi"
	"github.com/sluice-proxy/sluice/host/config"
	"github.com/sluice-proxy/sluice/host/wasm"
)

type observer struct {
	mu      sync.Mutex
	reasons []wasm.FailureReason
}

func (o *observer) VMFailed(module string, r wasm.FailureReason) {
	o.mu.Lock()
	o.reasons = append(o.reasons, r)
	o.mu.Unlock()
}

func (o *observer) count(r wasm.FailureReason) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	n := 0
	for _, x := range o.reasons {
		if x == r {
			n++
		}
	}
	return n
}

// TestSandbox makes a plugin trap, loop forever, exhaust its memory and
// call proc_exit, while other requests keep going through the same plugin:
// each bad request fails per the plugin's policy, only its VM is replaced,
// and no good request fails.
func TestSandbox(t *testing.T) {
	l := newLogs()
	obs := &observer{}
	rt := newRuntime(t, l, wasm.Options{
		VMs: 2, CallTimeout: time.Second, MemoryLimitPages: 256,
		RestartBackoff: 10 * time.Millisecond, Observer: obs,
	})
	set := load(t, rt, map[string]*config.Plugin{"closed": plug(guest(t, "misbehave"), nil)})
	cClosed := chain(t, set, "closed")

	// Good requests, all along.
	var good, bad atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for i := 0; i < 2; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				s := newReq("/ok")
				f := cClosed.NewFilter(s)
				r := f.OnRequestHeaders(context.Background(), true)
				f.Done()
				if r.Outcome == wasm.Continue && first(s, abi.MapHTTPRequestHeaders, "x-ok") == "1" {
					good.Add(1)
				} else {
					bad.Add(1)
					t.Errorf("good request failed: %+v", r)
				}
			}
		}()
	}

	tests := []struct {
		name   string
		path   string
		reason wasm.FailureReason
		err    string
	}{
		{"trap", "/t", wasm.ReasonTrap, "unreachable"},
		{"infinite loop", "/l", wasm.ReasonTimeout, "time budget of 1s"},
		{"memory hog", "/m", wasm.ReasonTrap, "unreachable"},
		{"proc_exit", "/p", wasm.ReasonTrap, "proc_exit(3)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := obs.count(tt.reason)
			start := time.Now()
			f := cClosed.NewFilter(newReq(tt.path))
			r := f.OnRequestHeaders(context.Background(), true)
			f.Done()
			if r.Outcome != wasm.Fail || r.Plugin != "closed" || r.Err == nil || !strings.Contains(r.Err.Error(), tt.err) {
				t.Fatalf("fail_policy closed: %+v; want Fail from closed mentioning %q", r, tt.err)
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("took %v", d)
			}
			waitFor(t, "the failure to be observed", func() bool { return obs.count(tt.reason) > before })
			waitFor(t, "both VMs back", func() bool { return wasm.LiveVMs(rt) == 2 })
		})
	}
	close(stop)
	wg.Wait()
	if good.Load() == 0 || bad.Load() != 0 {
		for _, r := range l.records {
			if r.level >= slog.LevelInfo {
				t.Logf("%v %s %v", r.level, r.msg, r.attrs)
			}
		}
		t.Fatalf("good requests: %d passed, %d failed; want all passed", good.Load(), bad.Load())
	}
	if _, ok := l.find("plugin VM replaced"); !ok {
		t.Error("no replacement logged")
	}
	rec, ok := l.find("plugin VM failed")
	if !ok || rec.level.String() != "ERROR" || !strings.Contains(rec.attrs["plugins"], "closed") {
		t.Errorf("failure log %+v; want an error naming the plugins", rec)
	}
}

// TestBudgetCountsRunningTime drives the watchdog's clock. Regression: it
// counted wall time, so one pause of the whole process (a GC, a loaded CI
// machine) stopped every VM that happened to be in a callback, healthy
// ones included. A late tick now counts as two periods at most, and a
// callback that keeps running is still stopped once on-time ticks add up
// to the budget.
func TestBudgetCountsRunningTime(t *testing.T) {
	ticks := make(chan time.Time)
	o := wasm.Options{VMs: 1, CallTimeout: 400 * time.Millisecond} // ticks every 50ms
	wasm.SetWatchdogTicks(&o, ticks)
	rt := newRuntime(t, nil, o)
	set := load(t, rt, map[string]*config.Plugin{"spin": plug(guest(t, "misbehave"), nil)})
	c := chain(t, set, "spin")
	done := make(chan wasm.Result, 1)
	go func() {
		f := c.NewFilter(newReq("/l")) // loops until stopped
		r := f.OnRequestHeaders(context.Background(), true)
		f.Done()
		done <- r
	}()
	waitFor(t, "the callback to run", func() bool { return wasm.RunningCalls(rt) == 1 })
	now := time.Now()
	tick := func(d time.Duration) {
		now = now.Add(d)
		ticks <- now
	}
	tick(50 * time.Millisecond) // the watchdog sees the call
	for range 3 {
		tick(10 * time.Second) // a stalled process: 100ms each
	}
	select {
	case r := <-done:
		t.Fatalf("stopped after 300ms of running time and 30s of stalls: %+v", r)
	case <-time.After(200 * time.Millisecond):
	}
	tick(50 * time.Millisecond)
	tick(50 * time.Millisecond) // 400ms: the budget
	select {
	case r := <-done:
		if r.Outcome != wasm.Fail || r.Err == nil || !strings.Contains(r.Err.Error(), "time budget") {
			t.Fatalf("result %+v; want a failure over the time budget", r)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the looping callback was not stopped at its budget")
	}
}

// TestFailOpen checks that a plugin with fail_policy "open" is skipped
// when its VM fails, and the rest of the chain runs.
func TestFailOpen(t *testing.T) {
	rt := newRuntime(t, nil, wasm.Options{VMs: 1, CallTimeout: 100 * time.Millisecond})
	set := load(t, rt, map[string]*config.Plugin{
		"open":  {Wasm: guest(t, "misbehave"), FailPolicy: "open"},
		"order": plug(guest(t, "order"), nil),
	})
	c := chain(t, set, "open", "order")
	for _, path := range []string{"/t", "/l", "/m", "/p"} {
		t.Run(path, func(t *testing.T) {
			s := newReq(path)
			f := c.NewFilter(s)
			r := f.OnRequestHeaders(context.Background(), true)
			s.Map(abi.MapHTTPResponseHeaders).Set(":status", "200")
			r2 := f.OnResponseHeaders(context.Background(), true)
			f.Done()
			if r.Outcome != wasm.Continue || r2.Outcome != wasm.Continue {
				t.Fatalf("results %+v, %+v; want Continue without the plugin", r, r2)
			}
			if first(s, abi.MapHTTPRequestHeaders, "x-ok") != "" || first(s, abi.MapHTTPRequestHeaders, "x-order") != "order" {
				t.Fatalf("request headers %q; want the next plugin's only", s.Map(abi.MapHTTPRequestHeaders).Pairs)
			}
			waitFor(t, "the VM back", func() bool { return wasm.LiveVMs(rt) == 2 })
		})
	}
}

// TestReplacementBackoff checks that a VM which keeps failing is replaced
// after growing delays, and that streams fail meanwhile rather than hang.
func TestReplacementBackoff(t *testing.T) {
	l := newLogs()
	rt := newRuntime(t, l, wasm.Options{VMs: 1, RestartBackoff: 20 * time.Millisecond, MaxRestartBackoff: 80 * time.Millisecond})
	set := load(t, rt, map[string]*config.Plugin{"m": plug(guest(t, "misbehave"), nil)})
	c := chain(t, set, "m")
	var fails int
	for i := 0; i < 4; i++ {
		waitFor(t, "a live VM", func() bool { return wasm.LiveVMs(rt) == 1 })
		start := time.Now()
		f := c.NewFilter(newReq("/t"))
		r := f.OnRequestHeaders(context.Background(), true)
		f.Done()
		if r.Outcome == wasm.Fail {
			fails++
		}
		// Right after the failure no VM serves the plugin: fail fast.
		f = c.NewFilter(newReq("/ok"))
		r = f.OnRequestHeaders(context.Background(), true)
		f.Done()
		if wasm.LiveVMs(rt) == 0 && r.Outcome != wasm.Fail {
			t.Errorf("with no VM: %+v; want Fail", r)
		}
		if time.Since(start) > 2*time.Second {
			t.Fatal("request hung while the VM was being replaced")
		}
	}
	if fails != 4 {
		t.Fatalf("%d of 4 trapping requests failed", fails)
	}
	waitFor(t, "a live VM", func() bool { return wasm.LiveVMs(rt) == 1 })
}
