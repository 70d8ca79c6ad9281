package main

import (
	"reflect"
	"testing"
	"time"
)

func TestParseCacheControl(t *testing.T) {
	tests := []struct {
		name   string
		values []string
		want   cacheControl
	}{
		{name: "absent", want: cacheControl{maxAge: -1, sMaxAge: -1, staleWhileRevalidate: -1, staleIfError: -1}},
		{name: "mixed case and blanks", values: []string{" Public , MAX-AGE = 60 "},
			want: cacheControl{present: true, public: true, maxAge: 60, sMaxAge: -1, staleWhileRevalidate: -1, staleIfError: -1}},
		{name: "several values", values: []string{"s-maxage=5", "stale-while-revalidate=30, stale-if-error=\"40\""},
			want: cacheControl{present: true, maxAge: -1, sMaxAge: 5, staleWhileRevalidate: 30, staleIfError: 40}},
		{name: "first value wins", values: []string{"max-age=5, max-age=50"},
			want: cacheControl{present: true, maxAge: 5, sMaxAge: -1, staleWhileRevalidate: -1, staleIfError: -1}},
		{name: "invalid is stale", values: []string{"max-age=soon"},
			want: cacheControl{present: true, maxAge: 0, sMaxAge: -1, staleWhileRevalidate: -1, staleIfError: -1}},
		{name: "overflow is capped", values: []string{"max-age=99999999999999999999"},
			want: cacheControl{present: true, maxAge: 1 << 31, sMaxAge: -1, staleWhileRevalidate: -1, staleIfError: -1}},
		{name: "field lists", values: []string{`no-cache="set-cookie", private="x"`},
			want: cacheControl{present: true, noCache: true, private: true, maxAge: -1, sMaxAge: -1, staleWhileRevalidate: -1, staleIfError: -1}},
		{name: "revalidation", values: []string{"must-revalidate, proxy-revalidate, no-store"},
			want: cacheControl{present: true, mustRevalidate: true, proxyRevalidate: true, noStore: true, maxAge: -1, sMaxAge: -1, staleWhileRevalidate: -1, staleIfError: -1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := parseCacheControl(tc.values); got != tc.want {
				t.Errorf("parseCacheControl(%q) = %+v; want %+v", tc.values, got, tc.want)
			}
		})
	}
}

func TestDecide(t *testing.T) {
	now := time.Date(2023, 11, 14, 22, 13, 20, 0, time.UTC)
	p := policy{maxFileSize: 100, defaultTTL: time.Second}
	cc := func(s string) cacheControl { return parseCacheControl([]string{s}) }
	tests := []struct {
		name string
		p    policy
		resp response
		auth bool
		want lifetime
		why  reason
	}{
		{name: "max-age", p: p, resp: response{status: 200, cc: cc("max-age=60")},
			want: lifetime{fresh: time.Minute, keep: 2 * time.Minute}},
		{name: "stale windows", p: p, resp: response{status: 200, cc: cc("max-age=60, stale-while-revalidate=30, stale-if-error=600")},
			want: lifetime{fresh: time.Minute, swr: 30 * time.Second, sie: 10 * time.Minute, keep: 11 * time.Minute}},
		{name: "must-revalidate serves no stale", p: p, resp: response{status: 200, cc: cc("max-age=60, must-revalidate, stale-if-error=600")},
			want: lifetime{fresh: time.Minute, keep: 2 * time.Minute}},
		{name: "age", p: p, resp: response{status: 200, cc: cc("max-age=60"), age: "20"},
			want: lifetime{fresh: 40 * time.Second, initialAge: 20 * time.Second, keep: 100 * time.Second}},
		{name: "expires against date", p: p, resp: response{status: 200, cc: cc(""), hasExpires: true,
			date: "Tue, 14 Nov 2023 22:00:00 GMT", expires: "Tue, 14 Nov 2023 22:10:00 GMT"},
			want: lifetime{fresh: 10 * time.Minute, keep: 20 * time.Minute}},
		{name: "expires against now", p: p, resp: response{status: 200, cc: cc(""), hasExpires: true, expires: "Tue, 14 Nov 2023 22:14:20 GMT"},
			want: lifetime{fresh: time.Minute, keep: 2 * time.Minute}},
		{name: "rfc 850 expires", p: p, resp: response{status: 200, cc: cc(""), hasExpires: true, expires: "Tuesday, 14-Nov-23 22:14:20 GMT"},
			want: lifetime{fresh: time.Minute, keep: 2 * time.Minute}},
		{name: "max_ttl", p: policy{maxTTL: 10 * time.Second, defaultTTL: time.Second}, resp: response{status: 200, cc: cc("max-age=600")},
			want: lifetime{fresh: 10 * time.Second, keep: 20 * time.Second}},
		{name: "heuristic", p: p, resp: response{status: 404, cc: cc("")},
			want: lifetime{fresh: time.Second, keep: 11 * time.Second}},
		{name: "too large", p: p, resp: response{status: 200, cc: cc("max-age=1"), contentLength: 101}, why: reasonTooLarge},
		{name: "authorization", p: p, resp: response{status: 200, cc: cc("max-age=1")}, auth: true, why: reasonAuth},
		{name: "authorization with s-maxage", p: p, resp: response{status: 200, cc: cc("s-maxage=1")}, auth: true,
			want: lifetime{fresh: time.Second, keep: 11 * time.Second}},
		{name: "no heuristic for 500", p: p, resp: response{status: 500, cc: cc("")}, why: reasonStatus},
		{name: "no-cache", p: p, resp: response{status: 200, cc: cc("no-cache")}, why: reasonNoStore},
		{name: "vary star", p: p, resp: response{status: 200, cc: cc(""), varyStar: true}, why: reasonVaryStar},
		{name: "check_cache_control", p: policy{checkCacheControl: true, defaultTTL: time.Second}, resp: response{status: 200, cc: cc("")}, why: reasonNoCC},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.resp.contentLength == 0 {
				tc.resp.contentLength = -1
			}
			got, why := tc.p.decide(&tc.resp, tc.auth, now)
			if why != tc.why || got != tc.want {
				t.Errorf("decide = %+v, %q; want %+v, %q", got, why, tc.want, tc.why)
			}
		})
	}
}

func TestParseRange(t *testing.T) {
	tests := []struct {
		h            string
		size         int64
		want         byteRange
		ok, unsatisf bool
	}{
		{h: "bytes=0-4", size: 10, want: byteRange{0, 4}, ok: true},
		{h: "bytes=5-", size: 10, want: byteRange{5, 9}, ok: true},
		{h: "bytes=8-100", size: 10, want: byteRange{8, 9}, ok: true},
		{h: "bytes=-3", size: 10, want: byteRange{7, 9}, ok: true},
		{h: "bytes=-30", size: 10, want: byteRange{0, 9}, ok: true},
		{h: "bytes=10-", size: 10, ok: true, unsatisf: true},
		{h: "bytes=-0", size: 10, ok: true, unsatisf: true},
		{h: "bytes=0-", size: 0, ok: true, unsatisf: true},
		{h: "bytes=4-2", size: 10},
		{h: "bytes=0-1,4-5", size: 10},
		{h: "items=0-1", size: 10},
		{h: "bytes=x-1", size: 10},
		{h: "bytes=5", size: 10},
	}
	for _, tc := range tests {
		t.Run(tc.h, func(t *testing.T) {
			got, ok, unsat := parseRange(tc.h, tc.size)
			if ok != tc.ok || unsat != tc.unsatisf || ok && !unsat && got != tc.want {
				t.Errorf("parseRange(%q, %d) = %v %v %v; want %v %v %v", tc.h, tc.size, got, ok, unsat, tc.want, tc.ok, tc.unsatisf)
			}
		})
	}
}

func TestVariant(t *testing.T) {
	names, star := varyNames([]string{"Accept-Encoding, User-Agent", "accept-encoding"})
	if star || !reflect.DeepEqual(names, []string{"accept-encoding", "user-agent"}) {
		t.Fatalf("varyNames = %v %v", names, star)
	}
	tests := []struct {
		name    string
		a, b    [][2]string
		sameVar bool
	}{
		{"same values", [][2]string{{"accept-encoding", "gzip"}}, [][2]string{{"accept-encoding", "gzip"}}, true},
		{"list blanks", [][2]string{{"accept-encoding", "gzip, br"}}, [][2]string{{"accept-encoding", "gzip,br"}}, true},
		{"other value", [][2]string{{"accept-encoding", "gzip"}}, [][2]string{{"accept-encoding", "br"}}, false},
		{"absent and empty differ", nil, [][2]string{{"accept-encoding", ""}}, false},
		{"other headers do not count", [][2]string{{"x", "1"}}, [][2]string{{"x", "2"}}, true},
		{"header order", [][2]string{{"user-agent", "a"}, {"accept-encoding", "b"}}, [][2]string{{"accept-encoding", "b"}, {"user-agent", "a"}}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if same := variant(names, tc.a) == variant(names, tc.b); same != tc.sameVar {
				t.Errorf("variant(%v) == variant(%v): %v; want %v", tc.a, tc.b, same, tc.sameVar)
			}
		})
	}
}

func TestMeta(t *testing.T) {
	s := &stored{status: 203, storedAt: 1, freshUntil: 2, initialAge: 3, sie: 4,
		headers: [][2]string{{"content-type", "text/plain"}, {"x-empty", ""}}, body: []byte("b")}
	got, err := decodeResponse(appendResponseMeta(nil, s), []byte("b"), 0)
	if err != nil || !reflect.DeepEqual(got, s) {
		t.Errorf("response meta round trip: %+v, %v; want %+v", got, err, s)
	}
	names, err := decodeVary(appendVaryMeta(nil, []string{"a", "b"}))
	if err != nil || !reflect.DeepEqual(names, []string{"a", "b"}) {
		t.Errorf("vary meta round trip: %v, %v", names, err)
	}
	for _, bad := range [][]byte{nil, {2, 0}, {1, 9}, appendResponseMeta(nil, s)[:31], append(appendVaryMeta(nil, []string{"a"}), 0)} {
		if _, err := decodeResponse(bad, nil, 0); err == nil {
			t.Errorf("decodeResponse(%v) accepted", bad)
		}
	}
}

// FuzzMeta: decoding never panics, and what decodes encodes back.
func FuzzMeta(f *testing.F) {
	f.Add(appendResponseMeta(nil, &stored{status: 200, headers: [][2]string{{"a", "b"}}}))
	f.Add(appendVaryMeta(nil, []string{"accept-encoding"}))
	f.Fuzz(func(t *testing.T, b []byte) {
		if s, err := decodeResponse(b, nil, 0); err == nil {
			if got := appendResponseMeta(nil, s); string(got) != string(b) {
				t.Errorf("response meta %v re-encodes as %v", b, got)
			}
		}
		if names, err := decodeVary(b); err == nil {
			if got := appendVaryMeta(nil, names); string(got) != string(b) {
				t.Errorf("vary meta %v re-encodes as %v", b, got)
			}
		}
	})
}

// FuzzHeaders runs the header parsers on arbitrary values: none may
// panic, and a satisfiable range lies within the body.
func FuzzHeaders(f *testing.F) {
	f.Add("max-age=60, s-maxage=\"5\"", "bytes=0-10", int64(100))
	f.Add("", "bytes=-5", int64(3))
	f.Fuzz(func(t *testing.T, cc, rng string, size int64) {
		if size < 0 {
			size = -size
		}
		c := parseCacheControl([]string{cc})
		if c.maxAge < -1 || c.sMaxAge < -1 || c.maxAge > 1<<31 {
			t.Errorf("parseCacheControl(%q) = %+v", cc, c)
		}
		r, ok, unsat := parseRange(rng, size)
		if ok && !unsat && (r.start < 0 || r.end < r.start || r.end >= size) {
			t.Errorf("parseRange(%q, %d) = %+v", rng, size, r)
		}
		varyNames([]string{cc})
		etagMatch(cc, rng)
		parseHTTPDate(cc)
	})
}
