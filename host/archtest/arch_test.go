// Package archtest checks the import rules of DESIGN.md §1: a host package
// imports only the packages to its left in the layer list (plus the standard
// library, third-party modules and host/internal), the observability
// packages are leaves, and the sdk, plugins and abi trees stay apart from
// the host.
package archtest

import (
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/sluice-proxy/sluice"

// layers lists host packages from the bottom up. A package may import
// packages of lower layers only; packages of one layer may not import each
// other. A sub-package (host/upstream/transport) belongs to its parent's
// layer and may be imported by its parent.
var layers = [][]string{
	{"config"},
	{"metrics", "accesslog", "tracing", "cachestore", "codec", "files", "cryptox"},
	{"tlsx"},
	{"route"},
	{"upstream"},
	{"wasm"},
	{"proxy"},
	{"server"},
	{"admin"},
	{"app"},
}

func layerOf(pkg string) (int, string, bool) {
	top, _, _ := strings.Cut(pkg, "/")
	for i, l := range layers {
		if slices.Contains(l, top) {
			return i, top, true
		}
	}
	return 0, top, false
}

// imports returns the module-internal imports of the non-test Go files of
// every directory under root, keyed by directory relative to the module.
func imports(t *testing.T, root string) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	fset := token.NewFileSet()
	root, err := filepath.Abs(root)
	if err != nil {
		t.Fatal(err)
	}
	moduleRoot, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if n := d.Name(); n == "testdata" || strings.HasPrefix(n, ".") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(moduleRoot, filepath.Dir(path))
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			if strings.HasPrefix(p, module+"/") {
				out[rel] = append(out[rel], strings.TrimPrefix(p, module+"/"))
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// violations returns the import rules host/pkg breaks by importing imps
// (module-relative paths).
func violations(pkg string, imps []string) []string {
	me, myTop, ok := layerOf(pkg)
	if !ok {
		return []string{"host/" + pkg + " is not in the layer list of DESIGN.md §1 (add it to archtest)"}
	}
	var out []string
	for _, imp := range imps {
		if imp == "abi" {
			// The ABI belongs to host/wasm's layer: wasm speaks it, and
			// the packages above see its types through wasm's API
			// (wasm.Stream takes an abi.MapType).
			if wasmLayer, _, _ := layerOf("wasm"); me < wasmLayer {
				out = append(out, "host/"+pkg+" imports abi below the wasm layer")
			}
			continue
		}
		if strings.HasPrefix(imp, "abi/") {
			// Encodings of host primitives (abi/cacheabi, ...), declared
			// once for the host package that serves them and the guests.
			continue
		}
		if strings.HasPrefix(imp, "sdk") || strings.HasPrefix(imp, "plugins-wasm") {
			out = append(out, "host/"+pkg+" imports "+imp+": the host never imports guest code")
			continue
		}
		ip := strings.TrimPrefix(imp, "host/")
		if strings.HasPrefix(ip, "internal") {
			continue
		}
		them, theirTop, ok := layerOf(ip)
		switch {
		case !ok:
			out = append(out, "host/"+pkg+" imports "+imp+", which is not in the layer list")
		case theirTop == myTop:
			// Within one package tree: a parent and its sub-packages.
		case them >= me:
			out = append(out, "host/"+pkg+" imports host/"+ip+": a package may import only lower layers (DESIGN.md §1)")
		}
	}
	return out
}

func TestViolations(t *testing.T) {
	tests := []struct {
		name string
		pkg  string
		imps []string
		want int
	}{
		{"proxy may import lower layers", "proxy", []string{"host/route", "host/upstream/transport", "host/wasm", "host/internal/reqinfo"}, 0},
		{"route may not import proxy", "route", []string{"host/proxy"}, 1},
		{"leaves may not import each other", "metrics", []string{"host/accesslog"}, 1},
		{"parent imports its sub-package", "upstream", []string{"host/upstream/transport"}, 0},
		{"the wasm layer and above may import abi", "proxy", []string{"abi"}, 0},
		{"below the wasm layer abi is out of reach", "route", []string{"abi"}, 1},
		{"a host primitive imports its encoding", "upstream", []string{"abi/cacheabi"}, 0},
		{"host never imports sdk", "wasm", []string{"sdk/sdktest"}, 1},
		{"unknown package", "bogus", nil, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := violations(tc.pkg, tc.imps); len(got) != tc.want {
				t.Errorf("violations(%q, %q) = %q; want %d", tc.pkg, tc.imps, got, tc.want)
			}
		})
	}
}

func TestHostLayers(t *testing.T) {
	all := imports(t, "..")
	if len(all) < 10 {
		t.Fatalf("found the imports of %d host packages; the walk is broken", len(all))
	}
	for dir, imps := range all {
		pkg := strings.TrimPrefix(dir, "host/")
		if pkg == dir || strings.HasPrefix(pkg, "internal") || strings.HasPrefix(pkg, "archtest") {
			continue
		}
		for _, v := range violations(pkg, imps) {
			t.Error(v)
		}
	}
}

func TestGuestTreesStayApart(t *testing.T) {
	for _, tree := range []string{"abi", "sdk", "plugins-wasm"} {
		root := filepath.Join("..", "..", tree)
		if _, err := os.Stat(root); err != nil {
			continue
		}
		for dir, imps := range imports(t, root) {
			for _, imp := range imps {
				switch {
				case tree == "abi":
					t.Errorf("%s imports %s: abi imports nothing from this module", dir, imp)
				case strings.HasPrefix(imp, "host"):
					t.Errorf("%s imports %s: guest code never imports the host", dir, imp)
				case tree == "plugins-wasm" && !strings.HasPrefix(imp, "sdk") && imp != "abi":
					t.Errorf("%s imports %s: plugins import only sdk (and abi)", dir, imp)
				}
			}
		}
	}
}
