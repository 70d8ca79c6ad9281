package cachestore

import (
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sluice-proxy/sluice/abi/cacheabi"
	"github.com/sluice-proxy/sluice/host/config"
)

// TestHammer runs many callers against few names on a memory and a disk
// store: each lookup either hits a complete entry, or is the one fetcher
// of its name, or waits; nothing may be torn, and the bound must hold.
// Run it with -race.
func TestHammer(t *testing.T) {
	for _, dir := range []string{"memory://hammer?max_size=64kb", t.TempDir() + "?max_size=64kb"} {
		t.Run(strings.SplitN(dir, "?", 2)[0], func(t *testing.T) {
			r := newTestRegistry(t, newClock(), Options{})
			workers, rounds := 8, 300
			if testing.Short() {
				rounds = 60
			}
			var fetchers, hits atomic.Int64
			var wg sync.WaitGroup
			s := newClient(t, r, "p").open(dir)
			for w := range workers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					c := newClient(t, r, fmt.Sprint("p", w))
					for i := range rounds {
						key := fmt.Sprint("k", (i*7+w)%13)
						n := name("ns", key, "")
						res := c.lookup(s, cacheabi.FlagLock, uint32(w+1), n)
						switch res.Kind {
						case cacheabi.KindHit:
							hits.Add(1)
							if want := strings.Repeat(key, 500); string(res.Body) != want || string(res.Meta) != "meta" {
								t.Errorf("torn entry %s: %d bytes, meta %q", key, len(res.Body), res.Meta)
								return
							}
						case cacheabi.KindMiss:
							if res.Token == 0 {
								continue
							}
							fetchers.Add(1)
							body := strings.Repeat(key, 500)
							h, err := c.begin(s, res.Token, n, 0, body[:100])
							if err != nil {
								t.Error(err)
								return
							}
							c.appendBody(h, body[100:])
							if i%5 == 0 {
								c.end(cacheabi.FuncAbort, h)
								continue
							}
							if _, err := c.end(cacheabi.FuncCommit, h); err != nil {
								t.Error(err)
								return
							}
						case cacheabi.KindWait:
						default:
							t.Errorf("unexpected %v", res.Kind)
							return
						}
						if i%50 == 0 {
							c.purge(s, cacheabi.PurgeKey, n)
						}
					}
				}()
			}
			wg.Wait()
			st, _ := r.store(s)
			stats := st.Stats()
			if stats.Size > stats.MaxSize {
				t.Errorf("size %d over the bound %d", stats.Size, stats.MaxSize)
			}
			if hits.Load() == 0 || fetchers.Load() == 0 {
				t.Errorf("hits %d, fetchers %d: the hammer did not exercise both", hits.Load(), fetchers.Load())
			}
			// The index agrees with itself.
			st.mu.Lock()
			var sum int64
			n := 0
			for e := st.lru.next; e != &st.lru; e = e.next {
				sum += e.size
				n++
			}
			if sum != st.size || n != len(st.entries) {
				t.Errorf("recency list: %d entries, %d bytes; index: %d entries, %d bytes", n, sum, len(st.entries), st.size)
			}
			st.mu.Unlock()
		})
	}
}

func TestCollector(t *testing.T) {
	r := newTestRegistry(t, newClock(), Options{})
	c := newClient(t, r, "p")
	s := c.open("memory://m?max_size=1mb")
	c.put(s, 0, name("", "a", ""), "", "body", time.Hour, 0, 0)
	c.lookup(s, 0, 0, name("", "a", ""))
	c.lookup(s, 0, 0, name("", "b", ""))
	// The pedantic registry checks that what is collected matches what is
	// described.
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(r.Collector())
	tests := []struct {
		name   string
		metric string
		want   float64
	}{
		{"entries", "sluice_cache_entries", 1},
		{"max size", "sluice_cache_max_size_bytes", 1e6},
		{"writes", "sluice_cache_writes_total", 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			mfs, err := reg.Gather()
			if err != nil {
				t.Fatal(err)
			}
			for _, mf := range mfs {
				if mf.GetName() != tc.metric {
					continue
				}
				m := mf.GetMetric()[0]
				v := m.GetGauge().GetValue() + m.GetCounter().GetValue()
				if v != tc.want || m.GetLabel()[0].GetValue() != "memory://m" {
					t.Errorf("%s = %v %v; want %v on memory://m", tc.metric, v, m.GetLabel(), tc.want)
				}
				return
			}
			t.Errorf("%s not collected", tc.metric)
		})
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	lookups := map[string]float64{}
	for _, mf := range mfs {
		if !strings.HasPrefix(mf.GetName(), "sluice_cache_") {
			t.Errorf("metric %s outside the sluice_cache_ family", mf.GetName())
		}
		if mf.GetName() != "sluice_cache_lookups_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "result" {
					lookups[l.GetValue()] = m.GetCounter().GetValue()
				}
			}
		}
	}
	want := map[string]float64{"hit": 1, "miss": 1, "stale": 0, "expired": 0, "wait": 0}
	if fmt.Sprint(lookups) != fmt.Sprint(want) {
		t.Errorf("lookups by result %v; want %v", lookups, want)
	}
}

// TestSizesAgreeWithConfig: a plugin's sizes (parsed in the guest by
// abi/cacheabi) must mean what the same text means in the config.
func TestSizesAgreeWithConfig(t *testing.T) {
	for _, s := range []string{"0", "512", "1kb", "1KiB", "64 kib", "1.5mib", "10gb", "2G", "3tib", "1pb", "mb", "1xb", "-1", "1..2k", ""} {
		t.Run(s, func(t *testing.T) {
			a, errA := cacheabi.ParseSize(s)
			b, errB := config.ParseByteSize(s)
			if a != b || (errA == nil) != (errB == nil) {
				t.Errorf("cacheabi.ParseSize(%q) = %d, %v; config.ParseByteSize = %d, %v", s, a, errA, b, errB)
			}
		})
	}
}

// FuzzFunctions feeds arbitrary arguments to every function: none may
// panic, and every refusal must be one of the documented statuses.
func FuzzFunctions(f *testing.F) {
	n := name("ns", "k", "v")
	f.Add(0, (&cacheabi.LookupArgs{Store: 1, Flags: cacheabi.FlagLock, Waiter: 3, Name: n}).Append(nil))
	f.Add(1, (&cacheabi.BeginArgs{Store: 1, Flags: cacheabi.FlagComplete, Fresh: 1000, Name: n, Body: []byte("b")}).Append(nil))
	f.Add(1, (&cacheabi.BeginArgs{Store: 1, Fresh: 1000, Name: n, Body: []byte("b")}).Append(nil))
	f.Add(2, (&cacheabi.AppendArgs{Handle: 1, Data: []byte("x")}).Append(nil))
	f.Add(3, cacheabi.AppendHandle(nil, 1))
	f.Add(6, (&cacheabi.PurgeArgs{Store: 1, Scope: cacheabi.PurgeKey, Name: n}).Append(nil))
	f.Fuzz(func(t *testing.T, fn int, args []byte) {
		r := NewRegistry(Options{Logger: slog.New(slog.DiscardHandler), Now: newClock().Now, MaxWrites: 4})
		defer r.Close()
		fns := r.Functions()
		if _, err := fns[cacheabi.FuncOpen]("p", []byte("memory://fuzz?max_size=4kb")); err != nil {
			t.Fatal(err)
		}
		names := []string{cacheabi.FuncLookup, cacheabi.FuncBegin, cacheabi.FuncAppend, cacheabi.FuncCommit,
			cacheabi.FuncAbort, cacheabi.FuncRelease, cacheabi.FuncPurge, cacheabi.FuncStats, cacheabi.FuncOpen}
		fnName := names[(fn%len(names)+len(names))%len(names)]
		if fnName == cacheabi.FuncOpen {
			return // opening arbitrary paths would touch the file system
		}
		_, err := fns[fnName]("p", args)
		if err != nil && statusOf(err) == "INTERNAL_FAILURE" && err != ErrTooManyWrites {
			t.Errorf("%s(%v): %v is not a documented refusal", fnName, args, err)
		}
	})
}
