package proxy

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

// discardWriter is a ResponseWriter that keeps nothing, so that the
// benchmark counts the proxy's work and not a recorder's.
type discardWriter struct{ h http.Header }

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w *discardWriter) WriteHeader(int)             {}

// BenchmarkServeHTTP runs the whole pipeline for a small GET against a real
// keep-alive backend: route, headers, upstream pick, lean transport, copy.
func BenchmarkServeHTTP(b *testing.B) {
	for _, tc := range []struct {
		name, loc string
	}{
		{"plain", `upstream = "b"`},
		{"proxy_headers", `upstream = "b"
enable_reverse_proxy_headers = true
proxy_set_headers = ["X-From: edge-$host"]`},
	} {
		b.Run(tc.name, func(b *testing.B) {
			t := &testing.T{}
			back := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				io.WriteString(w, "hello")
			}))
			defer back.Close()
			p := newTestProxy(t, `
[servers.main]
addr = "127.0.0.1:0"
locations = ["l"]
[locations.l]
`+tc.loc+`
[upstreams.b]
addrs = ["{{.b}}"]
`, map[string]string{"b": back.Listener.Addr().String()})
			defer p.Close()
			w := &discardWriter{h: http.Header{}}
			req := httptest.NewRequest("GET", "http://example.com/some/path?q=1", nil)
			req.Header.Set("User-Agent", "bench")
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				clear(w.h)
				r := req.Clone(req.Context())
				p.entry.ServeHTTP(w, r)
			}
		})
	}
}
