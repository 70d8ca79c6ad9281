package proxy

import (
	"net/http"
	"net/netip"
	"path"
	"strings"

	"golang.org/x/net/http/httpguts"
)

// hopHeaders are the hop-by-hop headers of RFC 9110 §7.6.1, removed in both
// directions. Header names listed in Connection are removed too.
var hopHeaders = [...]string{
	"Connection",
	"Proxy-Connection", // non-standard, sent by old clients
	"Keep-Alive",
	"Proxy-Authenticate",
	"Proxy-Authorization",
	"Te",
	"Trailer", // not Trailers: the header announcing them is per hop
	"Transfer-Encoding",
	"Upgrade",
}

// removeHopHeaders deletes hop-by-hop headers from h, including every name
// listed in Connection.
func removeHopHeaders(h http.Header) {
	for _, f := range h["Connection"] {
		for sf := range strings.SplitSeq(f, ",") {
			if sf = strings.TrimSpace(sf); sf != "" {
				h.Del(sf)
			}
		}
	}
	for _, k := range hopHeaders {
		delete(h, k)
	}
}

// upgradeType returns the lower-cased protocol of an upgrade request, "" if
// it is none.
func upgradeType(h http.Header) string {
	if !httpguts.HeaderValuesContainsToken(h["Connection"], "Upgrade") {
		return ""
	}
	return strings.ToLower(h.Get("Upgrade"))
}

// trustedSet is the parsed basic.trusted_proxies.
type trustedSet struct{ prefixes []netip.Prefix }

func newTrustedSet(list []string) (*trustedSet, error) {
	t := &trustedSet{}
	for _, s := range list {
		s = strings.TrimSpace(s)
		if !strings.Contains(s, "/") {
			a, err := netip.ParseAddr(s)
			if err != nil {
				return nil, err
			}
			t.prefixes = append(t.prefixes, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
			continue
		}
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return nil, err
		}
		t.prefixes = append(t.prefixes, p.Masked())
	}
	return t, nil
}

func (t *trustedSet) contains(a netip.Addr) bool {
	if t == nil {
		return false
	}
	a = a.Unmap()
	for _, p := range t.prefixes {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// clientIP works out the client's address. The TCP peer is the client unless
// it is a trusted proxy; then X-Forwarded-For is walked from the right (the
// entry the trusted proxy appended) past further trusted proxies, and the
// first untrusted entry is the client. Without X-Forwarded-For, X-Real-IP of a
// trusted peer is believed. Untrusted peers cannot spoof their address this
// way, unlike Pingap without trusted_proxies, which believes any header.
func clientIP(peer netip.Addr, h http.Header, t *trustedSet) netip.Addr {
	if !t.contains(peer) {
		return peer
	}
	xff := h["X-Forwarded-For"]
	for i := len(xff) - 1; i >= 0; i-- {
		parts := xff[i]
		for parts != "" {
			j := strings.LastIndexByte(parts, ',')
			item := strings.TrimSpace(parts[j+1:])
			if j < 0 {
				parts = ""
			} else {
				parts = parts[:j]
			}
			a, err := netip.ParseAddr(item)
			if err != nil {
				// Garbage in a header the trusted proxy passed on: stop
				// at the last address we could read.
				return peer
			}
			if !t.contains(a) {
				return a.Unmap()
			}
			peer = a
		}
	}
	if v := h.Get("X-Real-Ip"); v != "" {
		if a, err := netip.ParseAddr(strings.TrimSpace(v)); err == nil {
			return a.Unmap()
		}
	}
	return peer
}

// cleanPath resolves dot segments and repeated slashes in a request path,
// as nginx does before matching locations; ok is true when p was clean
// already (the common case, checked without allocating). A trailing slash
// is kept.
func cleanPath(p string) (string, bool) {
	if p == "" || p[0] != '/' {
		if p == "" || p == "*" {
			return p, true
		}
		p = "/" + p
	} else if !strings.Contains(p, "/.") && !strings.Contains(p, "//") {
		return p, true
	}
	c := path.Clean(p)
	if strings.HasSuffix(p, "/") && c != "/" {
		c += "/"
	}
	return c, c == p
}
