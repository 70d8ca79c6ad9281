package config

import (
	"errors"
	"io/fs"
	"slices"
	"sort"
	"strings"
	"testing"
)

// testEnv fixes the machine-dependent defaults and fakes the file system
// the certificate check looks at: only files named exists*.pem exist.
var testEnv = env{
	maxProcs:     4,
	userCacheDir: "/cache",
	statFile: func(p string) error {
		if strings.HasPrefix(p[strings.LastIndexByte(p, '/')+1:], "exists") && strings.HasSuffix(p, ".pem") {
			return nil
		}
		return &fs.PathError{Op: "stat", Path: p, Err: fs.ErrNotExist}
	},
}

// loadString loads one document the way Load does, with testEnv.
func loadString(doc string) (*Config, []Warning, error) {
	return load([]Document{{Name: "test.toml", Data: []byte(doc)}}, "/base", testEnv)
}

// lines returns the error's problems, one string each, or nil.
func lines(err error) []string {
	if err == nil {
		return nil
	}
	var es Errors
	if !errors.As(err, &es) {
		return []string{"not an Errors: " + err.Error()}
	}
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = e.Error()
	}
	return out
}

func warnLines(ws []Warning) []string {
	var out []string
	for _, w := range ws {
		out = append(out, w.String())
	}
	return out
}

// baseDoc is the smallest valid configuration: a server, a location and an
// upstream. compose edits it key by key.
var baseDoc = []struct {
	table string
	keys  [][2]string
}{
	{"servers.main", [][2]string{{"addr", `"127.0.0.1:0"`}, {"locations", `["api"]`}}},
	{"locations.api", [][2]string{{"upstream", `"b"`}}},
	{"upstreams.b", [][2]string{{"addrs", `["127.0.0.1:8080"]`}}},
}

// compose renders baseDoc with set applied, then extra. A key of set is a
// dotted "table.key" (table names without dots); its value is a TOML
// literal, or "" to delete the key. Tables not in baseDoc are added.
func compose(set map[string]string, extra string) string {
	type table struct {
		name string
		keys [][2]string
	}
	var tables []*table
	for _, t := range baseDoc {
		tables = append(tables, &table{t.table, slices.Clone(t.keys)})
	}
	paths := make([]string, 0, len(set))
	for p := range set {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		i := strings.LastIndexByte(p, '.')
		tname, key, val := p[:i], p[i+1:], set[p]
		var t *table
		for _, x := range tables {
			if x.name == tname {
				t = x
			}
		}
		if t == nil {
			t = &table{name: tname}
			tables = append(tables, t)
		}
		j := slices.IndexFunc(t.keys, func(kv [2]string) bool { return kv[0] == key })
		switch {
		case val == "" && j >= 0:
			t.keys = slices.Delete(t.keys, j, j+1)
		case j >= 0:
			t.keys[j][1] = val
		case val != "":
			t.keys = append(t.keys, [2]string{key, val})
		}
	}
	var b strings.Builder
	for _, t := range tables {
		b.WriteString("[" + t.name + "]\n")
		for _, kv := range t.keys {
			b.WriteString(kv[0] + " = " + kv[1] + "\n")
		}
		b.WriteString("\n")
	}
	b.WriteString(extra)
	return b.String()
}

func TestComposeBaseIsValid(t *testing.T) {
	_, warns, err := loadString(compose(nil, ""))
	if err != nil || len(warns) != 0 {
		t.Fatalf("base document: warnings %q, error %v; want neither", warnLines(warns), err)
	}
}
