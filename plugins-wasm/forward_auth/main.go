// Command forward_auth is the sluice plugin for Pingap's "forward_auth"
// category: before a request goes upstream, an authentication service is
// asked about it with a GET subrequest; a 2xx answer lets the request
// through, any other answer is sent to the client instead.
//
// Parameters:
//
//	auth_url         required: the authentication endpoint,
//	                 "http://auth/verify?x=1". The subrequest goes to the
//	                 [upstreams.NAME] of the sluice config named by the URL's
//	                 host (without the port), with the URL's path and
//	                 query, Host set to the URL's host, through that
//	                 upstream's balancing and transport.
//	upstream         the [upstreams.NAME] to send the subrequest to instead,
//	                 for a Pingap config whose auth_url names a real host
//	                 (e.g. "http://127.0.0.1:9000/auth" with upstream =
//	                 "auth"): the URL then only gives path, query and Host.
//	request_headers  the request headers the subrequest carries; empty
//	                 (the default) carries all of them except hop-by-hop
//	                 ones and the body's.
//	add_headers      headers of a 2xx answer that the request takes
//	                 upstream (e.g. ["X-User"]): each replaces what the
//	                 client sent under that name, and a name the answer
//	                 lacks is removed from the request, so that a client
//	                 cannot forge it.
//	timeout          how long to wait for the answer, default "10s".
//	step             Pingap's step; only "request" (the default) is valid.
//
// The subrequest also carries X-Forwarded-Method, X-Forwarded-Proto,
// X-Forwarded-Host, X-Forwarded-Uri (the original :path with its query)
// and X-Forwarded-For (the client address sluice trusts, property
// sluice.client_ip), replacing any the client sent. A non-2xx answer is
// relayed with its status, headers (hop-by-hop ones dropped) and body, so
// that a redirect to a login page or a 401 challenge reaches the client.
// When the service cannot be reached, or does not answer in time, the
// client gets 502. Nothing of the requests or answers is logged.
package main

import (
	"errors"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/sluice-proxy/sluice/sdk"
)

func main() {}

func init() { sdk.Register(newForwardAuth) }

var (
	bodyUnavailable = []byte("Auth service unavailable")
	textPlain       = [][2]string{{"content-type", "text/plain; charset=utf-8"}}
)

type forwardAuth struct {
	upstream  string
	scheme    string
	authority string
	path      string
	headers   []string // lower-case; nil: all
	add       []string // lower-case
	timeout   time.Duration

	warnedUnknown bool
}

func newForwardAuth(cfg []byte) (sdk.Plugin, error) {
	c, err := sdk.ParseConfig(cfg)
	if err != nil {
		return nil, err
	}
	p := &forwardAuth{timeout: c.Duration("timeout", 10*time.Second)}
	raw := c.String("auth_url", "")
	if raw == "" {
		c.Invalid("auth_url", `required: the authentication endpoint, e.g. "http://auth/verify"`)
	} else if err := p.parseURL(raw); err != "" {
		c.Invalid("auth_url", err) // not echoed: it may hold credentials
	}
	if up := c.String("upstream", ""); up != "" {
		p.upstream = up
	} else if c.Has("upstream") {
		c.Invalid("upstream", "must not be empty")
	}
	p.headers = headerNames(c, "request_headers")
	p.add = headerNames(c, "add_headers")
	if p.timeout <= 0 {
		c.Invalid("timeout", "must be more than 0")
	}
	if s := c.String("step", "request"); s != "request" {
		c.Invalid("step", "forward_auth runs at the request step, not "+strconv.Quote(s))
	}
	return p, c.Err()
}

// parseURL reads auth_url into scheme, authority, path and the default
// upstream; it returns what is wrong, or "".
func (p *forwardAuth) parseURL(raw string) string {
	u, err := sdk.ParseUpstreamURL(raw)
	if err != nil {
		return err.Error()
	}
	p.scheme, p.authority, p.path, p.upstream = u.Scheme, u.Authority, u.Path, u.Upstream
	return ""
}

func headerNames(c *sdk.Config, key string) []string {
	names := c.Strings(key)
	var out []string
	for i, n := range names {
		if !sdk.IsToken(n) {
			c.Invalid(key+"["+strconv.Itoa(i)+"]", strconv.Quote(n)+" is not a valid header name")
			continue
		}
		out = append(out, strings.ToLower(n))
	}
	return out
}

// hopByHop are the headers that belong to one connection (RFC 9110 §7.6.1),
// plus those describing a body the subrequest does not have.
func hopByHop(name string) bool {
	switch name {
	case "connection", "keep-alive", "proxy-connection", "proxy-authenticate", "proxy-authorization",
		"te", "trailer", "transfer-encoding", "upgrade", "content-length", "expect":
		return true
	}
	return false
}

// forwarded are the headers the plugin sets on the subrequest itself.
func forwarded(name string) bool {
	switch name {
	case "x-forwarded-method", "x-forwarded-proto", "x-forwarded-host", "x-forwarded-uri", "x-forwarded-for":
		return true
	}
	return false
}

func (p *forwardAuth) OnRequestHeaders(r sdk.Request) sdk.Action {
	h := r.Header()
	h.Len() // fetch the whole map in one host call; what follows reads it
	method, path, authority, scheme := h.Get(":method"), h.Get(":path"), h.Get(":authority"), h.Get(":scheme")
	sub := make([][2]string, 0, 16)
	sub = append(sub,
		[2]string{":method", "GET"}, [2]string{":path", p.path},
		[2]string{":authority", p.authority}, [2]string{":scheme", p.scheme})
	if p.headers == nil {
		h.Range(func(k, v string) bool {
			if k != "" && k[0] != ':' && k != "host" && !hopByHop(k) && !forwarded(k) {
				sub = append(sub, [2]string{k, v})
			}
			return true
		})
	} else {
		for _, name := range p.headers {
			if forwarded(name) {
				continue
			}
			for _, v := range h.Values(name) {
				sub = append(sub, [2]string{name, v})
			}
		}
	}
	sub = append(sub,
		[2]string{"x-forwarded-method", method}, [2]string{"x-forwarded-proto", scheme},
		[2]string{"x-forwarded-host", authority}, [2]string{"x-forwarded-uri", path})
	if ip := clientIP(r); ip != "" {
		sub = append(sub, [2]string{"x-forwarded-for", ip})
	}
	err := sdk.HTTPCall(p.upstream, sub, nil, p.timeout, func(resp sdk.CallResponse) { p.answer(r, resp) })
	if err != nil {
		if !p.warnedUnknown {
			p.warnedUnknown = true
			sdk.Error("forward_auth: cannot call upstream " + strconv.Quote(p.upstream) +
				" (is there an [upstreams." + p.upstream + "]?): " + err.Error())
		}
		respond(r, 502, textPlain, bodyUnavailable)
	}
	return sdk.Pause
}

// answer lets the request through on a 2xx answer, with add_headers
// copied, and relays any other answer.
func (p *forwardAuth) answer(r sdk.Request, resp sdk.CallResponse) {
	if resp.Err != nil {
		sdk.Warn("forward_auth: " + resp.Err.Error())
		respond(r, 502, textPlain, bodyUnavailable)
		return
	}
	if resp.Status >= 200 && resp.Status < 300 {
		h := r.Header()
		for _, name := range p.add {
			if err := h.Del(name); err != nil {
				break // the stream is gone
			}
			for _, kv := range resp.Headers {
				if kv[0] == name {
					if err := h.Add(name, kv[1]); err != nil {
						sdk.Error("forward_auth: " + err.Error())
					}
				}
			}
		}
		if err := r.Resume(); err != nil && !errors.Is(err, sdk.ErrStreamGone) {
			sdk.Error("forward_auth: " + err.Error())
		}
		return
	}
	relay := make([][2]string, 0, len(resp.Headers))
	for _, kv := range resp.Headers {
		if kv[0] != "" && kv[0][0] != ':' && !hopByHop(kv[0]) {
			relay = append(relay, kv)
		}
	}
	status := resp.Status
	if status < 100 || status > 999 {
		status = 502
	}
	respond(r, status, relay, resp.Body)
}

func respond(r sdk.Request, status int, headers [][2]string, body []byte) {
	if err := r.Respond(status, headers, body); err != nil && !errors.Is(err, sdk.ErrStreamGone) {
		sdk.Error("forward_auth: " + err.Error())
	}
}

// clientIP returns the client's address as the proxy sees it: sluice's
// sluice.client_ip, else the peer's address (source.address, without the
// port) on other hosts.
func clientIP(r sdk.Request) string {
	if b, err := r.Property("sluice.client_ip"); err == nil {
		return string(b)
	}
	b, err := r.Property("source.address")
	if err != nil {
		return ""
	}
	if ap, err := netip.ParseAddrPort(string(b)); err == nil {
		return ap.Addr().String()
	}
	return string(b)
}
