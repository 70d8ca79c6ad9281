package files

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/sluice-proxy/sluice/abi/filesabi"
	"github.com/sluice-proxy/sluice/host/config"
)

const secret = "TOP SECRET outside the root"

// tree makes a root with files, a subdirectory, a link inside the root and
// links out of it, next to a secret file outside.
func tree(t testing.TB) (root string) {
	t.Helper()
	base := t.TempDir()
	root = filepath.Join(base, "www")
	write := func(p, s string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(filepath.Join(base, "secret.txt"), secret)
	write(filepath.Join(root, "index.html"), "<h1>home</h1>")
	write(filepath.Join(root, "docs", "a.txt"), "0123456789")
	write(filepath.Join(root, "%2e%2e", "x"), "literal dots")
	for _, l := range []struct{ target, name string }{
		{"docs/a.txt", "inside-link"},
		{"../secret.txt", "outside-link"},
		{filepath.Join(base, "secret.txt"), "absolute-link"},
		{"..", "up"},
	} {
		if err := os.Symlink(l.target, filepath.Join(root, l.name)); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func newFS(t testing.TB) *FS {
	t.Helper()
	f := New()
	f.SetGrants(map[string]string{"static": tree(t)})
	t.Cleanup(func() { f.Close() })
	return f
}

func TestStat(t *testing.T) {
	f := newFS(t)
	tests := []struct {
		name, path string
		kind       filesabi.Kind
		size       int64
		err        error
	}{
		{name: "root", path: "", kind: filesabi.KindDir},
		{name: "file", path: "index.html", kind: filesabi.KindFile, size: 13},
		{name: "nested", path: "docs/a.txt", kind: filesabi.KindFile, size: 10},
		{name: "link inside the root", path: "inside-link", kind: filesabi.KindFile, size: 10},
		{name: "encoded dots are a plain name", path: "%2e%2e/x", kind: filesabi.KindFile, size: 12},
		{name: "missing", path: "nope.txt", err: fs.ErrNotExist},
		{name: "dot dot", path: "../secret.txt", err: fs.ErrInvalid},
		{name: "inner dot dot", path: "docs/../../secret.txt", err: fs.ErrInvalid},
		{name: "absolute", path: "/etc/passwd", err: fs.ErrInvalid},
		{name: "backslash", path: `..\secret.txt`, err: fs.ErrInvalid},
		{name: "NUL", path: "index.html\x00.txt", err: fs.ErrInvalid},
		{name: "link out of the root", path: "outside-link", err: fs.ErrInvalid},
		{name: "absolute link", path: "absolute-link", err: fs.ErrInvalid},
		{name: "link to the parent", path: "up/secret.txt", err: fs.ErrInvalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, err := f.Stat("static", []byte(tc.path))
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("Stat(%q) error %v; want %v", tc.path, err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Stat(%q): %v", tc.path, err)
			}
			i, err := filesabi.DecodeInfo(res)
			if err != nil || i.Kind != tc.kind || (tc.kind == filesabi.KindFile && i.Size != tc.size) || i.MTime == 0 {
				t.Errorf("Stat(%q) = %+v, %v; want kind %d size %d", tc.path, i, err, tc.kind, tc.size)
			}
		})
	}
}

func TestGrantsAreEnforced(t *testing.T) {
	f := newFS(t)
	if _, err := f.Stat("other", []byte("index.html")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a plugin without a grant: %v; want ErrNotExist", err)
	}
	f.SetGrants(nil)
	if _, err := f.Stat("static", []byte("index.html")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("after the grant was withdrawn: %v; want ErrNotExist", err)
	}
}

// A reload adds the new grants while the old generation still serves.
func TestAddGrants(t *testing.T) {
	root := tree(t)
	f := New()
	defer f.Close()
	f.SetGrants(map[string]string{"old": root})
	f.AddGrants(map[string]string{"new": filepath.Join(root, "docs")})
	for _, tc := range []struct{ plugin, path string }{{"old", "index.html"}, {"new", "a.txt"}} {
		if _, err := f.Stat(tc.plugin, []byte(tc.path)); err != nil {
			t.Errorf("%s after AddGrants: %v", tc.plugin, err)
		}
	}
	f.SetGrants(map[string]string{"new": filepath.Join(root, "docs")})
	if _, err := f.Stat("old", []byte("index.html")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("old plugin after the swap: %v; want ErrNotExist", err)
	}
}

func TestRead(t *testing.T) {
	f := newFS(t)
	tests := []struct {
		name string
		off  int64
		n    int
		path string
		want string
		err  error
	}{
		{name: "whole", n: 100, path: "docs/a.txt", want: "0123456789"},
		{name: "middle", off: 3, n: 4, path: "docs/a.txt", want: "3456"},
		{name: "past the end", off: 20, n: 4, path: "docs/a.txt", want: ""},
		{name: "tail", off: 8, n: 4, path: "docs/a.txt", want: "89"},
		{name: "a directory", n: 4, path: "docs", err: fs.ErrInvalid},
		{name: "too long", n: filesabi.MaxRead + 1, path: "docs/a.txt", err: fs.ErrInvalid},
		{name: "negative offset", off: -1, n: 1, path: "docs/a.txt", err: fs.ErrInvalid},
		{name: "escape", n: 100, path: "outside-link", err: fs.ErrInvalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := f.Read("static", filesabi.AppendRead(nil, tc.off, tc.n, tc.path))
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("error %v; want %v", err, tc.err)
				}
				return
			}
			if err != nil || string(got) != tc.want {
				t.Errorf("Read = %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

func TestList(t *testing.T) {
	f := newFS(t)
	res, err := f.List("static", nil)
	if err != nil {
		t.Fatal(err)
	}
	ents, err := filesabi.DecodeEntries(res)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name)
	}
	// The links out of the root are left out.
	if got, want := strings.Join(names, ","), "%2e%2e,docs,index.html,inside-link"; got != want {
		t.Errorf("listing %s; want %s", got, want)
	}
	if _, err := f.List("static", []byte("../")); !errors.Is(err, fs.ErrInvalid) {
		t.Errorf("listing the parent: %v; want ErrInvalid", err)
	}
}

func TestOpen(t *testing.T) {
	f := newFS(t)
	file, err := f.Open("static", "docs/a.txt")
	if err != nil {
		t.Fatal(err)
	}
	file.Close()
	if _, err := f.Open("static", "outside-link"); !errors.Is(err, fs.ErrInvalid) {
		t.Errorf("Open of a link out of the root: %v; want ErrInvalid", err)
	}
}

func TestGrantsFromConfig(t *testing.T) {
	cfg := &config.Config{BaseDir: "/etc/sluice", Plugins: map[string]*config.Plugin{
		"static":  {Category: "directory", Params: map[string]any{"path": "www"}},
		"abs":     {Category: "directory", Params: map[string]any{"path": "/srv/www"}},
		"byfile":  {Wasm: "plugins/directory.wasm", Params: map[string]any{"path": "/data"}},
		"other":   {Category: "mock", Params: map[string]any{"path": "/x"}},
		"no path": {Category: "directory"},
	}}
	got := Grants(cfg)
	want := map[string]string{"static": "/etc/sluice/www", "abs": "/srv/www", "byfile": "/data"}
	if len(got) != len(want) {
		t.Fatalf("Grants = %v; want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("Grants[%q] = %q; want %q", k, got[k], v)
		}
	}
}

// FuzzRead checks that no path, however built, reads the secret next to
// the root.
func FuzzRead(f *testing.F) {
	for _, s := range []string{"index.html", "../secret.txt", "outside-link", "up/secret.txt", "docs/../../secret.txt", "%2e%2e/x", "./index.html", "absolute-link"} {
		f.Add(s)
	}
	fsys := newFS(f)
	f.Fuzz(func(t *testing.T, p string) {
		got, err := fsys.Read("static", filesabi.AppendRead(nil, 0, 1<<10, p))
		if err == nil && bytes.Contains(got, []byte(secret)) {
			t.Fatalf("path %q read the secret outside the root", p)
		}
		if err == nil && !filesabi.ValidPath(p) {
			t.Fatalf("path %q is not valid but was read", p)
		}
	})
}

// Many plugins' calls at once, while the grants change: run with -race.
func TestConcurrent(t *testing.T) {
	root := tree(t)
	f := New()
	defer f.Close()
	f.SetGrants(map[string]string{"a": root, "b": root})
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			plugin := []string{"a", "b"}[i%2]
			for range 200 {
				if b, err := f.Read(plugin, filesabi.AppendRead(nil, 0, 100, "docs/a.txt")); err != nil || string(b) != "0123456789" {
					t.Errorf("read: %q %v", b, err)
					return
				}
			}
		}()
	}
	for range 50 {
		f.SetGrants(map[string]string{"a": root, "b": root})
	}
	wg.Wait()
}
