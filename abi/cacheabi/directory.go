package cacheabi

import (
	"math"
	"strconv"
	"strings"
	"time"
)

// Directory is a parsed store directory (the argument of FuncOpen): Pingap's
// cache `directory` notation.
//
//	""                                   the default memory store
//	memory://[NAME][?max_size=SIZE]      a memory store (NAME tells stores apart)
//	/ABS/PATH[?max_size=SIZE&inactive=D&levels=1:2]   a disk store
//
// SIZE is a size such as 100mb or 10gib (ParseSize); for a memory store a
// bare number from 1 to 100 is a percentage of the machine's memory, as in
// Pingap. inactive drops entries not read for that long (e.g. 1h). levels
// is the fan-out of the disk layout, as nginx's proxy_cache_path levels:
// one to three levels of one or two hex digits. Pingap's reading_max,
// writing_max, cache_max and cache_file_max_weight are accepted and
// ignored (Ignored lists them).
type Directory struct {
	// Memory is set for a memory store.
	Memory bool
	// Path is a memory store's NAME, or a disk store's cleaned absolute
	// path.
	Path string
	// MaxSize bounds the store in bytes; 0 leaves it to the host.
	MaxSize int64
	// MaxSizePercent is max_size given as a percentage of the machine's
	// memory (memory stores only); 0 when not.
	MaxSizePercent int
	// Inactive drops entries not read for that long; 0 never.
	Inactive time.Duration
	// Levels are the hex digits of each directory level of a disk store;
	// nil leaves the layout to the host.
	Levels []int
	// Ignored are the accepted parameters that have no effect.
	Ignored []string
}

// ID is the identity under which a host shares stores: "memory://NAME" or
// the disk path. Two directories with one ID are one store.
func (d *Directory) ID() string {
	if d.Memory {
		return "memory://" + d.Path
	}
	return d.Path
}

// DirectoryError is a directory string that does not parse.
type DirectoryError struct {
	Directory string
	Msg       string
}

// Error implements error.
func (e *DirectoryError) Error() string {
	return "directory " + strconv.Quote(e.Directory) + ": " + e.Msg
}

// ParseDirectory parses a store directory (see Directory).
func ParseDirectory(s string) (Directory, error) {
	bad := func(msg string) (Directory, error) { return Directory{}, &DirectoryError{Directory: s, Msg: msg} }
	var d Directory
	loc, query, _ := strings.Cut(s, "?")
	switch {
	case loc == "":
		d.Memory = true
	case strings.HasPrefix(loc, "memory://"):
		d.Memory = true
		d.Path = loc[len("memory://"):]
		if strings.ContainsAny(d.Path, "/\\") {
			return bad("a memory store's name cannot hold a slash")
		}
	case strings.Contains(loc, "://"):
		return bad("want memory://NAME or an absolute path")
	case loc[0] != '/':
		return bad("a disk store needs an absolute path")
	default:
		d.Path = cleanPath(loc)
	}
	if query == "" {
		return d, nil
	}
	seen := map[string]bool{}
	for _, kv := range strings.Split(query, "&") {
		if kv == "" {
			continue
		}
		k, v, _ := strings.Cut(kv, "=")
		if seen[k] {
			return bad("parameter " + strconv.Quote(k) + " given twice")
		}
		seen[k] = true
		switch k {
		case "max_size":
			if d.Memory {
				if n, err := strconv.Atoi(v); err == nil && n >= 1 && n <= 100 {
					d.MaxSizePercent = n
					continue
				}
			}
			n, err := ParseSize(v)
			if err != nil {
				return bad("max_size: " + err.Error())
			}
			if n == 0 {
				return bad("max_size: must be more than 0")
			}
			d.MaxSize = n
		case "inactive":
			t, err := parseDuration(v)
			if err != nil || t <= 0 {
				return bad("inactive: want a positive duration such as 1h, got " + strconv.Quote(v))
			}
			d.Inactive = t
		case "levels":
			if d.Memory {
				return bad("levels: only for a disk store")
			}
			lv, ok := parseLevels(v)
			if !ok {
				return bad("levels: want one to three levels of 1 or 2 hex digits such as 1:2, got " + strconv.Quote(v))
			}
			d.Levels = lv
		case "reading_max", "writing_max", "cache_max", "cache_file_max_weight":
			d.Ignored = append(d.Ignored, k)
		default:
			return bad("unknown parameter " + strconv.Quote(k) + " (want max_size, inactive or levels)")
		}
	}
	return d, nil
}

// cleanPath removes doubled and trailing slashes and "." segments, and
// resolves ".." lexically: the ID of a directory should not depend on how
// it was written.
func cleanPath(p string) string {
	var out []string
	for _, seg := range strings.Split(p, "/") {
		switch seg {
		case "", ".":
		case "..":
			if len(out) > 0 {
				out = out[:len(out)-1]
			}
		default:
			out = append(out, seg)
		}
	}
	return "/" + strings.Join(out, "/")
}

func parseLevels(s string) ([]int, bool) {
	parts := strings.Split(s, ":")
	if len(parts) > 3 {
		return nil, false
	}
	out := make([]int, 0, len(parts))
	for _, p := range parts {
		switch p {
		case "1":
			out = append(out, 1)
		case "2":
			out = append(out, 2)
		default:
			return nil, false
		}
	}
	return out, true
}

// parseDuration is time.ParseDuration plus a "d" (24h) unit.
func parseDuration(s string) (time.Duration, error) {
	if n, ok := strings.CutSuffix(s, "d"); ok {
		v, err := strconv.ParseFloat(n, 64)
		if err != nil || v < 0 || v*24 > float64(math.MaxInt64/int64(time.Hour)) {
			return 0, &DirectoryError{Directory: s, Msg: "bad duration"}
		}
		return time.Duration(v * 24 * float64(time.Hour)), nil
	}
	return time.ParseDuration(s)
}

var sizeUnits = map[string]float64{
	"": 1, "b": 1,
	"k": 1e3, "kb": 1e3, "ki": 1 << 10, "kib": 1 << 10,
	"m": 1e6, "mb": 1e6, "mi": 1 << 20, "mib": 1 << 20,
	"g": 1e9, "gb": 1e9, "gi": 1 << 30, "gib": 1 << 30,
	"t": 1e12, "tb": 1e12, "ti": 1 << 40, "tib": 1 << 40,
	"p": 1e15, "pb": 1e15, "pi": 1 << 50, "pib": 1 << 50,
}

// SizeError is a size that does not parse.
type SizeError struct {
	Size string
	Msg  string
}

// Error implements error.
func (e *SizeError) Error() string { return "invalid size " + strconv.Quote(e.Size) + ": " + e.Msg }

// ParseSize parses a size as sluice's config does (Pingap's bytesize
// notation): a number of bytes, or a number and a unit, case insensitive:
// k, kb, m, mb, g, gb, t, tb, p, pb are powers of 1000, ki, kib, mi, mib,
// gi, gib, ti, tib, pi, pib powers of 1024 ("1mb", "64 KiB", "1.5mib").
func ParseSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	if t == "" {
		return 0, &SizeError{s, "empty"}
	}
	if n, err := strconv.ParseInt(t, 10, 64); err == nil && n >= 0 && t[0] != '+' {
		return n, nil
	}
	i := 0
	for i < len(t) && (t[i] == '.' || t[i] >= '0' && t[i] <= '9') {
		i++
	}
	num := t[:i]
	if num == "" || num == "." || strings.Count(num, ".") > 1 {
		return 0, &SizeError{s, "want a number such as 512, 64kb or 1mib"}
	}
	unit := strings.ToLower(strings.TrimLeft(t[i:], " \t"))
	mult, ok := sizeUnits[unit]
	if !ok {
		return 0, &SizeError{s, "unknown unit " + strconv.Quote(t[i:]) + " (want b, kb, kib, mb, mib, gb, gib, tb, tib, pb or pib)"}
	}
	n, err := strconv.ParseFloat(num, 64)
	if err != nil {
		return 0, &SizeError{s, "want a number such as 512, 64kb or 1mib"}
	}
	v := math.Round(n * mult)
	if v >= math.MaxInt64 {
		return 0, &SizeError{s, "out of range"}
	}
	return int64(v), nil
}
