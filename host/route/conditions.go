package route

import (
	"fmt"
	"net/http"
	"net/textproto"
	"net/url"
	"strings"
)

// condKind says where a condition looks.
type condKind uint8

const (
	condHeader condKind = iota
	condQuery
	condCookie
)

// cond is one entry of match_headers, match_query or match_cookies: the
// named item must be present and, when hasValue is set, its first value must
// equal value exactly.
type cond struct {
	kind     condKind
	name     string // canonical for headers
	value    string
	hasValue bool
}

// parseConds compiles "name:value" (exact value) and "name" (presence)
// conditions. key names the config key, for errors.
func parseConds(kind condKind, key string, items []string) ([]cond, error) {
	out := make([]cond, 0, len(items))
	for i, item := range items {
		name, value, hasValue := strings.Cut(item, ":")
		name = strings.TrimSpace(name)
		value = strings.TrimSpace(value)
		if name == "" {
			return nil, fmt.Errorf("%s[%d] %q: empty name (want \"name\" or \"name:value\")", key, i, item)
		}
		if kind == condHeader {
			if !validHeaderName(name) {
				return nil, fmt.Errorf("%s[%d] %q: %q is not a valid header name", key, i, item, name)
			}
			name = textproto.CanonicalMIMEHeaderKey(name)
		}
		out = append(out, cond{kind: kind, name: name, value: value, hasValue: hasValue})
	}
	return out, nil
}

// match reports whether r satisfies the condition. It does not allocate
// unless a query item is percent-encoded.
func (c *cond) match(r *http.Request) bool {
	var v string
	var ok bool
	switch c.kind {
	case condHeader:
		var vs []string
		vs, ok = r.Header[c.name]
		if ok && len(vs) > 0 {
			v = vs[0]
		}
	case condQuery:
		if r.URL != nil {
			v, ok = queryValue(r.URL.RawQuery, c.name)
		}
	default:
		v, ok = cookieValue(r.Header["Cookie"], c.name)
	}
	return ok && (!c.hasValue || v == c.value)
}

// queryValue returns the first value of name in a raw query string, as
// url.Values.Get would, without building the whole map.
func queryValue(raw, name string) (string, bool) {
	for raw != "" {
		var pair string
		pair, raw, _ = strings.Cut(raw, "&")
		if pair == "" {
			continue
		}
		k, v, _ := strings.Cut(pair, "=")
		if strings.ContainsAny(k, "%+") {
			uk, err := url.QueryUnescape(k)
			if err != nil {
				continue
			}
			k = uk
		}
		if k != name {
			continue
		}
		if strings.ContainsAny(v, "%+") {
			uv, err := url.QueryUnescape(v)
			if err != nil {
				continue
			}
			v = uv
		}
		return v, true
	}
	return "", false
}

// cookieValue returns the value of the first cookie called name in the
// Cookie header lines, with surrounding double quotes removed as
// http.Request.Cookie does.
func cookieValue(lines []string, name string) (string, bool) {
	for _, line := range lines {
		for line != "" {
			var part string
			part, line, _ = strings.Cut(line, ";")
			part = strings.TrimSpace(part)
			k, v, _ := strings.Cut(part, "=")
			if k != name {
				continue
			}
			if len(v) > 1 && v[0] == '"' && v[len(v)-1] == '"' {
				v = v[1 : len(v)-1]
			}
			return v, true
		}
	}
	return "", false
}

// validHeaderName reports whether s is an RFC 9110 token.
func validHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}
