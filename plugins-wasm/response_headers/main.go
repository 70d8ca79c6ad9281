// Command response_headers is the sluice plugin for Pingap's
// "response_headers" category: it edits the response headers in a fixed
// order, add → remove → set → set-if-absent → rename.
//
// Parameters (header lists are ["Name: value", ...]):
//
//	add_headers             values appended to the header.
//	remove_headers          header names removed.
//	set_headers             values that replace the header.
//	set_headers_not_exists  values set only when the header is absent.
//	rename_headers          ["Old: New", ...]: every value of Old moves to New.
//	mode                    Pingap's "" or "upstream" (and "downstream");
//	                        accepted for compatibility: sluice has a single
//	                        response phase, so both behave the same.
//
// A value that is exactly one of these variables is replaced (Pingap's
// whole-value rule; anything else, or a variable that cannot be resolved,
// stays literal): $host, $scheme, $hostname, $remote_addr, $remote_port,
// $server_addr, $server_port, $upstream_addr, $proxy_add_x_forwarded_for,
// $http_NAME (request header NAME, "_" read as "-") and $NAME (the plugin's
// environment variable NAME).
package main

import (
	"os"
	"strconv"
	"strings"

	"github.com/sluice-proxy/sluice/sdk"
)

func main() {}

func init() { sdk.Register(newResponseHeaders) }

// source says where a value comes from.
type source uint8

const (
	literal  source = iota
	fromReq         // captured from the request headers (arg: header name)
	fromXFF         // X-Forwarded-For of the request plus the client address
	fromProp        // a property, read at response time (arg: path)
	fromHost        // host part of an "ip:port" property (arg: path)
	fromPort        // port part of an "ip:port" property (arg: path)
)

type value struct {
	src source
	arg string // header name or property path
	lit string // the literal text (also the fallback)
	req int    // index into stream.captured, for fromReq and fromXFF
}

type entry struct {
	name string
	v    value
}

type rename struct{ from, to string }

type plugin struct {
	add, set, setIfAbsent []entry
	remove                []string
	rename                []rename
	captures              int // request-phase values per stream
}

func newResponseHeaders(cfg []byte) (sdk.Plugin, error) {
	c, err := sdk.ParseConfig(cfg)
	if err != nil {
		return nil, err
	}
	p := &plugin{}
	p.add = p.entries(c.HeaderLines("add_headers"))
	p.set = p.entries(c.HeaderLines("set_headers"))
	p.setIfAbsent = p.entries(c.HeaderLines("set_headers_not_exists"))
	for i, name := range c.Strings("remove_headers") {
		name = strings.TrimSpace(name)
		if !sdk.IsToken(name) {
			c.Invalid("remove_headers["+strconv.Itoa(i)+"]", strconv.Quote(name)+" is not a valid header name")
			continue
		}
		p.remove = append(p.remove, strings.ToLower(name))
	}
	for i, kv := range c.HeaderLines("rename_headers") {
		if !sdk.IsToken(kv[1]) {
			c.Invalid("rename_headers["+strconv.Itoa(i)+"]", "want \"Old: New\" with a valid new name, got "+strconv.Quote(kv[1]))
			continue
		}
		p.rename = append(p.rename, rename{from: kv[0], to: strings.ToLower(kv[1])})
	}
	switch mode := c.String("mode", ""); mode {
	case "", "upstream", "downstream":
	default:
		c.Invalid("mode", `want "", "upstream" or "downstream", got `+strconv.Quote(mode))
	}
	return p, c.Err()
}

// entries compiles header lines, resolving variables that do not depend on
// the request now.
func (p *plugin) entries(lines [][2]string) []entry {
	out := make([]entry, 0, len(lines))
	for _, l := range lines {
		out = append(out, entry{name: l[0], v: p.compile(l[1])})
	}
	return out
}

func (p *plugin) compile(s string) value {
	v := value{lit: s}
	name, ok := strings.CutPrefix(s, "$")
	if !ok || name == "" {
		return v
	}
	switch name {
	case "host":
		v.src, v.arg = fromReq, ":authority"
	case "scheme":
		v.src, v.arg = fromReq, ":scheme"
	case "proxy_add_x_forwarded_for":
		v.src, v.arg = fromXFF, "x-forwarded-for"
	case "hostname":
		v.src, v.arg = fromProp, "xds.node.id"
	case "remote_addr":
		v.src, v.arg = fromHost, "source.address"
	case "remote_port":
		v.src, v.arg = fromPort, "source.address"
	case "server_addr":
		v.src, v.arg = fromHost, "destination.address"
	case "server_port":
		v.src, v.arg = fromPort, "destination.address"
	case "upstream_addr":
		v.src, v.arg = fromProp, "upstream.address"
	default:
		if h, ok := strings.CutPrefix(name, "http_"); ok && h != "" {
			v.src, v.arg = fromReq, strings.ReplaceAll(strings.ToLower(h), "_", "-")
		} else if env, ok := os.LookupEnv(name); ok {
			v.lit = env
		}
	}
	if v.src == fromReq || v.src == fromXFF {
		v.req = p.captures
		p.captures++
	}
	return v
}

// NewStream gives streams that need request values their own state; the
// others share the plugin and cost nothing per request.
func (p *plugin) NewStream(sdk.Request) any {
	if p.captures == 0 {
		return (*shared)(p)
	}
	return &stream{p: p, captured: make([]string, p.captures), ok: make([]bool, p.captures)}
}

// shared handles streams of a plugin without request-phase variables.
type shared plugin

// OnResponseHeaders edits the response headers.
func (s *shared) OnResponseHeaders(r sdk.Request) sdk.Action {
	(*plugin)(s).apply(r, nil)
	return sdk.Continue
}

type stream struct {
	p        *plugin
	captured []string
	ok       []bool
}

// OnRequestHeaders captures the request values the variables need.
func (s *stream) OnRequestHeaders(r sdk.Request) sdk.Action {
	h := r.Header()
	for _, list := range [][]entry{s.p.add, s.p.set, s.p.setIfAbsent} {
		for _, e := range list {
			switch e.v.src {
			case fromReq:
				s.captured[e.v.req], s.ok[e.v.req] = h.Lookup(e.v.arg)
			case fromXFF:
				ip := propHost(r, "source.address")
				if ip == "" {
					continue
				}
				if xff := h.Get(e.v.arg); xff != "" {
					ip = xff + ", " + ip
				}
				s.captured[e.v.req], s.ok[e.v.req] = ip, true
			}
		}
	}
	return sdk.Continue
}

// OnResponseHeaders edits the response headers with the captured values.
func (s *stream) OnResponseHeaders(r sdk.Request) sdk.Action {
	s.p.apply(r, s)
	return sdk.Continue
}

// apply edits the response headers in Pingap's order.
func (p *plugin) apply(r sdk.Request, s *stream) {
	h := r.ResponseHeader()
	var errs []string
	note := func(err error) {
		if err != nil {
			errs = append(errs, err.Error())
		}
	}
	for _, e := range p.add {
		note(h.Add(e.name, p.resolve(r, s, e.v)))
	}
	for _, name := range p.remove {
		note(h.Del(name))
	}
	for _, e := range p.set {
		note(h.Set(e.name, p.resolve(r, s, e.v)))
	}
	for _, e := range p.setIfAbsent {
		if _, ok := h.Lookup(e.name); !ok {
			note(h.Add(e.name, p.resolve(r, s, e.v)))
		}
	}
	for _, rn := range p.rename {
		values := h.Values(rn.from)
		if len(values) == 0 {
			continue
		}
		note(h.Del(rn.from))
		for _, v := range values {
			note(h.Add(rn.to, v))
		}
	}
	if len(errs) > 0 {
		sdk.Error("response_headers: " + strings.Join(errs, "; "))
	}
}

// resolve returns the value for this response, or the literal text when
// the variable has no value here.
func (p *plugin) resolve(r sdk.Request, s *stream, v value) string {
	switch v.src {
	case fromReq, fromXFF:
		if s != nil && s.ok[v.req] {
			return s.captured[v.req]
		}
	case fromProp:
		if b, err := r.Property(v.arg); err == nil && len(b) > 0 {
			return string(b)
		}
	case fromHost:
		if h := propHost(r, v.arg); h != "" {
			return h
		}
	case fromPort:
		if b, err := r.Property(v.arg); err == nil {
			if _, port, ok := splitHostPort(string(b)); ok {
				return port
			}
		}
	}
	return v.lit
}

func propHost(r sdk.Request, path string) string {
	b, err := r.Property(path)
	if err != nil {
		return ""
	}
	host, _, ok := splitHostPort(string(b))
	if !ok {
		return string(b) // an address without a port
	}
	return host
}

// splitHostPort splits "ip:port" and "[v6]:port" (net.SplitHostPort
// without the weight of package net).
func splitHostPort(s string) (host, port string, ok bool) {
	i := strings.LastIndexByte(s, ':')
	if i < 0 {
		return "", "", false
	}
	host, port = s[:i], s[i+1:]
	if strings.HasPrefix(host, "[") && strings.HasSuffix(host, "]") {
		host = host[1 : len(host)-1]
	} else if strings.IndexByte(host, ':') >= 0 {
		return "", "", false // a bare IPv6 address has no port
	}
	return host, port, port != ""
}
