package main

import (
	"math/rand/v2"
	"strings"
	"time"
)

// Bounds of the cache of verified tokens.
const (
	maxVerified    = 1024            // tokens per VM and plugin
	maxCachedToken = 4096            // longer tokens are verified every time
	recheckAfter   = 5 * time.Minute // tokens are verified again after this
)

// verified remembers the tokens whose signature and claims held, so that a
// client sending the same token again costs a lookup instead of a signature
// check: an RS256 or ES256 verification takes hundreds of microseconds in
// Wasm, and clients send the same token for its whole life. An entry
// serves until the token's "exp" (it is then verified again, and refused
// as expired) and at most recheckAfter; with a key set, every fetch of the
// set empties the cache, so that a key that left the set stops passing.
//
// A hit compares the whole token with the one that passed: a forged token
// never matches. Tokens are hashed and compared eight bytes per loop turn
// rather than with Go's map of strings, whose byte-at-a-time comparison
// costs a check of the callback budget per byte in Wasm.
type verified struct {
	seed    uint64
	entries map[uint64]entry
}

type entry struct {
	token string
	until float64 // Unix seconds it may pass until
}

// has reports whether raw passed recently and may pass again at sec (Unix
// seconds) without being verified.
func (v *verified) has(raw string, sec float64) bool {
	if len(v.entries) == 0 || len(raw) > maxCachedToken {
		return false
	}
	h := v.hash(raw)
	e, ok := v.entries[h]
	if !ok || !equal(e.token, raw) {
		return false
	}
	if sec >= e.until {
		delete(v.entries, h)
		return false
	}
	return true
}

// put remembers that raw passed at now and expires at exp (Unix seconds,
// +Inf for never).
func (v *verified) put(raw string, exp float64, now time.Time) {
	if len(raw) > maxCachedToken {
		return
	}
	if v.entries == nil {
		v.entries = make(map[uint64]entry)
		v.seed = rand.Uint64() | 1
	}
	if len(v.entries) >= maxVerified {
		for k := range v.entries { // Go maps iterate from a random place: random eviction
			delete(v.entries, k)
			break
		}
	}
	// The token's memory may be a host buffer of the request: keep a copy.
	v.entries[v.hash(raw)] = entry{token: strings.Clone(raw), until: min(exp, unixSeconds(now.Add(recheckAfter)))}
}

// clear forgets every token.
func (v *verified) clear() { clear(v.entries) }

// hash mixes s eight bytes at a time (a multiply-xorshift, seeded per VM);
// collisions only cost a miss, since a hit compares the tokens.
func (v *verified) hash(s string) uint64 {
	h := v.seed ^ uint64(len(s))
	i := 0
	for ; i+8 <= len(s); i += 8 {
		h = (h ^ word(s, i)) * 0x9e3779b97f4a7c15
		h ^= h >> 29
	}
	for ; i < len(s); i++ {
		h = (h ^ uint64(s[i])) * 0x100000001b3
	}
	return h ^ h>>32
}

// equal compares a and b eight bytes at a time.
func equal(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	i := 0
	for ; i+8 <= len(a); i += 8 {
		if word(a, i) != word(b, i) {
			return false
		}
	}
	return a[i:] == b[i:]
}

func word(s string, i int) uint64 {
	return uint64(s[i]) | uint64(s[i+1])<<8 | uint64(s[i+2])<<16 | uint64(s[i+3])<<24 |
		uint64(s[i+4])<<32 | uint64(s[i+5])<<40 | uint64(s[i+6])<<48 | uint64(s[i+7])<<56
}
