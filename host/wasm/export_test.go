package wasm

import "time"

// SetWatchdogTicks makes the runtime built from o take its watchdog's ticks
// from ch instead of a ticker, for tests.
func SetWatchdogTicks(o *Options, ch <-chan time.Time) { o.ticks = ch }

// RunningCalls counts the VMs inside a guest call, for tests.
func RunningCalls(rt *Runtime) int {
	rt.vmsMu.Lock()
	defer rt.vmsMu.Unlock()
	n := 0
	for v := range rt.vms {
		if v.seq.Load()%2 == 1 {
			n++
		}
	}
	return n
}

// SharedValue returns a value of the shared store, for tests.
func SharedValue(rt *Runtime, vmID, key string) ([]byte, bool) {
	rt.shared.mu.Lock()
	defer rt.shared.mu.Unlock()
	e, ok := rt.shared.data[vmID][key]
	return e.value, ok
}

// LiveVMs counts the VMs serving streams (installed and not failed), for
// tests.
func LiveVMs(rt *Runtime) int {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	n := 0
	for _, p := range rt.pools {
		for i := range p.slots {
			if v := p.slots[i].Load(); v != nil && !v.dead.Load() {
				n++
			}
		}
	}
	return n
}

// Modules counts the compiled modules in use, for tests.
func Modules(rt *Runtime) int {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	return len(rt.pools)
}
