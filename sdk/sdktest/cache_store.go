package sdktest

import (
	"errors"
	"sort"
	"strings"
	"time"

	"github.com/sluice-proxy/sluice/abi"
	"github.com/sluice-proxy/sluice/abi/cacheabi"
)

// CacheStore fakes sluice's cache stores (the sluice.cache.* foreign
// functions of abi/cacheabi) for plugins that use sdk.CacheStore: entries
// in memory, one store per directory, timed by the Host's clock, with
// locks and their waiters, writes, purges and statistics as the host has
// them. Stores have no size bound beyond each write's own (MaxBody, or
// MaxSize when set): eviction is host/cachestore's, tested there.
//
//	cs := sdktest.NewCacheStore()
//	h := sdktest.Start(t, `{"directory": "memory://t"}`, cs.Option())
type CacheStore struct {
	// MaxSize bounds an entry's body when its write gives no bound; 0
	// means 1 MiB.
	MaxSize int64

	h       *Host
	stores  []*fakeStore
	byDir   map[string]uint32
	writes  map[uint32]*fakeWrite
	next    uint32
	tokens  uint64
	opened  []string
	failing map[string]abi.Status
}

type fakeStore struct {
	entries map[string]*fakeEntry
	locks   map[string]*fakeLock
	stats   cacheabi.Stats
}

type fakeEntry struct {
	meta, body        []byte
	fresh, stale, end time.Time
}

type fakeLock struct {
	token    uint64
	deadline time.Time
	waiters  []uint32
}

type fakeWrite struct {
	store      uint32
	token      uint64
	name       string
	meta, body []byte
	max        int64
	times      [3]time.Duration
	spoiled    bool
}

// NewCacheStore returns an empty fake.
func NewCacheStore() *CacheStore {
	return &CacheStore{byDir: map[string]uint32{}, writes: map[uint32]*fakeWrite{}, failing: map[string]abi.Status{}}
}

// Option installs the fake's foreign functions in a Host.
func (c *CacheStore) Option() Option {
	return func(h *Host) {
		c.h = h
		for name, fn := range map[string]func([]byte) ([]byte, error){
			cacheabi.FuncOpen: c.open, cacheabi.FuncLookup: c.lookup, cacheabi.FuncBegin: c.begin,
			cacheabi.FuncAppend: c.append, cacheabi.FuncCommit: c.commit, cacheabi.FuncAbort: c.abort,
			cacheabi.FuncRelease: c.release, cacheabi.FuncPurge: c.purge, cacheabi.FuncStats: c.statsFn,
		} {
			h.foreign[name] = c.failable(name, fn)
		}
	}
}

// Fail makes the foreign function fn (e.g. cacheabi.FuncBegin) fail with
// st from now on; abi.StatusOK makes it work again.
func (c *CacheStore) Fail(fn string, st abi.Status) {
	if st == abi.StatusOK {
		delete(c.failing, fn)
		return
	}
	c.failing[fn] = st
}

func (c *CacheStore) failable(name string, fn func([]byte) ([]byte, error)) func([]byte) ([]byte, error) {
	return func(args []byte) ([]byte, error) {
		if st, ok := c.failing[name]; ok {
			return nil, &ForeignError{Status: st}
		}
		return fn(args)
	}
}

// Opened returns the directories opened, in order, once each.
func (c *CacheStore) Opened() []string { return append([]string(nil), c.opened...) }

// Keys returns the entries of directory as "namespace|key|variant",
// sorted.
func (c *CacheStore) Keys(directory string) []string {
	s := c.storeOf(directory)
	if s == nil {
		return nil
	}
	var out []string
	for n := range s.entries {
		ns, key, v, _ := cacheabi.Name(n).Split()
		out = append(out, string(ns)+"|"+string(key)+"|"+string(v))
	}
	sort.Strings(out)
	return out
}

// Locks returns how many locks of directory are held.
func (c *CacheStore) Locks(directory string) int {
	if s := c.storeOf(directory); s != nil {
		return len(s.locks)
	}
	return 0
}

// Writes returns how many writes are open.
func (c *CacheStore) Writes() int { return len(c.writes) }

// Stats returns the figures of directory's store.
func (c *CacheStore) Stats(directory string) cacheabi.Stats {
	if s := c.storeOf(directory); s != nil {
		st := s.stats
		st.Entries = uint64(len(s.entries))
		return st
	}
	return cacheabi.Stats{}
}

func (c *CacheStore) storeOf(directory string) *fakeStore {
	d, err := cacheabi.ParseDirectory(directory)
	if err != nil {
		return nil
	}
	h := c.byDir[d.ID()]
	if h == 0 {
		return nil
	}
	return c.stores[h-1]
}

var errBad = &ForeignError{Status: abi.StatusBadArgument, Err: errors.New("bad arguments")}
var errNoWrite = &ForeignError{Status: abi.StatusNotFound, Err: errors.New("unknown write")}

func (c *CacheStore) store(h uint32) (*fakeStore, error) {
	if h == 0 || int(h) > len(c.stores) {
		return nil, errBad
	}
	return c.stores[h-1], nil
}

func (c *CacheStore) open(args []byte) ([]byte, error) {
	d, err := cacheabi.ParseDirectory(string(args))
	if err != nil {
		return nil, &ForeignError{Status: abi.StatusBadArgument, Err: err}
	}
	id := d.ID()
	if c.byDir[id] == 0 {
		c.stores = append(c.stores, &fakeStore{entries: map[string]*fakeEntry{}, locks: map[string]*fakeLock{}})
		c.byDir[id] = uint32(len(c.stores))
		c.opened = append(c.opened, string(args))
	}
	return cacheabi.AppendStore(nil, c.byDir[id]), nil
}

func (c *CacheStore) lookup(args []byte) ([]byte, error) {
	var a cacheabi.LookupArgs
	if a.Decode(args) != nil {
		return nil, errBad
	}
	if _, _, _, err := a.Name.Split(); err != nil {
		return nil, errBad
	}
	s, err := c.store(a.Store)
	if err != nil {
		return nil, err
	}
	now, name := c.h.now, string(a.Name)
	e := s.entries[name]
	if e != nil && !now.Before(e.end) {
		delete(s.entries, name)
		e = nil
	}
	res := cacheabi.LookupResult{Kind: cacheabi.KindMiss}
	switch {
	case e != nil && now.Before(e.fresh):
		res.Kind = cacheabi.KindHit
	case a.Flags&cacheabi.FlagLock == 0:
		if e != nil {
			res.Kind = cacheabi.KindExpired
		}
	default:
		lk := s.locks[name]
		if lk != nil && !now.Before(lk.deadline) {
			delete(s.locks, name)
			lk = nil
		}
		switch {
		case lk == nil:
			c.tokens++
			timeout := time.Duration(a.LockTimeout) * time.Millisecond
			if timeout <= 0 {
				timeout = time.Second
			}
			s.locks[name] = &fakeLock{token: c.tokens, deadline: now.Add(timeout)}
			res.Token = c.tokens
			if e != nil {
				res.Kind = cacheabi.KindExpired
			}
		case e != nil && now.Before(e.stale):
			res.Kind = cacheabi.KindStale
		case a.Waiter != 0:
			res.Kind, res.Token = cacheabi.KindWait, lk.token
			found := false
			for _, q := range lk.waiters {
				found = found || q == a.Waiter
			}
			if !found {
				lk.waiters = append(lk.waiters, a.Waiter)
			}
		case e != nil:
			res.Kind = cacheabi.KindExpired
		}
	}
	switch res.Kind {
	case cacheabi.KindHit:
		s.stats.Hits++
	case cacheabi.KindStale:
		s.stats.Stale++
	case cacheabi.KindExpired:
		s.stats.Expired++
	case cacheabi.KindMiss:
		s.stats.Misses++
	case cacheabi.KindWait:
		s.stats.Waits++
	}
	if res.Kind.HasEntry() {
		res.Meta, res.Body = e.meta, e.body
	}
	return res.Append(nil), nil
}

func (c *CacheStore) begin(args []byte) ([]byte, error) {
	var a cacheabi.BeginArgs
	if a.Decode(args) != nil {
		return nil, errBad
	}
	if _, _, _, err := a.Name.Split(); err != nil {
		return nil, errBad
	}
	if _, err := c.store(a.Store); err != nil {
		return nil, err
	}
	max := c.MaxSize
	if max <= 0 {
		max = 1 << 20
	}
	if a.MaxBody > 0 && int64(a.MaxBody) < max {
		max = int64(a.MaxBody)
	}
	if int64(len(a.Body)) > max {
		return nil, &ForeignError{Status: abi.StatusBadArgument, Err: errors.New("entry too large")}
	}
	ms := func(v uint64) time.Duration { return time.Duration(v) * time.Millisecond }
	w := &fakeWrite{store: a.Store, token: a.Token, name: string(a.Name), meta: append([]byte(nil), a.Meta...),
		body: append([]byte(nil), a.Body...), max: max, times: [3]time.Duration{ms(a.Fresh), ms(a.Stale), ms(a.Keep)}}
	if a.Flags&cacheabi.FlagComplete != 0 {
		res := cacheabi.BeginResult{Wake: c.install(w)}
		return res.Append(nil), nil
	}
	c.next++
	c.writes[c.next] = w
	return (&cacheabi.BeginResult{Handle: c.next}).Append(nil), nil
}

func (c *CacheStore) install(w *fakeWrite) cacheabi.Wake {
	s := c.stores[w.store-1]
	now := c.h.now
	fresh, stale := now.Add(w.times[0]), now.Add(w.times[0]+w.times[1])
	end := now.Add(max(w.times[2], w.times[0]+w.times[1]))
	s.entries[w.name] = &fakeEntry{meta: w.meta, body: w.body, fresh: fresh, stale: stale, end: end}
	s.stats.Writes++
	return c.releaseToken(s, w.token)
}

func (c *CacheStore) releaseToken(s *fakeStore, token uint64) cacheabi.Wake {
	for name, lk := range s.locks {
		if lk.token == token && token != 0 {
			delete(s.locks, name)
			return cacheabi.Wake{Token: token, Queues: lk.waiters}
		}
	}
	return cacheabi.Wake{}
}

func (c *CacheStore) append(args []byte) ([]byte, error) {
	var a cacheabi.AppendArgs
	if a.Decode(args) != nil {
		return nil, errBad
	}
	w := c.writes[a.Handle]
	if w == nil {
		return nil, errNoWrite
	}
	if w.spoiled || int64(len(w.body)+len(a.Data)) > w.max {
		w.spoiled = true
		return nil, &ForeignError{Status: abi.StatusBadArgument, Err: errors.New("entry too large")}
	}
	w.body = append(w.body, a.Data...)
	return nil, nil
}

func (c *CacheStore) commit(args []byte) ([]byte, error) {
	h, err := cacheabi.DecodeHandle(args)
	if err != nil {
		return nil, errBad
	}
	w := c.writes[h]
	if w == nil {
		return nil, errNoWrite
	}
	if w.spoiled {
		return nil, errBad
	}
	delete(c.writes, h)
	wake := c.install(w)
	return wake.Append(nil), nil
}

func (c *CacheStore) abort(args []byte) ([]byte, error) {
	h, err := cacheabi.DecodeHandle(args)
	if err != nil {
		return nil, errBad
	}
	w := c.writes[h]
	if w == nil {
		return nil, errNoWrite
	}
	delete(c.writes, h)
	wake := c.releaseToken(c.stores[w.store-1], w.token)
	return wake.Append(nil), nil
}

func (c *CacheStore) release(args []byte) ([]byte, error) {
	var a cacheabi.ReleaseArgs
	if a.Decode(args) != nil {
		return nil, errBad
	}
	s, err := c.store(a.Store)
	if err != nil {
		return nil, err
	}
	wake := c.releaseToken(s, a.Token)
	return wake.Append(nil), nil
}

func (c *CacheStore) purge(args []byte) ([]byte, error) {
	var a cacheabi.PurgeArgs
	if a.Decode(args) != nil {
		return nil, errBad
	}
	s, err := c.store(a.Store)
	if err != nil {
		return nil, err
	}
	nsPrefix, err := a.Name.NamespacePrefix()
	if err != nil {
		return nil, errBad
	}
	_, key, _, _ := a.Name.Split()
	var n uint64
	for name := range s.entries {
		_, k, _, _ := cacheabi.Name(name).Split()
		var hit bool
		switch a.Scope {
		case cacheabi.PurgeNamespace:
			hit = strings.HasPrefix(name, string(nsPrefix))
		case cacheabi.PurgeKeyPrefix:
			hit = strings.HasPrefix(name, string(nsPrefix)) && strings.HasPrefix(string(k), string(key))
		default:
			hit = strings.HasPrefix(name, string(nsPrefix)) && string(k) == string(key)
		}
		if hit {
			delete(s.entries, name)
			n++
		}
	}
	s.stats.Purged += n
	return cacheabi.AppendCount(nil, n), nil
}

func (c *CacheStore) statsFn(args []byte) ([]byte, error) {
	h, err := cacheabi.DecodeStore(args)
	if err != nil {
		return nil, errBad
	}
	s, err := c.store(h)
	if err != nil {
		return nil, err
	}
	st := s.stats
	st.Entries = uint64(len(s.entries))
	return st.Append(nil), nil
}
