// Command redirect is the sluice plugin for Pingap's "redirect" category:
// it redirects to another scheme and/or under a path prefix.
//
// Parameters (Pingap's):
//
//	http_to_https  true: the scheme must be https; false (default): it
//	               must be http (Pingap's rule: an https request is sent to
//	               http).
//	prefix         a path prefix the path must start with; a leading "/"
//	               is added, and a prefix of one character or less is none.
//	status         301, 302, 303, 307 (default) or 308.
//
// A request whose scheme is the wanted one and whose path starts with the
// prefix passes. Any other is answered status with
// Location: SCHEME://HOST PREFIX PATH?QUERY (the prefix only when the path
// lacks it, so a scheme redirect of /api/x stays /api/x). The scheme is
// the one the client used with sluice: behind a load balancer that
// terminates TLS every request looks like http, so redirect there instead.
package main

import (
	"strconv"
	"strings"

	"github.com/sluice-proxy/sluice/sdk"
)

func main() {}

func init() { sdk.Register(newRedirect) }

type plugin struct {
	https  bool
	scheme string // "https://" or "http://"
	prefix string
	status int
}

func newRedirect(cfg []byte) (sdk.Plugin, error) {
	c, err := sdk.ParseConfig(cfg)
	if err != nil {
		return nil, err
	}
	p := &plugin{https: c.Bool("http_to_https", false), scheme: "http://"}
	if p.https {
		p.scheme = "https://"
	}
	p.prefix = c.String("prefix", "")
	switch {
	case len(p.prefix) <= 1:
		p.prefix = ""
	case p.prefix[0] != '/':
		p.prefix = "/" + p.prefix
	}
	for i := 0; i < len(p.prefix); i++ {
		if b := p.prefix[i]; b <= ' ' || b == 0x7f || b == '?' || b == '#' {
			c.Invalid("prefix", "want a path, got "+strconv.Quote(p.prefix))
			break
		}
	}
	switch p.status = c.Int("status", 307); p.status {
	case 0:
		p.status = 307
	case 301, 302, 303, 307, 308:
	default:
		c.Invalid("status", "want 301, 302, 303, 307 or 308, got "+strconv.Itoa(p.status))
	}
	return p, c.Err()
}

func (p *plugin) OnRequestHeaders(r sdk.Request) sdk.Action {
	path := r.Path()
	hasPrefix := strings.HasPrefix(path, p.prefix)
	if (r.Scheme() == "https") == p.https && hasPrefix {
		return sdk.Continue
	}
	host := r.Authority()
	if !validHost(host) {
		respond(r, 400, nil, "Invalid host")
		return sdk.Pause
	}
	prefix := p.prefix
	if hasPrefix {
		prefix = ""
	}
	respond(r, p.status, [][2]string{{"location", p.scheme + host + prefix + path}}, "")
	return sdk.Pause
}

// validHost reports whether a Host header can go into a Location: no
// characters that would end the authority or the header.
func validHost(h string) bool {
	if h == "" {
		return false
	}
	for i := 0; i < len(h); i++ {
		switch b := h[i]; {
		case b <= ' ' || b == 0x7f:
			return false
		case b == '/' || b == '\\' || b == '?' || b == '#' || b == '@':
			return false
		}
	}
	return true
}

func respond(r sdk.Request, status int, headers [][2]string, body string) {
	if body != "" {
		headers = append(headers, [2]string{"content-type", "text/plain; charset=utf-8"})
	}
	if err := r.Respond(status, headers, []byte(body)); err != nil {
		sdk.Error("redirect: " + err.Error())
	}
}
