package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"

	"github.com/BurntSushi/toml"
)

// Load reads the configuration at path, a TOML file or a directory of them
// (see DirSource), decodes it strictly, fills in its defaults and validates
// it. Relative paths in it are relative to the file's directory, or to the
// directory itself (Config.BaseDir).
//
// The warnings are returned whether or not the load succeeds. The error is
// an Errors listing every problem found, or a plain error when the files
// cannot be read; either way the *Config is nil, so that a bad configuration
// can never be used by mistake.
func Load(path string) (*Config, []Warning, error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, nil, fmt.Errorf("loading config: %w", err)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, nil, fmt.Errorf("loading config: %w", err)
	}
	if info.IsDir() {
		return LoadSource(DirSource(path), abs)
	}
	return LoadSource(FileSource(path), filepath.Dir(abs))
}

// LoadSource is Load for any Source; baseDir becomes Config.BaseDir.
func LoadSource(src Source, baseDir string) (*Config, []Warning, error) {
	docs, err := src.Documents()
	if err != nil {
		return nil, nil, fmt.Errorf("loading config: %w", err)
	}
	if len(docs) == 0 {
		return nil, nil, errors.New("loading config: no TOML documents found")
	}
	return load(docs, baseDir, hostEnv())
}

// Parse is Load for one TOML document held in memory (tests, the admin
// API); name identifies it in errors. Config.BaseDir stays empty, so
// relative paths are relative to the working directory.
func Parse(data []byte, name string) (*Config, []Warning, error) {
	return load([]Document{{Name: name, Data: data}}, "", hostEnv())
}

// env is what loading needs from the machine, passed in so that tests can
// fix it: the defaults that depend on the host, and the check that a
// certificate file exists.
type env struct {
	maxProcs     int
	userCacheDir string // "" when the machine has none
	statFile     func(path string) error
}

func hostEnv() env {
	dir, err := os.UserCacheDir()
	if err != nil {
		dir = ""
	}
	return env{
		maxProcs:     runtime.GOMAXPROCS(0),
		userCacheDir: dir,
		statFile: func(p string) error {
			fi, err := os.Stat(p)
			if err == nil && fi.IsDir() {
				return fmt.Errorf("%s is a directory", p)
			}
			return err
		},
	}
}

// The sections of a document, in the order problems are reported.
var sectionNames = []string{"basic", "servers", "locations", "upstreams", "plugins", "certificates", "storages"}

// loader carries one load: its report and where each item came from.
type loader struct {
	r *report
	// origin maps the path of each item ("servers.main") and of each basic
	// key ("basic.name") to the document that defined it.
	origin map[string]string
	// included holds the parsed value of each "config" storage.
	included map[string]map[string]any
	// unparsed is set when a document is not valid TOML.
	unparsed bool
}

// merged is the union of the documents, still as TOML trees.
type merged struct {
	basic map[string]any
	items map[string]map[string]map[string]any // section → name → table
}

func load(docs []Document, baseDir string, e env) (*Config, []Warning, error) {
	l := &loader{r: &report{}, origin: map[string]string{}, included: map[string]map[string]any{}}
	m := l.merge(docs)
	c := l.decode(m)
	c.BaseDir = baseDir
	applyDefaults(c, e)
	if !l.unparsed {
		// A document that does not parse may define anything, so checks
		// that look across items would only add false alarms.
		validate(c, e, l.r)
	}
	l.r.sort()
	if len(docs) > 1 {
		l.attribute()
	}
	if err := l.r.err(); err != nil {
		return nil, l.r.warns, err
	}
	return c, l.r.warns, nil
}

// merge parses every document and unites them. An item (or a basic key)
// defined by two documents is an error naming both.
func (l *loader) merge(docs []Document) merged {
	m := merged{basic: map[string]any{}, items: map[string]map[string]map[string]any{}}
	for _, s := range sectionNames[1:] {
		m.items[s] = map[string]map[string]any{}
	}
	for _, doc := range docs {
		var tree map[string]any
		if _, err := toml.Decode(string(doc.Data), &tree); err != nil {
			l.r.errs = append(l.r.errs, &Error{File: doc.Name, Msg: syntaxError(err)})
			l.unparsed = true
			continue
		}
		for _, section := range sortedKeys(tree) {
			v := tree[section]
			if !slices.Contains(sectionNames, section) {
				l.r.errs = append(l.r.errs, &Error{File: doc.Name, Path: quoteKey(section),
					Msg: fmt.Sprintf("unknown section %q%s", section, didYouMean(section, sectionNames))})
				continue
			}
			table, ok := v.(map[string]any)
			if !ok {
				l.r.errs = append(l.r.errs, &Error{File: doc.Name, Path: quoteKey(section),
					Msg: "want a table, got " + tomlType(v)})
				continue
			}
			if section == "basic" {
				for _, k := range sortedKeys(table) {
					p := join("basic", k)
					if prev, dup := l.origin[p]; dup {
						l.r.errs = append(l.r.errs, &Error{File: doc.Name, Path: p, Msg: fmt.Sprintf("set in both %s and %s", prev, doc.Name)})
						continue
					}
					l.origin[p] = doc.Name
					m.basic[k] = table[k]
				}
				continue
			}
			for _, name := range sortedKeys(table) {
				p := join(section, name)
				if prev, dup := l.origin[p]; dup {
					l.r.errs = append(l.r.errs, &Error{File: doc.Name, Path: p, Msg: fmt.Sprintf("defined in both %s and %s", prev, doc.Name)})
					l.r.markBad(p)
					continue
				}
				l.origin[p] = doc.Name
				item, ok := table[name].(map[string]any)
				if !ok {
					l.r.errorf(p, "want a table, got %s", tomlType(table[name]))
					// An empty item stands in, so that references to it do
					// not add "unknown" errors to the real one.
					item = map[string]any{}
				}
				m.items[section][name] = item
			}
		}
	}
	return m
}

// syntaxError formats a TOML parse error with its line and column.
func syntaxError(err error) string {
	var pe toml.ParseError
	if errors.As(err, &pe) {
		return fmt.Sprintf("line %d, column %d: %s", pe.Position.Line, pe.Position.Col, pe.Message)
	}
	return err.Error()
}

// decode turns the merged trees into the schema: storages first, since the
// other items include them.
func (l *loader) decode(m merged) *Config {
	c := &Config{}
	d := &decoder{r: l.r}
	d.table("basic", "basic", m.basic, &c.Basic)

	if len(m.items["storages"]) > 0 {
		c.Storages = map[string]*Storage{}
	}
	for _, name := range sortedKeys(m.items["storages"]) {
		s := &Storage{}
		p := join("storages", name)
		d.table(p, "storages", m.items["storages"][name], s)
		c.Storages[name] = s
		if s.Category == "config" {
			l.parseStorage(p, name, s.Value)
		}
	}

	decodeItems(l, m, "servers", &c.Servers)
	decodeItems(l, m, "locations", &c.Locations)
	decodeItems(l, m, "upstreams", &c.Upstreams)

	if len(m.items["plugins"]) > 0 {
		c.Plugins = map[string]*Plugin{}
	}
	for _, name := range sortedKeys(m.items["plugins"]) {
		c.Plugins[name] = d.plugin(join("plugins", name), m.items["plugins"][name])
	}
	decodeItems(l, m, "certificates", &c.Certificates)
	return c
}

// decodeItems decodes one section of named tables, merging in the storages
// that servers, locations and upstreams include.
func decodeItems[T any](l *loader, m merged, section string, dst *map[string]*T) {
	raw := m.items[section]
	if len(raw) == 0 {
		return
	}
	*dst = make(map[string]*T, len(raw))
	for _, name := range sortedKeys(raw) {
		p := join(section, name)
		table, from := raw[name], map[string]string(nil)
		if section != "certificates" {
			table, from = l.includes(table)
		}
		item := new(T)
		d := &decoder{r: l.r, from: from}
		d.table(p, section, table, item)
		(*dst)[name] = item
	}
}

// parseStorage parses the TOML value of a "config" storage once, for every
// item that includes it.
func (l *loader) parseStorage(path, name, value string) {
	var tree map[string]any
	if _, err := toml.Decode(value, &tree); err != nil {
		l.r.errorf(sub(path, "value"), "invalid TOML: %s", syntaxError(err))
		return
	}
	if _, nested := tree["includes"]; nested {
		l.r.errorf(sub(path, "value"), "an included storage may not itself have includes")
		delete(tree, "includes")
	}
	l.included[name] = tree
}

// includes returns the item's table with the keys of its included storages
// merged in, later storages overriding earlier ones and all overriding the
// item's own keys (Pingap's order), and which storage each merged key came
// from.
func (l *loader) includes(table map[string]any) (map[string]any, map[string]string) {
	list, ok := table["includes"].([]any)
	if !ok {
		// Absent, or of the wrong type, which decoding reports.
		return table, nil
	}
	out := make(map[string]any, len(table))
	for k, v := range table {
		out[k] = v
	}
	from := map[string]string{}
	for _, e := range list {
		name, ok := e.(string)
		if !ok {
			continue
		}
		tree, parsed := l.included[name]
		if !parsed {
			// Unknown storages and storages of the wrong category are
			// reported by validation, which sees the decoded storages.
			continue
		}
		for _, k := range sortedKeys(tree) {
			out[k] = tree[k]
			from[k] = join("storages", name)
		}
	}
	return out, from
}

// attribute names the document of each problem, for configurations read
// from several: the document that defined the item the path is in.
func (l *loader) attribute() {
	fileOf := func(path string) string {
		best := ""
		for p := range l.origin {
			if (path == p || strings.HasPrefix(path, p+".") || strings.HasPrefix(path, p+"[")) && len(p) > len(best) {
				best = p
			}
		}
		return l.origin[best]
	}
	for _, e := range l.r.errs {
		if e.File == "" && e.Path != "" {
			e.File = fileOf(e.Path)
		}
	}
	for i := range l.r.warns {
		if w := &l.r.warns[i]; w.File == "" && w.Path != "" {
			w.File = fileOf(w.Path)
		}
	}
}
