package main

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sluice-proxy/sluice/abi"
	"github.com/sluice-proxy/sluice/host/files"
	"github.com/sluice-proxy/sluice/sdk"
	"github.com/sluice-proxy/sluice/sdk/sdktest"
)

var mtime = time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC)

// site makes a root with files, directories and links, next to a secret.
func site(t *testing.T) string {
	t.Helper()
	base := t.TempDir()
	root := filepath.Join(base, "www")
	for name, body := range map[string]string{
		"index.html":         "<h1>home</h1>",
		"app.js":             "console.log(1)",
		"data/report.csv":    "a,b\n1,2\n",
		"docs/index.html":    "<h1>docs</h1>",
		"empty/.keep":        "",
		"list/b.txt":         "bbb",
		"list/a <&>.txt":     "aaa",
		"list/sub/c.txt":     "c",
		"digits.txt":         "0123456789",
		"%2e%2e/literal.txt": "literal",
		"../secret.txt":      "SECRET",
	} {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, mtime, mtime); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink("../secret.txt", filepath.Join(root, "escape.txt")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("digits.txt", filepath.Join(root, "alias.txt")); err != nil {
		t.Fatal(err)
	}
	return root
}

// withFiles gives the fake host the real file functions with root granted
// to the plugin, as sluice wires them.
func withFiles(t *testing.T, root string) []sdktest.Option {
	fsys := files.New()
	fsys.SetGrants(map[string]string{"static": root})
	t.Cleanup(func() { fsys.Close() })
	// Bodies are streamed by the host from the file, as sluice does.
	opts := []sdktest.Option{sdktest.WithFileBodies(func(path string, off, n int64) ([]byte, error) {
		f, err := fsys.Open("static", path)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		b := make([]byte, n)
		_, err = f.ReadAt(b, off)
		return b, err
	})}
	for name, fn := range fsys.Functions() {
		opts = append(opts, sdktest.WithForeignFunction(name, func(args []byte) ([]byte, error) {
			out, err := fn("static", args)
			switch {
			case errors.Is(err, fs.ErrNotExist):
				return nil, &sdktest.ForeignError{Status: abi.StatusNotFound, Err: err}
			case errors.Is(err, fs.ErrInvalid):
				return nil, &sdktest.ForeignError{Status: abi.StatusBadArgument, Err: err}
			}
			return out, err
		}))
	}
	return opts
}

// get sends one request and returns the local response.
func get(t *testing.T, h *sdktest.Host, req [][2]string) *sdktest.LocalResponse {
	t.Helper()
	s := h.NewStream()
	if a := s.SendRequestHeaders(req, true); a != sdk.Pause {
		t.Fatalf("action %v; want Pause (answered)", a)
	}
	lr := s.LocalResponse()
	if lr == nil {
		t.Fatal("no response")
	}
	s.Complete()
	return lr
}

func TestServe(t *testing.T) {
	root := site(t)
	etag := `W/"a-` + strconv.FormatInt(mtime.Unix(), 16) + `"`
	lastMod := mtime.Format(httpTime)
	tests := []struct {
		name    string
		config  string
		req     [][2]string
		status  int
		body    string
		headers map[string]string
	}{
		{name: "file", req: sdktest.Get("/digits.txt"), status: 200, body: "0123456789",
			headers: map[string]string{"content-type": "text/plain", "etag": etag, "last-modified": lastMod, "accept-ranges": "bytes"}},
		{name: "index of the root", req: sdktest.Get("/"), status: 200, body: "<h1>home</h1>", headers: map[string]string{"content-type": "text/html"}},
		{name: "index of a directory", req: sdktest.Get("/docs/?x=1"), status: 200, body: "<h1>docs</h1>"},
		{name: "directory without slash", req: sdktest.Get("/docs?x=1"), status: 301, headers: map[string]string{"location": "/docs/?x=1"}},
		{name: "no open redirect", req: sdktest.Get("//docs"), status: 301, headers: map[string]string{"location": "/docs/"}},
		{name: "custom index", config: `"index":"report.csv"`, req: sdktest.Get("/data/"), status: 200, body: "a,b\n1,2\n",
			headers: map[string]string{"content-type": "text/csv"}},
		{name: "directory without index", req: sdktest.Get("/list/"), status: 403},
		{name: "missing", req: sdktest.Get("/nope.txt"), status: 404},
		{name: "file with a slash", req: sdktest.Get("/digits.txt/"), status: 404},
		{name: "percent-encoded name", req: sdktest.Get("/list/a%20%3C&%3E.txt"), status: 200, body: "aaa"},
		{name: "link inside the root", req: sdktest.Get("/alias.txt"), status: 200, body: "0123456789"},
		{name: "dot dot", req: sdktest.Get("/../secret.txt"), status: 403},
		{name: "inner dot dot", req: sdktest.Get("/docs/../../secret.txt"), status: 403},
		{name: "encoded dot dot", req: sdktest.Get("/%2e%2e/secret.txt"), status: 403},
		{name: "encoded slash and dots", req: sdktest.Get("/docs%2f..%2f..%2fsecret.txt"), status: 403},
		{name: "double encoding is a literal name", req: sdktest.Get("/%252e%252e/literal.txt"), status: 200, body: "literal"},
		{name: "backslash", req: sdktest.Get(`/..\secret.txt`), status: 403},
		{name: "NUL", req: sdktest.Get("/digits.txt%00.html"), status: 403},
		{name: "bad escape", req: sdktest.Get("/%zz"), status: 400},
		{name: "link out of the root", req: sdktest.Get("/escape.txt"), status: 403},
		{name: "POST", req: sdktest.Request("POST", "/digits.txt", "example.com"), status: 405, headers: map[string]string{"allow": "GET, HEAD"}},
		{name: "HEAD keeps the length", req: sdktest.Request("HEAD", "/digits.txt", "example.com"), status: 200, body: "0123456789"},
		{name: "charset", config: `"charset":"utf-8"`, req: sdktest.Get("/app.js"), status: 200,
			headers: map[string]string{"content-type": "application/javascript; charset=utf-8"}},
		{name: "max_age", config: `"max_age":"1h"`, req: sdktest.Get("/app.js"), status: 200,
			headers: map[string]string{"cache-control": "public, max-age=3600"}},
		{name: "max_age private", config: `"max_age":"10m","private":true`, req: sdktest.Get("/app.js"), status: 200,
			headers: map[string]string{"cache-control": "private, max-age=600"}},
		{name: "no max_age on html", config: `"max_age":"1h"`, req: sdktest.Get("/index.html"), status: 200,
			headers: map[string]string{"cache-control": ""}},
		{name: "download", config: `"download":true`, req: sdktest.Get("/data/report.csv"), status: 200,
			headers: map[string]string{"content-disposition": `attachment; filename="report.csv"`}},
		{name: "headers", config: `"headers":["X-Served-By: sluice","Cache-Control: no-store"]`, req: sdktest.Get("/app.js"), status: 200,
			headers: map[string]string{"x-served-by": "sluice", "cache-control": "no-store"}},
		{name: "small chunk size", config: `"chunk_size":"4kb"`, req: sdktest.Get("/digits.txt"), status: 200, body: "0123456789"},
		{name: "if-none-match", req: sdktest.Get("/digits.txt", "if-none-match", `"x", `+etag), status: 304, body: "",
			headers: map[string]string{"etag": etag}},
		{name: "if-none-match strong form of the weak tag", req: sdktest.Get("/digits.txt", "if-none-match", strings.TrimPrefix(etag, "W/")), status: 304},
		{name: "if-none-match star", req: sdktest.Get("/digits.txt", "if-none-match", "*"), status: 304},
		{name: "if-none-match other", req: sdktest.Get("/digits.txt", "if-none-match", `"other"`), status: 200},
		{name: "if-modified-since same", req: sdktest.Get("/digits.txt", "if-modified-since", lastMod), status: 304},
		{name: "if-modified-since earlier", req: sdktest.Get("/digits.txt", "if-modified-since", mtime.Add(-time.Hour).Format(httpTime)), status: 200},
		{name: "if-none-match wins over if-modified-since", req: sdktest.Get("/digits.txt", "if-none-match", `"other"`, "if-modified-since", lastMod), status: 200},
		{name: "range", req: sdktest.Get("/digits.txt", "range", "bytes=2-5"), status: 206, body: "2345",
			headers: map[string]string{"content-range": "bytes 2-5/10"}},
		{name: "open range", req: sdktest.Get("/digits.txt", "range", "bytes=7-"), status: 206, body: "789",
			headers: map[string]string{"content-range": "bytes 7-9/10"}},
		{name: "suffix range", req: sdktest.Get("/digits.txt", "range", "bytes=-3"), status: 206, body: "789"},
		{name: "range past the end is clipped", req: sdktest.Get("/digits.txt", "range", "bytes=8-100"), status: 206, body: "89"},
		{name: "unsatisfiable range", req: sdktest.Get("/digits.txt", "range", "bytes=10-"), status: 416,
			headers: map[string]string{"content-range": "bytes */10"}},
		{name: "multiple ranges get everything", req: sdktest.Get("/digits.txt", "range", "bytes=0-1,4-5"), status: 200, body: "0123456789"},
		{name: "malformed range ignored", req: sdktest.Get("/digits.txt", "range", "bytes=5-2"), status: 200, body: "0123456789"},
		{name: "if-range date matches", req: sdktest.Get("/digits.txt", "range", "bytes=0-0", "if-range", lastMod), status: 206, body: "0"},
		{name: "if-range stale", req: sdktest.Get("/digits.txt", "range", "bytes=0-0", "if-range", mtime.Add(-time.Hour).Format(httpTime)), status: 200},
		{name: "if-range weak etag never matches", req: sdktest.Get("/digits.txt", "range", "bytes=0-0", "if-range", etag), status: 200},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := `{"path":"` + root + `"`
			if tc.config != "" {
				cfg += "," + tc.config
			}
			h := sdktest.Start(t, cfg+"}", withFiles(t, root)...)
			lr := get(t, h, tc.req)
			if lr.Status != tc.status {
				t.Fatalf("status %d; want %d (body %q)", lr.Status, tc.status, lr.Body)
			}
			if tc.body != "" || tc.status == 304 {
				if string(lr.Body) != tc.body {
					t.Errorf("body %q; want %q", lr.Body, tc.body)
				}
			}
			for k, v := range tc.headers {
				if got := lr.Header(k); got != v {
					t.Errorf("%s: %q; want %q", k, got, v)
				}
			}
		})
	}
}

func TestAutoindex(t *testing.T) {
	root := site(t)
	h := sdktest.Start(t, `{"path":"`+root+`","autoindex":true}`, withFiles(t, root)...)
	lr := get(t, h, sdktest.Get("/list/"))
	if lr.Status != 200 || !strings.HasPrefix(lr.Header("content-type"), "text/html") {
		t.Fatalf("status %d, type %q", lr.Status, lr.Header("content-type"))
	}
	body := string(lr.Body)
	for _, want := range []string{
		`<title>Index of /list/</title>`,
		`<a href="../">../</a>`,
		`<a href="a%20%3C&amp;%3E.txt">a &lt;&amp;&gt;.txt</a></td><td>2025-03-04 05:06</td><td>3</td>`,
		`<a href="b.txt">b.txt</a>`,
		`<a href="sub/">sub/</a>`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("listing lacks %s:\n%s", want, body)
		}
	}
	if strings.Index(body, "a &lt;") > strings.Index(body, "b.txt") {
		t.Error("listing not sorted")
	}
	// The root has an index file: it wins over the listing.
	if lr := get(t, h, sdktest.Get("/")); string(lr.Body) != "<h1>home</h1>" {
		t.Errorf("root: %q", lr.Body)
	}
}

func TestBadConfig(t *testing.T) {
	root := site(t)
	tests := []struct{ name, config, want string }{
		{"path required", `{}`, `key "path": required`},
		{"chunk too small", `{"path":"x","chunk_size":"1kb"}`, `key "chunk_size": must be between 4kb and 4mib`},
		{"chunk too large", `{"path":"x","chunk_size":"5mib"}`, `key "chunk_size"`},
		{"index with a slash", `{"path":"x","index":"a/b.html"}`, `key "index": must be a file name`},
		{"bad max_age", `{"path":"x","max_age":"soon"}`, `key "max_age"`},
		{"bad charset", `{"path":"x","charset":"utf 8"}`, `key "charset"`},
		{"bad headers", `{"path":"x","headers":["nocolon"]}`, `key "headers[0]"`},
		{"follow_symlinks false", `{"path":"x","follow_symlinks":false}`, `key "follow_symlinks"`},
		{"unknown", `{"path":"x","autoidx":true}`, `unknown key "autoidx" (did you mean "autoindex"?)`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := sdktest.New(t, withFiles(t, root)...).Configure(tc.config)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Configure(%s) = %v; want %q", tc.config, err, tc.want)
			}
		})
	}
}

// The root is checked when the plugin is configured.
func TestRootChecked(t *testing.T) {
	root := site(t)
	tests := []struct{ name, grant, want string }{
		{"missing root", filepath.Join(root, "nope"), "cannot be read"},
		{"root is a file", filepath.Join(root, "digits.txt"), "cannot be read"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := sdktest.New(t, withFiles(t, tc.grant)...).Configure(`{"path":"` + tc.grant + `"}`)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Configure = %v; want %q", err, tc.want)
			}
		})
	}
	if err := sdktest.New(t).Configure(`{"path":"/srv"}`); err == nil || !strings.Contains(err.Error(), "sluice.files") {
		t.Errorf("without the host's files: %v", err)
	}
}

func TestParseRange(t *testing.T) {
	tests := []struct {
		v               string
		size, start, n  int64
		ok, satisfiable bool
	}{
		{"bytes=0-0", 10, 0, 1, true, true},
		{"bytes=0-", 10, 0, 10, true, true},
		{"bytes=-10", 10, 0, 10, true, true},
		{"bytes=-20", 10, 0, 10, true, true},
		{"bytes=-0", 10, 0, 0, false, false},
		{"bytes=9-9", 10, 9, 1, true, true},
		{"bytes=10-11", 10, 0, 0, false, false},
		{"bytes=0-0", 0, 0, 0, false, false},
		{"items=0-1", 10, 0, 0, false, true},
		{"bytes=a-b", 10, 0, 0, false, true},
		{"bytes=1", 10, 0, 0, false, true},
		{"bytes=-1-2", 10, 0, 0, false, true},
	}
	for _, tc := range tests {
		t.Run(tc.v, func(t *testing.T) {
			s, n, ok, sat := parseRange(tc.v, tc.size)
			if s != tc.start || n != tc.n || ok != tc.ok || sat != tc.satisfiable {
				t.Errorf("parseRange(%q, %d) = %d, %d, %v, %v; want %d, %d, %v, %v", tc.v, tc.size, s, n, ok, sat, tc.start, tc.n, tc.ok, tc.satisfiable)
			}
		})
	}
}

func FuzzParseRange(f *testing.F) {
	for _, s := range []string{"bytes=0-0", "bytes=-5", "bytes=3-", "bytes=1-2,3-4", "bytes=99999999999999999999-"} {
		f.Add(s, int64(10))
	}
	f.Fuzz(func(t *testing.T, v string, size int64) {
		if size < 0 {
			size = -size
		}
		s, n, ok, _ := parseRange(v, size)
		if ok && (s < 0 || n <= 0 || s+n > size) {
			t.Fatalf("parseRange(%q, %d) = %d, %d: outside the file", v, size, s, n)
		}
	})
}

func FuzzRelPath(f *testing.F) {
	for _, s := range []string{"/a/b", "/../x", "/%2e%2e/x", "/a%2f..%2fb", "//x", "/a/./b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		rel, _, err := relPath(raw)
		if err != nil {
			return
		}
		if !sdk.ValidFilePath(rel) {
			t.Fatalf("relPath(%q) = %q, which the host refuses", raw, rel)
		}
	})
}
