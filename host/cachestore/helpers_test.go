package cachestore

import (
	"errors"
	"io/fs"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/sluice-proxy/sluice/abi/cacheabi"
)

// clock is a settable clock for Options.Now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Unix(1_700_000_000, 0)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// client calls a registry's foreign functions as a plugin would, through
// the byte encodings of abi/cacheabi.
type client struct {
	t      testing.TB
	fns    map[string]Func
	plugin string
}

func newClient(t testing.TB, r *Registry, plugin string) *client {
	return &client{t: t, fns: r.Functions(), plugin: plugin}
}

func (c *client) call(fn string, args []byte) ([]byte, error) {
	c.t.Helper()
	f := c.fns[fn]
	if f == nil {
		c.t.Fatalf("no function %s", fn)
	}
	return f(c.plugin, args)
}

func (c *client) must(fn string, args []byte) []byte {
	c.t.Helper()
	out, err := c.call(fn, args)
	if err != nil {
		c.t.Fatalf("%s: %v", fn, err)
	}
	return out
}

func (c *client) open(dir string) uint32 {
	c.t.Helper()
	h, err := cacheabi.DecodeStore(c.must(cacheabi.FuncOpen, []byte(dir)))
	if err != nil {
		c.t.Fatal(err)
	}
	return h
}

func name(ns, key, variant string) cacheabi.Name {
	return cacheabi.Name(cacheabi.AppendName(nil, ns, key, variant))
}

func (c *client) lookup(store uint32, flags cacheabi.LookupFlags, waiter uint32, n cacheabi.Name) cacheabi.LookupResult {
	c.t.Helper()
	a := cacheabi.LookupArgs{Store: store, Flags: flags, LockTimeout: 1000, Waiter: waiter, Name: n}
	var res cacheabi.LookupResult
	if err := res.Decode(c.must(cacheabi.FuncLookup, a.Append(nil))); err != nil {
		c.t.Fatal(err)
	}
	return res
}

// put stores a whole entry: fresh for fresh, then stale for stale, kept
// for keep (0: fresh+stale).
func (c *client) put(store uint32, token uint64, n cacheabi.Name, meta, body string, fresh, stale, keep time.Duration) cacheabi.Wake {
	c.t.Helper()
	res, err := c.tryPut(store, token, n, meta, body, fresh, stale, keep)
	if err != nil {
		c.t.Fatalf("put: %v", err)
	}
	return res.Wake
}

func (c *client) tryPut(store uint32, token uint64, n cacheabi.Name, meta, body string, fresh, stale, keep time.Duration) (cacheabi.BeginResult, error) {
	a := cacheabi.BeginArgs{Store: store, Token: token, Flags: cacheabi.FlagComplete,
		Fresh: uint64(fresh.Milliseconds()), Stale: uint64(stale.Milliseconds()), Keep: uint64(keep.Milliseconds()),
		Name: n, Meta: []byte(meta), Body: []byte(body)}
	var res cacheabi.BeginResult
	out, err := c.call(cacheabi.FuncBegin, a.Append(nil))
	if err != nil {
		return res, err
	}
	if err := res.Decode(out); err != nil {
		c.t.Fatal(err)
	}
	return res, nil
}

func (c *client) begin(store uint32, token uint64, n cacheabi.Name, maxBody uint64, first string) (uint32, error) {
	a := cacheabi.BeginArgs{Store: store, Token: token, Fresh: 60_000, Keep: 60_000, MaxBody: maxBody,
		Name: n, Meta: []byte("meta"), Body: []byte(first)}
	out, err := c.call(cacheabi.FuncBegin, a.Append(nil))
	if err != nil {
		return 0, err
	}
	var res cacheabi.BeginResult
	if err := res.Decode(out); err != nil {
		c.t.Fatal(err)
	}
	return res.Handle, nil
}

func (c *client) appendBody(h uint32, data string) error {
	a := cacheabi.AppendArgs{Handle: h, Data: []byte(data)}
	_, err := c.call(cacheabi.FuncAppend, a.Append(nil))
	return err
}

func (c *client) end(fn string, h uint32) (cacheabi.Wake, error) {
	out, err := c.call(fn, cacheabi.AppendHandle(nil, h))
	var w cacheabi.Wake
	if err == nil {
		err = w.Decode(out)
	}
	return w, err
}

func (c *client) release(store uint32, token uint64) cacheabi.Wake {
	c.t.Helper()
	a := cacheabi.ReleaseArgs{Store: store, Token: token}
	var w cacheabi.Wake
	if err := w.Decode(c.must(cacheabi.FuncRelease, a.Append(nil))); err != nil {
		c.t.Fatal(err)
	}
	return w
}

func (c *client) purge(store uint32, scope cacheabi.PurgeScope, n cacheabi.Name) uint64 {
	c.t.Helper()
	a := cacheabi.PurgeArgs{Store: store, Scope: scope, Name: n}
	v, err := cacheabi.DecodeCount(c.must(cacheabi.FuncPurge, a.Append(nil)))
	if err != nil {
		c.t.Fatal(err)
	}
	return v
}

func (c *client) stats(store uint32) cacheabi.Stats {
	c.t.Helper()
	var st cacheabi.Stats
	if err := st.Decode(c.must(cacheabi.FuncStats, cacheabi.AppendStore(nil, store))); err != nil {
		c.t.Fatal(err)
	}
	return st
}

// newTestRegistry returns a registry on clk, closed when the test ends.
func newTestRegistry(t testing.TB, clk *clock, o Options) *Registry {
	o.Now = clk.Now
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	r := NewRegistry(o)
	t.Cleanup(func() { r.Close() })
	return r
}

// statusOf names the status wasm.ErrorFunc would give err.
func statusOf(err error) string {
	switch {
	case err == nil:
		return "OK"
	case errors.Is(err, fs.ErrNotExist):
		return "NOT_FOUND"
	case errors.Is(err, fs.ErrInvalid):
		return "BAD_ARGUMENT"
	}
	return "INTERNAL_FAILURE"
}
