package main

import (
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
// client sending the same token again costs a map lookup instead of a
// signature check: an RS256 or ES256 verification takes hundreds of
// microseconds in Wasm, and clients send the same token for its whole
// life. An entry serves until the token's "exp" (it is then verified
// again, and refused as expired) and at most recheckAfter; with a key set,
// every fetch of the set empties the cache, so that a key that left the set
// stops passing. Lookups compare whole tokens by Go map equality: a forged
// token never matches a cached one.
type verified struct {
	until map[string]float64 // token → Unix seconds it may pass until
}

// has reports whether raw passed recently and may pass again at sec (Unix
// seconds) without being verified.
func (v *verified) has(raw string, sec float64) bool {
	until, ok := v.until[raw]
	if !ok {
		return false
	}
	if sec >= until {
		delete(v.until, raw)
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
	if v.until == nil {
		v.until = make(map[string]float64)
	}
	if len(v.until) >= maxVerified {
		for k := range v.until { // Go maps iterate from a random place: random eviction
			delete(v.until, k)
			break
		}
	}
	// The token's memory may be a host buffer of the request: keep a copy.
	v.until[strings.Clone(raw)] = min(exp, unixSeconds(now.Add(recheckAfter)))
}

// clear forgets every token.
func (v *verified) clear() { clear(v.until) }
