package cachestore

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/sluice-proxy/sluice/abi/cacheabi"
)

// entryOverhead estimates the memory an entry costs beyond its name, meta
// and body: the entry struct, its map slot and its string header. It is
// counted against a memory store's bound, so that many small entries
// cannot overrun it.
const entryOverhead = 192

// defaultLockTimeout is the lock timeout of a FlagLock lookup that gives 0.
const defaultLockTimeout = time.Second

// Store is one cache store: entries in memory or on disk under a size
// bound, evicted least recently used first, with a lock per name for
// request coalescing. It is safe for concurrent use.
type Store struct {
	id     string
	handle uint32
	reg    *Registry
	back   backend

	mu       sync.Mutex
	entries  map[string]*entry
	lru      entry // sentinel of the recency list: lru.next is the most recent
	size     int64
	maxSize  int64
	inactive int64 // ms; 0: never
	locks    map[string]*keyLock
	byToken  map[uint64]*keyLock
	// nextSweep is when (unix ms) the next look for dead entries and
	// locks is due.
	nextSweep int64
	sweeping  bool
	// scanning is set while a disk store indexes what an earlier process
	// left; entries removed and purges made meanwhile are remembered, so
	// that the scan does not bring back what it read before they went.
	scanning    bool
	scanRemoved map[string]struct{}
	scanPurges  []scanPurge
	closed      bool
	hits        atomic.Uint64
	stale       atomic.Uint64
	expired     atomic.Uint64
	misses      atomic.Uint64
	waits       atomic.Uint64
	writes      atomic.Uint64
	evictions   atomic.Uint64
	purged      atomic.Uint64
	loadFailure atomic.Uint64
}

type scanPurge struct {
	match purgeMatch
	at    int64
}

// entry is one stored response. Times are unix milliseconds.
type entry struct {
	name                string
	stored, fresh       int64
	stale, keep, access int64
	metaLen             int
	bodyLen             int64
	size                int64
	data                []byte // memory stores: meta then body
	prev, next          *entry
}

// keyLock is the lock of one name: its holder fetches, the others wait.
type keyLock struct {
	name     string
	token    uint64
	deadline int64
	waiters  []uint32
}

// backend keeps the entries' bytes: in memory or in files.
type backend interface {
	// load copies e's meta and body into dst, which has exactly their
	// size. It runs without the store's lock: snap is a copy of e.
	load(snap *entry, dst []byte) error
	// begin starts w with its meta and the first part of its body.
	begin(w *write, body []byte) error
	// write adds body bytes to w.
	write(w *write, p []byte) error
	// finish completes w's data before it is installed (unlocked).
	finish(w *write) error
	// install makes w's data e's, with the store locked.
	install(w *write, e *entry) error
	// discard drops an unfinished or failed w.
	discard(w *write)
	// drop forgets e's data, with the store locked; unlink is false when
	// a new entry of the same name took its place.
	drop(e *entry, unlink bool)
	// probe finds an entry of this name left by an earlier process that
	// the index does not know yet (disk stores while scanning).
	probe(name string, now int64) *entry
}

func newStore(reg *Registry, id string, handle uint32, back backend) *Store {
	s := &Store{
		id: id, handle: handle, reg: reg, back: back,
		entries: map[string]*entry{},
		locks:   map[string]*keyLock{},
		byToken: map[uint64]*keyLock{},
	}
	s.lru.next, s.lru.prev = &s.lru, &s.lru
	return s
}

// ID returns the store's directory identity ("memory://NAME" or a path).
func (s *Store) ID() string { return s.id }

func (s *Store) nowMS() int64 { return s.reg.o.Now().UnixMilli() }

// setLimits applies a directory's bounds (a store opened again).
func (s *Store) setLimits(maxSize int64, inactive time.Duration) {
	s.mu.Lock()
	s.maxSize = maxSize
	s.inactive = inactive.Milliseconds()
	s.evictLocked(nil)
	s.mu.Unlock()
}

// --- recency list (store locked) ---

func (s *Store) pushFront(e *entry) {
	e.prev, e.next = &s.lru, s.lru.next
	e.prev.next, e.next.prev = e, e
}

func (s *Store) pushBack(e *entry) {
	e.prev, e.next = s.lru.prev, &s.lru
	e.prev.next, e.next.prev = e, e
}

func (s *Store) unlink(e *entry) {
	e.prev.next, e.next.prev = e.next, e.prev
	e.prev, e.next = nil, nil
}

func (s *Store) touch(e *entry, now int64) {
	e.access = now
	if s.lru.next != e {
		s.unlink(e)
		s.pushFront(e)
	}
}

// insertLocked indexes e, replacing an entry of the same name.
func (s *Store) insertLocked(e *entry, front bool) {
	if old := s.entries[e.name]; old != nil {
		s.removeLocked(old, false)
	}
	s.entries[e.name] = e
	s.size += e.size
	if front {
		s.pushFront(e)
	} else {
		s.pushBack(e)
	}
}

// removeLocked forgets e and its data.
func (s *Store) removeLocked(e *entry, unlink bool) {
	if s.entries[e.name] == e {
		delete(s.entries, e.name)
	}
	s.size -= e.size
	s.unlink(e)
	s.back.drop(e, unlink)
	if s.scanning {
		s.scanRemoved[e.name] = struct{}{}
	}
}

// evictLocked drops least recently used entries until the store fits its
// bound, sparing keep (the entry just stored).
func (s *Store) evictLocked(keep *entry) int {
	n := 0
	for s.size > s.maxSize {
		e := s.lru.prev
		if e == &s.lru {
			break
		}
		if e == keep {
			if e.prev == &s.lru {
				break
			}
			e = e.prev
		}
		s.removeLocked(e, true)
		n++
	}
	if n > 0 {
		s.evictions.Add(uint64(n))
	}
	return n
}

// --- lookups ---

// lookup implements FuncLookup; see the package doc of abi/cacheabi.
func (s *Store) lookup(name []byte, flags cacheabi.LookupFlags, lockTimeout time.Duration, waiter uint32) []byte {
	now := s.nowMS()
	s.mu.Lock()
	s.maybeSweepLocked(now)
	e := s.entries[string(name)]
	if e == nil && s.scanning {
		if p := s.back.probe(string(name), now); p != nil {
			s.insertLocked(p, true)
			s.evictLocked(p)
			e = p
		}
	}
	if e != nil && (e.keep <= now || s.inactive > 0 && e.access+s.inactive <= now) {
		s.removeLocked(e, true)
		s.evictions.Add(1)
		e = nil
	}
	var kind cacheabi.Kind
	var token uint64
	switch {
	case e != nil && now < e.fresh:
		kind = cacheabi.KindHit
	case flags&cacheabi.FlagLock == 0:
		kind = cacheabi.KindMiss
		if e != nil {
			kind = cacheabi.KindExpired
		}
	default:
		lk := s.locks[string(name)]
		if lk != nil && lk.deadline <= now {
			s.dropLockLocked(lk)
			lk = nil
		}
		switch {
		case lk == nil:
			kind, token = cacheabi.KindMiss, s.newLockLocked(string(name), now, lockTimeout)
			if e != nil {
				kind = cacheabi.KindExpired
			}
		case e != nil && now < e.stale:
			kind = cacheabi.KindStale // being refreshed: serve it meanwhile
		case waiter != 0:
			kind, token = cacheabi.KindWait, lk.token
			if !containsQueue(lk.waiters, waiter) {
				lk.waiters = append(lk.waiters, waiter)
			}
		default:
			kind = cacheabi.KindMiss
			if e != nil {
				kind = cacheabi.KindExpired
			}
		}
	}
	var snap entry
	if kind.HasEntry() {
		snap = *e
		snap.prev, snap.next = nil, nil
		s.touch(e, now)
	}
	s.mu.Unlock()
	s.count(kind)

	if !kind.HasEntry() {
		out := make([]byte, cacheabi.LookupHeaderSize)
		cacheabi.PutLookupHeader(out, kind, token, 0)
		return out
	}
	out := make([]byte, cacheabi.LookupHeaderSize+int64(snap.metaLen)+snap.bodyLen)
	if err := s.back.load(&snap, out[cacheabi.LookupHeaderSize:]); err != nil {
		// Gone or damaged (a disk file removed behind our back): forget
		// it, and answer a miss that keeps any lock taken for it.
		s.loadFailure.Add(1)
		s.reg.log.Warn("cache entry unreadable; dropped", "store", s.id, "error", err)
		s.forget(&snap)
		out = out[:cacheabi.LookupHeaderSize]
		cacheabi.PutLookupHeader(out, cacheabi.KindMiss, token, 0)
		return out
	}
	cacheabi.PutLookupHeader(out, kind, token, snap.metaLen)
	return out
}

func (s *Store) count(k cacheabi.Kind) {
	switch k {
	case cacheabi.KindHit:
		s.hits.Add(1)
	case cacheabi.KindStale:
		s.stale.Add(1)
	case cacheabi.KindExpired:
		s.expired.Add(1)
	case cacheabi.KindMiss:
		s.misses.Add(1)
	case cacheabi.KindWait:
		s.waits.Add(1)
	}
}

// forget removes the entry snap was taken from, if it is still there.
func (s *Store) forget(snap *entry) {
	s.mu.Lock()
	if e := s.entries[snap.name]; e != nil && e.stored == snap.stored && e.bodyLen == snap.bodyLen {
		s.removeLocked(e, true)
	}
	s.mu.Unlock()
}

func containsQueue(qs []uint32, q uint32) bool {
	for _, x := range qs {
		if x == q {
			return true
		}
	}
	return false
}

// --- locks ---

func (s *Store) newLockLocked(name string, now int64, timeout time.Duration) uint64 {
	if timeout <= 0 {
		timeout = defaultLockTimeout
	}
	lk := &keyLock{name: name, token: s.reg.tokens.Add(1), deadline: now + timeout.Milliseconds()}
	s.locks[name] = lk
	s.byToken[lk.token] = lk
	return lk.token
}

func (s *Store) dropLockLocked(lk *keyLock) {
	if s.locks[lk.name] == lk {
		delete(s.locks, lk.name)
	}
	delete(s.byToken, lk.token)
}

// release ends the lock token and returns who waits on it.
func (s *Store) release(token uint64) cacheabi.Wake {
	if token == 0 {
		return cacheabi.Wake{}
	}
	s.mu.Lock()
	lk := s.byToken[token]
	if lk != nil {
		s.dropLockLocked(lk)
	}
	s.mu.Unlock()
	if lk == nil {
		return cacheabi.Wake{Token: token}
	}
	return cacheabi.Wake{Token: token, Queues: lk.waiters}
}

// --- writes ---

// install stores the finished write w as an entry and releases its lock.
func (s *Store) install(w *write) (cacheabi.Wake, error) {
	e := w.entry()
	s.mu.Lock()
	if e.size > s.maxSize {
		s.mu.Unlock()
		return cacheabi.Wake{}, ErrTooLarge
	}
	if err := s.back.install(w, e); err != nil {
		s.mu.Unlock()
		return cacheabi.Wake{}, err
	}
	s.insertLocked(e, true)
	s.evictLocked(e)
	s.mu.Unlock()
	s.writes.Add(1)
	return s.release(w.token), nil
}

// --- purges ---

// purgeMatch selects the entries a purge removes: names starting with
// prefix and, with keyPrefix set, whose key starts with keyPrefix.
type purgeMatch struct {
	prefix    string
	keyPrefix []byte
	byKey     bool
}

// newPurgeMatch returns the selection of a purge of name in scope.
func newPurgeMatch(scope cacheabi.PurgeScope, name cacheabi.Name) (purgeMatch, error) {
	switch scope {
	case cacheabi.PurgeKey:
		p, err := name.Prefix()
		return purgeMatch{prefix: string(p)}, err
	case cacheabi.PurgeNamespace, cacheabi.PurgeKeyPrefix:
		p, err := name.NamespacePrefix()
		if err != nil {
			return purgeMatch{}, err
		}
		m := purgeMatch{prefix: string(p)}
		if scope == cacheabi.PurgeKeyPrefix {
			_, key, _, _ := name.Split()
			m.byKey, m.keyPrefix = true, key
		}
		return m, nil
	}
	return purgeMatch{}, ErrMalformed
}

func (m *purgeMatch) matches(name string) bool {
	if len(name) < len(m.prefix) || name[:len(m.prefix)] != m.prefix {
		return false
	}
	if !m.byKey {
		return true
	}
	// The key follows the namespace: its length, then its bytes.
	rest := name[len(m.prefix):]
	if len(rest) < 4 {
		return false
	}
	kl := uint64(rest[0]) | uint64(rest[1])<<8 | uint64(rest[2])<<16 | uint64(rest[3])<<24
	key := rest[4:]
	if kl > uint64(len(key)) {
		return false
	}
	key = key[:kl]
	return len(key) >= len(m.keyPrefix) && key[:len(m.keyPrefix)] == string(m.keyPrefix)
}

// purge removes the entries m selects and returns how many.
func (s *Store) purge(m purgeMatch) uint64 {
	now := s.nowMS()
	var n uint64
	s.mu.Lock()
	for name, e := range s.entries {
		if m.matches(name) {
			s.removeLocked(e, true)
			n++
		}
	}
	if s.scanning {
		s.scanPurges = append(s.scanPurges, scanPurge{match: m, at: now})
	}
	s.mu.Unlock()
	s.purged.Add(n)
	return n
}

// purgedByScan reports whether a scanned entry was purged after the scan
// began (store locked).
func (s *Store) purgedByScan(e *entry) bool {
	for i := range s.scanPurges {
		if p := &s.scanPurges[i]; e.stored <= p.at && p.match.matches(e.name) {
			return true
		}
	}
	return false
}

// --- sweeping ---

// maybeSweepLocked starts a sweep of dead entries and locks when one is
// due, on its own goroutine so that the caller does not wait for it.
func (s *Store) maybeSweepLocked(now int64) {
	if now < s.nextSweep || s.sweeping || s.closed {
		return
	}
	s.nextSweep = now + s.reg.o.SweepInterval.Milliseconds()
	s.sweeping = true
	if !s.reg.spawn(s.sweep) {
		s.sweeping = false
	}
}

// sweep drops entries past their keep time or inactive for too long, and
// locks past their deadline.
func (s *Store) sweep() {
	now := s.nowMS()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sweeping = false
	n := 0
	for _, e := range s.entries {
		if e.keep <= now || s.inactive > 0 && e.access+s.inactive <= now {
			s.removeLocked(e, true)
			n++
		}
	}
	s.evictions.Add(uint64(n))
	for _, lk := range s.locks {
		if lk.deadline <= now {
			s.dropLockLocked(lk)
		}
	}
}

// Stats returns the store's figures.
func (s *Store) Stats() cacheabi.Stats {
	s.mu.Lock()
	st := cacheabi.Stats{Entries: uint64(len(s.entries)), Size: uint64(max(s.size, 0)), MaxSize: uint64(s.maxSize)}
	s.mu.Unlock()
	st.Hits, st.Stale, st.Expired = s.hits.Load(), s.stale.Load(), s.expired.Load()
	st.Misses, st.Waits = s.misses.Load(), s.waits.Load()
	st.Writes, st.Evictions, st.Purged = s.writes.Load(), s.evictions.Load(), s.purged.Load()
	return st
}

// names returns the names of the entries, most recently used first (for
// tests).
func (s *Store) names() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for e := s.lru.next; e != &s.lru; e = e.next {
		out = append(out, e.name)
	}
	return out
}
