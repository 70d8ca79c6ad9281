// Command cors is the sluice plugin for Pingap's "cors" category:
// Cross-Origin Resource Sharing headers, and answers to preflights.
//
// Parameters (Pingap's):
//
//	path               a regular expression (RE2) on the request path: only
//	                   matching requests are handled (default: all).
//	allow_origin       Access-Control-Allow-Origin: "*" (default), an
//	                   origin, "$http_origin" to mirror the request's Origin
//	                   (any "$http_NAME" mirrors request header NAME, "_"
//	                   read as "-"), or "$NAME" for the environment variable
//	                   NAME, read once.
//	allow_methods      default "GET, POST, PUT, PATCH, DELETE, OPTIONS".
//	allow_headers      Access-Control-Allow-Headers (default: none).
//	allow_credentials  true adds Access-Control-Allow-Credentials: true.
//	expose_headers     Access-Control-Expose-Headers (default: none).
//	max_age            how long browsers may cache a preflight, a duration
//	                   (default "1h"; "0" leaves the header out).
//
// An OPTIONS request on a matching path is a preflight: it is answered 204
// with Allow-Origin, Allow-Methods, Allow-Headers, Max-Age,
// Allow-Credentials and Expose-Headers, and goes no further. With a
// mirrored origin, an OPTIONS request without one is not a preflight and
// goes on to the upstream. Other requests that carry Origin get
// Allow-Origin, Allow-Credentials and Expose-Headers on their response (the
// preflight-only headers would be ignored there, so they are left out).
// A mirrored origin varies the answer, so it adds Vary: Origin (next to the
// upstream's Vary, unless that already covers it).
//
// Mirroring with credentials lets every site make credentialed requests:
// use it only on APIs that check the origin themselves.
package main

import (
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/sluice-proxy/sluice/sdk"
)

func main() {}

func init() { sdk.Register(newCORS) }

type plugin struct {
	path      *regexp.Regexp
	origin    string // the literal Allow-Origin
	mirror    string // request header to mirror, "" for a literal origin
	preflight [][2]string
	response  [][2]string
	// origins holds, from request to response, the Allow-Origin of the
	// streams that get CORS headers on their response.
	origins map[uint32]string
}

func newCORS(cfg []byte) (sdk.Plugin, error) {
	c, err := sdk.ParseConfig(cfg)
	if err != nil {
		return nil, err
	}
	p := &plugin{origins: map[uint32]string{}}
	if s := c.String("path", ""); s != "" {
		if p.path, err = regexp.Compile(s); err != nil {
			c.Invalid("path", err.Error())
		}
	}
	origin := c.String("allow_origin", "")
	switch name, ok := strings.CutPrefix(origin, "$"); {
	case origin == "":
		p.origin = "*"
	case ok && strings.HasPrefix(name, "http_") && len(name) > len("http_"):
		p.mirror = strings.ReplaceAll(strings.ToLower(name[len("http_"):]), "_", "-")
	case ok:
		v, set := os.LookupEnv(name)
		if !set {
			c.Invalid("allow_origin", "environment variable "+strconv.Quote(name)+" is not set")
		}
		p.origin = v
	default:
		p.origin = origin
	}
	if p.mirror == "" {
		value(c, "allow_origin", p.origin)
	}
	methods := value(c, "allow_methods", c.String("allow_methods", "GET, POST, PUT, PATCH, DELETE, OPTIONS"))
	p.preflight = append(p.preflight, [2]string{"access-control-allow-methods", methods})
	if h := value(c, "allow_headers", c.String("allow_headers", "")); h != "" {
		p.preflight = append(p.preflight, [2]string{"access-control-allow-headers", h})
	}
	maxAge := c.Duration("max_age", time.Hour)
	if maxAge < 0 {
		c.Invalid("max_age", "must not be negative")
	} else if s := int64(maxAge / time.Second); s > 0 {
		p.preflight = append(p.preflight, [2]string{"access-control-max-age", strconv.FormatInt(s, 10)})
	}
	if c.Bool("allow_credentials", false) {
		p.response = append(p.response, [2]string{"access-control-allow-credentials", "true"})
	}
	if h := value(c, "expose_headers", c.String("expose_headers", "")); h != "" {
		p.response = append(p.response, [2]string{"access-control-expose-headers", h})
	}
	p.preflight = append(p.preflight, p.response...)
	return p, c.Err()
}

// value checks that v can be a header value.
func value(c *sdk.Config, key, v string) string {
	for i := 0; i < len(v); i++ {
		if b := v[i]; b < ' ' && b != '\t' || b == 0x7f {
			c.Invalid(key, "control characters cannot be in a header value")
			break
		}
	}
	return v
}

// allowOrigin returns the Allow-Origin for this request, false when a
// mirrored header is missing.
func (p *plugin) allowOrigin(r sdk.Request) (string, bool) {
	if p.mirror == "" {
		return p.origin, true
	}
	v, ok := r.Header().Lookup(p.mirror)
	return v, ok && v != ""
}

func (p *plugin) matches(r sdk.Request) bool {
	if p.path == nil {
		return true
	}
	path := r.Path()
	if i := strings.IndexByte(path, '?'); i >= 0 {
		path = path[:i]
	}
	return p.path.MatchString(path)
}

func (p *plugin) OnRequestHeaders(r sdk.Request) sdk.Action {
	if !p.matches(r) {
		return sdk.Continue
	}
	origin, ok := p.allowOrigin(r)
	if r.Method() == "OPTIONS" && ok {
		headers := make([][2]string, 0, len(p.preflight)+2)
		headers = append(headers, [2]string{"access-control-allow-origin", origin})
		headers = append(headers, p.preflight...)
		if p.mirror != "" {
			headers = append(headers, [2]string{"vary", "Origin"})
		}
		if err := r.Respond(204, headers, nil); err != nil {
			sdk.Error("cors: " + err.Error())
		}
		return sdk.Pause
	}
	if _, cross := r.Header().Lookup("origin"); cross && ok {
		p.origins[r.ID()] = origin
	}
	return sdk.Continue
}

func (p *plugin) OnResponseHeaders(r sdk.Request) sdk.Action {
	origin, ok := p.origins[r.ID()]
	if !ok {
		return sdk.Continue
	}
	delete(p.origins, r.ID())
	h := r.ResponseHeader()
	note := func(err error) {
		if err != nil {
			sdk.Error("cors: " + err.Error())
		}
	}
	note(h.Set("access-control-allow-origin", origin))
	for _, kv := range p.response {
		note(h.Set(kv[0], kv[1]))
	}
	if p.mirror != "" && !variesByOrigin(h.Values("vary")) {
		note(h.Add("vary", "Origin"))
	}
	return sdk.Continue
}

// OnDone forgets a stream that ended before its response.
func (p *plugin) OnDone(r sdk.Request) { delete(p.origins, r.ID()) }

// variesByOrigin reports whether Vary values already cover Origin.
func variesByOrigin(values []string) bool {
	for _, v := range values {
		for v != "" {
			var name string
			name, v, _ = strings.Cut(v, ",")
			name = strings.TrimSpace(name)
			if name == "*" || strings.EqualFold(name, "origin") {
				return true
			}
		}
	}
	return false
}
