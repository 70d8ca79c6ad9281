package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
)

// Counters live in shared data, so that every VM of the plugin counts the
// same requests. A key's counter is not a shared-data key of its own: the
// host never deletes shared data, and clients choose the keys (a header, a
// cookie), so one key each would grow without bound. Instead a key's
// FNV-1a hash picks one of nBuckets buckets, and a bucket holds the
// entries of the keys that hash to it; entries that no longer count (a
// rate window gone by, an inflight count back to zero, the count of a VM
// that died) are dropped whenever the bucket is written. Each update is a
// compare-and-swap of one bucket, so the counts are exact across VMs.
//
// Within a bucket a key is identified exactly (its bytes, or the SHA-256 of
// a long key), never by its hash alone: FNV collisions can be computed, and
// a client able to pick its key (an IPv6 client picks among 2^64
// addresses) must not be able to share a victim's count.
//
// Everything read back from shared data is checked: a bucket that does not
// parse is treated as empty, never trusted.

// nBuckets is the number of shared-data keys per plugin and type: a power
// of two, so that a bucket is the hash's low bits.
const nBuckets = 1024

// maxRateEntries bounds a rate bucket: within two windows clients can
// present any number of distinct keys, and each request copies its bucket.
// Past it the smallest count is evicted, which can only let that key
// through sooner.
const maxRateEntries = 256

// maxRawKey is the longest key kept as it is in an entry; longer ones are
// kept as their SHA-256.
const maxRawKey = 64

// keyID appends the identity of key to dst: 0 and the key itself, or 1 and
// its SHA-256 when longer than maxRawKey.
func keyID[T string | []byte](dst []byte, key T) []byte {
	if len(key) <= maxRawKey {
		return append(append(dst, 0), key...)
	}
	sum := sha256.Sum256([]byte(key))
	return append(append(dst, 1), sum[:]...)
}

// fnv64 is FNV-1a, 64 bits: cheap and allocation-free, to spread keys over
// buckets.
func fnv64(b []byte) uint64 {
	h := uint64(14695981039346656037)
	for _, c := range b {
		h ^= uint64(c)
		h *= 1099511628211
	}
	return h
}

// entries walks the entries of a bucket body: each is a length byte, the
// key identity, then fixed bytes of payload. It calls fn with the identity,
// the payload and the whole entry, and reports false if the body does not
// parse (fn may then have seen some entries).
func entries(b []byte, payload int, fn func(id, data, whole []byte)) bool {
	for len(b) > 0 {
		n := 1 + int(b[0]) + payload
		if b[0] == 0 || b[0] > 1+maxRawKey || len(b) < n {
			return false
		}
		fn(b[1:1+b[0]], b[1+b[0]:n], b[:n])
		b = b[n:]
	}
	return true
}

// Rate bucket layout (little-endian):
//
//	[0:8]    the window length in ms the entries were counted with
//	then per key: a length byte, the key identity, and 16 bytes:
//	[0:8]    window number: Unix ms / window length
//	[8:12]   requests in the window before that one (prev)
//	[12:16]  requests in that window (curr)
const (
	rateHeader  = 8
	ratePayload = 16
)

// rateCount is a key's two-window count after a request was observed.
type rateCount struct{ prev, curr uint32 }

// observeRate counts one request of key identity id in window win into the
// rate bucket old, appending the bucket to write back to dst. A bucket
// counted with another window length (the interval changed), or that does
// not parse, starts afresh.
func observeRate(dst, old, id []byte, win, intervalMS uint64) ([]byte, rateCount) {
	if len(old) < rateHeader || binary.LittleEndian.Uint64(old) != intervalMS ||
		!entries(old[rateHeader:], ratePayload, func(_, _, _ []byte) {}) {
		old = old[:0]
	} else {
		old = old[rateHeader:]
	}
	dst = binary.LittleEndian.AppendUint64(dst, intervalMS)
	var mine rateCount
	found := false
	n := 0
	smallest, smallestAt, smallestLen := uint64(1<<63), -1, 0
	entries(old, ratePayload, func(eid, data, whole []byte) {
		ew := binary.LittleEndian.Uint64(data)
		c := rateCount{binary.LittleEndian.Uint32(data[8:]), binary.LittleEndian.Uint32(data[12:])}
		if !found && bytes.Equal(eid, id) {
			found = true
			mine = roll(c, ew, win)
			mine.curr = satInc(mine.curr)
			dst = appendRate(dst, id, win, mine)
			return
		}
		if ew+1 < win || ew > win+1 {
			return // gone by (or from a clock far ahead): counts nothing
		}
		if sum := uint64(c.prev) + uint64(c.curr); sum < smallest {
			smallest, smallestAt, smallestLen = sum, len(dst), len(whole)
		}
		dst = append(dst, whole...)
		n++
	})
	if !found {
		mine = rateCount{curr: 1}
		if n+1 > maxRateEntries && smallestAt >= 0 {
			// Evict the smallest entry rather than grow.
			dst = append(dst[:smallestAt], dst[smallestAt+smallestLen:]...)
		}
		dst = appendRate(dst, id, win, mine)
	}
	return dst, mine
}

// roll moves a count made in window ew to window win.
func roll(c rateCount, ew, win uint64) rateCount {
	switch {
	case ew == win:
		return c
	case ew+1 == win:
		return rateCount{prev: c.curr}
	}
	return rateCount{}
}

func satInc(v uint32) uint32 {
	if v == 1<<32-1 {
		return v
	}
	return v + 1
}

func appendRate(dst, id []byte, win uint64, c rateCount) []byte {
	dst = append(append(dst, byte(len(id))), id...)
	dst = binary.LittleEndian.AppendUint64(dst, win)
	dst = binary.LittleEndian.AppendUint32(dst, c.prev)
	return binary.LittleEndian.AppendUint32(dst, c.curr)
}

// Inflight bucket layout (little-endian), per (key, owner): a length byte,
// the key identity, and 8 bytes:
//
//	[0:4]  owner: the plugin instance (one per VM) holding the requests
//	[4:8]  requests in flight
//
// Counts are kept per owner so that the requests of a VM that died (a trap
// kills a VM without on_done for its streams) stop counting once its owner
// is known to be dead, instead of holding their slots for good.
const inflightPayload = 8

// acquireInflight counts the requests of key identity id in flight by live
// owners and, if one more stays within max, appends the bucket with one
// more for owner to dst. ok reports whether the request may go; total is
// the count including it (or the count that refused it, plus one).
func acquireInflight(dst, old, id []byte, owner uint32, alive func(uint32) bool, max int64) (out []byte, total int64, ok bool) {
	if !entries(old, inflightPayload, func(eid, data, _ []byte) {
		if bytes.Equal(eid, id) {
			if o := binary.LittleEndian.Uint32(data); o == owner || alive(o) {
				total += int64(binary.LittleEndian.Uint32(data[4:]))
			}
		}
	}) {
		old, total = nil, 0
	}
	total++
	if total > max {
		return dst, total, false
	}
	return rewriteInflight(dst, old, id, owner, alive, 1), total, true
}

// releaseInflight appends the bucket with one request less for owner's
// entry of key identity id (none if the entry is gone, e.g. dropped while
// this owner was thought dead).
func releaseInflight(dst, old, id []byte, owner uint32, alive func(uint32) bool) []byte {
	if !entries(old, inflightPayload, func(_, _, _ []byte) {}) {
		old = nil
	}
	return rewriteInflight(dst, old, id, owner, alive, -1)
}

// rewriteInflight copies a bucket that parses, changing owner's count for
// id by delta (adding the entry for +1) and leaving out empty entries and
// those of dead owners.
func rewriteInflight(dst, old, id []byte, owner uint32, alive func(uint32) bool, delta int) []byte {
	done := false
	entries(old, inflightPayload, func(eid, data, _ []byte) {
		o := binary.LittleEndian.Uint32(data)
		n := int64(binary.LittleEndian.Uint32(data[4:]))
		if o == owner && !done && bytes.Equal(eid, id) {
			done = true
			n += int64(delta)
		} else if o != owner && !alive(o) {
			return
		}
		if n > 0 {
			dst = appendInflight(dst, eid, o, uint32(min(n, 1<<32-1)))
		}
	})
	if !done && delta > 0 {
		dst = appendInflight(dst, id, owner, uint32(delta))
	}
	return dst
}

func appendInflight(dst, id []byte, owner, n uint32) []byte {
	dst = append(append(dst, byte(len(id))), id...)
	dst = binary.LittleEndian.AppendUint32(dst, owner)
	return binary.LittleEndian.AppendUint32(dst, n)
}

// Owner registry layout (little-endian), one shared-data key per plugin:
//
//	[0:4]    the last owner id handed out (ids start at 1)
//	then, 12 bytes per live owner:
//	[0:4]    owner id
//	[4:12]   last heartbeat, Unix ms
//
// Every instance (one per VM) registers when configured, beats on each
// tick and leaves when closed. An owner whose beat is older than staleMS
// is dead: it is dropped from the registry, and its inflight counts are
// dropped from buckets as they are written.
const (
	registryHeader = 4
	registryEntry  = 12
)

// registry is a decoded registry.
type registry struct {
	seq    uint32
	owners []ownerBeat
}

type ownerBeat struct {
	id   uint32
	beat uint64
}

// parseRegistry decodes a registry; one that does not parse is empty.
func parseRegistry(b []byte, into []ownerBeat) registry {
	if len(b) < registryHeader || (len(b)-registryHeader)%registryEntry != 0 {
		return registry{owners: into[:0]}
	}
	r := registry{seq: binary.LittleEndian.Uint32(b), owners: into[:0]}
	for b = b[registryHeader:]; len(b) >= registryEntry; b = b[registryEntry:] {
		r.owners = append(r.owners, ownerBeat{binary.LittleEndian.Uint32(b), binary.LittleEndian.Uint64(b[4:])})
	}
	return r
}

// beat returns the registry with owner's heartbeat set to now (owner 0:
// a new owner gets the next id), without owners older than staleMS (or
// without owner itself when leave is set). It returns the owner id.
func (r registry) beat(dst []byte, owner uint32, now, staleMS uint64, leave bool) ([]byte, uint32) {
	if owner == 0 {
		r.seq++
		if r.seq == 0 {
			r.seq++ // 0 means "none"; a wrap after 4e9 restarts is harmless
		}
		owner = r.seq
	}
	dst = binary.LittleEndian.AppendUint32(dst, r.seq)
	for _, o := range r.owners {
		if o.id == owner || o.beat+staleMS < now {
			continue
		}
		dst = binary.LittleEndian.AppendUint32(dst, o.id)
		dst = binary.LittleEndian.AppendUint64(dst, o.beat)
	}
	if !leave {
		dst = binary.LittleEndian.AppendUint32(dst, owner)
		dst = binary.LittleEndian.AppendUint64(dst, now)
	}
	return dst, owner
}
