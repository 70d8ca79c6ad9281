package main

import (
	"hash/crc32"
	"strconv"
	"strings"
	"testing"

	"github.com/sluice-proxy/sluice/sdk"
	"github.com/sluice-proxy/sluice/sdk/sdktest"
)

// split sends one request and reports whether it was sent to the canary.
func split(t *testing.T, h *sdktest.Host, headers ...string) bool {
	t.Helper()
	s := h.NewStream()
	if a := s.SendRequestHeaders(sdktest.Get("/", headers...), true); a != sdk.Continue {
		t.Fatalf("action %v; want Continue", a)
	}
	v, ok := s.Property("sluice.upstream")
	if ok && string(v) != "canary" {
		t.Fatalf("sluice.upstream = %q", v)
	}
	s.Complete()
	return ok
}

func TestSticky(t *testing.T) {
	// Pingap's test values: "user-a" is sent at weight 50, "user-b" is
	// not (crc32fast is the IEEE CRC-32).
	if a, b := crc32.ChecksumIEEE([]byte("user-a"))%100, crc32.ChecksumIEEE([]byte("user-b"))%100; a != 20 || b != 98 {
		t.Fatalf("crc32 rolls %d %d; want 20 98", a, b)
	}
	tests := []struct {
		name, config string
		headers      []string
		sent         bool
	}{
		{name: "cookie rolls under weight", config: `"sticky_cookie":"user-id"`, headers: []string{"cookie", "user-id=user-a"}, sent: true},
		{name: "cookie rolls over weight", config: `"sticky_cookie":"user-id"`, headers: []string{"cookie", "user-id=user-b"}},
		{name: "no cookie: never", config: `"sticky_cookie":"user-id"`},
		{name: "header", config: `"sticky_header":"X-User"`, headers: []string{"x-user", "user-a"}, sent: true},
		{name: "header over weight", config: `"sticky_header":"X-User"`, headers: []string{"x-user", "user-b"}},
		{name: "cookie wins over header", config: `"sticky_cookie":"user-id","sticky_header":"x-user"`,
			headers: []string{"x-user", "user-a", "cookie", "user-id=user-b"}},
		{name: "matcher match", config: `"sticky_header":"x-group","matcher":"^(beta|internal)$"`,
			headers: []string{"x-group", "beta"}, sent: true},
		{name: "matcher miss", config: `"sticky_header":"x-group","matcher":"^(beta|internal)$"`,
			headers: []string{"x-group", "betamax"}},
		{name: "matcher without value", config: `"sticky_header":"x-group","matcher":"^.*$"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := sdktest.Start(t, `{"upstream":"canary","weight":50,"stickiness":true,`+tc.config+`}`)
			for range 5 { // sticky: the same answer every time
				if got := split(t, h, tc.headers...); got != tc.sent {
					t.Fatalf("sent %v; want %v", got, tc.sent)
				}
			}
		})
	}
}

// The roll is crc32 % 100 < weight: exact for every value.
func TestStickyAgainstCRC32(t *testing.T) {
	h := sdktest.Start(t, `{"upstream":"canary","weight":30,"stickiness":true,"sticky_cookie":"id"}`)
	for i := range 200 {
		v := "client-" + strings.Repeat("x", i%7) + string(rune('a'+i%26)) + string(rune('0'+i%10))
		want := crc32.ChecksumIEEE([]byte(v))%100 < 30
		if got := split(t, h, "cookie", "id="+v); got != want {
			t.Fatalf("%q: sent %v; want %v", v, got, want)
		}
	}
}

func TestRandomShare(t *testing.T) {
	tests := []struct {
		weight   int
		min, max int // of 2000
	}{
		{0, 0, 0},
		{100, 2000, 2000},
		{10, 120, 280}, // mean 200, sd ~13: far outside means broken
		{50, 850, 1150},
	}
	for _, tc := range tests {
		t.Run("weight "+strconv.Itoa(tc.weight), func(t *testing.T) {
			h := sdktest.Start(t, `{"upstream":"canary","weight":`+strconv.Itoa(tc.weight)+`}`)
			n := 0
			for range 2000 {
				if split(t, h) {
					n++
				}
			}
			if n < tc.min || n > tc.max {
				t.Errorf("%d of 2000 sent; want %d..%d", n, tc.min, tc.max)
			}
		})
	}
}

func TestCRC32(t *testing.T) {
	for _, s := range []string{"", "a", "user-a", strings.Repeat("é", 100)} {
		if got, want := crc32IEEE(s), crc32.ChecksumIEEE([]byte(s)); got != want {
			t.Errorf("crc32IEEE(%q) = %x; want %x", s, got, want)
		}
	}
}

func TestTrafficSplittingBadConfig(t *testing.T) {
	tests := []struct{ name, config, want string }{
		{"upstream required", `{"weight":10}`, `key "upstream": required`},
		{"weight range", `{"upstream":"a","weight":150}`, `key "weight": must be between 0 and 100, got 150`},
		{"sticky without source", `{"upstream":"a","stickiness":true}`, `key "stickiness": needs sticky_cookie or sticky_header`},
		{"cookie without stickiness", `{"upstream":"a","sticky_cookie":"c"}`, `key "stickiness": sticky_cookie, sticky_header and matcher need stickiness = true`},
		{"bad matcher", `{"upstream":"a","stickiness":true,"sticky_header":"h","matcher":"("}`, `key "matcher": error parsing regexp`},
		{"bad header", `{"upstream":"a","stickiness":true,"sticky_header":"a b"}`, `key "sticky_header": "a b" is not a valid header name`},
		{"unknown", `{"upstream":"a","sticky":true}`, `unknown key "sticky"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := sdktest.New(t).Configure(tc.config)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Configure(%s) = %v; want %q", tc.config, err, tc.want)
			}
		})
	}
}
