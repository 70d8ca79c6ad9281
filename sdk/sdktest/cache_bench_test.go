package sdktest

import (
	"testing"
)

// BenchmarkCacheWasm runs the built cache plugin on wazero against the fake
// store: the guest's share of a HIT and of a MISS (the store's own cost is
// host/cachestore's, measured there).
func BenchmarkCacheWasm(b *testing.B) {
	cs := NewCacheStore()
	h := newWasmHost(b, buildPlugin(b, "plugins-wasm/cache"), cs.Option())
	if err := h.Configure(`{"directory":"memory://bench"}`); err != nil {
		b.Fatal(err)
	}
	req := Get("/app?x=1", "accept", "*/*", "user-agent", "bench")
	body := make([]byte, 1024)
	resp := Response(200, "cache-control", "max-age=3600", "content-type", "text/plain")
	s := h.NewStream()
	s.SendRequestHeaders(req, true)
	s.SendResponseHeaders(resp, false)
	s.SendResponseBody(body, true)
	s.Complete()
	b.Run("hit", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			s := h.NewStream()
			s.SendRequestHeaders(req, true)
			lr := s.LocalResponse()
			if lr == nil || len(lr.Body) != len(body) {
				b.Fatalf("not a hit: %+v", lr)
			}
			s.SendResponseHeaders(lr.Pairs(), true)
			s.Complete()
		}
	})
}
