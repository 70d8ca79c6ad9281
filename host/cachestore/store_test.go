package cachestore

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sluice-proxy/sluice/abi/cacheabi"
)

func TestLookupKinds(t *testing.T) {
	n := name("ns", "example.com/a", "")
	tests := []struct {
		name      string
		setup     func(c *client, s uint32, clk *clock)
		flags     cacheabi.LookupFlags
		waiter    uint32
		want      cacheabi.Kind
		wantToken bool
		wantBody  string
	}{
		{name: "miss", want: cacheabi.KindMiss},
		{name: "miss takes the lock", flags: cacheabi.FlagLock, want: cacheabi.KindMiss, wantToken: true},
		{name: "hit", setup: func(c *client, s uint32, _ *clock) {
			c.put(s, 0, n, "m", "body", time.Minute, 0, 0)
		}, want: cacheabi.KindHit, wantBody: "body"},
		{name: "hit with the lock flag takes no lock", setup: func(c *client, s uint32, _ *clock) {
			c.put(s, 0, n, "m", "body", time.Minute, 0, 0)
		}, flags: cacheabi.FlagLock, want: cacheabi.KindHit, wantBody: "body"},
		{name: "expired", setup: func(c *client, s uint32, clk *clock) {
			c.put(s, 0, n, "m", "old", time.Second, 0, time.Hour)
			clk.Advance(2 * time.Second)
		}, want: cacheabi.KindExpired, wantBody: "old"},
		{name: "expired takes the lock", setup: func(c *client, s uint32, clk *clock) {
			c.put(s, 0, n, "m", "old", time.Second, 0, time.Hour)
			clk.Advance(2 * time.Second)
		}, flags: cacheabi.FlagLock, want: cacheabi.KindExpired, wantToken: true, wantBody: "old"},
		{name: "past keep is a miss", setup: func(c *client, s uint32, clk *clock) {
			c.put(s, 0, n, "m", "old", time.Second, 0, 5*time.Second)
			clk.Advance(6 * time.Second)
		}, want: cacheabi.KindMiss},
		{name: "locked miss waits", setup: func(c *client, s uint32, _ *clock) {
			c.lookup(s, cacheabi.FlagLock, 1, n)
		}, flags: cacheabi.FlagLock, waiter: 2, want: cacheabi.KindWait, wantToken: true},
		{name: "locked miss without a queue goes on", setup: func(c *client, s uint32, _ *clock) {
			c.lookup(s, cacheabi.FlagLock, 1, n)
		}, flags: cacheabi.FlagLock, want: cacheabi.KindMiss},
		{name: "stale while revalidating", setup: func(c *client, s uint32, clk *clock) {
			c.put(s, 0, n, "m", "old", time.Second, time.Minute, 0)
			clk.Advance(2 * time.Second)
			c.lookup(s, cacheabi.FlagLock, 1, n) // the refresher
		}, flags: cacheabi.FlagLock, waiter: 2, want: cacheabi.KindStale, wantBody: "old"},
		{name: "expired past the stale window waits for the refresh", setup: func(c *client, s uint32, clk *clock) {
			c.put(s, 0, n, "m", "old", time.Second, time.Second, time.Hour)
			clk.Advance(3 * time.Second)
			c.lookup(s, cacheabi.FlagLock, 1, n)
		}, flags: cacheabi.FlagLock, waiter: 2, want: cacheabi.KindWait, wantToken: true},
		{name: "an expired lock is taken over", setup: func(c *client, s uint32, clk *clock) {
			c.lookup(s, cacheabi.FlagLock, 1, n)
			clk.Advance(2 * time.Second) // the lookup helper's timeout is 1s
		}, flags: cacheabi.FlagLock, waiter: 2, want: cacheabi.KindMiss, wantToken: true},
		{name: "inactive entries go", setup: func(c *client, s uint32, clk *clock) {
			c.put(s, 0, n, "m", "b", time.Hour, 0, 0)
			clk.Advance(11 * time.Minute)
		}, want: cacheabi.KindMiss},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clk := newClock()
			r := newTestRegistry(t, clk, Options{})
			c := newClient(t, r, "p")
			s := c.open("memory://t?inactive=10m")
			if tc.setup != nil {
				tc.setup(c, s, clk)
			}
			got := c.lookup(s, tc.flags, tc.waiter, n)
			if got.Kind != tc.want || (got.Token != 0) != tc.wantToken || string(got.Body) != tc.wantBody {
				t.Errorf("lookup = %v token %d body %q; want %v token? %v body %q", got.Kind, got.Token, got.Body, tc.want, tc.wantToken, tc.wantBody)
			}
			if tc.wantBody != "" && string(got.Meta) != "m" {
				t.Errorf("meta = %q; want %q", got.Meta, "m")
			}
		})
	}
}

func TestCoalescing(t *testing.T) {
	clk := newClock()
	r := newTestRegistry(t, clk, Options{})
	c := newClient(t, r, "p")
	s := c.open("")
	n := name("", "k", "")

	first := c.lookup(s, cacheabi.FlagLock, 10, n)
	if first.Kind != cacheabi.KindMiss || first.Token == 0 {
		t.Fatalf("first lookup = %v %d; want a miss with the lock", first.Kind, first.Token)
	}
	// Waiters from three queues, one of them twice.
	for _, q := range []uint32{11, 12, 11, 13} {
		w := c.lookup(s, cacheabi.FlagLock, q, n)
		if w.Kind != cacheabi.KindWait || w.Token != first.Token {
			t.Fatalf("waiter %d: %v %d; want wait on %d", q, w.Kind, w.Token, first.Token)
		}
	}
	wake := c.put(s, first.Token, n, "m", "b", time.Minute, 0, 0)
	if wake.Token != first.Token || !slices.Equal(wake.Queues, []uint32{11, 12, 13}) {
		t.Errorf("wake = %+v; want token %d queues [11 12 13]", wake, first.Token)
	}
	if got := c.lookup(s, cacheabi.FlagLock, 11, n); got.Kind != cacheabi.KindHit {
		t.Errorf("after the commit: %v; want hit", got.Kind)
	}
	// Releasing again (or an unknown token) wakes nobody.
	if w := c.release(s, first.Token); len(w.Queues) != 0 {
		t.Errorf("second release woke %v", w.Queues)
	}
	st := c.stats(s)
	if st.Misses != 1 || st.Waits != 4 || st.Hits != 1 || st.Writes != 1 {
		t.Errorf("stats = %+v; want 1 miss, 4 waits, 1 hit, 1 write", st)
	}
}

func TestReleaseAndAbortWake(t *testing.T) {
	tests := []struct {
		name string
		end  func(c *client, s uint32, token uint64, n cacheabi.Name) cacheabi.Wake
	}{
		{"release", func(c *client, s uint32, token uint64, _ cacheabi.Name) cacheabi.Wake { return c.release(s, token) }},
		{"abort", func(c *client, s uint32, token uint64, n cacheabi.Name) cacheabi.Wake {
			h, err := c.begin(s, token, n, 0, "part")
			if err != nil {
				c.t.Fatal(err)
			}
			w, err := c.end(cacheabi.FuncAbort, h)
			if err != nil {
				c.t.Fatal(err)
			}
			return w
		}},
		{"commit", func(c *client, s uint32, token uint64, n cacheabi.Name) cacheabi.Wake {
			h, err := c.begin(s, token, n, 0, "part")
			if err != nil {
				c.t.Fatal(err)
			}
			if err := c.appendBody(h, "-two"); err != nil {
				c.t.Fatal(err)
			}
			w, err := c.end(cacheabi.FuncCommit, h)
			if err != nil {
				c.t.Fatal(err)
			}
			return w
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := newTestRegistry(t, newClock(), Options{})
			c := newClient(t, r, "p")
			s := c.open("")
			n := name("", "k", "")
			lk := c.lookup(s, cacheabi.FlagLock, 1, n)
			c.lookup(s, cacheabi.FlagLock, 2, n)
			w := tc.end(c, s, lk.Token, n)
			if w.Token != lk.Token || !slices.Equal(w.Queues, []uint32{2}) {
				t.Errorf("wake = %+v; want token %d queue 2", w, lk.Token)
			}
			// The lock is free: the next lookup takes it or hits.
			got := c.lookup(s, cacheabi.FlagLock, 3, n)
			if tc.name == "commit" {
				if got.Kind != cacheabi.KindHit || string(got.Body) != "part-two" {
					t.Errorf("after commit: %v %q; want hit part-two", got.Kind, got.Body)
				}
			} else if got.Kind != cacheabi.KindMiss || got.Token == 0 || got.Token == lk.Token {
				t.Errorf("after %s: %v token %d; want a miss with a new lock", tc.name, got.Kind, got.Token)
			}
		})
	}
}

func TestEviction(t *testing.T) {
	clk := newClock()
	r := newTestRegistry(t, clk, Options{})
	c := newClient(t, r, "p")
	// Each entry costs its body, name, meta and entryOverhead: about 1.2
	// KB; the bound holds four.
	s := c.open("memory://evict?max_size=5000")
	body := strings.Repeat("x", 1000)
	keys := []string{"a", "b", "c", "d"}
	for _, k := range keys {
		c.put(s, 0, name("", k, ""), "", body, time.Hour, 0, 0)
		clk.Advance(time.Millisecond)
	}
	if got := c.stats(s); got.Entries != 4 || got.Evictions != 0 {
		t.Fatalf("stats after 4 puts = %+v; want 4 entries", got)
	}
	c.lookup(s, 0, 0, name("", "a", "")) // a is now the most recent
	c.put(s, 0, name("", "e", ""), "", body, time.Hour, 0, 0)
	st := c.stats(s)
	if st.Entries != 4 || st.Evictions != 1 || st.Size > st.MaxSize {
		t.Errorf("stats = %+v; want 4 entries, 1 eviction, size within bound", st)
	}
	if got := c.lookup(s, 0, 0, name("", "b", "")); got.Kind != cacheabi.KindMiss {
		t.Errorf("b (least recently used) = %v; want evicted", got.Kind)
	}
	for _, k := range []string{"a", "c", "d", "e"} {
		if got := c.lookup(s, 0, 0, name("", k, "")); got.Kind != cacheabi.KindHit {
			t.Errorf("%s = %v; want hit", k, got.Kind)
		}
	}
	// An entry bigger than the whole store is refused.
	if _, err := c.tryPut(s, 0, name("", "huge", ""), "", strings.Repeat("y", 6000), time.Hour, 0, 0); statusOf(err) != "BAD_ARGUMENT" {
		t.Errorf("huge put: %v; want BAD_ARGUMENT", err)
	}
	// Lowering the bound on a second Open evicts at once.
	c.open("memory://evict?max_size=2500")
	if st := c.stats(s); st.Entries != 2 || st.Size > 2500 {
		t.Errorf("after shrinking: %+v; want 2 entries", st)
	}
}

func TestWrites(t *testing.T) {
	r := newTestRegistry(t, newClock(), Options{})
	c := newClient(t, r, "p")
	other := newClient(t, r, "q")
	s := c.open("")
	n := name("", "k", "")

	h, err := c.begin(s, 0, n, 10, "12345")
	if err != nil {
		t.Fatal(err)
	}
	if err := other.appendBody(h, "x"); statusOf(err) != "NOT_FOUND" {
		t.Errorf("another plugin's append: %v; want NOT_FOUND", err)
	}
	if _, err := other.end(cacheabi.FuncCommit, h); statusOf(err) != "NOT_FOUND" {
		t.Errorf("another plugin's commit: %v; want NOT_FOUND", err)
	}
	if err := c.appendBody(h, "6789"); err != nil {
		t.Fatal(err)
	}
	if err := c.appendBody(h, "01"); statusOf(err) != "BAD_ARGUMENT" {
		t.Errorf("append over the bound: %v; want BAD_ARGUMENT", err)
	}
	if _, err := c.end(cacheabi.FuncCommit, h); statusOf(err) != "BAD_ARGUMENT" {
		t.Errorf("commit of a spoiled write: %v; want BAD_ARGUMENT", err)
	}
	if _, err := c.end(cacheabi.FuncAbort, h); err != nil {
		t.Errorf("abort of a spoiled write: %v", err)
	}
	if _, err := c.end(cacheabi.FuncAbort, h); statusOf(err) != "NOT_FOUND" {
		t.Errorf("second abort: %v; want NOT_FOUND", err)
	}
	if got := c.lookup(s, 0, 0, n); got.Kind != cacheabi.KindMiss {
		t.Errorf("after the aborted write: %v; want miss", got.Kind)
	}
	if _, err := c.begin(s, 0, n, 3, "1234"); statusOf(err) != "BAD_ARGUMENT" {
		t.Errorf("begin over the bound: %v; want BAD_ARGUMENT", err)
	}
}

func TestWriteLimitsAndReaping(t *testing.T) {
	clk := newClock()
	r := newTestRegistry(t, clk, Options{MaxWrites: 2, WriteIdle: time.Minute})
	c := newClient(t, r, "p")
	s := c.open("")
	lk := c.lookup(s, cacheabi.FlagLock, 0, name("", "a", ""))
	if _, err := c.begin(s, lk.Token, name("", "a", ""), 0, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := c.begin(s, 0, name("", "b", ""), 0, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := c.begin(s, 0, name("", "c", ""), 0, ""); statusOf(err) != "INTERNAL_FAILURE" {
		t.Errorf("third write: %v; want INTERNAL_FAILURE", err)
	}
	clk.Advance(2 * time.Minute)
	// The idle writes are reaped; their lock is free again.
	if _, err := c.begin(s, 0, name("", "c", ""), 0, ""); err != nil {
		t.Errorf("after reaping: %v", err)
	}
	if got := c.lookup(s, cacheabi.FlagLock, 5, name("", "a", "")); got.Kind != cacheabi.KindMiss || got.Token == 0 {
		t.Errorf("lock of a reaped write: %v %d; want free", got.Kind, got.Token)
	}
}

func TestPurge(t *testing.T) {
	r := newTestRegistry(t, newClock(), Options{})
	c := newClient(t, r, "p")
	s := c.open("")
	for _, n := range []cacheabi.Name{
		name("web", "k", ""), name("web", "k", "gzip"), name("web", "k", "br"),
		name("web", "k2", ""), name("web2", "k", ""), name("", "k", ""),
	} {
		c.put(s, 0, n, "", "b", time.Hour, 0, 0)
	}
	if got := c.purge(s, cacheabi.PurgeKey, name("web", "k", "anything")); got != 3 {
		t.Errorf("purge of a key removed %d; want its 3 variants", got)
	}
	if got := c.lookup(s, 0, 0, name("web", "k2", "")); got.Kind != cacheabi.KindHit {
		t.Errorf("another key of the namespace: %v; want hit", got.Kind)
	}
	if got := c.purge(s, cacheabi.PurgeNamespace, name("web", "", "")); got != 1 {
		t.Errorf("purge of the namespace removed %d; want 1", got)
	}
	for _, n := range []cacheabi.Name{name("web2", "k", ""), name("", "k", "")} {
		if got := c.lookup(s, 0, 0, n); got.Kind != cacheabi.KindHit {
			t.Errorf("other namespaces: %v; want hit", got.Kind)
		}
	}
	if st := c.stats(s); st.Purged != 4 || st.Entries != 2 {
		t.Errorf("stats = %+v; want 4 purged, 2 left", st)
	}

	// By key prefix: every key of the namespace under a path.
	for _, n := range []cacheabi.Name{
		name("web", "h/a/1", ""), name("web", "h/a/2", "gzip"), name("web", "h/a", ""),
		name("web", "h/b/1", ""), name("web2", "h/a/1", ""),
	} {
		c.put(s, 0, n, "", "b", time.Hour, 0, 0)
	}
	if got := c.purge(s, cacheabi.PurgeKeyPrefix, name("web", "h/a/", "")); got != 2 {
		t.Errorf("purge of the prefix h/a/ removed %d; want 2", got)
	}
	for k, want := range map[string]cacheabi.Kind{"h/a": cacheabi.KindHit, "h/b/1": cacheabi.KindHit, "h/a/1": cacheabi.KindMiss} {
		if got := c.lookup(s, 0, 0, name("web", k, "")); got.Kind != want {
			t.Errorf("%s after the prefix purge: %v; want %v", k, got.Kind, want)
		}
	}
	if got := c.lookup(s, 0, 0, name("web2", "h/a/1", "")); got.Kind != cacheabi.KindHit {
		t.Errorf("the prefix purge reached another namespace")
	}
}

func TestOpen(t *testing.T) {
	tests := []struct {
		name    string
		dirs    []string
		same    bool
		maxSize uint64
		err     string
	}{
		{name: "same directory, same store", dirs: []string{"memory://a?max_size=1mb", "memory://a?max_size=2mb"}, same: true, maxSize: 2e6},
		{name: "default memory size", dirs: []string{""}, same: true, maxSize: 100 << 20},
		{name: "names tell memory stores apart", dirs: []string{"memory://a", "memory://b"}},
		{name: "percentage of the machine's memory", dirs: []string{"memory://?max_size=10"}, same: true, maxSize: 1 << 30},
		{name: "bad directory", dirs: []string{"relative/path"}, err: "absolute path"},
		{name: "unknown parameter", dirs: []string{"memory://?size=1"}, err: "unknown parameter"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := newTestRegistry(t, newClock(), Options{MemTotal: func() int64 { return 10 << 30 }})
			c := newClient(t, r, "p")
			var handles []uint32
			for _, d := range tc.dirs {
				out, err := c.call(cacheabi.FuncOpen, []byte(d))
				if tc.err != "" {
					if statusOf(err) != "BAD_ARGUMENT" || !strings.Contains(err.Error(), tc.err) {
						t.Fatalf("open %q: %v; want BAD_ARGUMENT with %q", d, err, tc.err)
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				h, _ := cacheabi.DecodeStore(out)
				handles = append(handles, h)
			}
			if same := slices.Min(handles) == slices.Max(handles); same != tc.same {
				t.Errorf("handles %v; want one store: %v", handles, tc.same)
			}
			if tc.maxSize != 0 {
				if got := c.stats(handles[len(handles)-1]).MaxSize; got != tc.maxSize {
					t.Errorf("max size %d; want %d", got, tc.maxSize)
				}
			}
		})
	}
}

func TestBadArguments(t *testing.T) {
	r := newTestRegistry(t, newClock(), Options{})
	c := newClient(t, r, "p")
	s := c.open("")
	good := (&cacheabi.LookupArgs{Store: s, Name: name("", "k", "")}).Append(nil)
	tests := []struct {
		name string
		fn   string
		args []byte
		want string
	}{
		{"lookup garbage", cacheabi.FuncLookup, []byte{1, 2}, "BAD_ARGUMENT"},
		{"lookup unknown store", cacheabi.FuncLookup, (&cacheabi.LookupArgs{Store: 99, Name: name("", "k", "")}).Append(nil), "BAD_ARGUMENT"},
		{"lookup malformed name", cacheabi.FuncLookup, (&cacheabi.LookupArgs{Store: s, Name: cacheabi.Name{9}}).Append(nil), "BAD_ARGUMENT"},
		{"lookup ok", cacheabi.FuncLookup, good, "OK"},
		{"begin garbage", cacheabi.FuncBegin, []byte{1}, "BAD_ARGUMENT"},
		{"begin malformed name", cacheabi.FuncBegin, (&cacheabi.BeginArgs{Store: s, Name: cacheabi.Name{1}}).Append(nil), "BAD_ARGUMENT"},
		{"append garbage", cacheabi.FuncAppend, []byte{1}, "BAD_ARGUMENT"},
		{"append unknown", cacheabi.FuncAppend, (&cacheabi.AppendArgs{Handle: 42}).Append(nil), "NOT_FOUND"},
		{"commit garbage", cacheabi.FuncCommit, nil, "BAD_ARGUMENT"},
		{"commit unknown", cacheabi.FuncCommit, cacheabi.AppendHandle(nil, 42), "NOT_FOUND"},
		{"abort unknown", cacheabi.FuncAbort, cacheabi.AppendHandle(nil, 42), "NOT_FOUND"},
		{"release garbage", cacheabi.FuncRelease, []byte{1}, "BAD_ARGUMENT"},
		{"purge bad scope", cacheabi.FuncPurge, append(cacheabi.AppendStore(nil, s), 9, 0, 0, 0, 0), "BAD_ARGUMENT"},
		{"stats unknown store", cacheabi.FuncStats, cacheabi.AppendStore(nil, 0), "BAD_ARGUMENT"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := c.call(tc.fn, tc.args); statusOf(err) != tc.want {
				t.Errorf("%s: %v; want %s", tc.fn, err, tc.want)
			}
		})
	}
}

func TestFunctionsCoverTheABI(t *testing.T) {
	fns := NewRegistry(Options{}).Functions()
	for _, f := range cacheabi.Funcs {
		if fns[f] == nil {
			t.Errorf("no implementation of %s", f)
		}
	}
	if len(fns) != len(cacheabi.Funcs) {
		t.Errorf("%d functions; abi/cacheabi declares %d", len(fns), len(cacheabi.Funcs))
	}
}

func TestSweep(t *testing.T) {
	clk := newClock()
	r := newTestRegistry(t, clk, Options{SweepInterval: time.Minute})
	c := newClient(t, r, "p")
	s := c.open("")
	for i := range 10 {
		c.put(s, 0, name("", fmt.Sprint(i), ""), "", "b", time.Second, 0, 0)
	}
	c.put(s, 0, name("", "long", ""), "", "b", time.Hour, 0, 0)
	c.lookup(s, cacheabi.FlagLock, 0, name("", "locked", ""))
	clk.Advance(2 * time.Minute)
	c.lookup(s, 0, 0, name("", "long", "")) // triggers the sweep
	r.Close()                               // waits for it
	st, _ := r.store(s)
	if got := st.Stats().Entries; got != 1 {
		t.Errorf("entries after the sweep: %d; want 1", got)
	}
	st.mu.Lock()
	locks := len(st.locks)
	st.mu.Unlock()
	if locks != 0 {
		t.Errorf("%d locks after the sweep; want 0", locks)
	}
}
