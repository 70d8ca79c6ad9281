package cachestore

import (
	"bufio"
	"bytes"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sluice-proxy/sluice/abi/cacheabi"
)

// Options configure a Registry. The zero value is usable: every field has
// a default, given on the field.
type Options struct {
	// Now is the clock. Default time.Now.
	Now func() time.Time
	// Logger receives the stores' logs. Default slog.Default().
	Logger *slog.Logger
	// DefaultMemorySize bounds a memory store whose directory gives no
	// max_size. Default 100 MiB (Pingap's).
	DefaultMemorySize int64
	// DefaultDiskSize bounds a disk store whose directory gives no
	// max_size. Default 1 GiB.
	DefaultDiskSize int64
	// MemTotal returns the machine's memory in bytes, for a memory
	// max_size given as a percentage; 0 means unknown (the default size is
	// used). Default: MemTotal of /proc/meminfo.
	MemTotal func() int64
	// MaxWrites bounds the writes open at once across stores. Default
	// 4096.
	MaxWrites int
	// WriteIdle is how long a write may go without Append before it is
	// dropped (its plugin's VM died). Default 5m.
	WriteIdle time.Duration
	// SweepInterval is how often dead entries and locks are looked for.
	// Default 1m.
	SweepInterval time.Duration
}

func (o Options) withDefaults() Options {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.DefaultMemorySize <= 0 {
		o.DefaultMemorySize = 100 << 20
	}
	if o.DefaultDiskSize <= 0 {
		o.DefaultDiskSize = 1 << 30
	}
	if o.MemTotal == nil {
		o.MemTotal = procMemTotal
	}
	if o.MaxWrites <= 0 {
		o.MaxWrites = 4096
	}
	if o.WriteIdle <= 0 {
		o.WriteIdle = 5 * time.Minute
	}
	if o.SweepInterval <= 0 {
		o.SweepInterval = time.Minute
	}
	return o
}

// Registry holds the process's cache stores, keyed by directory, and the
// writes in progress. Make one per process and keep it across config
// reloads: a reload then finds its stores full. It is safe for concurrent
// use.
type Registry struct {
	o   Options
	log *slog.Logger

	mu     sync.Mutex // guards byID, stores' creation, closed
	byID   map[string]*Store
	stores atomic.Pointer[[]*Store] // by handle-1; read without mu
	closed bool

	wmu       sync.Mutex
	writes    map[uint32]*write
	nextWrite uint32
	nextReap  int64 // unix ns

	tokens atomic.Uint64 // lock tokens, process-wide
	wg     sync.WaitGroup
	gomu   sync.Mutex // orders spawn with Close
}

// NewRegistry returns an empty registry.
func NewRegistry(o Options) *Registry {
	o = o.withDefaults()
	r := &Registry{o: o, log: o.Logger.With("component", "cachestore"), byID: map[string]*Store{}, writes: map[uint32]*write{}}
	r.stores.Store(&[]*Store{})
	return r
}

// spawn runs fn on a goroutine that Close waits for; false once closed.
func (r *Registry) spawn(fn func()) bool {
	r.gomu.Lock()
	defer r.gomu.Unlock()
	if r.closed {
		return false
	}
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		fn()
	}()
	return true
}

// Open returns the store of directory (abi/cacheabi's notation), making it
// on first use. Opening it again applies the directory's size bound and
// inactive time to the existing store; a disk store's levels stay those it
// was made with.
func (r *Registry) Open(directory string) (*Store, error) {
	d, err := cacheabi.ParseDirectory(directory)
	if err != nil {
		return nil, &invalidError{err}
	}
	maxSize := d.MaxSize
	switch {
	case d.MaxSizePercent > 0:
		if total := r.o.MemTotal(); total > 0 {
			maxSize = int64(float64(total) * float64(d.MaxSizePercent) / 100)
		}
	}
	if maxSize <= 0 {
		maxSize = r.o.DefaultDiskSize
		if d.Memory {
			maxSize = r.o.DefaultMemorySize
		}
	}
	if len(d.Ignored) > 0 {
		r.log.Debug("cache directory parameters ignored", "directory", directory, "parameters", d.Ignored)
	}
	id := d.ID()
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil, ErrClosed
	}
	if s := r.byID[id]; s != nil {
		s.setLimits(maxSize, d.Inactive)
		return s, nil
	}
	old := *r.stores.Load()
	handle := uint32(len(old) + 1)
	var s *Store
	if d.Memory {
		s = newStore(r, id, handle, memoryBackend{})
	} else {
		db, err := newDiskBackend(d.Path, d.Levels)
		if err != nil {
			return nil, &invalidError{fmt.Errorf("cache directory %s: %w", d.Path, err)}
		}
		s = newStore(r, id, handle, db)
		db.s = s
		s.scanning, s.scanRemoved = true, map[string]struct{}{}
	}
	s.maxSize, s.inactive = maxSize, d.Inactive.Milliseconds()
	s.nextSweep = s.nowMS() + r.o.SweepInterval.Milliseconds()
	next := append(old[:len(old):len(old)], s)
	r.stores.Store(&next)
	r.byID[id] = s
	if db, ok := s.back.(*diskBackend); ok {
		if !r.spawn(db.scan) {
			s.mu.Lock()
			s.scanning = false
			s.mu.Unlock()
		}
	}
	r.log.Info("cache store opened", "directory", id, "max_size", maxSize)
	return s, nil
}

// store returns the store of a handle.
func (r *Registry) store(handle uint32) (*Store, error) {
	ss := *r.stores.Load()
	if handle == 0 || int(handle) > len(ss) {
		return nil, ErrUnknownStore
	}
	return ss[handle-1], nil
}

// Stores returns the stores opened so far, in the order they were.
func (r *Registry) Stores() []*Store { return append([]*Store(nil), *r.stores.Load()...) }

// Close drops the writes in progress and waits for background work
// (sweeps, disk scans). Stores keep what they hold on disk.
func (r *Registry) Close() error {
	r.mu.Lock()
	r.gomu.Lock()
	r.closed = true
	r.gomu.Unlock()
	for _, s := range r.byID {
		s.mu.Lock()
		s.closed = true
		s.mu.Unlock()
	}
	r.mu.Unlock()
	r.wmu.Lock()
	ws := r.writes
	r.writes = map[uint32]*write{}
	r.wmu.Unlock()
	for _, w := range ws {
		w.mu.Lock()
		w.store.back.discard(w)
		w.mu.Unlock()
	}
	r.wg.Wait()
	return nil
}

// --- writes ---

// write is an entry being stored: begun, appended to, then committed or
// aborted. It belongs to the plugin that began it.
type write struct {
	mu      sync.Mutex
	handle  uint32
	plugin  string
	store   *Store
	token   uint64
	name    string
	meta    []byte
	fresh   int64 // ms
	stale   int64
	keep    int64
	max     int64 // bound of the body
	fixed   int64 // the entry's size besides its body
	body    int64 // body bytes so far
	stored  int64 // unix ms, set when the write finishes
	spoiled bool
	last    atomic.Int64 // unix ns of the last use; read by the reaper without mu

	buf []byte   // memory stores: meta then body
	f   *os.File // disk stores: the file being written
	tmp string
}

func (w *write) size() int64 { return w.fixed + w.body }

// entry returns the index entry of the finished write.
func (w *write) entry() *entry {
	t := w.stored
	return &entry{
		name: w.name, stored: t, access: t,
		fresh: t + w.fresh, stale: t + w.fresh + w.stale, keep: t + max(w.keep, w.fresh+w.stale),
		metaLen: len(w.meta), bodyLen: w.body, size: w.size(),
	}
}

// begin starts a write (FuncBegin).
func (r *Registry) begin(plugin string, a *cacheabi.BeginArgs) (cacheabi.BeginResult, error) {
	s, err := r.store(a.Store)
	if err != nil {
		return cacheabi.BeginResult{}, err
	}
	if _, _, _, err := a.Name.Split(); err != nil {
		return cacheabi.BeginResult{}, ErrMalformed
	}
	ms := func(v uint64) int64 { return int64(min(v, uint64(100*365*24*time.Hour/time.Millisecond))) }
	w := &write{
		plugin: plugin, store: s, token: a.Token, name: string(a.Name), meta: bytes.Clone(a.Meta),
		fresh: ms(a.Fresh), stale: ms(a.Stale), keep: ms(a.Keep),
	}
	w.last.Store(r.o.Now().UnixNano())
	s.mu.Lock()
	limit := s.maxSize
	s.mu.Unlock()
	if a.MaxBody > 0 && a.MaxBody < uint64(limit) {
		limit = int64(a.MaxBody)
	}
	w.max = limit
	if int64(len(a.Body)) > w.max {
		return cacheabi.BeginResult{}, ErrTooLarge
	}
	if err := s.back.begin(w, a.Body); err != nil {
		return cacheabi.BeginResult{}, err
	}
	w.body = int64(len(a.Body))
	if a.Flags&cacheabi.FlagComplete != 0 {
		wake, err := r.finish(w)
		if err != nil {
			s.back.discard(w)
			return cacheabi.BeginResult{}, err
		}
		return cacheabi.BeginResult{Wake: wake}, nil
	}
	r.wmu.Lock()
	defer r.wmu.Unlock()
	r.reapLocked()
	if len(r.writes) >= r.o.MaxWrites {
		s.back.discard(w)
		return cacheabi.BeginResult{}, ErrTooManyWrites
	}
	for {
		r.nextWrite++
		if _, used := r.writes[r.nextWrite]; r.nextWrite != 0 && !used {
			break
		}
	}
	w.handle = r.nextWrite
	r.writes[w.handle] = w
	return cacheabi.BeginResult{Handle: w.handle}, nil
}

// reapLocked drops writes left idle (their VM died), looking at most four
// times per WriteIdle. r.wmu is held.
func (r *Registry) reapLocked() {
	now := r.o.Now().UnixNano()
	if now < r.nextReap {
		return
	}
	r.nextReap = now + int64(r.o.WriteIdle/4)
	for h, w := range r.writes {
		if now-w.last.Load() > int64(r.o.WriteIdle) && w.mu.TryLock() {
			delete(r.writes, h)
			w.store.back.discard(w)
			w.mu.Unlock()
			w.store.release(w.token) // its waiters time out on their own
		}
	}
}

// lookupWrite returns plugin's write handle, locked.
func (r *Registry) lookupWrite(plugin string, handle uint32) (*write, error) {
	r.wmu.Lock()
	w := r.writes[handle]
	r.wmu.Unlock()
	if w == nil || w.plugin != plugin {
		return nil, ErrUnknownWrite
	}
	w.mu.Lock()
	r.wmu.Lock()
	gone := r.writes[handle] != w
	r.wmu.Unlock()
	if gone {
		w.mu.Unlock()
		return nil, ErrUnknownWrite
	}
	return w, nil
}

// appendBody adds body bytes to a write (FuncAppend).
func (r *Registry) appendBody(plugin string, handle uint32, p []byte) error {
	w, err := r.lookupWrite(plugin, handle)
	if err != nil {
		return err
	}
	defer w.mu.Unlock()
	w.last.Store(r.o.Now().UnixNano())
	if w.spoiled {
		return ErrSpoiled
	}
	if w.body+int64(len(p)) > w.max {
		w.spoiled = true
		w.store.back.discard(w)
		return ErrTooLarge
	}
	if err := w.store.back.write(w, p); err != nil {
		w.spoiled = true
		w.store.back.discard(w)
		return fmt.Errorf("writing cache entry: %w", err)
	}
	w.body += int64(len(p))
	return nil
}

// end removes a write from the open ones: it is locked by the caller.
func (r *Registry) end(w *write) {
	r.wmu.Lock()
	if r.writes[w.handle] == w {
		delete(r.writes, w.handle)
	}
	r.wmu.Unlock()
}

// commit stores a write (FuncCommit). On failure the write stays open,
// spoiled, for Abort to release its lock.
func (r *Registry) commit(plugin string, handle uint32) (cacheabi.Wake, error) {
	w, err := r.lookupWrite(plugin, handle)
	if err != nil {
		return cacheabi.Wake{}, err
	}
	defer w.mu.Unlock()
	if w.spoiled {
		return cacheabi.Wake{}, ErrSpoiled
	}
	wake, err := r.finish(w)
	if err != nil {
		w.spoiled = true
		w.store.back.discard(w)
		return cacheabi.Wake{}, err
	}
	r.end(w)
	return wake, nil
}

// finish completes and installs w's data.
func (r *Registry) finish(w *write) (cacheabi.Wake, error) {
	w.stored = w.store.nowMS()
	if err := w.store.back.finish(w); err != nil {
		return cacheabi.Wake{}, fmt.Errorf("writing cache entry: %w", err)
	}
	return w.store.install(w)
}

// abort drops a write and releases its lock (FuncAbort).
func (r *Registry) abort(plugin string, handle uint32) (cacheabi.Wake, error) {
	w, err := r.lookupWrite(plugin, handle)
	if err != nil {
		return cacheabi.Wake{}, err
	}
	defer w.mu.Unlock()
	r.end(w)
	w.store.back.discard(w)
	return w.store.release(w.token), nil
}

// procMemTotal reads MemTotal from /proc/meminfo; 0 if it cannot.
func procMemTotal() int64 {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		rest, ok := bytes.CutPrefix(sc.Bytes(), []byte("MemTotal:"))
		if !ok {
			continue
		}
		fields := bytes.Fields(rest)
		if len(fields) == 0 {
			return 0
		}
		kb, err := strconv.ParseInt(string(fields[0]), 10, 64)
		if err != nil {
			return 0
		}
		return kb << 10
	}
	return 0
}
