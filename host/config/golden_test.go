package config

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the expected part of testdata/*.golden")

// goldenSep separates a golden file's TOML input from what loading it must
// give: "warning: " lines, then either "error: " lines or the loaded
// Config as indented JSON.
const goldenSep = "-- want --\n"

// TestGolden loads each testdata/*.golden input with testEnv and compares
// the outcome. Run with -update to rewrite the expectations, then review
// the diff.
func TestGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/*.golden")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no testdata/*.golden files")
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".golden"), func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			input, want, ok := strings.Cut(string(data), goldenSep)
			if !ok {
				t.Fatalf("%s has no %q line", file, strings.TrimSpace(goldenSep))
			}
			got := goldenOutcome(t, filepath.Base(file), input)
			if *update {
				if err := os.WriteFile(file, []byte(input+goldenSep+got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			if got != want {
				t.Errorf("%s: got\n%s\nwant\n%s", file, got, want)
			}
		})
	}
}

func goldenOutcome(t *testing.T, name, input string) string {
	t.Helper()
	c, warns, err := load([]Document{{Name: name, Data: []byte(input)}}, "/base", testEnv)
	var b bytes.Buffer
	for _, w := range warns {
		b.WriteString("warning: " + w.String() + "\n")
	}
	if err != nil {
		for _, l := range lines(err) {
			b.WriteString("error: " + l + "\n")
		}
		return b.String()
	}
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false) // keep regexes and URLs readable
	enc.SetIndent("", "  ")
	if err := enc.Encode(c); err != nil {
		t.Fatalf("encoding the loaded config: %v", err)
	}
	return b.String()
}
