package sdk

import (
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/sluice-proxy/sluice/sdk/internal/jsonlite"
)

// Config reads a plugin's JSON configuration key by key, strictly and
// without reflection (encoding/json would add about 450 KiB to the plugin).
// Each getter takes the key and a default; a value of the wrong type is
// recorded as a problem naming the key. Err then reports every problem,
// plus every key that no getter asked for, so that a misspelled parameter
// fails the configuration instead of being ignored:
//
//	c, err := sdk.ParseConfig(data)
//	if err != nil {
//		return nil, err
//	}
//	p := &plugin{path: c.String("path", ""), status: c.Int("status", 200)}
//	if p.status < 100 || p.status > 999 {
//		c.Invalid("status", "must be between 100 and 999")
//	}
//	return p, c.Err()
type Config struct {
	obj      jsonlite.Value
	asked    map[string]bool
	problems []string
}

// ConfigError lists every problem of a configuration.
type ConfigError struct {
	Problems []string
}

// Error implements error: the problems, separated by "; ".
func (e *ConfigError) Error() string { return strings.Join(e.Problems, "; ") }

// ParseConfig parses a configuration: a JSON object, or empty input for no
// keys. The host adds "step" (Pingap's plugin step) when the config sets it;
// it is never an unknown key: read it with Step.
func ParseConfig(data []byte) (*Config, error) {
	c := &Config{asked: map[string]bool{"step": true}}
	if len(strings.TrimSpace(string(data))) == 0 {
		c.obj = jsonlite.Value{Kind: jsonlite.Object}
		return c, nil
	}
	v, err := jsonlite.Parse(data)
	if err != nil {
		return nil, &ConfigError{Problems: []string{"configuration: " + err.Error()}}
	}
	if v.Kind != jsonlite.Object {
		return nil, &ConfigError{Problems: []string{"configuration: want a JSON object, got " + v.Kind.String()}}
	}
	c.obj = v
	return c, nil
}

// get marks key as known and returns its value, if present and not null.
func (c *Config) get(key string) (*jsonlite.Value, bool) {
	c.asked[key] = true
	v, ok := c.obj.Get(key)
	if !ok || v.Kind == jsonlite.Null {
		return nil, false
	}
	return v, true
}

func (c *Config) wrongType(key, want string, v *jsonlite.Value) {
	got := v.Kind.String()
	if v.Kind == jsonlite.String || v.Kind == jsonlite.Number {
		got += " " + strconv.Quote(v.Str)
	}
	c.Invalid(key, "want "+want+", got "+got)
}

// Invalid records a problem with key (e.g. a value out of range), reported
// by Err as `key "KEY": MSG`.
func (c *Config) Invalid(key, msg string) {
	c.asked[key] = true
	c.problems = append(c.problems, "key "+strconv.Quote(key)+": "+msg)
}

// Has reports whether key is present (and marks it known).
func (c *Config) Has(key string) bool {
	_, ok := c.get(key)
	return ok
}

// String returns the string value of key, or def when absent.
func (c *Config) String(key, def string) string {
	v, ok := c.get(key)
	if !ok {
		return def
	}
	if v.Kind != jsonlite.String {
		c.wrongType(key, "a string", v)
		return def
	}
	return v.Str
}

// Bool returns the boolean value of key, or def when absent.
func (c *Config) Bool(key string, def bool) bool {
	v, ok := c.get(key)
	if !ok {
		return def
	}
	if v.Kind != jsonlite.Bool {
		c.wrongType(key, "true or false", v)
		return def
	}
	return v.Bool
}

// Int returns the integer value of key, or def when absent. A fractional
// number is a problem.
func (c *Config) Int(key string, def int) int {
	v, ok := c.get(key)
	if !ok {
		return def
	}
	if v.Kind != jsonlite.Number {
		c.wrongType(key, "an integer", v)
		return def
	}
	n, err := strconv.ParseInt(v.Str, 10, 64)
	if err != nil {
		f, ferr := strconv.ParseFloat(v.Str, 64)
		if ferr != nil || f != math.Trunc(f) || f < math.MinInt64 || f > math.MaxInt64 {
			c.wrongType(key, "an integer", v)
			return def
		}
		n = int64(f)
	}
	if int64(int(n)) != n {
		c.Invalid(key, "integer "+v.Str+" out of range")
		return def
	}
	return int(n)
}

// Duration returns the duration value of key, or def when absent. Values
// are strings such as "1s", "250ms", "1m30s", "1h 30m" or "2d" (units ns,
// us, µs, ms, s, m, min, h, d).
func (c *Config) Duration(key string, def time.Duration) time.Duration {
	v, ok := c.get(key)
	if !ok {
		return def
	}
	if v.Kind != jsonlite.String {
		c.wrongType(key, `a duration such as "1s"`, v)
		return def
	}
	d, err := ParseDuration(v.Str)
	if err != nil {
		c.Invalid(key, err.Error())
		return def
	}
	return d
}

// Strings returns the array-of-strings value of key, or nil when absent.
func (c *Config) Strings(key string) []string {
	v, ok := c.get(key)
	if !ok {
		return nil
	}
	if v.Kind != jsonlite.Array {
		c.wrongType(key, "an array of strings", v)
		return nil
	}
	out := make([]string, 0, len(v.Items))
	for i := range v.Items {
		it := &v.Items[i]
		if it.Kind != jsonlite.String {
			c.wrongType(key+"["+strconv.Itoa(i)+"]", "a string", it)
			return nil
		}
		out = append(out, it.Str)
	}
	return out
}

// StringMap returns the object-of-strings value of key, or nil when absent.
func (c *Config) StringMap(key string) map[string]string {
	v, ok := c.get(key)
	if !ok {
		return nil
	}
	if v.Kind != jsonlite.Object {
		c.wrongType(key, "an object of strings", v)
		return nil
	}
	out := make(map[string]string, len(v.Members))
	for i := range v.Members {
		m := &v.Members[i]
		if m.Value.Kind != jsonlite.String {
			c.wrongType(key+"."+m.Key, "a string", &m.Value)
			return nil
		}
		out[m.Key] = m.Value.Str
	}
	return out
}

// Err returns a *ConfigError listing every problem recorded so far and
// every key present in the configuration that no getter asked for (with
// the nearest known key as a suggestion), or nil.
func (c *Config) Err() error {
	problems := c.problems
	for _, m := range c.obj.Members {
		if c.asked[m.Key] {
			continue
		}
		msg := "unknown key " + strconv.Quote(m.Key)
		if s := c.nearest(m.Key); s != "" {
			msg += " (did you mean " + strconv.Quote(s) + "?)"
		}
		problems = append(problems, msg)
	}
	if len(problems) == 0 {
		return nil
	}
	return &ConfigError{Problems: problems}
}

// nearest returns the known key closest to key by edit distance, if it is
// close enough to be a plausible typo.
func (c *Config) nearest(key string) string {
	best, bestD := "", 3
	for k := range c.asked {
		if d := editDistance(key, k); d < bestD || d == bestD && best != "" && k < best {
			best, bestD = k, d
		}
	}
	if bestD > len(key)/2 {
		return ""
	}
	return best
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

var durationUnits = []struct {
	name string
	d    time.Duration
}{
	// Longer names first, so that "ms" is not read as "m" + "s".
	{"min", time.Minute}, {"ns", time.Nanosecond}, {"us", time.Microsecond},
	{"µs", time.Microsecond}, {"ms", time.Millisecond}, {"s", time.Second},
	{"m", time.Minute}, {"h", time.Hour}, {"d", 24 * time.Hour},
}

// ParseDuration parses a duration such as "1s", "1.5h", "1h 30m" or "2d":
// one or more decimal numbers each followed by a unit (ns, us, µs, ms, s,
// m, min, h, d), optionally separated by spaces. "0" alone is zero.
func ParseDuration(s string) (time.Duration, error) {
	in := s
	s = strings.TrimSpace(s)
	if s == "0" {
		return 0, nil
	}
	if s == "" {
		return 0, &durationError{in, "empty"}
	}
	var total float64
	for s != "" {
		i := 0
		for i < len(s) && (s[i] >= '0' && s[i] <= '9' || s[i] == '.') {
			i++
		}
		if i == 0 {
			return 0, &durationError{in, "want a number before the unit"}
		}
		n, err := strconv.ParseFloat(s[:i], 64)
		if err != nil {
			return 0, &durationError{in, "bad number " + strconv.Quote(s[:i])}
		}
		s = s[i:]
		unit := time.Duration(0)
		for _, u := range durationUnits {
			if rest, ok := strings.CutPrefix(s, u.name); ok && (rest == "" || rest[0] == ' ' || rest[0] >= '0' && rest[0] <= '9') {
				unit, s = u.d, rest
				break
			}
		}
		if unit == 0 {
			return 0, &durationError{in, "missing or unknown unit (use ns, us, ms, s, m, min, h or d)"}
		}
		total += n * float64(unit)
		if total > math.MaxInt64 {
			return 0, &durationError{in, "too long"}
		}
		s = strings.TrimLeft(s, " ")
	}
	return time.Duration(total), nil
}

type durationError struct{ in, msg string }

// Error implements error.
func (e *durationError) Error() string {
	return "invalid duration " + strconv.Quote(e.in) + ": " + e.msg
}

// HeaderLines returns the value of key, an array of "Name: value" strings
// (Pingap's header lists), as pairs with lower-cased names, or nil when
// absent. An entry without a colon, or whose name is not an HTTP token, is a
// problem naming the entry.
func (c *Config) HeaderLines(key string) [][2]string {
	lines := c.Strings(key)
	if lines == nil {
		return nil
	}
	out := make([][2]string, 0, len(lines))
	for i, l := range lines {
		name, value, ok := strings.Cut(l, ":")
		name, value = strings.TrimSpace(name), strings.TrimSpace(value)
		if !ok || !IsToken(name) {
			c.Invalid(key+"["+strconv.Itoa(i)+"]", `want "Name: value", got `+strconv.Quote(l))
			continue
		}
		out = append(out, [2]string{lower(name), value})
	}
	return out
}

// IsToken reports whether s is a valid HTTP header name (an RFC 9110 token).
func IsToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// Step returns the plugin's `step` ("request", "proxy_upstream", ...), or ""
// when the config does not set one. sluice runs every plugin in the
// request phase, in the location's order; plugins may use it to decide
// what to do, as Pingap's do.
func (c *Config) Step() string {
	if m, ok := c.obj.Get("step"); ok && m.Kind == jsonlite.String {
		return m.Str
	}
	return ""
}
