package main

import (
	"strconv"
	"time"

	"github.com/sluice-proxy/sluice/sdk"
)

// jwksTimeout bounds one fetch of the key set.
const jwksTimeout = 10 * time.Second

// jwks is the key set of jwks_url, cached in this VM. It is fetched
// through an http callout to an upstream of the sluice config: when the
// plugin is configured (which also checks that the upstream exists), when
// a request finds it older than ttl, and when a token names a kid it does
// not have (a key rotation), at most once per cooldown. Requests that need
// a fetch wait for it, paused; a failed fetch keeps the keys it had.
type jwks struct {
	upstream, authority, path, scheme string
	ttl, cooldown                     time.Duration

	changed func() // called when keys arrive

	keys      []*key
	fetched   time.Time // of the keys; zero: never fetched
	attempted time.Time // last fetch started
	fetching  bool
	waiters   []func()
}

// parseURL reads jwks_url; it returns what is wrong, or "".
func (s *jwks) parseURL(raw string) string {
	u, err := sdk.ParseUpstreamURL(raw)
	if err != nil {
		return err.Error()
	}
	s.scheme, s.authority, s.path, s.upstream = u.Scheme, u.Authority, u.Path, u.Upstream
	return ""
}

// candidates returns the keys that may have signed t: those with its kid
// (all when it has none) that fit its algorithm.
func (s *jwks) candidates(t *token) []*key {
	var out []*key
	for _, k := range s.keys {
		if (t.kid == "" || k.kid == t.kid) && k.fits(t.alg) {
			out = append(out, k)
		}
	}
	return out
}

// mustWait reports whether a request with token t has to wait for a fetch
// of the keys, and starts one if none is under way: when the keys are
// older than ttl (or missing), or have no key for t, and the cooldown since
// the last fetch has passed. Otherwise the request is decided with the keys
// there are.
func (s *jwks) mustWait(now time.Time, t *token) bool {
	if s.fresh(now) && len(s.candidates(t)) > 0 {
		return false
	}
	if s.fetching {
		return true
	}
	if !s.attempted.IsZero() && now.Sub(s.attempted) < s.cooldown {
		return false
	}
	if err := s.fetch(); err != nil {
		sdk.Warn("jwt: cannot fetch the key set from upstream " + strconv.Quote(s.upstream) + ": " + err.Error())
		return false
	}
	return true
}

// fresh reports whether there are keys younger than ttl.
func (s *jwks) fresh(now time.Time) bool {
	return !s.fetched.IsZero() && now.Before(s.fetched.Add(s.ttl))
}

// fetch starts fetching the key set.
func (s *jwks) fetch() error {
	s.attempted = sdk.Now()
	headers := [][2]string{
		{":method", "GET"}, {":path", s.path}, {":authority", s.authority}, {":scheme", s.scheme},
		{"accept", "application/json"},
	}
	if err := sdk.HTTPCall(s.upstream, headers, nil, jwksTimeout, s.receive); err != nil {
		return err
	}
	s.fetching = true
	return nil
}

// receive takes the answer of a fetch and lets the waiting requests go on.
func (s *jwks) receive(resp sdk.CallResponse) {
	s.fetching = false
	from := "jwt: fetching the key set " + s.path + " from upstream " + strconv.Quote(s.upstream) + ": "
	then := "; no keys yet"
	if !s.fetched.IsZero() {
		then = "; keeping the keys there were"
	}
	switch {
	case resp.Err != nil:
		sdk.Warn(from + resp.Err.Error() + then)
	case resp.Status != 200:
		sdk.Warn(from + "status " + strconv.Itoa(resp.Status) + then)
	default:
		keys, err := parseJWKS(resp.Body)
		if err != nil {
			sdk.Warn(from + err.Error() + then)
			break
		}
		s.keys, s.fetched = keys, sdk.Now()
		if s.changed != nil {
			s.changed()
		}
	}
	waiters := s.waiters
	s.waiters = nil
	for _, fn := range waiters {
		fn()
	}
}
