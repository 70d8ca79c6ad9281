package config

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// Error is one problem found in a configuration, in a form a program can
// use as well as print.
type Error struct {
	// File names the document the value came from. It is set for syntax
	// errors and, when the configuration was read from more than one
	// document, for every problem.
	File string
	// Path is the dotted key path of the offending value
	// ("locations.api.upstream", "servers.main.locations[1]",
	// `plugins."pingap:ping".category`), quoted as in TOML. It is empty for
	// a problem of a whole document, such as a TOML syntax error.
	Path string
	// Msg says what is wrong, without the path.
	Msg string
}

// Error formats the problem as "file: path: msg", leaving out what is empty.
func (e *Error) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File)
		b.WriteString(": ")
	}
	if e.Path != "" {
		b.WriteString(e.Path)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Errors is every problem found by one Load or Validate, in a stable order
// (the order of the sections and of the sorted item names). Load and
// Validate return it as their error when it is not empty, so that callers
// such as `sluice validate` can print one problem per line:
//
//	var errs config.Errors
//	if errors.As(err, &errs) { for _, e := range errs { fmt.Println(e) } }
type Errors []*Error

// Error joins the problems with newlines.
func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// Unwrap exposes each problem to errors.Is and errors.As.
func (es Errors) Unwrap() []error {
	out := make([]error, len(es))
	for i, e := range es {
		out[i] = e
	}
	return out
}

// Warning is a finding that does not stop a configuration from loading: a
// Pingap key that sluice accepts but ignores, a server without locations.
// Its fields mean what Error's do.
type Warning struct {
	File string
	Path string
	Msg  string
}

// String formats the warning like Error.Error.
func (w Warning) String() string {
	e := Error(w)
	return e.Error()
}

// report collects the errors and warnings of one load or validation.
type report struct {
	errs  Errors
	warns []Warning
	// bad holds the paths that already have an error, so that a later pass
	// does not pile a second, derived complaint onto the same value (a key
	// of the wrong type is not also "required").
	bad map[string]bool
}

func (r *report) errorf(path, format string, args ...any) {
	if r.isBad(path) {
		return
	}
	r.markBad(path)
	r.errs = append(r.errs, &Error{Path: path, Msg: fmt.Sprintf(format, args...)})
}

// isBad reports whether path, or an item or list it belongs to, already has
// an error.
func (r *report) isBad(path string) bool {
	if len(r.bad) == 0 {
		return false
	}
	for i := 0; i < len(path); i++ {
		if (path[i] == '.' || path[i] == '[') && r.bad[path[:i]] {
			return true
		}
	}
	return r.bad[path]
}

// markBad records that path has a problem already reported under it.
func (r *report) markBad(path string) {
	if r.bad == nil {
		r.bad = map[string]bool{}
	}
	r.bad[path] = true
}

func (r *report) warnf(path, format string, args ...any) {
	if r.isBad(path) {
		return
	}
	r.warns = append(r.warns, Warning{Path: path, Msg: fmt.Sprintf(format, args...)})
}

// err returns the collected errors as an error, or nil.
func (r *report) err() error {
	if len(r.errs) == 0 {
		return nil
	}
	return r.errs
}

// sort groups the errors and the warnings by item, in section order then
// item name (document-wide problems and basic first), keeping the order
// they were found in within an item: decoding before validation.
func (r *report) sort() {
	before := func(a, b string) bool {
		sa, na := itemOf(a)
		sb, nb := itemOf(b)
		if sa != sb {
			return sa < sb
		}
		return na < nb
	}
	sort.SliceStable(r.errs, func(i, j int) bool { return before(r.errs[i].Path, r.errs[j].Path) })
	sort.SliceStable(r.warns, func(i, j int) bool { return before(r.warns[i].Path, r.warns[j].Path) })
}

// itemOf splits the section (as its index in sectionNames, -1 for none)
// and the item name off the front of a path.
func itemOf(path string) (section int, name string) {
	end := strings.IndexAny(path, ".[")
	if end < 0 {
		end = len(path)
	}
	section = slices.Index(sectionNames, path[:end])
	if section <= 0 || end == len(path) || path[end] != '.' {
		// Document-wide, basic (whose keys are not items), or unknown.
		return section, ""
	}
	rest := path[end+1:]
	if q, err := strconv.QuotedPrefix(rest); err == nil {
		name, _ = strconv.Unquote(q)
		return section, name
	}
	if i := strings.IndexAny(rest, ".["); i >= 0 {
		rest = rest[:i]
	}
	return section, rest
}

// join builds a dotted path from its pieces, quoting the pieces that are not
// bare TOML keys, as TOML itself does: servers."a.b".addr.
func join(pieces ...string) string {
	var b strings.Builder
	for i, p := range pieces {
		if i > 0 {
			b.WriteByte('.')
		}
		b.WriteString(quoteKey(p))
	}
	return b.String()
}

// sub appends a key to a path.
func sub(path, key string) string {
	if path == "" {
		return quoteKey(key)
	}
	return path + "." + quoteKey(key)
}

// index appends a list index to a path: plugins[2].
func index(path string, i int) string {
	return path + "[" + strconv.Itoa(i) + "]"
}

func quoteKey(k string) string {
	if k == "" {
		return `""`
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return strconv.Quote(k)
		}
	}
	return k
}
