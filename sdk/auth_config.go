package sdk

import (
	"strconv"
	"strings"

	"github.com/sluice-proxy/sluice/sdk/internal/jsonlite"
)

// Objects reads key, an array of objects (in TOML an array of tables, such
// as combined_auth's authorizations = [{app_id = "a", ...}]), and calls each
// with every element as a Config of its own. Read the element's keys with
// its getters as usual: its problems, and the keys of the element that each
// did not ask for, are reported by c.Err() under the element's path, e.g.
// `key "authorizations[1].deviation": ...`. It returns the number of
// elements, 0 when key is absent or not an array (a problem then).
func (c *Config) Objects(key string, each func(i int, item *Config)) int {
	v, ok := c.get(key)
	if !ok {
		return 0
	}
	if v.Kind != jsonlite.Array {
		c.wrongType(key, "an array of objects", v)
		return 0
	}
	for i := range v.Items {
		it := &v.Items[i]
		name := key + "[" + strconv.Itoa(i) + "]"
		if it.Kind != jsonlite.Object {
			c.wrongType(name, "an object", it)
			continue
		}
		sub := &Config{obj: *it, asked: map[string]bool{}}
		each(i, sub)
		if err := sub.Err(); err != nil {
			for _, p := range err.(*ConfigError).Problems {
				c.problems = append(c.problems, prefixProblem(name+".", p))
			}
		}
	}
	return len(v.Items)
}

// prefixProblem puts prefix before the key a problem of Invalid or Err
// names: `key "x": ...` becomes `key "PREFIXx": ...`.
func prefixProblem(prefix, p string) string {
	for _, lead := range [...]string{`key "`, `unknown key "`} {
		if rest, ok := strings.CutPrefix(p, lead); ok {
			return lead + prefix + rest
		}
	}
	return prefix + p
}
