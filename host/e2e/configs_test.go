package e2e

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Issue 2: every sample config validates with the real binary, plugins
// compiled and configured included (host/config's test only decodes them).
func TestSampleConfigsValidate(t *testing.T) {
	needPlugins(t)
	files, err := filepath.Glob(filepath.Join(repoRoot, "configs", "*.toml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no configs/*.toml (%v)", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			out, err := exec.Command(binPath, "validate", "-c", f).CombinedOutput()
			if err != nil || !strings.Contains(string(out), ": ok") {
				t.Errorf("sluice validate -c %s: %v\n%s", f, err, out)
			}
		})
	}
}

// sluice plugins list shows the modules and who uses them.
func TestPluginsList(t *testing.T) {
	needPlugins(t)
	out, err := exec.Command(binPath, "plugins", "list", "-c", filepath.Join(repoRoot, "configs", "default.toml")).CombinedOutput()
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	for _, want := range []string{"mock.wasm", "request_id (api, site)", "0.2.1", "ok"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("plugins list lacks %q:\n%s", want, out)
		}
	}
}
