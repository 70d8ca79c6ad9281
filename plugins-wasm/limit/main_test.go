package main

import (
	"encoding/binary"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sluice-proxy/sluice/sdk"
	"github.com/sluice-proxy/sluice/sdk/sdktest"
)

// t0 starts a 10s window (and a 1s one): windows are aligned on the epoch.
var t0 = time.Unix(1_700_000_000, 0)

func start(t *testing.T, config string) *sdktest.Host {
	t.Helper()
	return sdktest.Start(t, config, sdktest.WithNow(t0), sdktest.WithProperty("plugin_name", []byte("lim")))
}

// send runs one request from client ip through the current root and
// returns its stream, completed unless keep is set.
func send(t *testing.T, h *sdktest.Host, ip string, keep bool, headers ...string) (*sdktest.Stream, sdk.Action) {
	t.Helper()
	s := h.NewStream()
	s.SetProperty("sluice.client_ip", []byte(ip))
	a := s.SendRequestHeaders(sdktest.Get("/x", headers...), true)
	if a == sdk.Continue {
		s.SendResponseHeaders(sdktest.Response(200), true)
	}
	if !keep {
		s.Complete()
	}
	return s, a
}

// admitted sends n requests and counts those let through.
func admitted(t *testing.T, h *sdktest.Host, n int) int {
	t.Helper()
	ok := 0
	for range n {
		if _, a := send(t, h, "10.0.0.1", false); a == sdk.Continue {
			ok++
		}
	}
	return ok
}

// Issue 4: Pingap's sliding two-window estimate, with refused requests
// counted too.
func TestRate(t *testing.T) {
	type step struct {
		at       time.Duration // from t0
		requests int
		want     int // admitted
	}
	tests := []struct {
		name   string
		config string
		steps  []step
	}{
		{
			name:   "weight 100 is a fixed window of max",
			config: `{"max":3,"interval":"10s","weight":100}`,
			steps:  []step{{0, 5, 3}, {9 * time.Second, 1, 0}, {10 * time.Second, 4, 3}},
		},
		{
			name:   "default weight 50 allows 2×max after a quiet window",
			config: `{"max":3,"interval":"10s"}`,
			// 0.5×curr ≤ 3 → 6 of 8. Next window prev = 8: 0.5×8 + 0.5 > 3,
			// refused, and counted. The one after: prev = 1, so
			// 0.5 + 0.5×curr ≤ 3 → curr ≤ 5.
			steps: []step{{0, 8, 6}, {10 * time.Second, 1, 0}, {20 * time.Second, 7, 5}},
		},
		{
			name:   "weight 0 looks at the previous window only",
			config: `{"max":2,"interval":"10s","weight":0}`,
			steps:  []step{{0, 5, 5}, {10 * time.Second, 2, 0}, {20 * time.Second, 3, 3}, {30 * time.Second, 1, 0}},
		},
		{
			name:   "a gap of two windows forgets everything",
			config: `{"max":1,"interval":"10s","weight":50}`,
			steps:  []step{{0, 4, 2}, {25 * time.Second, 3, 2}},
		},
		{
			name:   "max 0 refuses everything",
			config: `{"max":0}`,
			steps:  []step{{0, 3, 0}},
		},
		{
			// Pingap's per-second rule: max is divided by the interval
			// only from one second up, so below it max is per second:
			// curr/0.5s ≤ 4/s → 2 per 500ms window.
			name:   "sub-second interval: max per second",
			config: `{"max":4,"interval":"500ms","weight":100}`,
			steps:  []step{{0, 5, 2}, {500 * time.Millisecond, 5, 2}},
		},
		{
			name:   "a longer interval scales max per second",
			config: `{"max":60,"interval":"1m","weight":100}`,
			steps:  []step{{0, 70, 60}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := start(t, tc.config)
			for i, st := range tc.steps {
				h.SetNow(t0.Add(st.at))
				if got := admitted(t, h, st.requests); got != st.want {
					t.Errorf("step %d (at %v, %d requests): %d admitted; want %d", i, st.at, st.requests, got, st.want)
				}
			}
		})
	}
}

func TestRateRefusal(t *testing.T) {
	tests := []struct {
		name       string
		config     string
		at         time.Duration
		burst      int
		retryAfter string
		body       string
	}{
		{
			name:   "next window lets it in",
			config: `{"max":3,"interval":"10s","weight":100}`, at: 2500 * time.Millisecond, burst: 4,
			retryAfter: "8", body: "Plugin limit, exceed limit 0.4/0.3",
		},
		{
			name:   "the next window still carries too much",
			config: `{"max":3,"interval":"10s"}`, at: time.Second, burst: 7,
			retryAfter: "19", body: "Plugin limit, exceed limit 0.35/0.3",
		},
		{
			name:   "at least one second",
			config: `{"max":1,"interval":"100ms","weight":100}`, at: 50 * time.Millisecond, burst: 2,
			retryAfter: "1", body: "Plugin limit, exceed limit 20/1",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := start(t, tc.config)
			h.SetNow(t0.Add(tc.at))
			var last *sdktest.Stream
			for range tc.burst {
				last, _ = send(t, h, "10.0.0.1", false)
			}
			lr := last.LocalResponse()
			if lr == nil || lr.Status != 429 {
				t.Fatalf("last of the burst: %+v; want a 429", lr)
			}
			if got := lr.Header("retry-after"); got != tc.retryAfter {
				t.Errorf("retry-after %q; want %q", got, tc.retryAfter)
			}
			if string(lr.Body) != tc.body {
				t.Errorf("body %q; want %q", lr.Body, tc.body)
			}
			if ct := lr.Header("content-type"); !strings.HasPrefix(ct, "text/plain") {
				t.Errorf("content-type %q", ct)
			}
		})
	}
}

func TestKeys(t *testing.T) {
	tests := []struct {
		name    string
		config  string
		same    [][2]string // two requests with the same key
		other   []string    // a request with another key
		missing []string    // a request without a key: never limited
	}{
		{name: "ip", config: `{"max":1,"weight":100}`},
		{name: "header", config: `{"max":1,"weight":100,"tag":"header","key":"X-User"}`,
			same:    [][2]string{{"x-user", "alice"}},
			other:   []string{"x-user", "bob"},
			missing: []string{"x-other", "alice"}},
		{name: "cookie", config: `{"max":1,"weight":100,"tag":"cookie","key":"sid"}`,
			same:    [][2]string{{"cookie", "a=1; sid=s1"}},
			other:   []string{"cookie", "sid=s2"},
			missing: []string{"cookie", "a=1"}},
		{name: "query", config: `{"max":1,"weight":100,"tag":"query","key":"token"}`},
		{name: "inflight header", config: `{"type":"inflight","max":1,"tag":"header","key":"x-user"}`,
			same:    [][2]string{{"x-user", "alice"}},
			other:   []string{"x-user", "bob"},
			missing: []string{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := start(t, tc.config)
			req := func(path, ip string, headers ...string) sdk.Action {
				s := h.NewStream()
				if ip != "" {
					s.SetProperty("sluice.client_ip", []byte(ip))
				}
				return s.SendRequestHeaders(sdktest.Get(path, headers...), true) // kept open: inflight holds
			}
			var first, second, other, missing sdk.Action
			switch tc.name {
			case "ip":
				first, second = req("/", "192.0.2.1"), req("/", "192.0.2.1")
				other, missing = req("/", "192.0.2.2"), sdk.Continue
			case "query":
				first, second = req("/?token=t1", "1.1.1.1"), req("/a?b=2&token=t1", "1.1.1.1")
				other, missing = req("/?token=t2", "1.1.1.1"), req("/?tokens=t1", "1.1.1.1")
			default:
				first = req("/", "1.1.1.1", tc.same[0][0], tc.same[0][1])
				second = req("/", "1.1.1.1", tc.same[0][0], tc.same[0][1])
				other = req("/", "1.1.1.1", tc.other...)
				missing = req("/", "1.1.1.1", tc.missing...)
				req("/", "1.1.1.1", tc.missing...) // twice: still not limited
				missing = req("/", "1.1.1.1", tc.missing...)
			}
			if first != sdk.Continue || second != sdk.Pause {
				t.Errorf("same key: %v then %v; want Continue then Pause (429)", first, second)
			}
			if other != sdk.Continue {
				t.Errorf("another key: %v; want Continue", other)
			}
			if missing != sdk.Continue {
				t.Errorf("no key: %v; want Continue", missing)
			}
		})
	}
}

func TestClientIPFallback(t *testing.T) {
	tests := []struct{ source, want string }{
		{"10.0.0.9:1234", "10.0.0.9"},
		{"[2001:db8::1]:443", "2001:db8::1"},
		{"2001:db8::2", "2001:db8::2"},
	}
	for _, tc := range tests {
		t.Run(tc.source, func(t *testing.T) {
			h := start(t, `{"max":1,"weight":100}`)
			var got []sdk.Action
			for _, src := range []string{tc.source, tc.want} {
				s := h.NewStream()
				s.SetProperty("source.address", []byte(src))
				got = append(got, s.SendRequestHeaders(sdktest.Get("/"), true))
			}
			// Without sluice.client_ip, the peer address without its port
			// is the key: the second request (same address) is refused.
			if got[0] != sdk.Continue || got[1] != sdk.Pause {
				t.Errorf("actions %v; want Continue then Pause", got)
			}
		})
	}
}

// Issue 4: counts are shared between the plugin's instances (one per VM).
func TestRateSharedAcrossInstances(t *testing.T) {
	h := start(t, `{"max":2,"weight":100}`)
	if _, a := send(t, h, "10.0.0.1", false); a != sdk.Continue {
		t.Fatal("first request refused")
	}
	if err := h.Configure(`{"max":2,"weight":100}`); err != nil { // a second VM's instance
		t.Fatal(err)
	}
	if _, a := send(t, h, "10.0.0.1", false); a != sdk.Continue {
		t.Fatal("second request (other instance) refused")
	}
	if _, a := send(t, h, "10.0.0.1", false); a != sdk.Pause {
		t.Fatal("third request admitted: the instances do not share counts")
	}
}

func TestInflight(t *testing.T) {
	h := start(t, `{"type":"inflight","max":2}`)
	s1, a1 := send(t, h, "10.0.0.1", true)
	s2, a2 := send(t, h, "10.0.0.1", true)
	s3, a3 := send(t, h, "10.0.0.1", true)
	if a1 != sdk.Continue || a2 != sdk.Continue || a3 != sdk.Pause {
		t.Fatalf("actions %v %v %v; want Continue Continue Pause", a1, a2, a3)
	}
	lr := s3.LocalResponse()
	if lr == nil || lr.Status != 429 || lr.Header("retry-after") != "1" || string(lr.Body) != "Plugin limit, exceed limit 3/2" {
		t.Fatalf("refusal %+v", lr)
	}
	s3.Complete() // refused: it held no slot, so nothing is released
	if _, a := send(t, h, "10.0.0.1", true); a != sdk.Pause {
		t.Fatal("a refused request released a slot it never held")
	}
	s1.Complete()
	s4, a4 := send(t, h, "10.0.0.1", true)
	if a4 != sdk.Continue {
		t.Fatal("the slot of a finished request was not released")
	}
	// A request that ends before its response (the client went away) is
	// done all the same.
	s2.Complete()
	s5, a5 := send(t, h, "10.0.0.1", true)
	if a5 != sdk.Continue {
		t.Fatal("the slot of an abandoned request was not released")
	}
	s4.Complete()
	s5.Complete()
	if n := inflightCount(t, h, "10.0.0.1"); n != 0 {
		t.Errorf("%d in flight after every request ended; want 0", n)
	}
}

// inflightCount sums the stored counts of key, over all owners.
func inflightCount(t *testing.T, h *sdktest.Host, key string) int {
	t.Helper()
	b, _, _ := h.SharedData(inflightBucket(key))
	n := 0
	entries(b, inflightPayload, func(eid, data, _ []byte) {
		if string(eid) == string(id(key)) {
			n += int(binary.LittleEndian.Uint32(data[4:]))
		}
	})
	return n
}

func inflightBucket(key string) string {
	return "lim/inflight/" + strconv.Itoa(int(fnv64(id(key))%nBuckets))
}

func TestInflightSharedAcrossInstances(t *testing.T) {
	h := start(t, `{"type":"inflight","max":1}`)
	sa, a := send(t, h, "10.0.0.1", true)
	if a != sdk.Continue {
		t.Fatal("first request refused")
	}
	if err := h.Configure(`{"type":"inflight","max":1}`); err != nil {
		t.Fatal(err)
	}
	if _, a := send(t, h, "10.0.0.1", false); a != sdk.Pause {
		t.Fatal("the other instance's request in flight was not counted")
	}
	sa.Complete() // ends on the first instance
	if _, a := send(t, h, "10.0.0.1", false); a != sdk.Continue {
		t.Fatal("the first instance's release was not seen")
	}
}

// Issue 4: a VM that died never releases its slots; its counts stop
// counting once its heartbeat is stale.
func TestInflightDeadOwner(t *testing.T) {
	h := start(t, `{"type":"inflight","max":1}`)
	// This instance registered as owner 1. Owner 7 registered later (so
	// this instance has not seen it yet), holds a request of the key, and
	// its last heartbeat is 11s old.
	stale := uint64(t0.Add(-11 * time.Second).UnixMilli())
	h.SetSharedData("lim/owners", encodeRegistry(7, ownerBeat{1, uint64(t0.UnixMilli())}, ownerBeat{7, stale}))
	bucket := inflightBucket("10.0.0.1")
	h.SetSharedData(bucket, appendInflight(nil, id("10.0.0.1"), 7, 1))

	if _, a := send(t, h, "10.0.0.1", false); a != sdk.Pause {
		t.Fatal("an owner newer than this instance's view was not counted")
	}
	h.Advance(time.Second) // a tick: the view now knows owner 7 is stale
	s, a := send(t, h, "10.0.0.1", true)
	if a != sdk.Continue {
		t.Fatal("the dead owner's request still counts after a heartbeat")
	}
	if rows := inflightRows(t, mustShared(t, h, bucket)); len(rows) != 1 || rows["10.0.0.1/1"] != 1 {
		t.Errorf("bucket %v; want only this instance's entry (the dead owner's dropped)", rows)
	}
	r := parseRegistry(mustShared(t, h, "lim/owners"), nil)
	if r.seq != 7 || len(r.owners) != 1 || r.owners[0].id != 1 {
		t.Errorf("registry %+v; want seq 7 and only owner 1 left", r)
	}
	s.Complete()

	// A live owner (fresh heartbeat) counts.
	h.SetSharedData(bucket, appendInflight(nil, id("10.0.0.1"), 8, 1))
	h.SetSharedData("lim/owners", encodeRegistry(8, ownerBeat{1, uint64(h.Now().UnixMilli())}, ownerBeat{8, uint64(h.Now().UnixMilli())}))
	h.Advance(time.Second)
	if _, a := send(t, h, "10.0.0.1", false); a != sdk.Pause {
		t.Fatal("a live owner's request in flight was not counted")
	}
}

// The instance keeps beating: after a long while its own counts are
// still live for the others.
func TestInflightHeartbeat(t *testing.T) {
	h := start(t, `{"type":"inflight","max":1}`)
	if h.TickPeriod() != time.Second {
		t.Fatalf("tick period %v; want 1s", h.TickPeriod())
	}
	s, _ := send(t, h, "10.0.0.1", true)
	h.Advance(time.Minute)
	r := parseRegistry(mustShared(t, h, "lim/owners"), nil)
	if len(r.owners) != 1 || r.owners[0].beat != uint64(h.Now().UnixMilli()) {
		t.Fatalf("registry %+v; want owner 1 beating at %d", r, h.Now().UnixMilli())
	}
	if _, a := send(t, h, "10.0.0.1", false); a != sdk.Pause {
		t.Fatal("own request no longer counted after a minute of heartbeats")
	}
	s.Complete()
}

func encodeRegistry(seq uint32, owners ...ownerBeat) []byte {
	b := binary.LittleEndian.AppendUint32(nil, seq)
	for _, o := range owners {
		b = binary.LittleEndian.AppendUint32(b, o.id)
		b = binary.LittleEndian.AppendUint64(b, o.beat)
	}
	return b
}

func mustShared(t *testing.T, h *sdktest.Host, key string) []byte {
	t.Helper()
	b, _, ok := h.SharedData(key)
	if !ok {
		t.Fatalf("no shared data %q", key)
	}
	return b
}

func TestBadConfig(t *testing.T) {
	tests := []struct{ name, config, want string }{
		{"max required", `{}`, `key "max": required`},
		{"max negative", `{"max":-1}`, `key "max": must not be negative`},
		{"max not an integer", `{"max":"10"}`, `key "max": want an integer`},
		{"type", `{"max":1,"type":"inflght"}`, `key "type": want "rate" or "inflight", got "inflght"`},
		{"tag", `{"max":1,"tag":"cookies","key":"a"}`, `key "tag": want "ip", "header", "cookie" or "query", got "cookies"`},
		{"key required", `{"max":1,"tag":"header"}`, `key "key": required when tag is not ip`},
		{"header name", `{"max":1,"tag":"header","key":"x user"}`, `key "key": "x user" is not a valid header name`},
		{"interval", `{"max":1,"interval":"0s"}`, `key "interval": must be at least 1ms`},
		{"interval syntax", `{"max":1,"interval":"10 seconds"}`, `key "interval": invalid duration`},
		{"weight", `{"max":1,"weight":101}`, `key "weight": must be between 0 and 100, got 101`},
		{"step", `{"max":1,"step":"response"}`, `key "step": want "request" or "proxy_upstream", got "response"`},
		{"unknown", `{"max":1,"maxx":2}`, `unknown key "maxx"`},
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

func TestGoodConfig(t *testing.T) {
	for _, config := range []string{
		`{"max":10,"step":"proxy_upstream"}`,
		`{"max":10,"step":"request","tag":"ip","type":"rate","interval":"1m","weight":0}`,
		`{"max":10,"type":"inflight","tag":"query","key":"k"}`,
	} {
		t.Run(config, func(t *testing.T) {
			if err := sdktest.New(t).Configure(config); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// Keys sharing a bucket keep their own counts: a key is identified by its
// bytes, the hash only picks the bucket.
func TestSameBucketKeysCountApart(t *testing.T) {
	first := "user-0"
	var second string
	for i := 1; second == ""; i++ {
		k := "user-" + strconv.Itoa(i)
		if fnv64(id(k))%nBuckets == fnv64(id(first))%nBuckets {
			second = k
		}
	}
	h := start(t, `{"max":1,"weight":100,"tag":"header","key":"x-user"}`)
	for _, tc := range []struct {
		key  string
		want sdk.Action
	}{{first, sdk.Continue}, {second, sdk.Continue}, {first, sdk.Pause}, {second, sdk.Pause}} {
		if _, a := send(t, h, "10.0.0.1", false, "x-user", tc.key); a != tc.want {
			t.Fatalf("%s: %v; want %v", tc.key, a, tc.want)
		}
	}
}
