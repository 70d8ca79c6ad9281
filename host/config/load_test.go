package config

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// writeFiles creates files (path relative to dir → content) under dir.
func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestLoadFile(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"sluice.toml": `
[basic]
plugin_dir = "wasm"
wasm_cache_dir = "/var/cache/sluice"

[servers.main]
addr = "127.0.0.1:0"
locations = ["api"]
global_certificates = true

[locations.api]
upstream = "b"
plugins = ["auth", "own"]

[upstreams.b]
addrs = ["127.0.0.1:8080"]

[plugins.auth]
category = "basic_auth"

[plugins.own]
wasm = "../modules/own.wasm"

[certificates.site]
tls_cert = "certs/site.pem"
tls_key = "certs/site.key"
`,
		"certs/site.pem": "not checked here",
		"certs/site.key": "not checked here",
	})
	c, warns, err := Load(filepath.Join(dir, "sluice.toml"))
	if err != nil || len(warns) > 0 {
		t.Fatalf("Load = warnings %q, error %v", warnLines(warns), err)
	}
	if c.BaseDir != dir {
		t.Errorf("BaseDir = %q; want %q", c.BaseDir, dir)
	}
	for _, tt := range []struct{ got, want string }{
		{c.Resolve(c.Basic.PluginDir), filepath.Join(dir, "wasm")},
		{c.Resolve(c.Basic.WasmCacheDir), "/var/cache/sluice"},
		{c.ModulePath(c.Plugins["auth"]), filepath.Join(dir, "wasm", "basic_auth.wasm")},
		{c.ModulePath(c.Plugins["own"]), filepath.Join(filepath.Dir(dir), "modules", "own.wasm")},
		{c.Resolve(c.Certificates["site"].TLSCert), filepath.Join(dir, "certs", "site.pem")},
	} {
		if tt.got != tt.want {
			t.Errorf("path = %q; want %q", tt.got, tt.want)
		}
	}
}

// TestLoadFileCertificateMissing checks the real file check: a certificate
// path is resolved against the config's directory, not the working one.
func TestLoadFileCertificateMissing(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"sluice.toml": "[certificates.site]\ntls_cert = \"certs/site.pem\"\ntls_key = \"certs\"\n",
		"certs/x":     "",
	})
	_, _, err := Load(filepath.Join(dir, "sluice.toml"))
	want := []string{
		"certificates.site.tls_cert: neither PEM, nor base64 of PEM, nor a readable file: stat " + filepath.Join(dir, "certs/site.pem") + ": no such file or directory",
		"certificates.site.tls_key: neither PEM, nor base64 of PEM, nor a readable file: " + filepath.Join(dir, "certs") + " is a directory",
	}
	if got := lines(err); !slices.Equal(got, want) {
		t.Fatalf("Load =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestLoadDirectory loads Pingap's two directory layouts at once: one file
// per category and one file per item, in subdirectories.
func TestLoadDirectory(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"basic.toml":           "[basic]\nname = \"dir\"\n",
		"servers.toml":         "[servers.main]\naddr = \"127.0.0.1:0\"\nlocations = [\"api\", \"web\"]\n",
		"locations/api.toml":   "[locations.api]\nupstream = \"api\"\npath = \"/api\"\n",
		"locations/web.toml":   "[locations.web]\nupstream = \"web\"\n",
		"upstreams.toml":       "[upstreams.api]\naddrs = [\"127.0.0.1:9000\"]\n[upstreams.web]\naddrs = [\"127.0.0.1:9001\"]\n",
		"storages/s.toml":      "[storages.s]\ncategory = \"config\"\nvalue = \"read_timeout = 5\"\n",
		".hidden.toml":         "this is not TOML",
		".git/config.toml":     "neither is this",
		"README.md":            "[servers.ignored]",
		"upstreams.toml.bak":   "[servers.ignored]",
		"empty/nothing.json":   "{}",
		"deeper/more/x.toml":   "[plugins.p]\ncategory = \"ping\"\n",
		"deeper/more/y.toml":   "",
		"deeper/.cache/z.toml": "garbage",
	})
	c, warns, err := Load(dir)
	if err != nil || len(warns) > 0 {
		t.Fatalf("Load(dir) = warnings %q, error %v", warnLines(warns), err)
	}
	if c.BaseDir != dir {
		t.Errorf("BaseDir = %q; want %q", c.BaseDir, dir)
	}
	if c.Basic.Name != "dir" {
		t.Errorf("basic.name = %q; want %q", c.Basic.Name, "dir")
	}
	for section, got := range map[string][]string{
		"servers":   sortedKeys(c.Servers),
		"locations": sortedKeys(c.Locations),
		"upstreams": sortedKeys(c.Upstreams),
		"plugins":   sortedKeys(c.Plugins),
		"storages":  sortedKeys(c.Storages),
	} {
		want := map[string][]string{
			"servers": {"main"}, "locations": {"api", "web"}, "upstreams": {"api", "web"},
			"plugins": {"p"}, "storages": {"s"},
		}[section]
		if !slices.Equal(got, want) {
			t.Errorf("%s = %q; want %q", section, got, want)
		}
	}
}

// TestLoadDirectoryProblems checks that a directory's problems name the file
// to edit, and that a duplicate names both files.
func TestLoadDirectoryProblems(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"a.toml": "[basic]\nname = \"a\"\n[upstreams.b]\naddrs = [\"127.0.0.1:1\"]\n[servers.main]\naddr = \"127.0.0.1:0\"\nlocations = [\"api\"]\n",
		"b.toml": "[basic]\nname = \"b\"\nthreads = 4\n[upstreams.b]\naddrs = [\"127.0.0.1:2\"]\n",
		"c.toml": "[locations.api]\nupstream = \"x\"\n",
	})
	a, b, c := filepath.Join(dir, "a.toml"), filepath.Join(dir, "b.toml"), filepath.Join(dir, "c.toml")
	duplicates := []string{
		b + ": basic.name: set in both " + a + " and " + b,
		b + ": upstreams.b: defined in both " + a + " and " + b,
	}
	_, warns, err := Load(dir)
	wantErrs := []string{duplicates[0], c + `: locations.api.upstream: unknown upstream "x"`, duplicates[1]}
	if got := lines(err); !slices.Equal(got, wantErrs) {
		t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(wantErrs, "\n"))
	}
	wantWarns := []string{b + ": basic.threads: ignored: Go runs every server on all cores; set GOMAXPROCS to limit them"}
	if got := warnLines(warns); !slices.Equal(got, wantWarns) {
		t.Errorf("warnings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(wantWarns, "\n"))
	}

	// A file that is not TOML might define upstreams.x: the references are
	// no longer checked, the rest still is.
	writeFiles(t, dir, map[string]string{"d.toml": "[upstreams.x\n"})
	_, _, err = Load(dir)
	wantErrs = append([]string{filepath.Join(dir, "d.toml") + ": line 2, column 13: expected '.' or ']' to end table name, but got '\\n' instead"}, duplicates...)
	if got := lines(err); !slices.Equal(got, wantErrs) {
		t.Errorf("with a broken file, errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(wantErrs, "\n"))
	}
}

func TestLoadFailures(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"empty/notes.txt": ""})
	tests := []struct {
		name, path string
		is         error
		msg        string
	}{
		{name: "missing path", path: filepath.Join(dir, "nope.toml"), is: fs.ErrNotExist, msg: "loading config: stat "},
		{name: "directory without TOML", path: filepath.Join(dir, "empty"), msg: "loading config: no TOML documents found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _, err := Load(tt.path)
			if c != nil || err == nil || !strings.Contains(err.Error(), tt.msg) {
				t.Fatalf("Load(%q) = %v, %v; want an error containing %q", tt.path, c, err, tt.msg)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Fatalf("Load(%q) error %v is not %v", tt.path, err, tt.is)
			}
			var es Errors
			if errors.As(err, &es) {
				t.Fatalf("Load(%q) error %v is an Errors; I/O failures are plain errors", tt.path, err)
			}
		})
	}
}

// fakeSource is a Source whose reading fails, standing in for an etcd
// outage.
type fakeSource struct{ err error }

func (f fakeSource) Documents() ([]Document, error) { return nil, f.err }

func TestLoadSource(t *testing.T) {
	t.Run("documents are united", func(t *testing.T) {
		src := StaticSource{
			{Name: "etcd:/sluice/servers/main.toml", Data: []byte("[servers.main]\naddr = \"127.0.0.1:0\"\nlocations = [\"api\"]\n")},
			{Name: "etcd:/sluice/locations/api.toml", Data: []byte("[locations.api]\nupstream = \"b\"\n")},
			{Name: "etcd:/sluice/upstreams/b.toml", Data: []byte("[upstreams.b]\naddrs = [\"10.0.0.1\"]\n")},
		}
		c, _, err := LoadSource(src, "/etc/sluice")
		if err != nil {
			t.Fatal(err)
		}
		if c.BaseDir != "/etc/sluice" || c.Locations["api"].Upstream != "b" {
			t.Fatalf("LoadSource = BaseDir %q, location %+v", c.BaseDir, c.Locations["api"])
		}
	})
	t.Run("read failure", func(t *testing.T) {
		boom := errors.New("etcd unavailable")
		_, _, err := LoadSource(fakeSource{boom}, "/")
		if !errors.Is(err, boom) || !strings.HasPrefix(err.Error(), "loading config: ") {
			t.Fatalf("LoadSource(failing) = %v; want it wrapped", err)
		}
	})
}

func TestParse(t *testing.T) {
	c, _, err := Parse([]byte(compose(nil, "[plugins.p]\nwasm = \"p.wasm\"\n")), "admin")
	if err != nil {
		t.Fatal(err)
	}
	if c.BaseDir != "" || c.ModulePath(c.Plugins["p"]) != "p.wasm" {
		t.Fatalf("Parse: BaseDir %q, module %q; want relative to the working directory", c.BaseDir, c.ModulePath(c.Plugins["p"]))
	}
	_, _, err = Parse([]byte("[servers.x"), "admin")
	if got := lines(err); len(got) != 1 || !strings.HasPrefix(got[0], "admin: line 1") {
		t.Fatalf("Parse(bad) = %q; want one syntax error naming the document", got)
	}
}

func TestResolve(t *testing.T) {
	home, err := os.UserHomeDir()
	if err != nil {
		t.Skip("no home directory:", err)
	}
	tests := []struct {
		name, base, in, want string
	}{
		{name: "empty stays empty", base: "/etc/sluice", in: "", want: ""},
		{name: "relative", base: "/etc/sluice", in: "plugins", want: "/etc/sluice/plugins"},
		{name: "relative up", base: "/etc/sluice", in: "../certs/a.pem", want: "/etc/certs/a.pem"},
		{name: "absolute", base: "/etc/sluice", in: "/var/lib/x//y", want: "/var/lib/x/y"},
		{name: "home", base: "/etc/sluice", in: "~/certs/a.pem", want: filepath.Join(home, "certs/a.pem")},
		{name: "no base", base: "", in: "./plugins/", want: "plugins"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &Config{BaseDir: tt.base}
			if got := c.Resolve(tt.in); got != tt.want {
				t.Fatalf("Resolve(%q) with BaseDir %q = %q; want %q", tt.in, tt.base, got, tt.want)
			}
		})
	}
}

// TestApplyDefaultsIsIdempotent also checks that defaults never turn a
// valid configuration invalid.
func TestApplyDefaultsIsIdempotent(t *testing.T) {
	c := &Config{
		Servers:   map[string]*Server{"s": {Addr: "127.0.0.1:0", Locations: []string{"l"}, TLSMinVersion: "TLS1.3"}},
		Locations: map[string]*Location{"l": {Upstream: "u"}},
		Upstreams: map[string]*Upstream{"u": {Addrs: []string{"a.example:80"}, Alpn: "H2", ConnectionTimeout: Duration(1<<63 - 1)}},
	}
	applyDefaults(c, testEnv)
	once := *c.Upstreams["u"]
	srv := *c.Servers["s"]
	applyDefaults(c, testEnv)
	if u := *c.Upstreams["u"]; u.Discovery != "dns" || u.Alpn != "h2" || u.TotalConnectionTimeout != Duration(1<<63-1) || *u.VerifyCert != *once.VerifyCert {
		t.Fatalf("upstream after defaults = %+v", u)
	}
	if s := *c.Servers["s"]; s.TLSMinVersion != "tlsv1.3" || s.TLSMinVersion != srv.TLSMinVersion {
		t.Fatalf("server after defaults = %+v", s)
	}
	r := &report{}
	validate(c, testEnv, r)
	if err := r.err(); err != nil {
		t.Fatalf("defaulted config does not validate: %v", err)
	}
}
