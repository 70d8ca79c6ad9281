package sdk_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/sluice-proxy/sluice/abi"
	"github.com/sluice-proxy/sluice/abi/cacheabi"
	"github.com/sluice-proxy/sluice/sdk"
	"github.com/sluice-proxy/sluice/sdk/sdktest"
)

func TestCacheStore(t *testing.T) {
	cs := sdktest.NewCacheStore()
	h := start(t, &funcs{}, cs.Option())
	s, err := sdk.OpenCacheStore("memory://t?max_size=1mb")
	check(t, "open", err)
	if again, err := sdk.OpenCacheStore("memory://t"); err != nil || again != s {
		t.Errorf("second open = %v, %v; want the same store", again, err)
	}
	name := sdk.CacheName(nil, "ns", "k", "")
	times := sdk.CacheTimes{Fresh: time.Minute, Keep: time.Hour}

	miss, err := s.Lookup(name, true, time.Second, 7)
	check(t, "lookup", err)
	if miss.Kind != sdk.CacheMiss || miss.Token == 0 {
		t.Fatalf("first lookup = %+v; want a miss with the lock", miss)
	}
	wait, err := s.Lookup(name, true, time.Second, 8)
	check(t, "lookup", err)
	if wait.Kind != sdk.CacheWait || wait.Token != miss.Token {
		t.Fatalf("second lookup = %+v; want a wait on %d", wait, miss.Token)
	}
	w, err := s.Begin(name, miss.Token, times, 0, []byte("meta"), []byte("part one, "))
	check(t, "begin", err)
	check(t, "append", w.Append([]byte("part two")))
	wake, err := w.Commit()
	check(t, "commit", err)
	if wake.Token != miss.Token || len(wake.Queues) != 1 || wake.Queues[0] != 8 {
		t.Errorf("wake = %+v; want token %d, queue 8", wake, miss.Token)
	}
	hit, err := s.Lookup(name, true, time.Second, 7)
	check(t, "lookup", err)
	if hit.Kind != sdk.CacheHit || string(hit.Meta) != "meta" || string(hit.Body) != "part one, part two" {
		t.Errorf("hit = %v %q %q", hit.Kind, hit.Meta, hit.Body)
	}

	h.Advance(2 * time.Minute)
	exp, err := s.Lookup(name, true, time.Second, 7)
	check(t, "lookup", err)
	if exp.Kind != sdk.CacheExpired || exp.Token == 0 {
		t.Errorf("after expiry = %+v; want expired with the lock", exp)
	}
	if _, err := s.Release(exp.Token); err != nil {
		t.Error(err)
	}

	// A whole put, a spoiled write, an abort.
	other := sdk.CacheName(nil, "ns", "k", "gzip")
	if _, err := s.Put(other, 0, times, 0, nil, []byte("zipped")); err != nil {
		t.Error(err)
	}
	big, err := s.Begin(sdk.CacheName(nil, "ns", "big", ""), 0, times, 4, nil, []byte("1234"))
	check(t, "begin", err)
	if err := big.Append([]byte("5")); !errors.Is(err, sdk.ErrBadArgument) {
		t.Errorf("append over the bound: %v; want ErrBadArgument", err)
	}
	if _, err := big.Abort(); err != nil {
		t.Error(err)
	}
	if cs.Writes() != 0 {
		t.Errorf("%d writes open; want 0", cs.Writes())
	}

	n, err := s.Purge(sdk.CacheName(nil, "ns", "k", ""), sdk.CachePurgeKey)
	if err != nil || n != 2 {
		t.Errorf("purge of the key = %d, %v; want its 2 variants", n, err)
	}
	for _, k := range []string{"a/1", "a/2", "b/1"} {
		s.Put(sdk.CacheName(nil, "ns", k, ""), 0, times, 0, nil, nil)
	}
	if n, err := s.Purge(sdk.CacheName(nil, "ns", "a/", ""), sdk.CachePurgeKeyPrefix); err != nil || n != 2 {
		t.Errorf("purge of the prefix a/ = %d, %v; want 2", n, err)
	}
	if n, err := s.Purge(sdk.CacheName(nil, "ns", "", ""), sdk.CachePurgeNamespace); err != nil || n != 1 {
		t.Errorf("purge of the namespace = %d, %v; want 1", n, err)
	}
	st, err := s.Stats()
	check(t, "stats", err)
	if st.Writes != 5 || st.Purged != 5 || st.Entries != 0 || st.Waits != 1 {
		t.Errorf("stats = %+v", st)
	}
}

func TestCacheStoreErrors(t *testing.T) {
	tests := []struct {
		name string
		dir  string
		fail abi.Status
		want string
	}{
		{name: "bad directory", dir: "cache", want: "absolute path"},
		{name: "no host store", dir: "", fail: abi.StatusNotFound, want: "provides no cache store"},
		{name: "host refusal", dir: "", fail: abi.StatusBadArgument, want: "BAD_ARGUMENT"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cs := sdktest.NewCacheStore()
			if tc.fail != 0 {
				cs.Fail(cacheabi.FuncOpen, tc.fail)
			}
			start(t, &funcs{}, cs.Option())
			_, err := sdk.OpenCacheStore(tc.dir)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("open %q: %v; want an error with %q", tc.dir, err, tc.want)
			}
		})
	}
}

// TestCacheWakeNotify: the releasing plugin tells the waiters' queues.
func TestCacheWakeNotify(t *testing.T) {
	var got []string
	p := &funcs{
		queue: func(q sdk.Queue) {
			for {
				b, err := q.Dequeue()
				if err != nil {
					return
				}
				got = append(got, string(b))
			}
		},
		reqHeaders: func(r sdk.Request) sdk.Action {
			q, err := sdk.RegisterQueue("waiters")
			check(t, "register", err)
			sdk.CacheWake{Token: 1, Queues: []sdk.Queue{q, q}}.Notify([]byte("stored"))
			return sdk.Continue
		},
	}
	h := start(t, p)
	h.NewStream().SendRequestHeaders(sdktest.Get("/"), true)
	if len(got) != 2 || got[0] != "stored" {
		t.Errorf("queue got %q; want two notices", got)
	}
}
