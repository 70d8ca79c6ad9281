package route

import (
	"fmt"
	"net/http"
	"regexp"
	"strings"
)

// hostKind says how a host entry of a location compares with a request's
// host.
type hostKind uint8

const (
	hostExact  hostKind = iota // "example.com", compared without case
	hostSuffix                 // "*.example.com": one or more labels before ".example.com"
	hostRegex                  // "~regex", searched in the host as the client wrote it
)

// hostEntry is one comma-separated item of a location's host list.
type hostEntry struct {
	kind hostKind
	// name is the lower-cased exact host, or for a suffix the part after
	// "*." (the dot is not included).
	name string
	re   *regexp.Regexp
	// named reports whether re has named groups, i.e. yields variables.
	named bool
}

// parseHosts compiles a location's host list: comma-separated exact names,
// "*.suffix" wildcards and "~regex" entries. Empty items are skipped, so an
// empty list means any host.
func parseHosts(s string) ([]hostEntry, error) {
	var out []hostEntry
	for item := range strings.SplitSeq(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		switch {
		case item[0] == '~':
			expr := strings.TrimSpace(item[1:])
			re, err := regexp.Compile(expr)
			if err != nil {
				return nil, fmt.Errorf("host %q: %w", item, err)
			}
			out = append(out, hostEntry{kind: hostRegex, re: re, named: hasNames(re)})
		case strings.HasPrefix(item, "*."):
			suffix := lowerASCII(item[2:])
			if suffix == "" || strings.Contains(suffix, "*") {
				return nil, fmt.Errorf("host %q: a wildcard is \"*.\" followed by a domain, e.g. \"*.example.com\"", item)
			}
			out = append(out, hostEntry{kind: hostSuffix, name: suffix})
		default:
			if strings.Contains(item, "*") {
				return nil, fmt.Errorf("host %q: \"*\" is allowed only as the first label, e.g. \"*.example.com\"", item)
			}
			name := item
			// An IPv6 literal may be written as in a URL, "[::1]".
			if len(name) > 2 && name[0] == '[' && name[len(name)-1] == ']' {
				name = name[1 : len(name)-1]
			}
			out = append(out, hostEntry{kind: hostExact, name: lowerASCII(name)})
		}
	}
	return out, nil
}

// match reports whether host matches the entry.
func (e *hostEntry) match(host string) bool {
	switch e.kind {
	case hostExact:
		return equalFoldASCII(host, e.name)
	case hostSuffix:
		return matchSuffix(host, e.name)
	default:
		return e.re.MatchString(host)
	}
}

// matchSuffix reports whether host is one or more labels followed by
// "."+suffix, ignoring ASCII case. The suffix itself (the apex) does not
// match: "*.example.com" covers "a.example.com", not "example.com".
func matchSuffix(host, suffix string) bool {
	n := len(host) - len(suffix)
	if n < 2 || host[n-1] != '.' {
		return false
	}
	return equalFoldASCII(host[n:], suffix)
}

// requestHost returns the host a request is for, without its port: the
// host of an absolute-form or HTTP/2 request URI (net/http puts it in Host),
// else the Host header. IPv6 literals lose their brackets.
func requestHost(r *http.Request) string {
	h := r.Host
	if h == "" && r.URL != nil {
		h = r.URL.Host
	}
	return StripPort(h)
}

// StripPort removes a trailing ":port" from a host and the brackets from an
// IPv6 literal. A bare IPv6 address (several colons, no brackets) is kept
// whole, since its last colon is not a port separator.
func StripPort(h string) string {
	if h == "" {
		return h
	}
	if h[0] == '[' {
		if i := strings.IndexByte(h, ']'); i > 0 {
			return h[1:i]
		}
		return h
	}
	i := strings.LastIndexByte(h, ':')
	if i < 0 || strings.IndexByte(h, ':') != i {
		return h
	}
	return h[:i]
}

// lowerASCII lower-cases ASCII letters. Host names on the wire are ASCII
// (IDNs travel as punycode), so Unicode folding would only cost time.
func lowerASCII(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; 'A' <= c && c <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if c := b[j]; 'A' <= c && c <= 'Z' {
					b[j] = c + 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}

// equalFoldASCII compares s with lower, which is already lower-case,
// ignoring the ASCII case of s.
func equalFoldASCII(s, lower string) bool {
	if len(s) != len(lower) {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lower[i] {
			return false
		}
	}
	return true
}

// hasUpperASCII reports whether s has an upper-case ASCII letter.
func hasUpperASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; 'A' <= c && c <= 'Z' {
			return true
		}
	}
	return false
}

// hasNames reports whether re has at least one named group.
func hasNames(re *regexp.Regexp) bool {
	for _, n := range re.SubexpNames() {
		if n != "" {
			return true
		}
	}
	return false
}
