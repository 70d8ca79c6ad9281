package h1wire

import "strings"

// tchar marks the bytes allowed in a token (RFC 9110 §5.6.2): header names
// and methods.
var tchar = func() (t [256]bool) {
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c] = true
		t[c-'a'+'A'] = true
	}
	for _, c := range "!#$%&'*+-.^_`|~" {
		t[c] = true
	}
	return t
}()

// TokenByte reports whether c may appear in a token.
func TokenByte(c byte) bool { return tchar[c] }

// ValidToken reports whether s is a non-empty token.
func ValidToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !tchar[s[i]] {
			return false
		}
	}
	return true
}

// ValidValueByte reports whether c may appear in a field value: visible
// ASCII, SP, HTAB and obs-text; never CR, LF, NUL, other controls or DEL.
func ValidValueByte(c byte) bool {
	return c >= 0x20 && c != 0x7f || c == '\t'
}

// valueByte is ValidValueByte as a table, for the parser's inner loop.
var valueByte = func() (t [256]bool) {
	for c := range 256 {
		t[c] = ValidValueByte(byte(c))
	}
	return t
}()

// ValidValue reports whether every byte of s may appear in a field value.
func ValidValue(s string) bool {
	for i := 0; i < len(s); i++ {
		if !valueByte[s[i]] {
			return false
		}
	}
	return true
}

// EqualFold compares ASCII strings ignoring letter case.
func EqualFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if x != y && lower(x) != lower(y) {
			return false
		}
	}
	return true
}

func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// HasToken reports whether any comma-separated element of the values equals
// token, ignoring case and optional whitespace ("close" in Connection).
func HasToken(values []string, token string) bool {
	for _, v := range values {
		for len(v) > 0 {
			var elem string
			if i := strings.IndexByte(v, ','); i >= 0 {
				elem, v = v[:i], v[i+1:]
			} else {
				elem, v = v, ""
			}
			if EqualFold(TrimOWS(elem), token) {
				return true
			}
		}
	}
	return false
}

// TrimOWS trims optional whitespace (SP, HTAB) from both ends of s.
func TrimOWS(s string) string {
	for len(s) > 0 && (s[0] == ' ' || s[0] == '\t') {
		s = s[1:]
	}
	for len(s) > 0 && (s[len(s)-1] == ' ' || s[len(s)-1] == '\t') {
		s = s[:len(s)-1]
	}
	return s
}
