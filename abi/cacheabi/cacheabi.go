package cacheabi

import (
	"encoding/binary"
	"errors"
)

// The foreign function names.
const (
	FuncOpen    = "sluice.cache.open"
	FuncLookup  = "sluice.cache.lookup"
	FuncBegin   = "sluice.cache.begin"
	FuncAppend  = "sluice.cache.append"
	FuncCommit  = "sluice.cache.commit"
	FuncAbort   = "sluice.cache.abort"
	FuncRelease = "sluice.cache.release"
	FuncPurge   = "sluice.cache.purge"
	FuncStats   = "sluice.cache.stats"
)

// Funcs lists every function name, for hosts that register them and for
// tests that check they all are.
var Funcs = []string{FuncOpen, FuncLookup, FuncBegin, FuncAppend, FuncCommit, FuncAbort, FuncRelease, FuncPurge, FuncStats}

// LookupFlags modify a lookup.
type LookupFlags byte

// Lookup flags.
const (
	// FlagLock takes the key's lock on a miss or an expired entry, and
	// makes concurrent lookups wait for its release (request coalescing).
	FlagLock LookupFlags = 1 << 0
)

// Kind is the outcome of a lookup.
type Kind byte

// Lookup outcomes.
const (
	KindMiss    Kind = 1
	KindHit     Kind = 2
	KindStale   Kind = 3
	KindExpired Kind = 4
	KindWait    Kind = 5
)

// String returns the kind's name, e.g. "hit", or "" for an unknown value.
func (k Kind) String() string {
	switch k {
	case KindMiss:
		return "miss"
	case KindHit:
		return "hit"
	case KindStale:
		return "stale"
	case KindExpired:
		return "expired"
	case KindWait:
		return "wait"
	}
	return ""
}

// HasEntry reports whether a result of this kind carries an entry.
func (k Kind) HasEntry() bool { return k == KindHit || k == KindStale || k == KindExpired }

// BeginFlags modify a write.
type BeginFlags byte

// Begin flags.
const (
	// FlagComplete says the body in the Begin arguments is whole: the
	// entry is stored at once and no write handle is kept.
	FlagComplete BeginFlags = 1 << 0
)

// PurgeScope says what a purge removes.
type PurgeScope byte

// Purge scopes.
const (
	// PurgeKey removes every variant of the name's namespace and key.
	PurgeKey PurgeScope = 1
	// PurgeNamespace removes every entry of the name's namespace.
	PurgeNamespace PurgeScope = 2
	// PurgeKeyPrefix removes every entry of the name's namespace whose
	// key starts with the name's key (all their variants).
	PurgeKeyPrefix PurgeScope = 3
)

// ErrMalformed is returned by the Decode functions for arguments or
// results that do not follow the layouts of the package doc.
var ErrMalformed = errors.New("cacheabi: malformed message")

// MaxNamespace is the longest namespace a name can hold.
const MaxNamespace = 1<<16 - 1

// AppendName appends the packed entry name of namespace ns, key and
// variant to dst. A namespace longer than MaxNamespace is cut.
func AppendName(dst []byte, ns, key, variant string) []byte {
	if len(ns) > MaxNamespace {
		ns = ns[:MaxNamespace]
	}
	dst = binary.LittleEndian.AppendUint16(dst, uint16(len(ns)))
	dst = append(dst, ns...)
	dst = binary.LittleEndian.AppendUint32(dst, uint32(len(key)))
	dst = append(dst, key...)
	return append(dst, variant...)
}

// Name is a packed entry name (see the package doc).
type Name []byte

// Split returns the parts of the name, which share its memory.
func (n Name) Split() (ns, key, variant []byte, err error) {
	if len(n) < 2 {
		return nil, nil, nil, ErrMalformed
	}
	nl := int(binary.LittleEndian.Uint16(n))
	if len(n) < 2+nl+4 {
		return nil, nil, nil, ErrMalformed
	}
	ns = n[2 : 2+nl]
	kl := binary.LittleEndian.Uint32(n[2+nl:])
	rest := n[6+nl:]
	if uint64(kl) > uint64(len(rest)) {
		return nil, nil, nil, ErrMalformed
	}
	return ns, rest[:kl], rest[kl:], nil
}

// Prefix returns the name up to its variant: what the variants of one key
// share.
func (n Name) Prefix() (Name, error) {
	_, _, v, err := n.Split()
	if err != nil {
		return nil, err
	}
	return n[:len(n)-len(v)], nil
}

// NamespacePrefix returns the name up to its namespace: what the names of
// one namespace share.
func (n Name) NamespacePrefix() (Name, error) {
	ns, _, _, err := n.Split()
	if err != nil {
		return nil, err
	}
	return n[:2+len(ns)], nil
}

// reader reads a message field by field; a short message sets bad.
type reader struct {
	b   []byte
	bad bool
}

func (r *reader) take(n int) []byte {
	if r.bad || n < 0 || len(r.b) < n {
		r.bad = true
		return nil
	}
	v := r.b[:n:n]
	r.b = r.b[n:]
	return v
}

func (r *reader) u8() byte {
	if b := r.take(1); b != nil {
		return b[0]
	}
	return 0
}

func (r *reader) u32() uint32 {
	if b := r.take(4); b != nil {
		return binary.LittleEndian.Uint32(b)
	}
	return 0
}

func (r *reader) u64() uint64 {
	if b := r.take(8); b != nil {
		return binary.LittleEndian.Uint64(b)
	}
	return 0
}

func (r *reader) str() []byte {
	n := r.u32()
	if r.bad || uint64(n) > uint64(len(r.b)) {
		r.bad = true
		return nil
	}
	return r.take(int(n))
}

func (r *reader) err() error {
	if r.bad {
		return ErrMalformed
	}
	return nil
}

func appendStr(dst, s []byte) []byte {
	dst = binary.LittleEndian.AppendUint32(dst, uint32(len(s)))
	return append(dst, s...)
}

// LookupArgs are the arguments of FuncLookup.
type LookupArgs struct {
	Store uint32
	Flags LookupFlags
	// LockTimeout is how long a lock taken with FlagLock holds, in ms.
	LockTimeout uint32
	// Waiter is the queue told when a lock waited on is released; 0 when
	// the caller cannot wait (it then gets KindMiss instead of KindWait).
	Waiter uint32
	Name   Name
}

// Append appends the encoded arguments to dst.
func (a *LookupArgs) Append(dst []byte) []byte {
	dst = binary.LittleEndian.AppendUint32(dst, a.Store)
	dst = append(dst, byte(a.Flags))
	dst = binary.LittleEndian.AppendUint32(dst, a.LockTimeout)
	dst = binary.LittleEndian.AppendUint32(dst, a.Waiter)
	return appendStr(dst, a.Name)
}

// Decode reads encoded arguments; Name shares b's memory.
func (a *LookupArgs) Decode(b []byte) error {
	r := reader{b: b}
	a.Store = r.u32()
	a.Flags = LookupFlags(r.u8())
	a.LockTimeout = r.u32()
	a.Waiter = r.u32()
	a.Name = r.str()
	if len(r.b) != 0 {
		r.bad = true
	}
	return r.err()
}

// LookupHeaderSize is the size of a lookup result before its meta.
const LookupHeaderSize = 13

// PutLookupHeader writes the fixed part of a lookup result into
// dst[:LookupHeaderSize], so that a host can read a stored entry straight
// into the rest of a buffer.
func PutLookupHeader(dst []byte, kind Kind, token uint64, metaLen int) {
	dst[0] = byte(kind)
	binary.LittleEndian.PutUint64(dst[1:], token)
	binary.LittleEndian.PutUint32(dst[9:], uint32(metaLen))
}

// LookupResult is the result of FuncLookup.
type LookupResult struct {
	Kind  Kind
	Token uint64
	Meta  []byte
	Body  []byte
}

// Append appends the encoded result to dst.
func (l *LookupResult) Append(dst []byte) []byte {
	n := len(dst)
	dst = append(dst, make([]byte, LookupHeaderSize)...)
	PutLookupHeader(dst[n:], l.Kind, l.Token, len(l.Meta))
	dst = append(dst, l.Meta...)
	return append(dst, l.Body...)
}

// Decode reads an encoded result; Meta and Body share b's memory.
func (l *LookupResult) Decode(b []byte) error {
	r := reader{b: b}
	l.Kind = Kind(r.u8())
	l.Token = r.u64()
	m := r.u32()
	if r.bad || uint64(m) > uint64(len(r.b)) || l.Kind.String() == "" {
		return ErrMalformed
	}
	l.Meta, l.Body = r.b[:m:m], r.b[m:]
	return nil
}

// BeginArgs are the arguments of FuncBegin.
type BeginArgs struct {
	Store uint32
	// Token is the lock the write releases when it ends (0: none).
	Token uint64
	Flags BeginFlags
	// Fresh, Stale and Keep are durations from now in ms: how long the
	// entry is fresh, how long after that it may still be served while
	// being refreshed, and how long the store should keep it at all.
	Fresh, Stale, Keep uint64
	// MaxBody bounds the body (0: the store's own bound).
	MaxBody uint64
	Name    Name
	Meta    []byte
	// Body is the body, or its first part.
	Body []byte
}

// Append appends the encoded arguments to dst.
func (a *BeginArgs) Append(dst []byte) []byte {
	dst = binary.LittleEndian.AppendUint32(dst, a.Store)
	dst = binary.LittleEndian.AppendUint64(dst, a.Token)
	dst = append(dst, byte(a.Flags))
	dst = binary.LittleEndian.AppendUint64(dst, a.Fresh)
	dst = binary.LittleEndian.AppendUint64(dst, a.Stale)
	dst = binary.LittleEndian.AppendUint64(dst, a.Keep)
	dst = binary.LittleEndian.AppendUint64(dst, a.MaxBody)
	dst = appendStr(dst, a.Name)
	dst = appendStr(dst, a.Meta)
	return append(dst, a.Body...)
}

// Decode reads encoded arguments; Name, Meta and Body share b's memory.
func (a *BeginArgs) Decode(b []byte) error {
	r := reader{b: b}
	a.Store = r.u32()
	a.Token = r.u64()
	a.Flags = BeginFlags(r.u8())
	a.Fresh, a.Stale, a.Keep, a.MaxBody = r.u64(), r.u64(), r.u64(), r.u64()
	a.Name = r.str()
	a.Meta = r.str()
	a.Body = r.b
	return r.err()
}

// BeginResult is the result of FuncBegin.
type BeginResult struct {
	Handle uint32
	Wake   Wake
}

// Append appends the encoded result to dst.
func (b *BeginResult) Append(dst []byte) []byte {
	dst = binary.LittleEndian.AppendUint32(dst, b.Handle)
	return b.Wake.Append(dst)
}

// Decode reads an encoded result.
func (b *BeginResult) Decode(data []byte) error {
	r := reader{b: data}
	b.Handle = r.u32()
	if err := r.err(); err != nil {
		return err
	}
	return b.Wake.Decode(r.b)
}

// AppendArgs are the arguments of FuncAppend.
type AppendArgs struct {
	Handle uint32
	Data   []byte
}

// Append appends the encoded arguments to dst.
func (a *AppendArgs) Append(dst []byte) []byte {
	dst = binary.LittleEndian.AppendUint32(dst, a.Handle)
	return append(dst, a.Data...)
}

// Decode reads encoded arguments; Data shares b's memory.
func (a *AppendArgs) Decode(b []byte) error {
	r := reader{b: b}
	a.Handle = r.u32()
	a.Data = r.b
	return r.err()
}

// AppendHandle appends the arguments of FuncCommit and FuncAbort.
func AppendHandle(dst []byte, handle uint32) []byte {
	return binary.LittleEndian.AppendUint32(dst, handle)
}

// DecodeHandle reads the arguments of FuncCommit and FuncAbort.
func DecodeHandle(b []byte) (uint32, error) {
	if len(b) != 4 {
		return 0, ErrMalformed
	}
	return binary.LittleEndian.Uint32(b), nil
}

// ReleaseArgs are the arguments of FuncRelease.
type ReleaseArgs struct {
	Store uint32
	Token uint64
}

// Append appends the encoded arguments to dst.
func (a *ReleaseArgs) Append(dst []byte) []byte {
	dst = binary.LittleEndian.AppendUint32(dst, a.Store)
	return binary.LittleEndian.AppendUint64(dst, a.Token)
}

// Decode reads encoded arguments.
func (a *ReleaseArgs) Decode(b []byte) error {
	if len(b) != 12 {
		return ErrMalformed
	}
	a.Store = binary.LittleEndian.Uint32(b)
	a.Token = binary.LittleEndian.Uint64(b[4:])
	return nil
}

// Wake names the callers to tell that a lock was released.
type Wake struct {
	// Token is the lock released.
	Token uint64
	// Queues are the waiters' queue ids, each once.
	Queues []uint32
}

// Append appends the encoded wake to dst: nothing when nobody waits.
func (w *Wake) Append(dst []byte) []byte {
	if len(w.Queues) == 0 {
		return dst
	}
	dst = binary.LittleEndian.AppendUint64(dst, w.Token)
	for _, q := range w.Queues {
		dst = binary.LittleEndian.AppendUint32(dst, q)
	}
	return dst
}

// Decode reads an encoded wake; an empty one has no queues.
func (w *Wake) Decode(b []byte) error {
	w.Token, w.Queues = 0, w.Queues[:0]
	if len(b) == 0 {
		return nil
	}
	if len(b) < 8 || (len(b)-8)%4 != 0 {
		return ErrMalformed
	}
	w.Token = binary.LittleEndian.Uint64(b)
	for b = b[8:]; len(b) > 0; b = b[4:] {
		w.Queues = append(w.Queues, binary.LittleEndian.Uint32(b))
	}
	return nil
}

// PurgeArgs are the arguments of FuncPurge.
type PurgeArgs struct {
	Store uint32
	Scope PurgeScope
	Name  Name
}

// Append appends the encoded arguments to dst.
func (a *PurgeArgs) Append(dst []byte) []byte {
	dst = binary.LittleEndian.AppendUint32(dst, a.Store)
	dst = append(dst, byte(a.Scope))
	return appendStr(dst, a.Name)
}

// Decode reads encoded arguments; Name shares b's memory.
func (a *PurgeArgs) Decode(b []byte) error {
	r := reader{b: b}
	a.Store = r.u32()
	a.Scope = PurgeScope(r.u8())
	a.Name = r.str()
	if len(r.b) != 0 || a.Scope < PurgeKey || a.Scope > PurgeKeyPrefix {
		r.bad = true
	}
	return r.err()
}

// AppendStore appends the arguments of FuncStats (and the result of
// FuncOpen): a store handle.
func AppendStore(dst []byte, store uint32) []byte {
	return binary.LittleEndian.AppendUint32(dst, store)
}

// DecodeStore reads a store handle.
func DecodeStore(b []byte) (uint32, error) {
	if len(b) != 4 {
		return 0, ErrMalformed
	}
	return binary.LittleEndian.Uint32(b), nil
}

// AppendCount appends the result of FuncPurge.
func AppendCount(dst []byte, n uint64) []byte { return binary.LittleEndian.AppendUint64(dst, n) }

// DecodeCount reads the result of FuncPurge.
func DecodeCount(b []byte) (uint64, error) {
	if len(b) != 8 {
		return 0, ErrMalformed
	}
	return binary.LittleEndian.Uint64(b), nil
}

// Stats are a store's figures, the result of FuncStats.
type Stats struct {
	// Entries and Size (bytes, with per-entry overhead) are what the store
	// holds now; MaxSize is its bound.
	Entries, Size, MaxSize uint64
	// Lookup outcomes since the store was opened (in this process).
	Hits, Stale, Expired, Misses, Waits uint64
	// Writes counts entries stored, Evictions entries dropped to stay
	// under MaxSize (or past their time), Purged entries purged.
	Writes, Evictions, Purged uint64
}

// statsFields is the number of u64 fields of an encoded Stats.
const statsFields = 11

func (s *Stats) fields() [statsFields]*uint64 {
	return [statsFields]*uint64{&s.Entries, &s.Size, &s.MaxSize, &s.Hits, &s.Stale, &s.Expired,
		&s.Misses, &s.Waits, &s.Writes, &s.Evictions, &s.Purged}
}

// Append appends the encoded stats to dst.
func (s *Stats) Append(dst []byte) []byte {
	for _, f := range s.fields() {
		dst = binary.LittleEndian.AppendUint64(dst, *f)
	}
	return dst
}

// Decode reads encoded stats.
func (s *Stats) Decode(b []byte) error {
	if len(b) != 8*statsFields {
		return ErrMalformed
	}
	for i, f := range s.fields() {
		*f = binary.LittleEndian.Uint64(b[8*i:])
	}
	return nil
}
