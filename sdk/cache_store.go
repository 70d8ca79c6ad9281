package sdk

import (
	"errors"
	"time"

	"github.com/sluice-proxy/sluice/abi"
	"github.com/sluice-proxy/sluice/abi/cacheabi"
	"github.com/sluice-proxy/sluice/sdk/internal/hostcall"
)

// CacheStore is a cache store of the host (the sluice.cache.* foreign
// functions of abi/cacheabi): a bounded set of entries in memory or on
// disk, shared by every plugin and VM that opens the same directory and
// kept across config reloads. An entry is a meta (the plugin's own
// encoding of a response's status and headers) and a body, named by
// namespace, key and variant (CacheName). The host keeps bytes and times;
// what to store, for how long and what to answer is the plugin's.
//
// A lookup may take the name's lock (request coalescing): the caller that
// gets it fetches, and concurrent lookups that name a queue get CacheWait;
// the fetcher's Commit, Abort or Release returns a CacheWake that names
// their queues, and the plugin tells them.
type CacheStore struct{ handle uint32 }

// CacheKind is the outcome of a lookup.
type CacheKind = cacheabi.Kind

// Lookup outcomes.
const (
	// CacheMiss: no entry (the caller may hold the lock: Token != 0).
	CacheMiss = cacheabi.KindMiss
	// CacheHit: a fresh entry.
	CacheHit = cacheabi.KindHit
	// CacheStale: an entry past its freshness, within its
	// stale-while-revalidate time, that another caller refreshes.
	CacheStale = cacheabi.KindStale
	// CacheExpired: an entry past its freshness (the caller may hold the
	// lock to refresh it).
	CacheExpired = cacheabi.KindExpired
	// CacheWait: another caller holds the lock; the caller's queue gets
	// word of its release.
	CacheWait = cacheabi.KindWait
)

// CacheEntry is the result of a lookup. Meta and Body belong to the
// caller.
type CacheEntry struct {
	Kind CacheKind
	// Token is the lock: the caller's own with CacheMiss and
	// CacheExpired (0 when it got none), the one waited on with CacheWait.
	Token uint64
	Meta  []byte
	Body  []byte
}

// CacheTimes say how long a stored entry lasts, from now: Fresh, then
// Stale more during which it is served while one caller refreshes it, and
// at all Keep (at least Fresh+Stale; after it the store may drop it).
type CacheTimes struct {
	Fresh, Stale, Keep time.Duration
}

// CacheWake names the callers waiting on a released lock.
type CacheWake struct {
	Token  uint64
	Queues []Queue
}

// Notify enqueues msg on every waiting queue. Errors (a queue gone with
// its VM) are ignored: the waiters time out on their own.
func (w CacheWake) Notify(msg []byte) {
	for _, q := range w.Queues {
		_ = q.Enqueue(msg)
	}
}

// CacheWrite is an entry being stored, body part by part.
type CacheWrite struct{ handle uint32 }

// cacheArgs is the scratch buffer of the arguments: a VM runs one callback
// at a time, and the host copies the arguments before it returns.
var cacheArgs []byte

// CacheName appends the packed name of an entry to dst: namespace, key and
// variant ("" for a response that does not vary). The variants of one key
// are purged together.
func CacheName(dst []byte, namespace, key, variant string) []byte {
	return cacheabi.AppendName(dst, namespace, key, variant)
}

// ParseCacheDirectory checks a store directory ("", memory://NAME?... or
// an absolute path with ?max_size=...; see abi/cacheabi.Directory) without
// opening it, for a precise configuration error.
func ParseCacheDirectory(directory string) error {
	_, err := cacheabi.ParseDirectory(directory)
	return err
}

// ErrNoCacheStore is returned by OpenCacheStore when the host provides no
// cache store.
var ErrNoCacheStore = errors.New("the host provides no cache store (foreign function " + cacheabi.FuncOpen + ")")

// OpenCacheStore opens (or creates) the host's store of directory.
func OpenCacheStore(directory string) (CacheStore, error) {
	if err := ParseCacheDirectory(directory); err != nil {
		return CacheStore{}, err
	}
	res, st := hostcall.CallForeignFunction(cacheabi.FuncOpen, []byte(directory))
	switch st {
	case abi.StatusOK:
	case abi.StatusNotFound:
		return CacheStore{}, ErrNoCacheStore
	default:
		return CacheStore{}, statusErr("open cache store", st)
	}
	h, err := cacheabi.DecodeStore(res)
	if err != nil {
		return CacheStore{}, err
	}
	return CacheStore{handle: h}, nil
}

// Lookup finds the entry name. With lock it takes the name's lock on a
// miss or an expired entry, for lockTimeout; waiter is the queue told when
// another caller's lock is released (0: the caller cannot wait, and gets
// CacheMiss or CacheExpired without the lock instead of CacheWait).
func (s CacheStore) Lookup(name []byte, lock bool, lockTimeout time.Duration, waiter Queue) (CacheEntry, error) {
	a := cacheabi.LookupArgs{Store: s.handle, Waiter: uint32(waiter), Name: name}
	if lock {
		a.Flags = cacheabi.FlagLock
		a.LockTimeout = uint32(min(max(lockTimeout.Milliseconds(), 1), 1<<32-1))
	}
	cacheArgs = a.Append(cacheArgs[:0])
	res, st := hostcall.CallForeignFunction(cacheabi.FuncLookup, cacheArgs)
	if st != abi.StatusOK {
		return CacheEntry{}, statusErr("cache lookup", st)
	}
	var r cacheabi.LookupResult
	if err := r.Decode(res); err != nil {
		return CacheEntry{}, err
	}
	return CacheEntry{Kind: r.Kind, Token: r.Token, Meta: r.Meta, Body: r.Body}, nil
}

func ms(d time.Duration) uint64 { return uint64(max(d.Milliseconds(), 0)) }

func (s CacheStore) begin(name []byte, token uint64, t CacheTimes, maxBody int64, meta, body []byte, flags cacheabi.BeginFlags) (cacheabi.BeginResult, error) {
	a := cacheabi.BeginArgs{
		Store: s.handle, Token: token, Flags: flags,
		Fresh: ms(t.Fresh), Stale: ms(t.Stale), Keep: ms(t.Keep), MaxBody: uint64(max(maxBody, 0)),
		Name: name, Meta: meta, Body: body,
	}
	cacheArgs = a.Append(cacheArgs[:0])
	res, st := hostcall.CallForeignFunction(cacheabi.FuncBegin, cacheArgs)
	if len(cacheArgs) > 64<<10 {
		cacheArgs = nil // do not keep a large body's copy
	}
	if st != abi.StatusOK {
		return cacheabi.BeginResult{}, statusErr("cache write", st)
	}
	var r cacheabi.BeginResult
	err := r.Decode(res)
	return r, err
}

// Put stores a whole entry; token is the caller's lock, released by the
// put (0: none). maxBody bounds the body (0: the store's bound). On error
// the lock stays held: Release it.
func (s CacheStore) Put(name []byte, token uint64, t CacheTimes, maxBody int64, meta, body []byte) (CacheWake, error) {
	r, err := s.begin(name, token, t, maxBody, meta, body, cacheabi.FlagComplete)
	if err != nil {
		return CacheWake{}, err
	}
	return wakeOf(r.Wake), nil
}

// Begin starts storing an entry with the first part of its body; Append
// the rest, then Commit (or Abort). token is the caller's lock, released
// when the write ends. On error the lock stays held: Release it.
func (s CacheStore) Begin(name []byte, token uint64, t CacheTimes, maxBody int64, meta, first []byte) (CacheWrite, error) {
	r, err := s.begin(name, token, t, maxBody, meta, first, 0)
	if err != nil {
		return CacheWrite{}, err
	}
	return CacheWrite{handle: r.Handle}, nil
}

// Append adds the next part of the body. An error (the body outgrew its
// bound) spoils the write: Abort it.
func (w CacheWrite) Append(p []byte) error {
	cacheArgs = (&cacheabi.AppendArgs{Handle: w.handle, Data: p}).Append(cacheArgs[:0])
	_, st := hostcall.CallForeignFunction(cacheabi.FuncAppend, cacheArgs)
	if len(cacheArgs) > 64<<10 {
		cacheArgs = nil
	}
	return statusErr("cache write", st)
}

// Commit stores the entry, replacing any of the same name, and releases
// the write's lock. On error the write stays open: Abort it.
func (w CacheWrite) Commit() (CacheWake, error) { return w.end(cacheabi.FuncCommit, "cache commit") }

// Abort drops the write and releases its lock.
func (w CacheWrite) Abort() (CacheWake, error) { return w.end(cacheabi.FuncAbort, "cache abort") }

func (w CacheWrite) end(fn, op string) (CacheWake, error) {
	res, st := hostcall.CallForeignFunction(fn, cacheabi.AppendHandle(cacheArgs[:0], w.handle))
	if st != abi.StatusOK {
		return CacheWake{}, statusErr(op, st)
	}
	return decodeWake(res)
}

// Release gives up the lock token without storing anything.
func (s CacheStore) Release(token uint64) (CacheWake, error) {
	cacheArgs = (&cacheabi.ReleaseArgs{Store: s.handle, Token: token}).Append(cacheArgs[:0])
	res, st := hostcall.CallForeignFunction(cacheabi.FuncRelease, cacheArgs)
	if st != abi.StatusOK {
		return CacheWake{}, statusErr("cache release", st)
	}
	return decodeWake(res)
}

// CachePurge says what a purge removes.
type CachePurge = cacheabi.PurgeScope

// Purge scopes.
const (
	// CachePurgeKey removes every variant of the name's key.
	CachePurgeKey = cacheabi.PurgeKey
	// CachePurgeKeyPrefix removes every key of the name's namespace that
	// starts with the name's key.
	CachePurgeKeyPrefix = cacheabi.PurgeKeyPrefix
	// CachePurgeNamespace removes every entry of the name's namespace.
	CachePurgeNamespace = cacheabi.PurgeNamespace
)

// Purge removes the entries scope selects by name, and returns how many
// went.
func (s CacheStore) Purge(name []byte, scope CachePurge) (uint64, error) {
	cacheArgs = (&cacheabi.PurgeArgs{Store: s.handle, Scope: scope, Name: name}).Append(cacheArgs[:0])
	res, st := hostcall.CallForeignFunction(cacheabi.FuncPurge, cacheArgs)
	if st != abi.StatusOK {
		return 0, statusErr("cache purge", st)
	}
	return cacheabi.DecodeCount(res)
}

// CacheStats are a store's figures.
type CacheStats = cacheabi.Stats

// Stats returns the store's figures.
func (s CacheStore) Stats() (CacheStats, error) {
	res, st := hostcall.CallForeignFunction(cacheabi.FuncStats, cacheabi.AppendStore(cacheArgs[:0], s.handle))
	if st != abi.StatusOK {
		return CacheStats{}, statusErr("cache stats", st)
	}
	var out CacheStats
	err := out.Decode(res)
	return out, err
}

func decodeWake(b []byte) (CacheWake, error) {
	var w cacheabi.Wake
	if err := w.Decode(b); err != nil {
		return CacheWake{}, err
	}
	return wakeOf(w), nil
}

func wakeOf(w cacheabi.Wake) CacheWake {
	out := CacheWake{Token: w.Token}
	if len(w.Queues) > 0 {
		out.Queues = make([]Queue, len(w.Queues))
		for i, q := range w.Queues {
			out.Queues[i] = Queue(q)
		}
	}
	return out
}
