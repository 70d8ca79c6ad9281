package config

import (
	"path/filepath"
	"testing"
)

// TestSampleConfigs loads every sample in configs/ as `sluice run` would:
// the samples are documentation, so each must stay valid as the schema
// changes (CoreDNS's readme_test idea).
func TestSampleConfigs(t *testing.T) {
	files, err := filepath.Glob("../../configs/*.toml")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Skip("configs/ has no *.toml samples yet")
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			_, warns, err := Load(file)
			for _, w := range warns {
				t.Logf("warning: %s", w)
			}
			if err != nil {
				t.Fatalf("%s does not load:\n%v", file, err)
			}
		})
	}
}
