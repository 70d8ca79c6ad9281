package config

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/sluice-proxy/sluice/abi/cacheabi"
)

// Duration is a time span. In TOML it is either a string in Go's or
// Pingap's (humantime) notation, "10s", "1m30s", "2d", "500ms", "1h 30min",
// or a number of seconds (10, 0.5). The units are ns, us (µs), ms, s, m, h,
// d (24h), w (7d), M (a month of 30.44 days) and y (365.25 days), plus
// humantime's long spellings (sec, secs, seconds, min, mins, minutes, hr,
// hours, days, weeks, months, years, msec, usec, nsec, ...). Units are case
// sensitive, as in humantime: "m" is a minute and "M" a month. A leading "-"
// makes the span negative, which some keys use to mean "disabled".
type Duration time.Duration

// D returns the value as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// String writes the duration in Go's notation ("1m30s").
func (d Duration) String() string { return time.Duration(d).String() }

// UnmarshalTOML decodes a TOML string or number; BurntSushi/toml calls it,
// and so does this package's decoder.
func (d *Duration) UnmarshalTOML(v any) error {
	switch v := v.(type) {
	case string:
		return d.UnmarshalText([]byte(v))
	case int64:
		if v > math.MaxInt64/int64(time.Second) || v < math.MinInt64/int64(time.Second) {
			return fmt.Errorf("duration of %d seconds is out of range", v)
		}
		*d = Duration(time.Duration(v) * time.Second)
		return nil
	case float64:
		ns, err := scaled(v, float64(time.Second))
		if err != nil {
			return fmt.Errorf("duration of %v seconds: %w", v, err)
		}
		*d = Duration(ns)
		return nil
	}
	return fmt.Errorf("want a duration such as \"10s\" or a number of seconds, got %s", tomlType(v))
}

// UnmarshalText parses the string notation; encoding/json uses it too.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := ParseDuration(string(b))
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// MarshalText writes the duration in Go's notation, which ParseDuration
// reads back.
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

// durationUnits maps every accepted unit to its length in nanoseconds.
var durationUnits = map[string]float64{
	"ns": 1, "nsec": 1, "nanos": 1,
	"us": 1e3, "µs": 1e3, "μs": 1e3, "usec": 1e3, "micros": 1e3,
	"ms": 1e6, "msec": 1e6, "millis": 1e6,
	"s": 1e9, "sec": 1e9, "secs": 1e9, "second": 1e9, "seconds": 1e9,
	"m": 60e9, "min": 60e9, "mins": 60e9, "minute": 60e9, "minutes": 60e9,
	"h": 3600e9, "hr": 3600e9, "hrs": 3600e9, "hour": 3600e9, "hours": 3600e9,
	"d": 86400e9, "day": 86400e9, "days": 86400e9,
	"w": 7 * 86400e9, "week": 7 * 86400e9, "weeks": 7 * 86400e9,
	// humantime's month and year lengths.
	"M": 2630016e9, "month": 2630016e9, "months": 2630016e9,
	"y": 31557600e9, "year": 31557600e9, "years": 31557600e9,
}

// ParseDuration parses the config's duration notation (see Duration). A
// bare number is seconds.
func ParseDuration(s string) (time.Duration, error) {
	rest := strings.TrimSpace(s)
	if rest == "" {
		return 0, errors.New("empty duration")
	}
	neg := false
	if rest[0] == '-' || rest[0] == '+' {
		neg, rest = rest[0] == '-', strings.TrimLeft(rest[1:], " \t")
		if rest == "" {
			return 0, fmt.Errorf("invalid duration %q: a sign without a number", s)
		}
	}
	if isNumber(rest) {
		n, _ := strconv.ParseFloat(rest, 64)
		ns, err := scaled(n, float64(time.Second))
		if err != nil {
			return 0, fmt.Errorf("invalid duration %q: %w", s, err)
		}
		if neg {
			ns = -ns
		}
		return ns, nil
	}
	var total float64
	for rest != "" {
		i := 0
		for i < len(rest) && (rest[i] == '.' || rest[i] >= '0' && rest[i] <= '9') {
			i++
		}
		num := rest[:i]
		rest = strings.TrimLeft(rest[i:], " \t")
		j := 0
		for j < len(rest) && rest[j] != ' ' && rest[j] != '\t' && rest[j] != '.' && (rest[j] < '0' || rest[j] > '9') {
			j++
		}
		unit := rest[:j]
		rest = strings.TrimLeft(rest[j:], " \t")
		if !isNumber(num) || unit == "" {
			return 0, fmt.Errorf("invalid duration %q (want e.g. 10s, 1m30s, 2d or a number of seconds)", s)
		}
		mult, ok := durationUnits[unit]
		if !ok {
			return 0, fmt.Errorf("invalid duration %q: unknown unit %q (want ns, us, ms, s, m, h, d, w, M or y)", s, unit)
		}
		n, _ := strconv.ParseFloat(num, 64)
		total += n * mult
		if total >= math.MaxInt64 {
			return 0, fmt.Errorf("invalid duration %q: out of range", s)
		}
	}
	ns := time.Duration(math.Round(total))
	if neg {
		ns = -ns
	}
	return ns, nil
}

// isNumber reports whether s is digits with at most one decimal point and
// at least one digit, the only number form the units accept (no exponent,
// no sign, no NaN or Inf).
func isNumber(s string) bool {
	digits, dots := 0, 0
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] >= '0' && s[i] <= '9':
			digits++
		case s[i] == '.':
			dots++
		default:
			return false
		}
	}
	return digits > 0 && dots <= 1
}

// scaled multiplies n by unit and rounds to an int64, refusing NaN,
// infinities and results out of range.
func scaled(n, unit float64) (time.Duration, error) {
	v := math.Round(n * unit)
	if math.IsNaN(v) || v >= math.MaxInt64 || v <= math.MinInt64 {
		return 0, errors.New("out of range")
	}
	return time.Duration(v), nil
}

// ByteSize is an amount of bytes. In TOML it is an integer number of bytes
// or a string with a unit, "1mb", "64 KiB", "512", read as Pingap's bytesize
// crate reads it: k, kb, m, mb, g, gb, t, tb, p, pb are powers of 1000 and
// ki, kib, mi, mib, gi, gib, ti, tib, pi, pib powers of 1024, case
// insensitive; a fraction is allowed with a unit ("1.5mb"). Sizes are never
// negative.
type ByteSize int64

// UnmarshalTOML decodes a TOML string or integer.
func (b *ByteSize) UnmarshalTOML(v any) error {
	switch v := v.(type) {
	case string:
		return b.UnmarshalText([]byte(v))
	case int64:
		if v < 0 {
			return fmt.Errorf("size %d is negative", v)
		}
		*b = ByteSize(v)
		return nil
	}
	return fmt.Errorf("want a size such as \"1mb\" or a number of bytes, got %s", tomlType(v))
}

// UnmarshalText parses the string notation; encoding/json uses it too.
func (b *ByteSize) UnmarshalText(t []byte) error {
	v, err := ParseByteSize(string(t))
	if err != nil {
		return err
	}
	*b = ByteSize(v)
	return nil
}

// MarshalText writes the size as a number of bytes, which ParseByteSize
// reads back.
func (b ByteSize) MarshalText() ([]byte, error) { return []byte(strconv.FormatInt(int64(b), 10)), nil }

// MarshalJSON writes the size as a JSON number of bytes.
func (b ByteSize) MarshalJSON() ([]byte, error) { return b.MarshalText() }

// UnmarshalJSON reads a JSON number of bytes or a string in the config's
// notation.
func (b *ByteSize) UnmarshalJSON(data []byte) error {
	s := string(data)
	if uq, err := strconv.Unquote(s); err == nil {
		s = uq
	}
	return b.UnmarshalText([]byte(s))
}

// String writes the size as a number of bytes.
func (b ByteSize) String() string { return strconv.FormatInt(int64(b), 10) }

// ParseByteSize parses the config's size notation (see ByteSize). The
// notation is declared once, in abi/cacheabi, because plugins read sizes
// in their parameters and cache directories as the config does.
func ParseByteSize(s string) (int64, error) {
	if strings.TrimSpace(s) == "" {
		return 0, errors.New("empty size")
	}
	return cacheabi.ParseSize(s)
}

// tomlType names the TOML type of a decoded value, for error messages.
func tomlType(v any) string {
	switch v := v.(type) {
	case string:
		return "string"
	case int64:
		return "integer " + strconv.FormatInt(v, 10)
	case float64:
		return "float " + strconv.FormatFloat(v, 'g', -1, 64)
	case bool:
		return "boolean " + strconv.FormatBool(v)
	case time.Time:
		return "datetime"
	case []map[string]any:
		return "array of tables"
	case []any:
		return "array"
	case map[string]any:
		return "table"
	case nil:
		return "nothing"
	}
	return fmt.Sprintf("%T", v)
}

// Both types decode themselves from strings and numbers, whoever decodes.
var (
	_ toml.Unmarshaler = (*Duration)(nil)
	_ toml.Unmarshaler = (*ByteSize)(nil)
)
