package transport

import (
	"bufio"
	"bytes"
	"context"
	"github.com/sluice-proxy/sluice/host/internal/h1wire"
	"io"
	"net"
	"net/http"
	"testing"
)

// benchResponse is a small response with typical headers.
const benchResponse = "HTTP/1.1 200 OK\r\n" +
	"Server: bench\r\n" +
	"Date: Mon, 02 Jan 2006 15:04:05 GMT\r\n" +
	"Content-Type: text/plain; charset=utf-8\r\n" +
	"Cache-Control: no-cache\r\n" +
	"Content-Length: 13\r\n" +
	"\r\n" +
	"Hello, world!"

// benchServer answers every request with benchResponse, as cheaply as
// possible, so that the client's cost shows.
func benchServer(b *testing.B) string {
	srv := newRawServer(b, func(c net.Conn, br *bufio.Reader) {
		bw := bufio.NewWriter(c)
		for {
			// Read a head: lines up to the blank one.
			for {
				line, err := br.ReadSlice('\n')
				if err != nil {
					return
				}
				if len(line) <= 2 {
					break
				}
			}
			bw.WriteString(benchResponse)
			if br.Buffered() == 0 {
				if bw.Flush() != nil {
					return
				}
			}
		}
	})
	return srv.addr()
}

func benchRequest(b *testing.B, ctx context.Context, addr string) *http.Request {
	req, err := http.NewRequestWithContext(ctx, "GET", "http://"+addr+"/index.html?q=1", nil)
	if err != nil {
		b.Fatal(err)
	}
	req.Header = http.Header{
		"Accept":          {"*/*"},
		"X-Forwarded-For": {"192.0.2.10"},
		"X-Request-Id":    {"0123456789abcdef"},
	}
	return req
}

// BenchmarkRoundTrip compares one keep-alive request with a small response
// through this package and through net/http's Transport, sequentially and
// with parallel callers. "ctx" runs with a cancellable context, as a
// proxied request has.
func BenchmarkRoundTrip(b *testing.B) {
	addr := benchServer(b)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	// loop runs do sequentially or from parallel callers, each with its
	// own request.
	loop := func(b *testing.B, ctx context.Context, parallel bool, do func(*http.Request) (*http.Response, error)) {
		run := func(req *http.Request) {
			resp, err := do(req)
			if err != nil {
				b.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
		b.ReportAllocs()
		if parallel {
			b.RunParallel(func(pb *testing.PB) {
				req := benchRequest(b, ctx, addr)
				for pb.Next() {
					run(req)
				}
			})
			return
		}
		req := benchRequest(b, ctx, addr)
		for b.Loop() {
			run(req)
		}
	}
	ours := func(b *testing.B, ctx context.Context, parallel bool) {
		tp := newT(b, Options{})
		loop(b, ctx, parallel, func(req *http.Request) (*http.Response, error) {
			var tr Trace
			return tp.RoundTrip(req, addr, &tr)
		})
	}
	std := func(b *testing.B, ctx context.Context, parallel bool) {
		tp := &http.Transport{MaxIdleConnsPerHost: 256, DisableCompression: true}
		b.Cleanup(tp.CloseIdleConnections)
		loop(b, ctx, parallel, tp.RoundTrip)
	}
	b.Run("sluice", func(b *testing.B) { ours(b, context.Background(), false) })
	b.Run("sluice-ctx", func(b *testing.B) { ours(b, ctx, false) })
	b.Run("nethttp", func(b *testing.B) { std(b, context.Background(), false) })
	b.Run("sluice-parallel", func(b *testing.B) { ours(b, ctx, true) })
	b.Run("nethttp-parallel", func(b *testing.B) { std(b, ctx, true) })
}

// BenchmarkParseHead measures the response head parser alone.
func BenchmarkParseHead(b *testing.B) {
	head := []byte(benchResponse[:bytes.Index([]byte(benchResponse), []byte("\r\n\r\n"))+4])
	buf := make([]byte, len(head))
	var fs []h1wire.Field
	b.ReportAllocs()
	b.SetBytes(int64(len(head)))
	for b.Loop() {
		copy(buf, head)
		ph, err := parseHead(buf, fs)
		if err != nil {
			b.Fatal(err)
		}
		fs = ph.fields[:0]
	}
}
