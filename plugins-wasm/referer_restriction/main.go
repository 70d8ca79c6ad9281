// Command referer_restriction is the sluice plugin for Pingap's
// "referer_restriction" category: it answers 403 by the host of the
// Referer header.
//
// Parameters (Pingap's):
//
//	referer_list  required: host names ("github.com", matched exactly) and
//	              suffixes ("*.example.com" matches www.example.com and
//	              a.b.example.com, not example.com). Case does not matter.
//	type          "allow" (default): only listed referers pass, and a
//	              request without a Referer (or with one that is not a URL
//	              with a host) is refused; "deny": listed referers are
//	              refused. Case does not matter.
//	message       the 403 body (default "Request is forbidden").
package main

import (
	"strconv"
	"strings"

	"github.com/sluice-proxy/sluice/sdk"
)

func main() {}

func init() { sdk.Register(newRefererRestriction) }

type plugin struct {
	hosts           map[string]struct{}
	suffixes        []string // ".example.com"
	sdk.Restriction          // type and message
}

func newRefererRestriction(cfg []byte) (sdk.Plugin, error) {
	c, err := sdk.ParseConfig(cfg)
	if err != nil {
		return nil, err
	}
	p := &plugin{hosts: map[string]struct{}{}}
	list := c.Strings("referer_list")
	switch {
	case list == nil && !c.Has("referer_list"):
		c.Invalid("referer_list", "required: the referer hosts to allow or deny")
	case list != nil && len(list) == 0:
		c.Invalid("referer_list", "must list at least one host")
	}
	for i, s := range list {
		s = strings.ToLower(strings.TrimSpace(s))
		// Pingap's rule: a leading "*" makes the rest a suffix.
		if suffix, ok := strings.CutPrefix(s, "*"); ok {
			if suffix == "" || strings.ContainsAny(suffix, "*/ ") {
				c.Invalid("referer_list["+strconv.Itoa(i)+"]", "want a host or *.suffix, got "+strconv.Quote(list[i]))
				continue
			}
			p.suffixes = append(p.suffixes, suffix)
			continue
		}
		if s == "" || strings.ContainsAny(s, "*/ ") {
			c.Invalid("referer_list["+strconv.Itoa(i)+"]", "want a host or *.suffix, got "+strconv.Quote(list[i]))
			continue
		}
		p.hosts[s] = struct{}{}
	}
	p.Restriction = c.Restriction()
	return p, c.Err()
}

func (p *plugin) OnRequestHeaders(r sdk.Request) sdk.Action {
	found := false
	if ref, ok := r.Header().Lookup("referer"); ok {
		found = p.match(refererHost(ref))
	}
	return p.Check(r, found)
}

func (p *plugin) match(host string) bool {
	if host == "" {
		return false
	}
	if _, ok := p.hosts[host]; ok {
		return true
	}
	for _, s := range p.suffixes {
		if strings.HasSuffix(host, s) {
			return true
		}
	}
	return false
}

// refererHost returns the lower-cased host of an absolute URL
// ("https://user@Host:8443/path" → "host"; IPv6 literals keep their
// brackets, as URL parsers give them), or "" when ref has no scheme and
// authority.
func refererHost(ref string) string {
	i := strings.Index(ref, "://")
	if i <= 0 || !isScheme(ref[:i]) {
		return ""
	}
	rest := ref[i+3:]
	if j := strings.IndexAny(rest, "/?#"); j >= 0 {
		rest = rest[:j]
	}
	if j := strings.LastIndexByte(rest, '@'); j >= 0 {
		rest = rest[j+1:]
	}
	if strings.HasPrefix(rest, "[") {
		j := strings.IndexByte(rest, ']')
		if j < 0 {
			return ""
		}
		return strings.ToLower(rest[:j+1])
	}
	if j := strings.IndexByte(rest, ':'); j >= 0 {
		rest = rest[:j]
	}
	if strings.ContainsAny(rest, " \t\\") {
		return ""
	}
	return strings.ToLower(rest)
}

// isScheme reports whether s is an RFC 3986 scheme.
func isScheme(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
		case i > 0 && (c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.'):
		default:
			return false
		}
	}
	return s != ""
}
