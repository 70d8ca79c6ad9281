package config

import (
	"reflect"
	"sort"
	"strings"

	"github.com/BurntSushi/toml"
)

// This file maps the generic tree BurntSushi/toml parses into the schema
// structs. Decoding ourselves, rather than with toml.Decode into the structs,
// lets the loader report every unknown key and every type mismatch at once,
// each with its dotted path and a suggestion, instead of stopping at the
// first; and lets storages be merged into an item before its keys are
// checked. It runs once per load, so reflection is fine here.

// ignoredKeys are Pingap keys that make no sense in a Go process, per
// section. They load with a warning (the reason) instead of failing as
// unknown; a key that also has a struct field (servers.threads) is decoded
// as well, so its type is still checked.
var ignoredKeys = map[string]map[string]string{
	"basic": {
		"threads":                      "Go runs every server on all cores; set GOMAXPROCS to limit them",
		"work_stealing":                "Go's scheduler always balances goroutines across threads",
		"listener_tasks_per_fd":        "Go accepts on each listener in its own goroutine",
		"upgrade_sock":                 "sluice has no binary upgrade with socket hand-over yet",
		"user":                         "sluice does not daemonize or drop privileges; let the service manager choose the user",
		"group":                        "sluice does not daemonize or drop privileges; let the service manager choose the group",
		"error_log":                    "sluice does not daemonize; its log goes to stderr",
		"log_buffered_size":            "the process log is not buffered",
		"log_compress_algorithm":       "sluice does not rotate or compress log files; use logrotate",
		"log_compress_level":           "sluice does not rotate or compress log files; use logrotate",
		"log_compress_days_ago":        "sluice does not rotate or compress log files; use logrotate",
		"log_compress_time_point_hour": "sluice does not rotate or compress log files; use logrotate",
		"sentry":                       "Sentry reporting is not supported",
		"pyroscope":                    "Pyroscope profiling is not supported; use Go's pprof",
		"auto_restart_check_interval":  "changes are applied by hot reload; there is no restart check",
		"cache_directory":              "Pingap no longer reads it either; the cache plugin has its own settings",
		"cache_max_size":               "Pingap no longer reads it either; the cache plugin has its own settings",
	},
	"servers": {
		"threads":          "Go runs every server on all cores; set GOMAXPROCS to limit them",
		"tls_ciphersuites": "Go does not allow choosing TLS 1.3 cipher suites",
		"tcp_fast_open":    `Pingap ignores it too; the server key is "tcp_fastopen"`,
	},
	"upstreams": {
		"max_h2_streams": "Go multiplexes as many streams per connection as the backend allows",
	},
}

var unmarshalerType = reflect.TypeFor[toml.Unmarshaler]()

// structKeys lists the TOML keys of a struct type and the field each maps to.
type structKeys struct {
	index map[string]int
	names []string
}

func keysOf(t reflect.Type) structKeys {
	k := structKeys{index: map[string]int{}}
	for i := range t.NumField() {
		tag, _, _ := strings.Cut(t.Field(i).Tag.Get("toml"), ",")
		if tag == "" || tag == "-" {
			continue
		}
		k.index[tag] = i
		k.names = append(k.names, tag)
	}
	sort.Strings(k.names)
	return k
}

// decoder decodes the tables of one item into a struct.
type decoder struct {
	r *report
	// from names the storage each key of the item was merged from, if any,
	// so that a complaint about it says where to look.
	from map[string]string
}

// table decodes raw into the struct dst points to. section selects the
// ignored Pingap keys.
func (d *decoder) table(path, section string, raw map[string]any, dst any) {
	rv := reflect.ValueOf(dst).Elem()
	keys := keysOf(rv.Type())
	for _, k := range sortedKeys(raw) {
		p := sub(path, k)
		if why, ok := ignoredKeys[section][k]; ok {
			d.r.warnf(p, "ignored: %s%s", why, d.origin(k))
		}
		i, ok := keys.index[k]
		if !ok {
			if _, ignored := ignoredKeys[section][k]; !ignored {
				d.r.errorf(p, "unknown key %q%s%s", k, didYouMean(k, keys.names), d.origin(k))
			}
			continue
		}
		d.value(p, raw[k], rv.Field(i), d.origin(k))
	}
}

func (d *decoder) origin(key string) string {
	if s := d.from[key]; s != "" {
		return " (included from " + s + ")"
	}
	return ""
}

// value stores v in rv, reporting at path when the types do not agree, and
// says whether it did store. Each bad element of an array is reported at
// its own index.
func (d *decoder) value(path string, v any, rv reflect.Value, origin string) bool {
	fail := func(msg string) bool {
		d.r.errorf(path, "%s%s", msg, origin)
		return false
	}
	if rv.CanAddr() && rv.Addr().Type().Implements(unmarshalerType) {
		if err := rv.Addr().Interface().(toml.Unmarshaler).UnmarshalTOML(v); err != nil {
			return fail(err.Error())
		}
		return true
	}
	switch rv.Kind() {
	case reflect.String:
		s, ok := v.(string)
		if !ok {
			return fail("want a string, got " + tomlType(v))
		}
		rv.SetString(s)
	case reflect.Bool:
		b, ok := v.(bool)
		if !ok {
			return fail("want true or false, got " + tomlType(v))
		}
		rv.SetBool(b)
	case reflect.Int, reflect.Int64:
		n, ok := v.(int64)
		if !ok {
			return fail("want an integer, got " + tomlType(v))
		}
		if rv.OverflowInt(n) {
			return fail(tomlType(v) + " is out of range")
		}
		rv.SetInt(n)
	case reflect.Slice:
		arr, ok := v.([]any)
		if !ok {
			return fail("want an array, got " + tomlType(v))
		}
		s := reflect.MakeSlice(rv.Type(), len(arr), len(arr))
		good := true
		for i, e := range arr {
			good = d.value(index(path, i), e, s.Index(i), origin) && good
		}
		if !good {
			d.r.markBad(path)
			return false
		}
		rv.Set(s)
	case reflect.Pointer:
		nv := reflect.New(rv.Type().Elem())
		if !d.value(path, v, nv.Elem(), origin) {
			return false
		}
		rv.Set(nv)
	default:
		// The schema uses only the kinds above; a field of another kind
		// must be taught here first.
		return fail("internal error: cannot decode into " + rv.Type().String())
	}
	return true
}

// pluginHostKeys are the keys of [plugins.x] the host reads; every other key
// belongs to the plugin.
var pluginHostKeys = keysOf(reflect.TypeFor[Plugin]())

// plugin decodes a [plugins.x] table: host keys strictly, the rest into
// Params with their TOML types.
func (d *decoder) plugin(path string, raw map[string]any) *Plugin {
	p := &Plugin{}
	host := map[string]any{}
	for _, k := range sortedKeys(raw) {
		if _, ok := pluginHostKeys.index[k]; ok {
			host[k] = raw[k]
			continue
		}
		if p.Params == nil {
			p.Params = map[string]any{}
		}
		p.Params[k] = plainValue(raw[k])
		// A near miss of a host key would silently become a parameter.
		if n := nearest(k, pluginHostKeys.names); n != "" {
			d.r.warnf(sub(path, k), "passed to the plugin as a parameter; did you mean the host key %q?", n)
		}
	}
	d.table(path, "plugins", host, p)
	return p
}

// plainValue turns arrays of tables into plain arrays, so that Params holds
// only the types documented on Plugin.Params.
func plainValue(v any) any {
	switch v := v.(type) {
	case []map[string]any:
		out := make([]any, len(v))
		for i, t := range v {
			out[i] = plainValue(t)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = plainValue(e)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			out[k] = plainValue(e)
		}
		return out
	}
	return v
}
