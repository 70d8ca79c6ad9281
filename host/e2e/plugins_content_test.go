package e2e

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/andybalholm/brotli"
	"github.com/klauspost/compress/zstd"
)

// Issue 5: the content plugins (compression, directory, sub_filter, stats
// with compression figures) through the real binary. They need the host's
// codec and file functions wired into the Wasm runtime (host/codec,
// host/files).

const contentConf = `
[basic]
plugin_dir = "{{.plugins}}"
wasm_vms = 2

[servers.main]
addr = "{{.addr}}"
locations = ["compress", "lean", "decomp", "static", "static2", "gzstatic", "filter", "ws", "stats"]

[locations.compress]
path = "/c/"
upstream = "b"
plugins = ["comp"]

[locations.lean]
path = "/lean/"
upstream = "b"
plugins = ["gzonly"]

[locations.decomp]
path = "/d/"
upstream = "b"
plugins = ["decomp"]

[locations.static]
path = "/files/"
plugins = ["files"]

[locations.static2]
path = "/dl/"
plugins = ["files2"]

[locations.gzstatic]
path = "/gzfiles/"
plugins = ["comp", "files3"]

[locations.filter]
path = "/f/"
upstream = "b"
plugins = ["subs"]

[locations.ws]
path = "/ws"
upstream = "b"
plugins = ["subs"]

[locations.stats]
path = "/stats"
plugins = ["stats"]

[upstreams.b]
addrs = ["{{.b}}"]

[plugins.comp]
category = "compression"
gzip_level = 6
br_level = 5
zstd_level = 3
min_length = "1kb"

[plugins.gzonly]
category = "compression"
gzip_level = 1
mode = "upstream"

[plugins.decomp]
category = "compression"
br_level = 4
decompression = true

[plugins.files]
category = "directory"
path = "{{.root}}"
autoindex = true
max_age = "1h"
charset = "utf-8"
headers = ["X-Static: yes"]
chunk_size = "4kb"

[plugins.files2]
category = "directory"
path = "{{.root}}"
index = "readme.txt"
private = true
max_age = "10m"
download = true

[plugins.files3]
category = "directory"
path = "{{.root}}"

[plugins.subs]
category = "sub_filter"
filters = ["sub_filter 'http://' 'https://' g", "subs_filter 'hello (\\w+)' 'bye $1' gi", "sub_filter 'once' 'twice'"]
path = "^/(f|ws)"
status_codes = "200,101"

[plugins.stats]
category = "stats"
path = "/stats"
`

// contentJSON is a 100 KB JSON document.
func contentJSON() []byte {
	var b bytes.Buffer
	b.WriteByte('[')
	for i := 0; b.Len() < 100<<10-1; i++ {
		fmt.Fprintf(&b, `{"id":%d,"name":"item %d","tags":["a","b"]},`, i, i)
	}
	out := b.Bytes()[:100<<10-1]
	return append(out, ']')
}

type contentEnv struct {
	addr string
	root string
	c    *http.Client
	p    *proc
}

func startContent(t *testing.T) *contentEnv {
	t.Helper()
	needPlugins(t)
	for _, p := range []string{"compression", "directory", "sub_filter", "stats"} {
		if _, err := os.Stat(filepath.Join(pluginDir, p+".wasm")); err != nil {
			t.Skipf("%s.wasm not built (make plugins)", p)
		}
	}
	js := contentJSON()
	big := bytes.Repeat([]byte("streaming body line, compressible text\n"), 150000) // ~5.8 MB
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(js)
	zw.Close()
	b := backend(t, func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Header.Get("Upgrade") == "websocket":
			conn, brw, err := w.(http.Hijacker).Hijack()
			if err != nil {
				return
			}
			defer conn.Close()
			brw.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
			brw.Flush()
			io.Copy(conn, brw) // echo
		case strings.HasSuffix(r.URL.Path, "/json"):
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("ETag", `"v1"`)
			w.Header().Set("Content-Length", fmt.Sprint(len(js)))
			w.Write(js)
		case strings.HasSuffix(r.URL.Path, "/small"):
			w.Header().Set("Content-Type", "text/plain")
			w.Write([]byte("tiny body"))
		case strings.HasSuffix(r.URL.Path, "/png"):
			w.Header().Set("Content-Type", "image/png")
			w.Write(js[:5000])
		case strings.HasSuffix(r.URL.Path, "/big"):
			w.Header().Set("Content-Type", "text/plain")
			fl := w.(http.Flusher)
			for i := 0; i < len(big); i += 64 << 10 {
				w.Write(big[i:min(i+64<<10, len(big))])
				fl.Flush()
			}
		case strings.HasSuffix(r.URL.Path, "/gz"):
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Content-Encoding", "gzip")
			w.Write(gz.Bytes())
		case strings.HasPrefix(r.URL.Path, "/f/"):
			w.Header().Set("Content-Type", "text/html")
			status := 200
			if r.URL.Path == "/f/missing" {
				status = 404
			}
			w.WriteHeader(status)
			w.Write([]byte(`<a href="http://x/">Hello World</a> <a href="http://y/">hello there</a> once once`))
		default:
			http.NotFound(w, r)
		}
	})
	root := contentRoot(t)
	addr := freePort(t)
	conf := filepath.Join(t.TempDir(), "content.toml")
	writeConf(t, conf, contentConf, map[string]any{"plugins": pluginDir, "addr": addr, "b": b, "root": root})
	p := start(t, conf, addr)
	return &contentEnv{addr: addr, root: root, p: p,
		c: &http.Client{Transport: &http.Transport{DisableCompression: true}, Timeout: 20 * time.Second,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func contentRoot(t *testing.T) string {
	t.Helper()
	base := t.TempDir()
	root := filepath.Join(base, "www")
	for name, body := range map[string]string{
		"files/index.html": "<h1>home</h1>",
		"files/app.js":     "console.log('hi')",
		"files/digits.txt": "0123456789",
		"files/sub/x.txt":  "x",
		"files/big.json":   string(contentJSON()),
		"dl/readme.txt":    "read me",
		"dl/report.csv":    "a,b\n",
		"gzfiles/big.json": string(contentJSON()),
		"gzfiles/huge.txt": strings.Repeat("0123456789abcdef", 2<<20/16),
		"files/large.bin":  strings.Repeat("sluice streams files from the host. ", 40<<20/36+1),
		"../secret.txt":    "TOP SECRET",
	} {
		p := filepath.Join(root, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink("../../secret.txt", filepath.Join(root, "files", "escape.txt")); err != nil {
		t.Fatal(err)
	}
	return root
}

func (e *contentEnv) do(t *testing.T, method, path string, hdr ...string) (*http.Response, []byte) {
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
	return resp, b
}

// raw sends a request line as it is (no client-side path cleaning).
func (e *contentEnv) raw(t *testing.T, target string) (int, string) {
	t.Helper()
	conn, err := net.DialTimeout("tcp", e.addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: example.com\r\nConnection: close\r\n\r\n", target)
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("GET %s: %v", target, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// decodeBody decodes a response body with a real client decoder.
func decodeBody(t *testing.T, enc string, b []byte) []byte {
	t.Helper()
	var r io.Reader
	switch enc {
	case "gzip":
		zr, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("gzip: %v", err)
		}
		r = zr
	case "br":
		r = brotli.NewReader(bytes.NewReader(b))
	case "zstd":
		zr, err := zstd.NewReader(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("zstd: %v", err)
		}
		defer zr.Close()
		r = zr
	case "":
		return b
	default:
		t.Fatalf("unexpected content-encoding %q", enc)
	}
	out, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("decoding %s: %v", enc, err)
	}
	return out
}

func TestContentCompression(t *testing.T) {
	e := startContent(t)
	js := contentJSON()
	big := bytes.Repeat([]byte("streaming body line, compressible text\n"), 150000)
	tests := []struct {
		name, path, ae, want string
		body                 []byte
	}{
		{"gzip", "/c/json", "gzip", "gzip", js},
		{"br", "/c/json", "br", "br", js},
		{"zstd", "/c/json", "zstd", "zstd", js},
		{"priority zstd > br > gzip", "/c/json", "gzip, br, zstd", "zstd", js},
		{"q-values", "/c/json", "zstd;q=0.2, br;q=0.5, gzip;q=0.9", "gzip", js},
		{"identity", "/c/json", "identity", "", js},
		{"no accept-encoding", "/c/json", "", "", js},
		{"below min_length", "/c/small", "gzip", "", []byte("tiny body")},
		{"not compressible", "/c/png", "gzip", "", js[:5000]},
		{"only the enabled level", "/lean/json", "zstd, br, gzip", "gzip", js},
		{"large chunked body streamed", "/c/big", "br", "br", big},
		{"decompression for a client without gzip", "/d/gz", "identity", "", js},
		{"decompression and br", "/d/gz", "br", "br", js},
		{"gzip passed to a client that takes it", "/d/gz", "gzip", "gzip", js},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var hdr []string
			if tc.ae != "" {
				hdr = []string{"Accept-Encoding", tc.ae}
			}
			resp, b := e.do(t, "GET", tc.path, hdr...)
			if resp.StatusCode != 200 {
				t.Fatalf("status %d: %s", resp.StatusCode, b)
			}
			ce := resp.Header.Get("Content-Encoding")
			if ce != tc.want {
				t.Fatalf("Content-Encoding %q; want %q", ce, tc.want)
			}
			got := decodeBody(t, ce, b)
			if !bytes.Equal(got, tc.body) {
				t.Fatalf("decoded body: %d bytes, want %d (byte for byte)", len(got), len(tc.body))
			}
			if ce != "" && tc.path != "/d/gz" {
				if len(b) >= len(tc.body)/2 {
					t.Errorf("%d bytes on the wire for %d", len(b), len(tc.body))
				}
				if resp.Header.Get("Content-Length") != "" || resp.ContentLength != -1 {
					t.Errorf("compressed response has a length: %q", resp.Header.Get("Content-Length"))
				}
				if !strings.Contains(resp.Header.Get("Vary"), "Accept-Encoding") {
					t.Errorf("Vary %q", resp.Header.Get("Vary"))
				}
			}
			if tc.path == "/c/json" && ce != "" && resp.Header.Get("Etag") != `W/"v1"` {
				t.Errorf("ETag %q; want the weak form", resp.Header.Get("Etag"))
			}
		})
	}

	// The stats plugin reports the host codec's figures.
	resp, b := e.do(t, "GET", "/stats")
	if resp.StatusCode != 200 || !strings.Contains(string(b), `"compression":{"gzip":{"compressed":{"bodies":`) {
		t.Errorf("stats %d: %s", resp.StatusCode, b)
	}
}

func TestContentDirectory(t *testing.T) {
	e := startContent(t)
	resp, b := e.do(t, "GET", "/files/digits.txt")
	etag := resp.Header.Get("Etag")
	if resp.StatusCode != 200 || string(b) != "0123456789" || !strings.HasPrefix(etag, `W/"a-`) ||
		resp.Header.Get("Last-Modified") == "" || resp.Header.Get("Content-Type") != "text/plain; charset=utf-8" ||
		resp.Header.Get("Cache-Control") != "public, max-age=3600" || resp.Header.Get("X-Static") != "yes" {
		t.Fatalf("file: %d %q %v", resp.StatusCode, b, resp.Header)
	}
	tests := []struct {
		name   string
		method string
		path   string
		hdr    []string
		status int
		body   string
		header map[string]string
	}{
		{name: "index", path: "/files/", status: 200, body: "<h1>home</h1>", header: map[string]string{"Cache-Control": ""}},
		{name: "redirect to the directory", path: "/files/sub", status: 301, header: map[string]string{"Location": "/files/sub/"}},
		{name: "autoindex", path: "/files/sub/", status: 200, body: `<a href="x.txt">x.txt</a>`},
		{name: "missing", path: "/files/nope", status: 404},
		{name: "range", path: "/files/digits.txt", hdr: []string{"Range", "bytes=3-5"}, status: 206, body: "345",
			header: map[string]string{"Content-Range": "bytes 3-5/10"}},
		{name: "suffix range", path: "/files/digits.txt", hdr: []string{"Range", "bytes=-2"}, status: 206, body: "89"},
		{name: "unsatisfiable range", path: "/files/digits.txt", hdr: []string{"Range", "bytes=50-"}, status: 416,
			header: map[string]string{"Content-Range": "bytes */10"}},
		{name: "if-none-match", path: "/files/digits.txt", hdr: []string{"If-None-Match", etag}, status: 304},
		{name: "if-modified-since", path: "/files/digits.txt", hdr: []string{"If-Modified-Since", resp.Header.Get("Last-Modified")}, status: 304},
		{name: "HEAD", method: "HEAD", path: "/files/digits.txt", status: 200, header: map[string]string{"Content-Length": "10"}},
		{name: "POST refused", method: "POST", path: "/files/digits.txt", status: 405},
		{name: "custom index, private, download", path: "/dl/", status: 200, body: "read me",
			header: map[string]string{"Cache-Control": "private, max-age=600", "Content-Disposition": `attachment; filename="readme.txt"`}},
		{name: "larger file in 4kb chunks", path: "/files/big.json", status: 200, body: string(contentJSON())},
		{name: "link out of the root", path: "/files/escape.txt", status: 403},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := tc.method
			if m == "" {
				m = "GET"
			}
			resp, b := e.do(t, m, tc.path, tc.hdr...)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d; want %d (%q)", resp.StatusCode, tc.status, b)
			}
			if tc.body != "" && !strings.Contains(string(b), tc.body) || tc.body == string(contentJSON()) && string(b) != tc.body {
				t.Errorf("body %.200q; want %.200q", b, tc.body)
			}
			for k, v := range tc.header {
				if got := resp.Header.Get(k); got != v {
					t.Errorf("%s: %q; want %q", k, got, v)
				}
			}
		})
	}

	// Traversal attempts, sent as they are on the wire.
	for _, target := range []string{
		"/files/../secret.txt", "/files/../../secret.txt", "/files/%2e%2e/%2e%2e/secret.txt",
		"/files/%2E%2E%2F%2E%2E%2Fsecret.txt", "/files/..%2f..%2fsecret.txt", "/files/escape.txt",
		"/files/%252e%252e/secret.txt", `/files/..\..\secret.txt`,
	} {
		t.Run("traversal "+target, func(t *testing.T) {
			status, body := e.raw(t, target)
			if status == 200 || strings.Contains(body, "TOP SECRET") {
				t.Errorf("GET %s: %d %q", target, status, body)
			}
		})
	}

	// A static file compressed on its way out.
	resp, b = e.do(t, "GET", "/gzfiles/big.json", "Accept-Encoding", "gzip")
	if resp.StatusCode != 200 || resp.Header.Get("Content-Encoding") != "gzip" || !bytes.Equal(decodeBody(t, "gzip", b), contentJSON()) {
		t.Errorf("compressed static file: %d %q, %d bytes", resp.StatusCode, resp.Header.Get("Content-Encoding"), len(b))
	}
	// A file larger than a local response could carry (32 MiB) is
	// streamed by the host from the file, whole and with its length.
	resp, b = e.do(t, "GET", "/files/large.bin")
	if want := strings.Repeat("sluice streams files from the host. ", 40<<20/36+1); resp.StatusCode != 200 || string(b) != want ||
		resp.Header.Get("Content-Length") != strconv.Itoa(len(want)) {
		t.Errorf("40 MiB file: %d, %d bytes (Content-Length %q); want %d", resp.StatusCode, len(b), resp.Header.Get("Content-Length"), len(want))
	}
	// Regression: a local response over the plugins' 1 MiB buffer limit
	// passing a plugin with a body handler came out empty.
	resp, b = e.do(t, "GET", "/gzfiles/huge.txt", "Accept-Encoding", "gzip")
	if want := strings.Repeat("0123456789abcdef", 2<<20/16); resp.StatusCode != 200 || string(decodeBody(t, "gzip", b)) != want {
		t.Errorf("2 MiB static file through compression: %d, %d bytes compressed", resp.StatusCode, len(b))
	}
}

func TestContentSubFilter(t *testing.T) {
	e := startContent(t)
	const want = `<a href="https://x/">bye World</a> <a href="https://y/">bye there</a> twice once`
	resp, b := e.do(t, "GET", "/f/page")
	if resp.StatusCode != 200 || string(b) != want {
		t.Errorf("filtered: %d %q; want %q", resp.StatusCode, b, want)
	}
	if resp, b := e.do(t, "GET", "/f/missing"); resp.StatusCode != 404 || strings.Contains(string(b), "https://") {
		t.Errorf("status not listed: %d %q", resp.StatusCode, b)
	}
	// Compressed by the client's wish upstream: nothing to filter on the
	// way (the backend sends plain text here, so the rule applies).
	if resp, b := e.do(t, "GET", "/f/page", "Accept-Encoding", "gzip"); resp.StatusCode != 200 || string(b) != want {
		t.Errorf("with accept-encoding: %q", b)
	}

	// Issue 5: never after a WebSocket upgrade, even with 101 listed.
	conn, err := net.DialTimeout("tcp", e.addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprintf(conn, "GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n")
	br := bufio.NewReader(conn)
	up, err := http.ReadResponse(br, nil)
	if err != nil || up.StatusCode != 101 {
		t.Fatalf("upgrade: %v %v", up, err)
	}
	msg := "hello http://frame once"
	if _, err := conn.Write([]byte(msg)); err != nil {
		t.Fatal(err)
	}
	echo := make([]byte, len(msg))
	if _, err := io.ReadFull(br, echo); err != nil || string(echo) != msg {
		t.Errorf("tunnel echo %q, %v; want %q untouched", echo, err, msg)
	}
}

// Issue 5: bad parameters fail `sluice validate`, naming the plugin and
// the key.
func TestContentValidate(t *testing.T) {
	needPlugins(t)
	conf := filepath.Join(t.TempDir(), "bad.toml")
	writeConf(t, conf, `
[basic]
plugin_dir = "{{.plugins}}"
wasm_vms = 1

[servers.main]
addr = "127.0.0.1:0"
locations = ["all"]

[locations.all]
plugins = ["comp", "comp2", "dir", "dir2", "subs", "subs2"]

[plugins.comp]
category = "compression"
gzip_level = 12

[plugins.comp2]
category = "compression"

[plugins.dir]
category = "directory"
path = "{{.missing}}"

[plugins.dir2]
category = "directory"
path = "{{.root}}"
chunk_size = "1kb"

[plugins.subs]
category = "sub_filter"
filters = ["subs_filter '(' 'x'"]

[plugins.subs2]
category = "sub_filter"
filters = ["sub_filter 'a' 'b'"]
status_codes = "200,ok"
`, map[string]any{"plugins": pluginDir, "missing": filepath.Join(t.TempDir(), "nope"), "root": t.TempDir()})
	validateRefuses(t, conf,
		`plugin "comp" (`, `key "gzip_level": must be 0 (off) or 1-9`,
		`plugin "comp2" (`, `set gzip_level, br_level or zstd_level`,
		`plugin "dir" (`, `key "path":`,
		`plugin "dir2" (`, `key "chunk_size": must be between 4kb and 4mib`,
		`plugin "subs" (`, `key "filters[0]": subs_filter: bad regexp`,
		`plugin "subs2" (`, `key "status_codes": not a status code: "ok"`,
	)
}
