package main

import "encoding/binary"

// Counters live in shared data, so that every VM of the plugin counts the
// same requests. A key's counter is not a shared-data key of its own: the
// host never deletes shared data, and clients choose the keys (a header, a
// cookie), so one key each would grow without bound. Instead a key's
// 64-bit FNV-1a hash picks one of nBuckets buckets, and a bucket holds the
// entries of the keys that hash to it; entries that no longer count
// (a rate window gone by, an inflight count back to zero, the count of a
// VM that died) are dropped whenever the bucket is written. Each update is
// a compare-and-swap of one bucket, so the counts are exact across VMs.
//
// Everything read back from shared data is checked: a bucket that does not
// parse is treated as empty, never trusted.

// nBuckets is the number of shared-data keys per plugin and type: a power
// of two, so that a bucket is the hash's low bits.
const nBuckets = 1024

// maxRateEntries bounds a rate bucket (24 bytes an entry): within two
// windows clients can present any number of distinct keys, and each
// request copies its bucket. Past it the smallest count is evicted, which
// can only let that key through sooner.
const maxRateEntries = 512

// fnv64 is FNV-1a, 64 bits: cheap, allocation-free, and good enough to
// spread client keys over buckets (a collision inside a bucket would need
// 64 bits to match).
func fnv64(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return h
}

// Rate bucket layout (little-endian):
//
//	[0:8]    the window length in ms the entries were counted with
//	then, 24 bytes per key:
//	[0:8]    key hash
//	[8:16]   window number: Unix ms / window length
//	[16:20]  requests in the window before that one (prev)
//	[20:24]  requests in that window (curr)
const (
	rateHeader = 8
	rateEntry  = 24
)

// rateCount is a key's two-window count after a request was observed.
type rateCount struct{ prev, curr uint32 }

// observeRate counts one request of key hash h in window win into the rate
// bucket old, appending the bucket to write back to dst. A bucket counted
// with another window length (the interval changed) starts afresh.
func observeRate(dst, old []byte, h, win, intervalMS uint64) ([]byte, rateCount) {
	if len(old) < rateHeader || (len(old)-rateHeader)%rateEntry != 0 ||
		binary.LittleEndian.Uint64(old) != intervalMS {
		old = nil
	} else {
		old = old[rateHeader:]
	}
	dst = binary.LittleEndian.AppendUint64(dst, intervalMS)
	var mine rateCount
	found := false
	n := 0
	smallest, smallestAt := uint64(1<<63), -1
	for ; len(old) >= rateEntry; old = old[rateEntry:] {
		eh := binary.LittleEndian.Uint64(old)
		ew := binary.LittleEndian.Uint64(old[8:])
		c := rateCount{binary.LittleEndian.Uint32(old[16:]), binary.LittleEndian.Uint32(old[20:])}
		if eh == h && !found {
			found = true
			mine = roll(c, ew, win)
			mine.curr = satInc(mine.curr)
			dst = appendRate(dst, h, win, mine)
			continue
		}
		if ew+1 < win || ew > win+1 {
			continue // gone by (or from a clock far ahead): counts nothing
		}
		if sum := uint64(c.prev) + uint64(c.curr); sum < smallest {
			smallest, smallestAt = sum, len(dst)
		}
		dst = appendRate(dst, eh, ew, c)
		n++
	}
	if !found {
		mine = rateCount{curr: 1}
		if n+1 > maxRateEntries && smallestAt >= 0 {
			// Overwrite the smallest entry rather than grow.
			putRate(dst[smallestAt:], h, win, mine)
			return dst, mine
		}
		dst = appendRate(dst, h, win, mine)
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

func appendRate(dst []byte, h, win uint64, c rateCount) []byte {
	dst = binary.LittleEndian.AppendUint64(dst, h)
	dst = binary.LittleEndian.AppendUint64(dst, win)
	dst = binary.LittleEndian.AppendUint32(dst, c.prev)
	return binary.LittleEndian.AppendUint32(dst, c.curr)
}

func putRate(b []byte, h, win uint64, c rateCount) {
	binary.LittleEndian.PutUint64(b, h)
	binary.LittleEndian.PutUint64(b[8:], win)
	binary.LittleEndian.PutUint32(b[16:], c.prev)
	binary.LittleEndian.PutUint32(b[20:], c.curr)
}

// Inflight bucket layout (little-endian), 16 bytes per (key, owner):
//
//	[0:8]    key hash
//	[8:12]   owner: the plugin instance (one per VM) holding the requests
//	[12:16]  requests in flight
//
// Counts are kept per owner so that the requests of a VM that died (a trap
// kills a VM without on_done for its streams) stop counting once its owner
// is known to be dead, instead of holding their slots for good.
const inflightEntry = 16

// acquireInflight counts the requests of key hash h in flight by live
// owners and, if one more stays within max, appends the bucket with one
// more for owner to dst. ok reports whether the request may go; total is
// the count including it (or the count that refused it, plus one).
func acquireInflight(dst, old []byte, h uint64, owner uint32, alive func(uint32) bool, max int64) (out []byte, total int64, ok bool) {
	if len(old)%inflightEntry != 0 {
		old = nil
	}
	for b := old; len(b) >= inflightEntry; b = b[inflightEntry:] {
		if binary.LittleEndian.Uint64(b) == h {
			if o := binary.LittleEndian.Uint32(b[8:]); o == owner || alive(o) {
				total += int64(binary.LittleEndian.Uint32(b[12:]))
			}
		}
	}
	total++
	if total > max {
		return dst, total, false
	}
	return rewriteInflight(dst, old, h, owner, alive, 1), total, true
}

// releaseInflight appends the bucket with one request less for owner's
// entry of key hash h (none if the entry is gone, e.g. dropped while this
// owner was thought dead).
func releaseInflight(dst, old []byte, h uint64, owner uint32, alive func(uint32) bool) []byte {
	if len(old)%inflightEntry != 0 {
		old = nil
	}
	return rewriteInflight(dst, old, h, owner, alive, -1)
}

// rewriteInflight copies the bucket, changing owner's count for h by delta
// (adding the entry for +1) and leaving out empty entries and those of dead
// owners.
func rewriteInflight(dst, old []byte, h uint64, owner uint32, alive func(uint32) bool, delta int) []byte {
	done := false
	for ; len(old) >= inflightEntry; old = old[inflightEntry:] {
		eh := binary.LittleEndian.Uint64(old)
		o := binary.LittleEndian.Uint32(old[8:])
		n := int64(binary.LittleEndian.Uint32(old[12:]))
		if o == owner && eh == h && !done {
			done = true
			n += int64(delta)
		} else if o != owner && !alive(o) {
			continue
		}
		if n <= 0 {
			continue
		}
		dst = appendInflight(dst, eh, o, uint32(min(n, 1<<32-1)))
	}
	if !done && delta > 0 {
		dst = appendInflight(dst, h, owner, uint32(delta))
	}
	return dst
}

func appendInflight(dst []byte, h uint64, owner, n uint32) []byte {
	dst = binary.LittleEndian.AppendUint64(dst, h)
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
