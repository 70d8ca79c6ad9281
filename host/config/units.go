package config

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// Duration is a time span written as text in the config: "10s", "1m30s",
// "2d", "500ms", "1h". Besides Go's units it accepts "d" (24h) and "w" (7d),
// as Pingap's humantime does. A bare number is seconds.
type Duration time.Duration

// D returns the value as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// UnmarshalText parses a duration from the config.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := ParseDuration(string(b))
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// MarshalText writes the duration in Go's notation.
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

// ParseDuration parses the config's duration notation.
func ParseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, fmt.Errorf("empty duration")
	}
	if n, err := strconv.ParseFloat(s, 64); err == nil {
		return time.Duration(n * float64(time.Second)), nil
	}
	// Expand "d" and "w" units, which time.ParseDuration lacks, term by term.
	var total time.Duration
	rest := strings.ReplaceAll(s, " ", "")
	neg := false
	if strings.HasPrefix(rest, "-") {
		neg, rest = true, rest[1:]
	}
	for rest != "" {
		i := 0
		for i < len(rest) && (rest[i] == '.' || unicode.IsDigit(rune(rest[i]))) {
			i++
		}
		j := i
		for j < len(rest) && unicode.IsLetter(rune(rest[j])) {
			j++
		}
		if i == 0 || j == i {
			return 0, fmt.Errorf("invalid duration %q (want e.g. 10s, 1m30s, 2d)", s)
		}
		num, unit := rest[:i], strings.ToLower(rest[i:j])
		var mult time.Duration
		switch unit {
		case "w":
			mult = 7 * 24 * time.Hour
		case "d":
			mult = 24 * time.Hour
		case "h":
			mult = time.Hour
		case "m", "min":
			mult = time.Minute
		case "s", "sec":
			mult = time.Second
		case "ms":
			mult = time.Millisecond
		case "us", "µs":
			mult = time.Microsecond
		case "ns":
			mult = time.Nanosecond
		default:
			return 0, fmt.Errorf("invalid duration %q: unknown unit %q (want ns, us, ms, s, m, h, d or w)", s, unit)
		}
		f, err := strconv.ParseFloat(num, 64)
		if err != nil {
			return 0, fmt.Errorf("invalid duration %q", s)
		}
		total += time.Duration(f * float64(mult))
		rest = rest[j:]
	}
	if neg {
		total = -total
	}
	return total, nil
}

// ByteSize is an amount of bytes written as text in the config: "1mb",
// "64KB", "4MiB", "512". Units are powers of 1024 whatever their spelling
// (kb = kib = 1024), as in Pingap and nginx. A bare number is bytes.
type ByteSize int64

// UnmarshalText parses a size from the config.
func (b *ByteSize) UnmarshalText(t []byte) error {
	v, err := ParseByteSize(string(t))
	if err != nil {
		return err
	}
	*b = ByteSize(v)
	return nil
}

// MarshalText writes the size in bytes.
func (b ByteSize) MarshalText() ([]byte, error) { return []byte(strconv.FormatInt(int64(b), 10)), nil }

// ParseByteSize parses the config's size notation.
func ParseByteSize(s string) (int64, error) {
	t := strings.ToLower(strings.ReplaceAll(strings.TrimSpace(s), " ", ""))
	if t == "" {
		return 0, fmt.Errorf("empty size")
	}
	i := 0
	for i < len(t) && (t[i] == '.' || (t[i] >= '0' && t[i] <= '9')) {
		i++
	}
	if i == 0 {
		return 0, fmt.Errorf("invalid size %q (want e.g. 512, 64kb, 1mb)", s)
	}
	n, err := strconv.ParseFloat(t[:i], 64)
	if err != nil {
		return 0, fmt.Errorf("invalid size %q", s)
	}
	var mult float64
	switch t[i:] {
	case "", "b":
		mult = 1
	case "k", "kb", "kib":
		mult = 1 << 10
	case "m", "mb", "mib":
		mult = 1 << 20
	case "g", "gb", "gib":
		mult = 1 << 30
	case "t", "tb", "tib":
		mult = 1 << 40
	default:
		return 0, fmt.Errorf("invalid size %q: unknown unit %q (want b, kb, mb, gb or tb)", s, t[i:])
	}
	return int64(n * mult), nil
}
