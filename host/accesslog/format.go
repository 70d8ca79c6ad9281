package accesslog

import (
	"strconv"
	"unicode/utf8"
)

const hexDigits = "0123456789abcdef"

// appendField appends s escaped for a text line (json false) or for the
// inside of a JSON string (json true).
func appendField(dst []byte, s string, json bool) []byte {
	if json {
		return appendJSONInner(dst, s)
	}
	clean := true
	for i := 0; i < len(s); i++ {
		if needsEscape(s[i]) {
			clean = false
			break
		}
	}
	if clean {
		return append(dst, s...)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if needsEscape(c) {
			dst = append(dst, '\\', 'x', hexDigits[c>>4], hexDigits[c&15])
			continue
		}
		dst = append(dst, c)
	}
	return dst
}

func needsEscape(c byte) bool { return c < 0x20 || c == 0x7f || c == '"' || c == '\\' }

// appendJSONString appends s as a quoted JSON string.
func appendJSONString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	dst = appendJSONInner(dst, s)
	return append(dst, '"')
}

// appendJSONInner escapes s for the inside of a JSON string. Invalid UTF-8
// becomes U+FFFD, so that every line is valid JSON for a log shipper.
func appendJSONInner(dst []byte, s string) []byte {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				dst = append(dst, '\\', c)
			case c < 0x20 || c == 0x7f:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&15])
			default:
				dst = append(dst, c)
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			dst = append(dst, `\ufffd`...)
		} else {
			dst = append(dst, s[i:i+n]...)
		}
		i += n
	}
	return dst
}

// appendHumanBytes writes n bytes the short way: "512B", "1.5KB", "20MB"
// (decimal units, one decimal place when it is not zero, truncated).
func appendHumanBytes(dst []byte, n int64) []byte {
	if n < 0 {
		n = 0
	}
	const units = "KMGTPE"
	if n < 1000 {
		dst = strconv.AppendInt(dst, n, 10)
		return append(dst, 'B')
	}
	unit, i := int64(1000), 0
	for n/unit >= 1000 && i < len(units)-1 {
		unit *= 1000
		i++
	}
	dst = strconv.AppendInt(dst, n/unit, 10)
	if tenth := n % unit * 10 / unit; tenth != 0 {
		dst = append(dst, '.', byte('0'+tenth))
	}
	return append(dst, units[i], 'B')
}

// appendHumanMillis writes a duration in milliseconds as Pingap's
// format_duration does: "850ms", "1.2s", "3m", "1.5h" (one decimal place
// when it is not zero, truncated).
func appendHumanMillis(dst []byte, ms int64) []byte {
	const (
		second = 1000
		minute = 60 * second
		hour   = 60 * minute
	)
	if ms < 0 {
		ms = 0
	}
	var unit int64
	var suffix string
	switch {
	case ms < second:
		dst = strconv.AppendInt(dst, ms, 10)
		return append(dst, "ms"...)
	case ms < minute:
		unit, suffix = second, "s"
	case ms < hour:
		unit, suffix = minute, "m"
	default:
		unit, suffix = hour, "h"
	}
	dst = strconv.AppendInt(dst, ms/unit, 10)
	if tenth := ms % unit * 10 / unit; tenth != 0 {
		dst = append(dst, '.', byte('0'+tenth))
	}
	return append(dst, suffix...)
}
