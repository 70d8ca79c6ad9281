package config

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzLoad feeds arbitrary documents to the loader. It must never panic,
// and whatever it accepts must be complete and consistent: validating it
// again finds nothing, applying the defaults again changes nothing, and it
// encodes to JSON (the admin API's form, and the plugins' parameters).
func FuzzLoad(f *testing.F) {
	f.Add([]byte(compose(nil, "")))
	seeds, _ := filepath.Glob("testdata/*.golden")
	samples, _ := filepath.Glob("../../configs/*.toml")
	for _, p := range append(seeds, samples...) {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		in, _, _ := strings.Cut(string(data), goldenSep)
		f.Add([]byte(in))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, _, err := load([]Document{{Name: "fuzz.toml", Data: data}}, "/base", testEnv)
		if err != nil {
			if c != nil {
				t.Fatalf("load returned a config with error %v", err)
			}
			return
		}
		before, err := json.Marshal(c)
		if err != nil {
			t.Fatalf("accepted config does not encode to JSON: %v", err)
		}
		r := &report{}
		validate(c, testEnv, r)
		if err := r.err(); err != nil {
			t.Fatalf("accepted config does not validate again: %v\ninput:\n%s", err, data)
		}
		applyDefaults(c, testEnv)
		after, _ := json.Marshal(c)
		if !bytes.Equal(before, after) {
			t.Fatalf("applying defaults again changed the config:\n%s\n%s", before, after)
		}
	})
}
