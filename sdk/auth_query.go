package sdk

import "strings"

// QueryParam returns the value of the first query parameter called name in
// path, a request's :path such as "/a?x=1&y=2", and whether it is there (a
// parameter without "=" has the empty value). Names and values are
// percent-decoded with '+' as a space, as HTML forms and Go's net/url do;
// a component with a broken escape comes back as sent. It allocates only to
// decode.
func QueryParam(path, name string) (string, bool) {
	_, query, ok := strings.Cut(path, "?")
	if !ok {
		return "", false
	}
	for query != "" {
		var pair string
		pair, query, _ = strings.Cut(query, "&")
		if pair == "" {
			continue // "a=1&&b=2": not a parameter, even of no name
		}
		k, v, _ := strings.Cut(pair, "=")
		if k == name || queryUnescape(k) == name {
			return queryUnescape(v), true
		}
	}
	return "", false
}

// WithoutQueryParam returns path with every query parameter called name
// removed (names compared as QueryParam does), and the "?" too when no
// parameter is left; the other parameters keep their order and encoding.
// It returns path itself when name is not there. Plugins use it to strip a
// credential (key_auth's hide_credentials) before the request goes
// upstream.
func WithoutQueryParam(path, name string) string {
	base, query, ok := strings.Cut(path, "?")
	if !ok {
		return path
	}
	var b strings.Builder
	removed := false
	for query != "" {
		var pair string
		pair, query, _ = strings.Cut(query, "&")
		if pair == "" {
			continue
		}
		k, _, _ := strings.Cut(pair, "=")
		if k == name || queryUnescape(k) == name {
			removed = true
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('&')
		}
		b.WriteString(pair)
	}
	if !removed {
		return path
	}
	if b.Len() == 0 {
		return base
	}
	return base + "?" + b.String()
}

// CookieValue returns the value of the cookie called name in header, the
// value of one Cookie request header ("a=1; b=2"), without the optional
// double quotes around it (RFC 6265 §4.1.1), and whether it is there.
// Names are case-sensitive. Request.Cookie looks through every Cookie
// header of a request.
func CookieValue(header, name string) (string, bool) {
	for header != "" {
		var part string
		part, header, _ = strings.Cut(header, ";")
		k, v, ok := strings.Cut(part, "=")
		if !ok || strings.TrimSpace(k) != name {
			continue
		}
		v = strings.TrimSpace(v)
		if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
			v = v[1 : len(v)-1]
		}
		return v, true
	}
	return "", false
}

// queryUnescape decodes %XX escapes and '+' in a query component, or
// returns s unchanged if it has none or a broken escape.
func queryUnescape(s string) string {
	if strings.IndexByte(s, '%') < 0 && strings.IndexByte(s, '+') < 0 {
		return s
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '+':
			b = append(b, ' ')
		case '%':
			if i+2 >= len(s) {
				return s
			}
			hi, ok1 := unhex(s[i+1])
			lo, ok2 := unhex(s[i+2])
			if !ok1 || !ok2 {
				return s
			}
			b = append(b, hi<<4|lo)
			i += 2
		default:
			b = append(b, c)
		}
	}
	return string(b)
}

func unhex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}
