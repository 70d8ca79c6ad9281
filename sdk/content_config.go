package sdk

import (
	"strconv"

	"github.com/sluice-proxy/sluice/abi/cacheabi"
	"github.com/sluice-proxy/sluice/sdk/internal/jsonlite"
)

// Size returns the size value of key, in bytes, or def when absent: a
// JSON number of bytes or a string with a unit, "4kb", "1 MiB", read as the
// host's config reads sizes (cacheabi.ParseSize: k, kb, m, mb, ... are
// powers of 1000; ki, kib, mi, mib, ... powers of 1024). Negative sizes are
// a problem.
func (c *Config) Size(key string, def int64) int64 {
	v, ok := c.get(key)
	if !ok {
		return def
	}
	switch v.Kind {
	case jsonlite.Number:
		n, err := strconv.ParseInt(v.Str, 10, 64)
		if err != nil || n < 0 {
			c.Invalid(key, "want a size such as 512, 64kb or 1mib, got "+v.Str)
			return def
		}
		return n
	case jsonlite.String:
		n, err := cacheabi.ParseSize(v.Str)
		if err != nil {
			c.Invalid(key, "want a size such as 512, 64kb or 1mib, got "+strconv.Quote(v.Str))
			return def
		}
		return n
	}
	c.wrongType(key, "a size", v)
	return def
}
