package main

import (
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/sluice-proxy/sluice/sdk"
	"github.com/sluice-proxy/sluice/sdk/sdktest"
)

func TestVerified(t *testing.T) {
	sec := unixSeconds(now)
	tests := []struct {
		name  string
		raw   string
		exp   float64
		at    float64 // when asked
		want  bool
		after func(v *verified)
	}{
		{name: "until exp", raw: "a.b.c", exp: sec + 10, at: sec + 9.9, want: true},
		{name: "not at exp", raw: "a.b.c", exp: sec + 10, at: sec + 10},
		{name: "no exp: until the recheck", raw: "a.b.c", exp: math.Inf(1), at: sec + 299, want: true},
		{name: "no exp: verified again after it", raw: "a.b.c", exp: math.Inf(1), at: sec + 300},
		{name: "too long to cache", raw: strings.Repeat("x", maxCachedToken+1), exp: sec + 10, at: sec},
		{name: "cleared", raw: "a.b.c", exp: sec + 10, at: sec, after: (*verified).clear},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var v verified
			v.put(tc.raw, tc.exp, now)
			if tc.after != nil {
				tc.after(&v)
			}
			if got := v.has(tc.raw, tc.at); got != tc.want {
				t.Errorf("has at +%vs = %v; want %v", tc.at-sec, got, tc.want)
			}
			if v.has("a.b.d", sec) {
				t.Error("another token is cached")
			}
		})
	}
	t.Run("bounded", func(t *testing.T) {
		var v verified
		for i := range maxVerified + 10 {
			v.put(strings.Repeat("t", i+1), sec+60, now)
		}
		if len(v.entries) != maxVerified {
			t.Errorf("%d tokens cached; want at most %d", len(v.entries), maxVerified)
		}
	})
}

func TestEqual(t *testing.T) {
	base := strings.Repeat("abcdefgh", 5) + "xyz"
	tests := []struct {
		name string
		b    string
		want bool
	}{
		{"same", base, true},
		{"differs in a word", strings.Replace(base, "c", "C", 1), false},
		{"differs in the tail", base[:len(base)-1] + "Z", false},
		{"shorter", base[:len(base)-1], false},
		{"longer", base + "a", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := equal(base, tc.b); got != tc.want {
				t.Errorf("equal = %v; want %v", got, tc.want)
			}
		})
	}
}

// A token that collides with a cached one is not taken for it.
func TestVerifiedCollision(t *testing.T) {
	var v verified
	v.put("a.b.c", math.Inf(1), now)
	h := v.hash("a.b.c")
	e := v.entries[h]
	delete(v.entries, h)
	v.entries[v.hash("x.y.z")] = e // as if x.y.z collided with a.b.c
	if v.has("x.y.z", unixSeconds(now)) {
		t.Error("a colliding token passed as the cached one")
	}
}

// A cached token is still refused once it expires.
func TestJWTCacheExpiry(t *testing.T) {
	hs, _ := signers(t, "HS256")
	h := sdktest.Start(t, `{"header":"Authorization","secret":`+quote(string(hmacSecret))+`}`, sdktest.WithNow(now))
	tok := hs.token(t, map[string]any{"exp": now.Unix() + 10}, nil)
	for i := range 2 {
		if lr, _ := decide(t, h, bearerReq(tok)); lr != nil {
			t.Fatalf("request %d refused %+v", i, lr)
		}
	}
	h.Advance(10 * time.Second)
	if lr, _ := decide(t, h, bearerReq(tok)); lr == nil || string(lr.Body) != "Jwt authorization is expired" {
		t.Fatalf("after exp: response %+v; want 401 expired", lr)
	}
}

// A token costs two crossings of the Wasm boundary, read and clock, the
// first time and again.
func TestJWTHostCalls(t *testing.T) {
	hs, _ := signers(t, "HS256")
	h := sdktest.Start(t, `{"header":"Authorization","secret":`+quote(string(hmacSecret))+`}`, sdktest.WithNow(now))
	tok := hs.token(t, valid(), nil)
	want := map[string]int{"proxy_get_header_map_value": 1, "proxy_get_current_time_nanoseconds": 1}
	for _, round := range []string{"verified", "cached"} {
		s := h.NewStream()
		h.ResetHostCalls()
		if a := s.SendRequestHeaders(bearerReq(tok), true); a != sdk.Continue {
			t.Fatalf("%s: refused %+v", round, s.LocalResponse())
		}
		if got := h.HostCalls(); !reflect.DeepEqual(got, want) {
			t.Errorf("%s: host calls %v; want %v", round, got, want)
		}
	}
}
