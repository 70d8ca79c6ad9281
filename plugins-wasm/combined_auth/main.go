// Command combined_auth is the sluice plugin for Pingap's "combined_auth"
// category: applications sign their requests with a shared secret and a
// timestamp, optionally from fixed addresses only.
//
// Parameters:
//
//	authorizations  required: one table per application,
//	                  [[plugins.X.authorizations]] or an inline array:
//	    app_id      required: the application's id, unique.
//	    secret      required: its shared secret; "*" lets every request of
//	                the application through without any other check
//	                (Pingap's "super user"; use with care).
//	    deviation   required (except with secret "*"): how many seconds the
//	                request's timestamp may be away from the proxy's clock.
//	    ip_list     the client addresses allowed for the application: IPs
//	                and CIDR ranges; empty allows any.
//	step            Pingap's step; only "request" (the default) is valid.
//
// A request carries query parameters app_id, ts (Unix seconds) and
// digest = hex(SHA-256(secret + ":" + ts)). They are checked in this
// order, and the first failure answers 401 (with Cache-Control: no-store)
// naming it: "app id is empty", "app id is invalid", "ip is invalid",
// "timestamp is empty", "timestamp is invalid", "timestamp deviation is
// invalid", "digest is empty", "digest is invalid".
//
// The client address is the proxy's idea of it (property sluice.client_ip:
// the peer, or what a trusted proxy forwarded). Digests are compared in
// constant time; secrets and digests are never logged.
package main

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"net/netip"
	"strconv"
	"strings"

	"github.com/sluice-proxy/sluice/sdk"
)

func main() {}

func init() { sdk.Register(newCombinedAuth) }

type app struct {
	prefix    []byte // secret + ":"
	bypass    bool
	deviation int64 // seconds
	nets      []netip.Prefix
}

type combinedAuth struct {
	apps map[string]*app
}

var denyHeaders = [][2]string{
	{"cache-control", "no-store"},
	{"content-type", "text/plain; charset=utf-8"},
}

func newCombinedAuth(cfg []byte) (sdk.Plugin, error) {
	c, err := sdk.ParseConfig(cfg)
	if err != nil {
		return nil, err
	}
	p := &combinedAuth{apps: map[string]*app{}}
	n := c.Objects("authorizations", func(i int, item *sdk.Config) {
		id := item.String("app_id", "")
		secret := item.String("secret", "")
		a := &app{
			prefix:    []byte(secret + ":"),
			bypass:    secret == "*",
			deviation: int64(item.Int("deviation", 0)),
		}
		switch {
		case id == "":
			item.Invalid("app_id", "required")
		case p.apps[id] != nil:
			item.Invalid("app_id", strconv.Quote(id)+" is already used by another authorization")
		}
		if secret == "" {
			item.Invalid("secret", "required")
		}
		if a.deviation <= 0 && !a.bypass {
			item.Invalid("deviation", "required: the seconds a timestamp may be off, more than 0")
		}
		for j, s := range item.Strings("ip_list") {
			pfx, err := parsePrefix(s)
			if err != nil {
				item.Invalid("ip_list["+strconv.Itoa(j)+"]", strconv.Quote(s)+" is not an IP address or CIDR range")
				continue
			}
			a.nets = append(a.nets, pfx)
		}
		if id != "" && p.apps[id] == nil {
			p.apps[id] = a
		}
	})
	if n == 0 && !c.Has("authorizations") {
		c.Invalid("authorizations", "required: a list of {app_id, secret, deviation, ip_list}")
	} else if n == 0 && c.Err() == nil {
		c.Invalid("authorizations", "must not be empty")
	}
	if s := c.String("step", "request"); s != "request" {
		c.Invalid("step", "combined_auth runs at the request step, not "+strconv.Quote(s))
	}
	return p, c.Err()
}

// parsePrefix reads "10.0.0.1" (a single address) or "10.0.0.0/8".
func parsePrefix(s string) (netip.Prefix, error) {
	s = strings.TrimSpace(s)
	if strings.IndexByte(s, '/') >= 0 {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, err
		}
		if p.Addr().Is4In6() {
			p = netip.PrefixFrom(p.Addr().Unmap(), max(p.Bits()-96, 0))
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}

func (p *combinedAuth) OnRequestHeaders(r sdk.Request) sdk.Action {
	if msg := p.check(r); msg != "" {
		if err := r.Respond(401, denyHeaders, []byte(msg)); err != nil {
			sdk.Error("combined_auth: " + err.Error())
		}
		return sdk.Pause
	}
	return sdk.Continue
}

// check returns why the request is refused, or "".
func (p *combinedAuth) check(r sdk.Request) string {
	path := r.Path()
	id, _ := sdk.QueryParam(path, "app_id")
	if id == "" {
		return "app id is empty"
	}
	a := p.apps[id]
	if a == nil {
		return "app id is invalid"
	}
	if a.bypass {
		return ""
	}
	if len(a.nets) > 0 && !a.allows(clientIP(r)) {
		return "ip is invalid"
	}
	ts, _ := sdk.QueryParam(path, "ts")
	if ts == "" {
		return "timestamp is empty"
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return "timestamp is invalid"
	}
	if d := sdk.Now().Unix() - sec; d > a.deviation || d < -a.deviation {
		return "timestamp deviation is invalid"
	}
	digest, _ := sdk.QueryParam(path, "digest")
	if digest == "" {
		return "digest is empty"
	}
	if !a.digestMatches(ts, digest) {
		return "digest is invalid"
	}
	return ""
}

func (a *app) allows(ip netip.Addr) bool {
	if !ip.IsValid() {
		return false
	}
	for _, n := range a.nets {
		if n.Contains(ip) {
			return true
		}
	}
	return false
}

// digestMatches compares digest, hex of any case, with SHA-256(secret:ts)
// in constant time.
func (a *app) digestMatches(ts, digest string) bool {
	var buf [128]byte
	sum := sha256.Sum256(append(append(buf[:0], a.prefix...), ts...))
	var got [sha256.Size]byte
	if len(digest) != hex.EncodedLen(len(got)) {
		return false
	}
	var src [2 * sha256.Size]byte
	if _, err := hex.Decode(got[:], src[:copy(src[:], digest)]); err != nil {
		return false
	}
	return subtle.ConstantTimeCompare(sum[:], got[:]) == 1
}

// clientIP returns the client's address as the proxy sees it: sluice's
// sluice.client_ip, else the peer (source.address) on other hosts.
func clientIP(r sdk.Request) netip.Addr {
	b, err := r.Property("sluice.client_ip")
	if errors.Is(err, sdk.ErrNotFound) {
		b, err = r.Property("source.address")
	}
	if err != nil {
		return netip.Addr{}
	}
	s := string(b)
	if ip, err := netip.ParseAddr(s); err == nil {
		return ip.Unmap()
	}
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap()
	}
	return netip.Addr{}
}
