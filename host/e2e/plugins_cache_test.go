package e2e

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Issue 5: the cache plugin through the real binary, on the host's cache
// stores (host/cachestore), which must be wired into the Wasm runtime's
// foreign functions.
const cacheConf = `
[basic]
plugin_dir = "{{.plugins}}"
wasm_vms = 2

[servers.main]
addr = "{{.addr}}"
locations = ["co", "v", "p", "pall", "np", "c", "ev", "sk"]

[locations.co]
path = "/co/"
upstream = "b"
plugins = ["co"]

[locations.v]
path = "/v/"
upstream = "b"
plugins = ["v"]

[locations.p]
path = "/p/"
upstream = "b"
plugins = ["pg"]

# PURGE /* reaches the namespace's plugin through a location of its own.
[locations.pall]
path = "=/*"
upstream = "b"
plugins = ["pg"]

[locations.np]
path = "/np/"
upstream = "b"
plugins = ["np"]

[locations.c]
path = "/c/"
upstream = "b"
plugins = ["cond"]

[locations.ev]
path = "/ev/"
upstream = "b"
plugins = ["ev"]

[locations.sk]
path = "/sk/"
upstream = "b"
plugins = ["sk"]

[upstreams.b]
addrs = ["{{.b}}"]

[plugins.co]
category = "cache"
directory = "memory://e2e-co"
lock = "10s"

[plugins.v]
category = "cache"
directory = "memory://e2e"
namespace = "v"
lock = "10s"

[plugins.pg]
category = "cache"
directory = "memory://e2e"
namespace = "pg"
purge_ip_list = ["127.0.0.1", "::1"]

[plugins.np]
category = "cache"
directory = "memory://e2e"
namespace = "np"
purge_ip_list = ["10.9.9.9"]

[plugins.cond]
category = "cache"
directory = "memory://e2e"
namespace = "c"

[plugins.ev]
category = "cache"
directory = "memory://evict?max_size=100kb"

[plugins.sk]
category = "cache"
directory = "memory://e2e"
namespace = "sk"
skip = "nocache"
`

// fetchCounter counts the requests the backend serves, by path.
type fetchCounter struct {
	mu          sync.Mutex
	n           map[string]int
	conditional map[string]int
}

func (c *fetchCounter) add(path string, conditional bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n[path]++
	if conditional {
		c.conditional[path]++
	}
}

func (c *fetchCounter) get(path string) (n, conditional int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[path], c.conditional[path]
}

type cacheEnv struct {
	addr    string
	c       *http.Client
	fetches *fetchCounter
}

const condBody = "conditional body 0123456789"

func cacheBackend(t *testing.T, fetches *fetchCounter) string {
	return backend(t, func(w http.ResponseWriter, r *http.Request) {
		fetches.add(r.URL.Path, r.Header.Get("If-None-Match") != "")
		h := w.Header()
		switch {
		case strings.HasPrefix(r.URL.Path, "/co/"):
			time.Sleep(300 * time.Millisecond) // the others arrive meanwhile
			h.Set("Cache-Control", "max-age=60")
			fmt.Fprintf(w, "coalesced %s", r.URL.Path)
		case strings.HasPrefix(r.URL.Path, "/v/"):
			time.Sleep(100 * time.Millisecond)
			h.Set("Cache-Control", "max-age=60")
			h.Set("Vary", "Accept-Encoding")
			fmt.Fprintf(w, "variant:%s", r.Header.Get("Accept-Encoding"))
		case strings.HasPrefix(r.URL.Path, "/c/"):
			h.Set("ETag", `"e1"`)
			h.Set("Last-Modified", "Mon, 13 Nov 2023 00:00:00 GMT")
			h.Set("Cache-Control", "max-age=60")
			if strings.HasSuffix(r.URL.Path, "/short") {
				h.Set("Cache-Control", "max-age=1")
			}
			if r.Header.Get("If-None-Match") == `"e1"` {
				w.WriteHeader(http.StatusNotModified)
				return
			}
			io.WriteString(w, condBody)
		case strings.HasPrefix(r.URL.Path, "/ev/"):
			h.Set("Cache-Control", "max-age=60")
			w.Write(bytes.Repeat([]byte(r.URL.Path[len(r.URL.Path)-1:]), 20_000))
		case strings.HasPrefix(r.URL.Path, "/d/"):
			h.Set("Cache-Control", "max-age=3600")
			h.Set("Content-Type", "application/octet-stream")
			w.Write(diskBody())
		default:
			h.Set("Cache-Control", "max-age=60")
			io.WriteString(w, "body of "+r.URL.Path)
		}
	})
}

// diskBody is a body large enough to reach the store in several chunks.
func diskBody() []byte {
	var b bytes.Buffer
	for i := 0; b.Len() < 300_000; i++ {
		fmt.Fprintf(&b, "line %d of the disk cache test\n", i)
	}
	return b.Bytes()
}

func startCache(t *testing.T) *cacheEnv {
	t.Helper()
	needCachePlugin(t)
	fetches := &fetchCounter{n: map[string]int{}, conditional: map[string]int{}}
	b := cacheBackend(t, fetches)
	addr := freePort(t)
	conf := filepath.Join(t.TempDir(), "cache.toml")
	writeConf(t, conf, cacheConf, map[string]any{"plugins": pluginDir, "addr": addr, "b": b})
	start(t, conf, addr)
	return &cacheEnv{addr: addr, fetches: fetches,
		c: &http.Client{Transport: &http.Transport{DisableCompression: true, MaxIdleConnsPerHost: 128}, Timeout: 20 * time.Second}}
}

func needCachePlugin(t *testing.T) {
	t.Helper()
	needPlugins(t)
	if _, err := os.Stat(filepath.Join(pluginDir, "cache.wasm")); err != nil {
		t.Skip("cache.wasm not built (make plugins)")
	}
}

type cacheReply struct {
	status int
	body   string
	header http.Header
}

func (e *cacheEnv) do(t *testing.T, method, path string, hdr ...string) cacheReply {
	t.Helper()
	req, err := http.NewRequest(method, "http://"+e.addr+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := e.c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading the body: %v", method, path, err)
	}
	return cacheReply{resp.StatusCode, string(b), resp.Header}
}

// Issue 5: 100 concurrent misses make one upstream request.
func TestCacheCoalescing(t *testing.T) {
	e := startCache(t)
	const n = 100
	var wg sync.WaitGroup
	replies := make([]cacheReply, n)
	errs := make(chan error, n)
	gate := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-gate
			resp, err := e.c.Get("http://" + e.addr + "/co/x")
			if err != nil {
				errs <- err
				return
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			replies[i] = cacheReply{resp.StatusCode, string(b), resp.Header}
		}()
	}
	close(gate)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if got, _ := e.fetches.get("/co/x"); got != 1 {
		t.Errorf("%d concurrent misses made %d upstream requests; want 1", n, got)
	}
	statuses := map[string]int{}
	locked := 0
	for i, r := range replies {
		if r.status != 200 || r.body != "coalesced /co/x" {
			t.Errorf("reply %d: %d %q", i, r.status, r.body)
		}
		statuses[r.header.Get("X-Cache-Status")]++
		if r.header.Get("X-Cache-Lock") != "" {
			locked++
		}
	}
	if statuses["MISS"] != 1 || statuses["HIT"] != n-1 {
		t.Errorf("x-cache-status counts %v; want 1 MISS and %d HIT", statuses, n-1)
	}
	if locked != n-1 {
		t.Errorf("%d replies carry x-cache-lock; want %d (every waiter)", locked, n-1)
	}
}

// Issue 5: a Vary response is never served to the wrong variant, even
// when the variants' first requests come at once.
func TestCacheVary(t *testing.T) {
	e := startCache(t)
	encodings := []string{"gzip", "br", "", "zstd"}
	var wg sync.WaitGroup
	var mu sync.Mutex
	wrong := 0
	for i := range 60 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			enc := encodings[i%len(encodings)]
			req, _ := http.NewRequest("GET", "http://"+e.addr+"/v/x", nil)
			if enc != "" {
				req.Header.Set("Accept-Encoding", enc)
			}
			resp, err := e.c.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			if string(b) != "variant:"+enc {
				mu.Lock()
				wrong++
				mu.Unlock()
				t.Errorf("Accept-Encoding %q got %q (%s)", enc, b, resp.Header.Get("X-Cache-Status"))
			}
		}()
	}
	wg.Wait()
	if wrong > 0 {
		t.Fatalf("%d replies were another variant's", wrong)
	}
	if got, _ := e.fetches.get("/v/x"); got != len(encodings) {
		t.Errorf("%d upstream requests; want one per variant (%d)", got, len(encodings))
	}
	for _, enc := range encodings {
		var hdr []string
		if enc != "" {
			hdr = []string{"Accept-Encoding", enc} // absent, not empty: another variant
		}
		r := e.do(t, "GET", "/v/x", hdr...)
		if r.body != "variant:"+enc || r.header.Get("X-Cache-Status") != "HIT" {
			t.Errorf("%q afterwards: %q %s; want its own variant from the cache", enc, r.body, r.header.Get("X-Cache-Status"))
		}
	}
}

// Issue 5: PURGE of a URL and of the namespace.
func TestCachePurge(t *testing.T) {
	e := startCache(t)
	status := func(r cacheReply) string { return r.header.Get("X-Cache-Status") }
	for _, want := range []string{"MISS", "HIT"} {
		if r := e.do(t, "GET", "/p/a"); status(r) != want || r.body != "body of /p/a" {
			t.Fatalf("GET /p/a: %s %q; want %s", status(r), r.body, want)
		}
	}
	e.do(t, "GET", "/p/b")
	if r := e.do(t, "PURGE", "/p/a"); r.status != 204 || r.header.Get("X-Cache-Purged") != "1" {
		t.Errorf("PURGE /p/a: %d purged %q; want 204, 1", r.status, r.header.Get("X-Cache-Purged"))
	}
	if r := e.do(t, "GET", "/p/a"); status(r) != "MISS" {
		t.Errorf("GET /p/a after the purge: %s; want MISS", status(r))
	}
	if r := e.do(t, "GET", "/p/b"); status(r) != "HIT" {
		t.Errorf("GET /p/b after purging /p/a: %s; want HIT", status(r))
	}
	// Every key under a path.
	e.do(t, "GET", "/p/dir/1")
	e.do(t, "GET", "/p/dir/2?q=1")
	if r := e.do(t, "PURGE", "/p/dir/*"); r.status != 204 || r.header.Get("X-Cache-Purged") != "2" {
		t.Errorf("PURGE /p/dir/*: %d purged %q; want 204, 2", r.status, r.header.Get("X-Cache-Purged"))
	}
	if r := e.do(t, "GET", "/p/dir/2?q=1"); status(r) != "MISS" {
		t.Errorf("GET /p/dir/2?q=1 after purging /p/dir/*: %s; want MISS", status(r))
	}
	// Another namespace in the same store is not touched by PURGE /*.
	e.do(t, "GET", "/c/keep")
	if r := e.do(t, "PURGE", "/*"); r.status != 204 || r.header.Get("X-Cache-Purged") != "3" {
		t.Errorf("PURGE /*: %d purged %q; want 204, 3 (/p/a, /p/b, /p/dir/2)", r.status, r.header.Get("X-Cache-Purged"))
	}
	for _, path := range []string{"/p/a", "/p/b"} {
		if r := e.do(t, "GET", path); status(r) != "MISS" {
			t.Errorf("GET %s after purging the namespace: %s; want MISS", path, status(r))
		}
	}
	if r := e.do(t, "GET", "/c/keep"); status(r) != "HIT" {
		t.Errorf("another namespace: %s; want HIT", status(r))
	}
	if r := e.do(t, "PURGE", "/np/a"); r.status != 403 {
		t.Errorf("PURGE from an IP not listed: %d; want 403", r.status)
	}
}

// Issue 5: conditional requests answered 304 from the cache, HEAD from
// GET entries, ranges, and revalidation of an expired entry.
func TestCacheConditional(t *testing.T) {
	e := startCache(t)
	if r := e.do(t, "GET", "/c/a"); r.status != 200 || r.body != condBody {
		t.Fatalf("first GET: %d %q", r.status, r.body)
	}
	tests := []struct {
		name   string
		method string
		hdr    []string
		status int
		body   string
		check  func(t *testing.T, r cacheReply)
	}{
		{name: "if-none-match", method: "GET", hdr: []string{"If-None-Match", `"e1"`}, status: 304},
		{name: "if-modified-since", method: "GET", hdr: []string{"If-Modified-Since", "Tue, 14 Nov 2023 00:00:00 GMT"}, status: 304},
		{name: "stale condition", method: "GET", hdr: []string{"If-None-Match", `"e0"`}, status: 200, body: condBody},
		{name: "head", method: "HEAD", status: 200, check: func(t *testing.T, r cacheReply) {
			if r.header.Get("Content-Length") != strconv.Itoa(len(condBody)) {
				t.Errorf("HEAD Content-Length %q; want %d", r.header.Get("Content-Length"), len(condBody))
			}
		}},
		{name: "range", method: "GET", hdr: []string{"Range", "bytes=0-10"}, status: 206, body: condBody[:11], check: func(t *testing.T, r cacheReply) {
			if got := r.header.Get("Content-Range"); got != fmt.Sprintf("bytes 0-10/%d", len(condBody)) {
				t.Errorf("Content-Range %q", got)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := e.do(t, tc.method, "/c/a", tc.hdr...)
			if r.status != tc.status || r.body != tc.body || r.header.Get("X-Cache-Status") != "HIT" {
				t.Errorf("%d %q %s; want %d %q HIT", r.status, r.body, r.header.Get("X-Cache-Status"), tc.status, tc.body)
			}
			if r.header.Get("Age") == "" || r.header.Get("Etag") != `"e1"` {
				t.Errorf("headers %v; want Age and the ETag", r.header)
			}
			if tc.check != nil {
				tc.check(t, r)
			}
		})
	}
	if n, _ := e.fetches.get("/c/a"); n != 1 {
		t.Errorf("%d upstream requests for /c/a; want 1", n)
	}

	t.Run("revalidation", func(t *testing.T) {
		e.do(t, "GET", "/c/short")
		time.Sleep(1100 * time.Millisecond)
		r := e.do(t, "GET", "/c/short")
		if r.status != 200 || r.body != condBody || r.header.Get("X-Cache-Status") != "REVALIDATED" {
			t.Errorf("after expiry: %d %q %s; want the stored body, REVALIDATED", r.status, r.body, r.header.Get("X-Cache-Status"))
		}
		if n, cond := e.fetches.get("/c/short"); n != 2 || cond != 1 {
			t.Errorf("upstream requests %d, conditional %d; want 2 and 1", n, cond)
		}
	})
	t.Run("skip", func(t *testing.T) {
		r := e.do(t, "GET", "/sk/nocache")
		if r.header.Get("X-Cache-Status") != "BYPASS" {
			t.Errorf("skipped request: %s; want BYPASS", r.header.Get("X-Cache-Status"))
		}
	})
}

// Issue 5: eviction under the store's size bound.
func TestCacheEviction(t *testing.T) {
	e := startCache(t)
	// 20 KB bodies in a 100 kB store: four fit.
	for i := range 10 {
		if r := e.do(t, "GET", fmt.Sprintf("/ev/%d", i)); r.header.Get("X-Cache-Status") != "MISS" || len(r.body) != 20_000 {
			t.Fatalf("filling /ev/%d: %s, %d bytes", i, r.header.Get("X-Cache-Status"), len(r.body))
		}
	}
	hits := 0
	for i := 9; i >= 0; i-- {
		r := e.do(t, "HEAD", fmt.Sprintf("/ev/%d", i)) // HEAD does not store anything
		if r.header.Get("X-Cache-Status") == "HIT" {
			hits++
			if i < 5 {
				t.Errorf("/ev/%d, among the least recently used, is still cached", i)
			}
		}
	}
	if hits < 3 || hits > 5 {
		t.Errorf("%d of 10 entries of 20 KB cached in a 100 kB store; want 4 or so", hits)
	}
	if r := e.do(t, "GET", "/ev/9"); r.header.Get("X-Cache-Status") != "HIT" {
		t.Errorf("the most recent entry: %s; want HIT", r.header.Get("X-Cache-Status"))
	}
}

const diskConf = `
[basic]
plugin_dir = "{{.plugins}}"
wasm_vms = 2

[servers.main]
addr = "{{.addr}}"
locations = ["d"]

[locations.d]
path = "/d/"
upstream = "b"
plugins = ["disk"]

[upstreams.b]
addrs = ["{{.b}}"]

[plugins.disk]
category = "cache"
directory = "{{.dir}}"
max_file_size = "1mb"
`

// Issue 5: the disk cache survives a restart of sluice.
func TestCacheDiskSurvivesRestart(t *testing.T) {
	needCachePlugin(t)
	fetches := &fetchCounter{n: map[string]int{}, conditional: map[string]int{}}
	b := cacheBackend(t, fetches)
	addr := freePort(t)
	cacheDir := filepath.Join(t.TempDir(), "cache")
	conf := filepath.Join(t.TempDir(), "disk.toml")
	writeConf(t, conf, diskConf, map[string]any{"plugins": pluginDir, "addr": addr, "b": b, "dir": cacheDir + "?max_size=10mb&levels=1:2"})
	e := &cacheEnv{addr: addr, fetches: fetches, c: &http.Client{Timeout: 20 * time.Second}}
	want := string(diskBody())

	p := start(t, conf, addr)
	for _, status := range []string{"MISS", "HIT"} {
		if r := e.do(t, "GET", "/d/big"); r.body != want || r.header.Get("X-Cache-Status") != status {
			t.Fatalf("before the restart: %s, %d bytes; want %s", r.header.Get("X-Cache-Status"), len(r.body), status)
		}
	}
	p.signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(15 * time.Second):
		t.Fatal("sluice did not stop")
	}
	files := 0
	filepath.WalkDir(cacheDir, func(path string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && filepath.Base(filepath.Dir(path)) != "tmp" {
			files++
		}
		return nil
	})
	if files != 1 {
		t.Errorf("%d files in the cache directory; want 1", files)
	}

	start(t, conf, addr)
	r := e.do(t, "GET", "/d/big")
	if r.body != want || r.header.Get("X-Cache-Status") != "HIT" {
		t.Errorf("after the restart: %s, %d bytes; want a HIT of %d", r.header.Get("X-Cache-Status"), len(r.body), len(want))
	}
	if r.header.Get("Content-Type") != "application/octet-stream" || r.header.Get("Age") == "" {
		t.Errorf("headers after the restart: %v", r.header)
	}
	if n, _ := fetches.get("/d/big"); n != 1 {
		t.Errorf("%d upstream requests; want 1", n)
	}
}

// Issue 5: a reload keeps the cache: stores belong to the process, not to
// a config generation, and a changed plugin config on the same directory
// finds its entries.
func TestCacheSurvivesReload(t *testing.T) {
	needCachePlugin(t)
	fetches := &fetchCounter{n: map[string]int{}, conditional: map[string]int{}}
	b := cacheBackend(t, fetches)
	addr := freePort(t)
	conf := filepath.Join(t.TempDir(), "reload.toml")
	data := map[string]any{"plugins": pluginDir, "addr": addr, "b": b, "dir": "memory://reload"}
	writeConf(t, conf, diskConf, data)
	e := &cacheEnv{addr: addr, fetches: fetches, c: &http.Client{Timeout: 20 * time.Second}}
	p := start(t, conf, addr)
	e.do(t, "GET", "/d/r")
	// Another config of the plugin (max_file_size), the same store.
	data["dir"] = "memory://reload?max_size=20mb"
	writeConf(t, conf, strings.Replace(diskConf, `max_file_size = "1mb"`, `max_file_size = "2mb"`, 1), data)
	p.signal(syscall.SIGHUP)
	p.waitLog("config reloaded", 1)
	if r := e.do(t, "GET", "/d/r"); r.header.Get("X-Cache-Status") != "HIT" {
		t.Errorf("after the reload: %s; want HIT", r.header.Get("X-Cache-Status"))
	}
	if n, _ := fetches.get("/d/r"); n != 1 {
		t.Errorf("%d upstream requests; want 1", n)
	}
}

// Issue 5: bad parameters fail `sluice validate`, naming the plugin and
// the key.
func TestCacheValidate(t *testing.T) {
	needCachePlugin(t)
	conf := filepath.Join(t.TempDir(), "bad.toml")
	writeConf(t, conf, `
[basic]
plugin_dir = "{{.plugins}}"
wasm_vms = 1

[servers.main]
addr = "127.0.0.1:0"
locations = ["all"]

[locations.all]
plugins = ["dir", "lock", "skip", "ips", "size", "opt"]

[plugins.dir]
category = "cache"
directory = "cache?max_size=1gb"

[plugins.lock]
category = "cache"
lock = "soon"

[plugins.skip]
category = "cache"
skip = "(["

[plugins.ips]
category = "cache"
purge_ip_list = ["127.0.0.1", "localhost"]

[plugins.size]
category = "cache"
max_file_size = "big"
directory = "memory://?max_size=1tb&sizes=2"

[plugins.opt]
category = "cache"
check_cache_controll = true
`, map[string]any{"plugins": pluginDir})
	validateRefuses(t, conf,
		`plugin "dir" (`, `key "directory": directory "cache?max_size=1gb": a disk store needs an absolute path`,
		`plugin "lock" (`, `key "lock": invalid duration "soon"`,
		`plugin "skip" (`, `key "skip": not a regular expression`,
		`plugin "ips" (`, `key "purge_ip_list[1]": "localhost" is neither an IP address nor a CIDR range`,
		`plugin "size" (`, `key "max_file_size"`, `unknown parameter "sizes"`,
		`plugin "opt" (`, `unknown key "check_cache_controll" (did you mean "check_cache_control"?)`,
	)
}
