package sdk

import (
	"math"
	"strconv"
	"strings"

	"github.com/sluice-proxy/sluice/sdk/internal/jsonlite"
)

// sizeUnits are the multipliers of Pingap's sizes (the bytesize crate's,
// as host/config reads them): k, kb, m, mb, ... are powers of 1000, ki,
// kib, mi, mib, ... powers of 1024, case-insensitive.
var sizeUnits = map[string]float64{
	"": 1, "b": 1,
	"k": 1e3, "kb": 1e3, "ki": 1 << 10, "kib": 1 << 10,
	"m": 1e6, "mb": 1e6, "mi": 1 << 20, "mib": 1 << 20,
	"g": 1e9, "gb": 1e9, "gi": 1 << 30, "gib": 1 << 30,
	"t": 1e12, "tb": 1e12, "ti": 1 << 40, "tib": 1 << 40,
}

// ParseSize parses a size such as "512", "4kb", "1.5 MiB" (see Config.Size).
func ParseSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	i := 0
	for i < len(t) && (t[i] == '.' || t[i] >= '0' && t[i] <= '9') {
		i++
	}
	n, err := strconv.ParseFloat(t[:i], 64)
	mult, ok := sizeUnits[strings.ToLower(strings.TrimSpace(t[i:]))]
	if i == 0 || err != nil || !ok || n*mult >= math.MaxInt64 {
		return 0, sizeError(s)
	}
	return int64(n * mult), nil
}

// Size returns the size value of key, in bytes, or def when absent: a
// JSON number of bytes or a string with a unit, "4kb", "1 MiB" (k, kb, m,
// mb, g, gb are powers of 1000; ki, kib, mi, mib, gi, gib powers of 1024).
// Negative sizes are a problem.
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
		n, err := ParseSize(v.Str)
		if err != nil {
			c.Invalid(key, "want a size such as 512, 64kb or 1mib, got "+strconv.Quote(v.Str))
			return def
		}
		return n
	}
	c.wrongType(key, "a size", v)
	return def
}

type sizeError string

func (e sizeError) Error() string {
	return "invalid size " + strconv.Quote(string(e)) + ": want a size such as 512, 64kb or 1mib"
}
