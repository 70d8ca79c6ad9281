package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDoMain(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.toml")
	os.WriteFile(good, []byte(`
[servers.main]
addr = "127.0.0.1:0"
locations = ["l"]
[locations.l]
upstream = "u"
[upstreams.u]
addrs = ["127.0.0.1:9"]
`), 0o644)
	bad := filepath.Join(dir, "bad.toml")
	os.WriteFile(bad, []byte(`
[servers.main]
addr = "127.0.0.1:0"
locations = ["l", "nope"]
[locations.l]
upstrem = "u"
path = "~(["
[upstreams.u]
addrs = ["127.0.0.1:x"]
`), 0o644)

	tests := []struct {
		name       string
		args       []string
		env        map[string]string
		code       int
		stdout     []string
		stderr     []string
		stderrNone []string
	}{
		{name: "version", args: []string{"version"}, code: 0, stdout: []string{"sluice "}},
		{name: "no command", args: nil, code: 2, stderr: []string{"Usage:"}},
		{name: "unknown command", args: []string{"frobnicate"}, code: 2, stderr: []string{`unknown command "frobnicate"`}},
		{name: "validate good", args: []string{"validate", "-c", good}, code: 0, stdout: []string{"good.toml: ok"}},
		{name: "validate from SLUICE_CONF", args: []string{"validate"}, env: map[string]string{"SLUICE_CONF": good}, code: 0, stdout: []string{": ok"}},
		{name: "validate without a config", args: []string{"validate"}, code: 2, stderr: []string{"give -c PATH or set SLUICE_CONF"}},
		{name: "validate bad lists every error with its path", args: []string{"validate", "-c", bad}, code: 1, stderr: []string{
			"servers.main.locations[1]", `unknown location "nope"`,
			"locations.l.upstrem", `did you mean "upstream"`,
			"locations.l.path",
			"upstreams.u.addrs[0]",
		}},
		{name: "validate missing file", args: []string{"validate", "-c", filepath.Join(dir, "missing.toml")}, code: 1, stderr: []string{"missing.toml"}},
		{name: "run with a bad config exits 1", args: []string{"run", "-c", bad}, code: 1, stderr: []string{`unknown location "nope"`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			getenv := func(k string) string { return tc.env[k] }
			code := doMain(tc.args, &out, &errb, getenv)
			if code != tc.code {
				t.Errorf("exit code %d; want %d\nstdout: %s\nstderr: %s", code, tc.code, out.String(), errb.String())
			}
			for _, w := range tc.stdout {
				if !strings.Contains(out.String(), w) {
					t.Errorf("stdout lacks %q:\n%s", w, out.String())
				}
			}
			for _, w := range tc.stderr {
				if !strings.Contains(errb.String(), w) {
					t.Errorf("stderr lacks %q:\n%s", w, errb.String())
				}
			}
		})
	}
}
