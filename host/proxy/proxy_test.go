package proxy

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// echo answers with what it received: method, URI, host and headers.
func echo(name string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		fmt.Fprintf(w, "backend=%s method=%s uri=%s host=%s body=%d\n", name, r.Method, r.RequestURI, r.Host, len(body))
		for _, k := range []string{"X-Real-Ip", "X-Forwarded-For", "X-Forwarded-Proto", "X-Forwarded-Host", "X-Set", "X-Add", "Keep-Alive", "X-Private", "Upgrade", "Connection", "Te"} {
			if v, ok := r.Header[k]; ok {
				fmt.Fprintf(w, "%s=%s\n", k, strings.Join(v, "|"))
			}
		}
	}
}

func TestRouting(t *testing.T) {
	a := backend(t, echo("a"))
	b := backend(t, echo("b"))
	p := newTestProxy(t, `
[servers.main]
addr = "127.0.0.1:0"
locations = ["any", "api", "exact", "host"]
[locations.any]
upstream = "a"
host = "example.com"
[locations.api]
path = "/api"
upstream = "b"
host = "example.com"
rewrite = "^/api/(.*) /v2/$1"
[locations.exact]
path = "=/login"
upstream = "b"
host = "example.com"
[locations.host]
host = "~^(?P<sub>[a-z]+)\\.example\\.org$"
upstream = "a"
proxy_set_headers = ["X-Set: from-$sub-$host"]
proxy_add_headers = ["X-Add: added"]
[upstreams.a]
addrs = ["{{.a}}"]
[upstreams.b]
addrs = ["{{.b}}"]
`, map[string]string{"a": a, "b": b})

	tests := []struct {
		name, host, path string
		status           int
		want             []string
	}{
		{"prefix with rewrite keeps query", "example.com", "/api/users?x=1", 200, []string{"backend=b", "uri=/v2/users?x=1", "host=example.com"}},
		{"exact path beats prefix", "example.com", "/login", 200, []string{"backend=b", "uri=/login"}},
		{"exact path does not match longer", "example.com", "/login/x", 200, []string{"backend=a"}},
		{"any path", "example.com", "/other", 200, []string{"backend=a", "uri=/other"}},
		{"host regex capture in header template", "shop.example.org", "/", 200, []string{"backend=a", "X-Set=from-shop-shop.example.org", "X-Add=added"}},
		{"dot segments are resolved before routing", "example.com", "/api/../login", 200, []string{"backend=b", "uri=/login"}},
		{"no location", "nowhere.test", "/", 404, []string{"no location matches host \"nowhere.test\" and path \"/\"", "request id"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := mustReq(t, "GET", p.URL+tc.path, nil)
			req.Host = tc.host
			resp, body := get(t, nil, req)
			if resp.StatusCode != tc.status {
				t.Fatalf("status = %d; want %d\n%s", resp.StatusCode, tc.status, body)
			}
			for _, w := range tc.want {
				if !strings.Contains(body, w) {
					t.Errorf("body lacks %q:\n%s", w, body)
				}
			}
		})
	}
}

func TestHeaders(t *testing.T) {
	back := backend(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Keep-Alive", "timeout=5")
		w.Header().Set("Connection", "X-Secret")
		w.Header().Set("X-Secret", "hop")
		w.Header().Set("X-Kept", "end-to-end")
		echo("b")(w, r)
	})
	p := newTestProxy(t, `
[servers.main]
addr = "127.0.0.1:0"
locations = ["l"]
[locations.l]
upstream = "b"
enable_reverse_proxy_headers = true
[upstreams.b]
addrs = ["{{.b}}"]
`, map[string]string{"b": back})

	req := mustReq(t, "GET", p.URL+"/", nil)
	req.Header.Set("Connection", "X-Private, keep-alive")
	req.Header.Set("X-Private", "must not pass")
	req.Header.Set("Keep-Alive", "timeout=1")
	req.Header.Set("Te", "trailers, deflate")
	req.Header.Set("X-Forwarded-For", "203.0.113.9")
	req.Host = "front.test:8080"
	resp, body := get(t, nil, req)
	for _, bad := range []string{"X-Private=", "Keep-Alive="} {
		if strings.Contains(body, bad) {
			t.Errorf("hop-by-hop header reached the backend: %q\n%s", bad, body)
		}
	}
	for _, w := range []string{"Te=trailers", "X-Real-Ip=127.0.0.1", "X-Forwarded-For=203.0.113.9, 127.0.0.1", "X-Forwarded-Proto=http", "X-Forwarded-Host=front.test"} {
		if !strings.Contains(body, w) {
			t.Errorf("backend did not get %q:\n%s", w, body)
		}
	}
	if resp.Header.Get("X-Secret") != "" || resp.Header.Get("Keep-Alive") != "" {
		t.Errorf("hop-by-hop response headers reached the client: %v", resp.Header)
	}
	if resp.Header.Get("X-Kept") != "end-to-end" {
		t.Errorf("X-Kept = %q; want end-to-end", resp.Header.Get("X-Kept"))
	}
}

func TestTrailersAndStreaming(t *testing.T) {
	release := make(chan struct{})
	back := backend(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/trailers":
			got, _ := io.ReadAll(r.Body)
			w.Header().Set("Trailer", "X-Sum")
			fmt.Fprintf(w, "got %d bytes, request trailer %q", len(got), r.Trailer.Get("X-Req-Trailer"))
			w.Header().Set("X-Sum", "42")
		case "/stream":
			w.Header().Set("Content-Type", "text/event-stream")
			io.WriteString(w, "first\n")
			w.(http.Flusher).Flush()
			<-release
			io.WriteString(w, "second\n")
		}
	})
	p := newTestProxy(t, `
[servers.main]
addr = "127.0.0.1:0"
locations = ["l"]
[locations.l]
upstream = "b"
[upstreams.b]
addrs = ["{{.b}}"]
`, map[string]string{"b": back})

	t.Run("trailers both ways", func(t *testing.T) {
		pr, pw := io.Pipe()
		req := mustReq(t, "POST", p.URL+"/trailers", pr)
		req.Trailer = http.Header{"X-Req-Trailer": nil}
		go func() {
			io.WriteString(pw, strings.Repeat("x", 1000))
			req.Trailer.Set("X-Req-Trailer", "rt")
			pw.Close()
		}()
		resp, body := get(t, nil, req)
		if want := `got 1000 bytes, request trailer "rt"`; body != want {
			t.Errorf("body = %q; want %q", body, want)
		}
		if got := resp.Trailer.Get("X-Sum"); got != "42" {
			t.Errorf("response trailer X-Sum = %q; want 42", got)
		}
	})
	t.Run("response streams before it ends", func(t *testing.T) {
		resp, err := http.Get(p.URL + "/stream")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		line, err := bufio.NewReader(resp.Body).ReadString('\n')
		if err != nil || line != "first\n" {
			t.Fatalf("first line = %q, %v; want it before the backend finishes", line, err)
		}
		close(release)
	})
}

func TestLimits(t *testing.T) {
	var inflight atomic.Int32
	hold := make(chan struct{})
	back := backend(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			inflight.Add(1)
			<-hold
		}
		n, err := io.Copy(io.Discard, r.Body)
		fmt.Fprintf(w, "read %d %v", n, err)
	})
	p := newTestProxy(t, `
[servers.main]
addr = "127.0.0.1:0"
locations = ["l"]
[locations.l]
upstream = "b"
client_max_body_size = "1kb"
max_processing = 2
[upstreams.b]
addrs = ["{{.b}}"]
`, map[string]string{"b": back})

	tests := []struct {
		name    string
		body    io.Reader
		length  int64
		status  int
		contain string
	}{
		{"small body", strings.NewReader("hello"), 5, 200, "read 5"},
		{"content-length over the limit", strings.NewReader(strings.Repeat("x", 2000)), 2000, 413, "client_max_body_size"},
		{"chunked over the limit", io.MultiReader(strings.NewReader(strings.Repeat("x", 5000))), -1, 413, "client_max_body_size"},
		{"chunked under the limit", io.MultiReader(strings.NewReader(strings.Repeat("x", 1000))), -1, 200, "read 1000"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := mustReq(t, "POST", p.URL+"/", tc.body)
			req.ContentLength = tc.length
			resp, body := get(t, nil, req)
			if resp.StatusCode != tc.status || !strings.Contains(body, tc.contain) {
				t.Errorf("got %d %q; want %d containing %q", resp.StatusCode, body, tc.status, tc.contain)
			}
		})
	}

	t.Run("max_processing", func(t *testing.T) {
		var wg sync.WaitGroup
		for range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				resp, err := http.Get(p.URL + "/slow")
				if err == nil {
					resp.Body.Close()
				}
			}()
		}
		for inflight.Load() < 2 {
			time.Sleep(5 * time.Millisecond)
		}
		resp, body := get(t, nil, mustReq(t, "GET", p.URL+"/", nil))
		close(hold)
		wg.Wait()
		if resp.StatusCode != 429 || resp.Header.Get("Retry-After") == "" {
			t.Errorf("third request: %d %q (Retry-After %q); want 429 with Retry-After", resp.StatusCode, body, resp.Header.Get("Retry-After"))
		}
		resp, _ = get(t, nil, mustReq(t, "GET", p.URL+"/", nil))
		if resp.StatusCode != 200 {
			t.Errorf("after the slow ones ended: %d; want 200", resp.StatusCode)
		}
	})
}

func TestErrorsAndRetries(t *testing.T) {
	var hits atomic.Int32
	good := backend(t, func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		io.WriteString(w, "good")
	})
	slow := backend(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(2 * time.Second):
		case <-r.Context().Done():
		}
	})
	dead, dead2 := deadAddr(t), deadAddr(t)
	p := newTestProxy(t, `
[servers.main]
addr = "127.0.0.1:0"
locations = ["refused", "timeout", "retry", "noretry", "none"]
[locations.refused]
path = "/refused"
upstream = "dead"
[locations.timeout]
path = "/timeout"
upstream = "slow"
[locations.retry]
path = "/retry"
upstream = "mixed"
max_retries = 1
[locations.noretry]
path = "/noretry"
upstream = "mixed"
[locations.none]
path = "/none"
upstream = "alldead"
max_retries = 3
[upstreams.dead]
addrs = ["{{.dead}}"]
health_check = "tcp://dead?check_frequency=1h"
[upstreams.slow]
addrs = ["{{.slow}}"]
read_timeout = "200ms"
[upstreams.mixed]
addrs = ["{{.dead}}", "{{.good}}"]
health_check = "tcp://m?check_frequency=1h"
[upstreams.alldead]
addrs = ["{{.dead}}", "{{.dead2}}"]
health_check = "tcp://m?check_frequency=1h"
`, map[string]string{"dead": dead, "dead2": dead2, "slow": slow, "good": good})

	tests := []struct {
		name    string
		method  string
		path    string
		status  int
		contain string
	}{
		{"connect refused is 502", "GET", "/refused", 502, "refused"},
		{"upstream timeout is 504", "GET", "/timeout", 504, "timed out"},
		{"refused backend is retried on the next", "GET", "/retry", 200, "good"},
		{"a POST is retried too when it was never sent", "POST", "/retry", 200, "good"},
		{"every backend refused", "GET", "/none", 502, "refused"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// Round robin alternates; run twice so the dead one comes
			// first at least once.
			for range 2 {
				resp, body := get(t, nil, mustReq(t, tc.method, p.URL+tc.path, nil))
				if resp.StatusCode != tc.status || !strings.Contains(body, tc.contain) {
					t.Fatalf("got %d %q; want %d containing %q", resp.StatusCode, body, tc.status, tc.contain)
				}
				if tc.status >= 500 && !strings.Contains(body, "request id") {
					t.Errorf("error body %q does not name the request id", body)
				}
			}
		})
	}
	t.Run("without max_retries a refused backend fails the request", func(t *testing.T) {
		var codes []int
		for range 4 {
			resp, _ := get(t, nil, mustReq(t, "GET", p.URL+"/noretry", nil))
			codes = append(codes, resp.StatusCode)
		}
		if !containsInt(codes, 502) || !containsInt(codes, 200) {
			t.Errorf("statuses %v; want both 502 and 200 (round robin over a dead and a good backend)", codes)
		}
	})
}

func containsInt(s []int, v int) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

func TestNoHealthyBackend(t *testing.T) {
	dead := deadAddr(t)
	p := newTestProxy(t, `
[servers.main]
addr = "127.0.0.1:0"
locations = ["l"]
[locations.l]
upstream = "u"
[upstreams.u]
addrs = ["{{.dead}}"]
health_check = "tcp://u?check_frequency=50ms&failure=1"
`, map[string]string{"dead": dead})
	deadline := time.Now().Add(5 * time.Second)
	for {
		resp, body := get(t, nil, mustReq(t, "GET", p.URL+"/", nil))
		if resp.StatusCode == 503 {
			if !strings.Contains(body, "no healthy backend") {
				t.Errorf("503 body = %q; want it to name the cause", body)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("still %d after the health check should have failed the backend", resp.StatusCode)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestClientIP(t *testing.T) {
	trusted, _ := newTrustedSet([]string{"10.0.0.0/8", "127.0.0.1"})
	tests := []struct {
		name    string
		peer    string
		xff     []string
		realIP  string
		trusted *trustedSet
		want    string
	}{
		{"no trusted proxies: the peer", "127.0.0.1", []string{"1.2.3.4"}, "", nil, "127.0.0.1"},
		{"untrusted peer cannot spoof", "192.0.2.1", []string{"1.2.3.4"}, "", trusted, "192.0.2.1"},
		{"trusted peer: last untrusted XFF entry", "127.0.0.1", []string{"6.6.6.6, 1.2.3.4, 10.1.1.1"}, "", trusted, "1.2.3.4"},
		{"several XFF lines", "127.0.0.1", []string{"6.6.6.6", "1.2.3.4"}, "", trusted, "1.2.3.4"},
		{"X-Real-IP when no XFF", "127.0.0.1", nil, "5.5.5.5", trusted, "5.5.5.5"},
		{"garbage XFF keeps the last good", "127.0.0.1", []string{"garbage"}, "", trusted, "127.0.0.1"},
		{"all trusted: the leftmost", "127.0.0.1", []string{"10.0.0.2, 10.0.0.3"}, "", trusted, "10.0.0.2"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := http.Header{}
			for _, v := range tc.xff {
				h.Add("X-Forwarded-For", v)
			}
			if tc.realIP != "" {
				h.Set("X-Real-Ip", tc.realIP)
			}
			got := clientIP(netip.MustParseAddr(tc.peer), h, tc.trusted)
			if got.String() != tc.want {
				t.Errorf("clientIP = %s; want %s", got, tc.want)
			}
		})
	}
}

func TestCleanPath(t *testing.T) {
	tests := []struct{ in, want string }{
		{"/", "/"},
		{"/a/b", "/a/b"},
		{"/a/../b", "/b"},
		{"/a/./b/", "/a/b/"},
		{"//a//b", "/a/b"},
		{"/..", "/"},
		{"/a/..", "/"},
		{"/.well-known/x", "/.well-known/x"},
	}
	for _, tc := range tests {
		if got, _ := cleanPath(tc.in); got != tc.want {
			t.Errorf("cleanPath(%q) = %q; want %q", tc.in, got, tc.want)
		}
	}
}

func TestMalformedRequestIs4xx(t *testing.T) {
	p := newTestProxy(t, `
[servers.main]
addr = "127.0.0.1:0"
locations = ["l"]
[locations.l]
upstream = "u"
[upstreams.u]
addrs = ["127.0.0.1:1"]
`, nil)
	for _, raw := range []string{
		"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nxx",
		"GET / HTTP/1.1\r\nHost : a\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: xchunked\r\n\r\n",
		"NOT-HTTP\r\n\r\n",
	} {
		c, err := net.Dial("tcp", p.Listener.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(c, raw)
		c.SetReadDeadline(time.Now().Add(2 * time.Second))
		line, _ := bufio.NewReader(c).ReadString('\n')
		c.Close()
		if !strings.HasPrefix(line, "HTTP/1.1 4") && !strings.HasPrefix(line, "HTTP/1.1 501") {
			t.Errorf("%q: got %q; want a 4xx (or 501 for an unknown transfer coding)", raw, line)
		}
	}
}

func TestRecord(t *testing.T) {
	back := backend(t, func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "12345") })
	p := newTestProxy(t, `
[servers.main]
addr = "127.0.0.1:0"
locations = ["l"]
[locations.l]
upstream = "b"
[upstreams.b]
addrs = ["{{.b}}"]
`, map[string]string{"b": back})
	get(t, nil, mustReq(t, "POST", p.URL+"/x?q=1", strings.NewReader("abc")))
	rec := p.recs.last()
	if rec.Status != 200 || rec.BytesSent != 5 || rec.BytesReceived != 3 || rec.Location != "l" || rec.Upstream != "b" ||
		rec.UpstreamAddr != back || rec.Path != "/x" || rec.Query != "q=1" || rec.Method != "POST" || rec.RequestID == "" {
		t.Errorf("record = %+v", rec)
	}
}
