package sdk

import (
	"unsafe"

	"github.com/sluice-proxy/sluice/abi"
	"github.com/sluice-proxy/sluice/sdk/internal/hostcall"
)

// Header is one header map of a stream: request or response headers or
// trailers. Names are lower-case on the wire; methods lower-case the names
// they are given. Reading one value costs one host call; the first call
// that needs the whole map (Values, Range, Len, Pairs) fetches it in one
// host call and serves the rest of the callback from that copy, which the
// SDK keeps in step with its own changes.
//
// Read methods treat a map that cannot be read now (e.g. request headers
// after they were forwarded) as empty; Pairs reports why.
type Header struct {
	r Request
	m abi.MapType
}

type headerCache struct {
	epoch uint64
	pairs [][2]string

	// absent is a key known to have no value in this callback (a Lookup
	// that missed, or a Del), so that Set can add it in one host call.
	absent      string
	absentEpoch uint64
}

func (c *headerCache) knownAbsent(key string) bool {
	return c.absentEpoch == vm.epoch && c.absent == key
}

func (c *headerCache) setAbsent(key string) { c.absent, c.absentEpoch = key, vm.epoch }

// cache returns the whole map, fetched at most once per callback.
func (h Header) cache() (*headerCache, error) {
	if err := h.r.enter(); err != nil {
		return nil, err
	}
	c := &h.r.s.maps[h.m]
	if c.epoch == vm.epoch {
		return c, nil
	}
	b, st := hostcall.GetHeaderMapPairs(h.m)
	if st != abi.StatusOK {
		return nil, statusErrArg("read ", h.m.String(), st)
	}
	pairs, err := decodePairs(c.pairs[:0], b)
	if err != nil {
		return nil, err
	}
	c.pairs, c.epoch = pairs, vm.epoch
	return c, nil
}

// cached returns the map if this callback already fetched it.
func (h Header) cached() *headerCache {
	if c := &h.r.s.maps[h.m]; c.epoch == vm.epoch {
		return c
	}
	return nil
}

// decodePairs appends the pairs of a serialized map to dst. The strings
// share b's memory, which nothing else references or changes.
func decodePairs(dst [][2]string, b []byte) ([][2]string, error) {
	err := abi.RangeMap(b, func(k, v []byte) bool {
		dst = append(dst, [2]string{bytesString(k), bytesString(v)})
		return true
	})
	return dst, err
}

func bytesString(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}

// Get returns the first value of key, or "".
func (h Header) Get(key string) string {
	v, _ := h.Lookup(key)
	return v
}

// Lookup returns the first value of key and whether it is present.
func (h Header) Lookup(key string) (string, bool) {
	if !h.r.Live() {
		return "", false
	}
	key = lower(key)
	if c := h.cached(); c != nil {
		for _, p := range c.pairs {
			if p[0] == key {
				return p[1], true
			}
		}
		return "", false
	}
	if h.r.enter() != nil {
		return "", false
	}
	b, st := hostcall.GetHeaderMapValue(h.m, key)
	if st != abi.StatusOK {
		if st == abi.StatusNotFound {
			h.r.s.maps[h.m].setAbsent(key)
		}
		return "", false
	}
	return bytesString(b), true
}

// Values returns every value of key, in order.
func (h Header) Values(key string) []string {
	c, err := h.cache()
	if err != nil {
		return nil
	}
	key = lower(key)
	var out []string
	for _, p := range c.pairs {
		if p[0] == key {
			out = append(out, p[1])
		}
	}
	return out
}

// Range calls fn for each pair in order until fn returns false.
func (h Header) Range(fn func(key, value string) bool) {
	c, err := h.cache()
	if err != nil {
		return
	}
	for _, p := range c.pairs {
		if !fn(p[0], p[1]) {
			return
		}
	}
}

// Len returns the number of pairs.
func (h Header) Len() int {
	c, err := h.cache()
	if err != nil {
		return 0
	}
	return len(c.pairs)
}

// Pairs returns a copy of every pair in order.
func (h Header) Pairs() ([][2]string, error) {
	c, err := h.cache()
	if err != nil {
		return nil, err
	}
	return append([][2]string(nil), c.pairs...), nil
}

// Set makes value the only value of key, like net/http's Header.Set.
func (h Header) Set(key, value string) error {
	if err := h.r.enter(); err != nil {
		return err
	}
	key = lower(key)
	c := h.cached()
	if m := &h.r.s.maps[h.m]; c == nil && m.knownAbsent(key) {
		return h.add(nil, key, value) // absent: nothing to replace or remove
	}
	n := 0
	if c != nil {
		for _, p := range c.pairs {
			if p[0] == key {
				n++
			}
		}
	}
	switch {
	case n == 1 || c == nil && len(key) > 0 && key[0] == ':':
		// One value (pseudo-headers always have one): replace overwrites
		// it in place, in one host call.
		if st := hostcall.ReplaceHeaderMapValue(h.m, key, value); st != abi.StatusOK {
			return statusErrArg("set header ", key, st)
		}
		if c != nil {
			for i := range c.pairs {
				if c.pairs[i][0] == key {
					c.pairs[i][1] = value
					break
				}
			}
		}
		return nil
	case n > 1 || c == nil:
		// Replace keeps duplicates (Envoy overwrites the first only), so
		// remove them all first.
		if st := hostcall.RemoveHeaderMapValue(h.m, key); st != abi.StatusOK {
			return statusErrArg("set header ", key, st)
		}
		if c != nil {
			c.pairs = without(c.pairs, key)
		}
	}
	return h.add(c, key, value)
}

// Add appends a value to key.
func (h Header) Add(key, value string) error {
	if err := h.r.enter(); err != nil {
		return err
	}
	return h.add(h.cached(), lower(key), value)
}

func (h Header) add(c *headerCache, key, value string) error {
	if st := hostcall.AddHeaderMapValue(h.m, key, value); st != abi.StatusOK {
		return statusErrArg("add header ", key, st)
	}
	if m := &h.r.s.maps[h.m]; m.knownAbsent(key) {
		m.absentEpoch = 0
	}
	if c != nil {
		c.pairs = append(c.pairs, [2]string{key, value})
	}
	return nil
}

// Del removes every value of key.
func (h Header) Del(key string) error {
	if err := h.r.enter(); err != nil {
		return err
	}
	key = lower(key)
	if st := hostcall.RemoveHeaderMapValue(h.m, key); st != abi.StatusOK {
		return statusErrArg("delete header ", key, st)
	}
	if c := h.cached(); c != nil {
		c.pairs = without(c.pairs, key)
	}
	h.r.s.maps[h.m].setAbsent(key)
	return nil
}

// SetPairs replaces the whole map with pairs (names are lower-cased).
func (h Header) SetPairs(pairs [][2]string) error {
	if err := h.r.enter(); err != nil {
		return err
	}
	enc := encodeHeaders(pairs)
	if st := hostcall.SetHeaderMapPairs(h.m, enc); st != abi.StatusOK {
		return statusErrArg("set ", h.m.String(), st)
	}
	h.r.s.maps[h.m].absentEpoch = 0
	if c := h.cached(); c != nil {
		c.pairs = c.pairs[:0]
		for _, p := range pairs {
			c.pairs = append(c.pairs, [2]string{lower(p[0]), p[1]})
		}
	}
	return nil
}

func without(pairs [][2]string, key string) [][2]string {
	out := pairs[:0]
	for _, p := range pairs {
		if p[0] != key {
			out = append(out, p)
		}
	}
	clear(pairs[len(out):])
	return out
}

// lower returns s with ASCII upper-case letters lower-cased, without
// allocating when there are none.
func lower(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'A' && c <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if c := b[j]; c >= 'A' && c <= 'Z' {
					b[j] = c + 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}

// encodeHeaders serializes pairs with lower-cased names.
func encodeHeaders(pairs [][2]string) []byte {
	if len(pairs) == 0 {
		return nil
	}
	lowered := pairs
	for i, p := range pairs {
		if l := lower(p[0]); l != p[0] {
			if &lowered[0] == &pairs[0] {
				lowered = append([][2]string(nil), pairs...)
			}
			lowered[i][0] = l
		}
	}
	return abi.EncodeMap(lowered)
}
