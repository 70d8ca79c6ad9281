// Command ip_restriction is the sluice plugin for Pingap's
// "ip_restriction" category: it answers 403 to clients by IP address.
//
// Parameters (Pingap's):
//
//	ip_list  required: IP addresses ("192.0.2.7", "2001:db8::1") and CIDR
//	         ranges ("10.0.0.0/8", "2001:db8::/32").
//	type     "allow" (default): only listed clients pass; "deny": listed
//	         clients are refused. Case does not matter.
//	message  the 403 body (default "Request is forbidden").
//
// The client IP is the one the host resolved (property sluice.client_ip:
// the peer, or X-Forwarded-For / X-Real-IP when the peer is one of
// basic.trusted_proxies); a client IP that does not parse is answered 400.
// IPv4-mapped IPv6 addresses (::ffff:192.0.2.7) match their IPv4 entries.
package main

import (
	"net/netip"
	"strconv"
	"strings"

	"github.com/sluice-proxy/sluice/sdk"
)

func main() {}

func init() { sdk.Register(newIPRestriction) }

type plugin struct {
	addrs           map[netip.Addr]struct{}
	prefixes        []netip.Prefix
	sdk.Restriction // type and message
}

func newIPRestriction(cfg []byte) (sdk.Plugin, error) {
	c, err := sdk.ParseConfig(cfg)
	if err != nil {
		return nil, err
	}
	p := &plugin{addrs: map[netip.Addr]struct{}{}}
	list := c.Strings("ip_list")
	switch {
	case list == nil && !c.Has("ip_list"):
		c.Invalid("ip_list", "required: the IP addresses and CIDR ranges to allow or deny")
	case list != nil && len(list) == 0:
		c.Invalid("ip_list", "must list at least one IP address or CIDR range")
	}
	for i, s := range list {
		s = strings.TrimSpace(s)
		key := "ip_list[" + strconv.Itoa(i) + "]"
		if strings.IndexByte(s, '/') >= 0 {
			pfx, err := netip.ParsePrefix(s)
			if err != nil {
				c.Invalid(key, strconv.Quote(s)+" is not a CIDR range")
				continue
			}
			if pfx.Addr().Is4In6() && pfx.Bits() >= 96 {
				pfx = netip.PrefixFrom(pfx.Addr().Unmap(), pfx.Bits()-96)
			}
			p.prefixes = append(p.prefixes, pfx.Masked())
			continue
		}
		a, err := netip.ParseAddr(s)
		if err != nil {
			c.Invalid(key, strconv.Quote(s)+" is not an IP address")
			continue
		}
		p.addrs[a.Unmap().WithZone("")] = struct{}{}
	}
	p.Restriction = c.Restriction()
	return p, c.Err()
}

func (p *plugin) OnRequestHeaders(r sdk.Request) sdk.Action {
	ip, ok := clientIP(r)
	if !ok {
		respond(r, 400, []byte("Invalid client ip"))
		return sdk.Pause
	}
	return p.Check(r, p.match(ip))
}

func (p *plugin) match(ip netip.Addr) bool {
	if _, ok := p.addrs[ip]; ok {
		return true
	}
	for _, pfx := range p.prefixes {
		if pfx.Contains(ip) {
			return true
		}
	}
	return false
}

// clientIP parses the client IP the host resolved, falling back to the
// peer address.
func clientIP(r sdk.Request) (netip.Addr, bool) {
	if b, err := r.Property("sluice.client_ip"); err == nil {
		a, err := netip.ParseAddr(string(b))
		return a.Unmap().WithZone(""), err == nil
	}
	b, err := r.Property("source.address")
	if err != nil {
		return netip.Addr{}, false
	}
	if ap, err := netip.ParseAddrPort(string(b)); err == nil {
		return ap.Addr().Unmap().WithZone(""), true
	}
	a, err := netip.ParseAddr(string(b))
	return a.Unmap().WithZone(""), err == nil
}

func respond(r sdk.Request, status int, body []byte) {
	if err := r.Respond(status, [][2]string{{"content-type", "text/plain; charset=utf-8"}}, body); err != nil {
		sdk.Error("ip_restriction: " + err.Error())
	}
}
