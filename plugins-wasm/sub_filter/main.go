// Command sub_filter is the sluice plugin for Pingap's "sub_filter"
// category: it rewrites response bodies with literal and regular
// expression rules, as nginx's sub_filter and subs_filter do.
//
// Parameters:
//
//	filters       the rules, applied in order, each one of
//	                sub_filter 'literal' 'replacement' [g]
//	                subs_filter 'regexp' 'replacement' [g][i]
//	              Quotes are single or double; a backslash escapes the
//	              quote or itself. Without g only the first match is
//	              replaced; i makes a regexp case-insensitive. A regexp
//	              replacement may use $1, ${name} (Go's regexp.Expand).
//	              sub_filter literals are case-sensitive.
//	path          a regexp the request path must match (default: all)
//	status_codes  the statuses whose bodies are filtered, default "200,201"
//
// Only textual bodies are filtered (text/*, JSON, JavaScript, XML), never a
// body with a Content-Encoding (list sub_filter after compression in the
// location, so that it sees the body first), and never the response of a
// WebSocket upgrade. The body is collected whole, filtered, and sent on
// without Content-Length; a body over 768 KiB (the host holds at most 1
// MiB for a plugin) is passed on unfiltered, with a warning.
package main

import (
	"bytes"
	"regexp"
	"strconv"
	"strings"

	"github.com/sluice-proxy/sluice/sdk"
)

func main() {}

func init() { sdk.Register(newPlugin) }

// maxBuffer is the most the plugin collects before giving up on a body.
const maxBuffer = 768 << 10

type rule struct {
	literal []byte
	re      *regexp.Regexp
	repl    []byte
	global  bool
}

type plugin struct {
	rules  []rule
	path   *regexp.Regexp
	status map[int]bool
}

func newPlugin(cfg []byte) (sdk.Plugin, error) {
	c, err := sdk.ParseConfig(cfg)
	if err != nil {
		return nil, err
	}
	p := &plugin{status: map[int]bool{}}
	filters := c.Strings("filters")
	if len(filters) == 0 {
		c.Invalid("filters", "required: at least one sub_filter or subs_filter rule")
	}
	for i, f := range filters {
		r, err := parseRule(f)
		if err != nil {
			c.Invalid("filters["+strconv.Itoa(i)+"]", err.Error())
			continue
		}
		p.rules = append(p.rules, r)
	}
	if s := c.String("path", ""); s != "" {
		re, err := regexp.Compile(s)
		if err != nil {
			c.Invalid("path", "bad regexp: "+err.Error())
		}
		p.path = re
	}
	for _, s := range strings.Split(c.String("status_codes", "200,201"), ",") {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		n, err := strconv.Atoi(s)
		if err != nil || n < 100 || n > 999 {
			c.Invalid("status_codes", "not a status code: "+strconv.Quote(s))
			continue
		}
		p.status[n] = true
	}
	if err := c.Err(); err != nil {
		return nil, err
	}
	return p, nil
}

type parseError string

func (e parseError) Error() string { return string(e) }

// parseRule parses one filter line.
func parseRule(s string) (rule, error) {
	words, err := split(s)
	if err != nil {
		return rule{}, err
	}
	if len(words) < 3 || len(words) > 4 {
		return rule{}, parseError("want sub_filter 'find' 'replace' [g] or subs_filter 'regexp' 'replace' [gi], got " + strconv.Quote(s))
	}
	flags := ""
	if len(words) == 4 {
		flags = words[3]
	}
	r := rule{repl: []byte(words[2])}
	switch words[0] {
	case "sub_filter":
		for _, f := range flags {
			if f != 'g' {
				return rule{}, parseError("sub_filter flag " + strconv.QuoteRune(f) + ": only g is known")
			}
			r.global = true
		}
		if words[1] == "" {
			return rule{}, parseError("sub_filter: empty string to find")
		}
		r.literal = []byte(words[1])
	case "subs_filter":
		expr := words[1]
		for _, f := range flags {
			switch f {
			case 'g':
				r.global = true
			case 'i':
				expr = "(?i)" + expr
			default:
				return rule{}, parseError("subs_filter flag " + strconv.QuoteRune(f) + ": only g and i are known")
			}
		}
		re, err := regexp.Compile(expr)
		if err != nil {
			return rule{}, parseError("subs_filter: bad regexp: " + err.Error())
		}
		r.re = re
	default:
		return rule{}, parseError("unknown directive " + strconv.Quote(words[0]) + " (want sub_filter or subs_filter)")
	}
	return r, nil
}

// split cuts a line into words; a quoted word may hold spaces.
func split(s string) ([]string, error) {
	var words []string
	for i := 0; i < len(s); {
		switch c := s[i]; {
		case c == ' ' || c == '\t':
			i++
		case c == '\'' || c == '"':
			var b strings.Builder
			j := i + 1
			for ; j < len(s) && s[j] != c; j++ {
				if s[j] == '\\' && j+1 < len(s) && (s[j+1] == c || s[j+1] == '\\') {
					j++
				}
				b.WriteByte(s[j])
			}
			if j >= len(s) {
				return nil, parseError("unclosed quote in " + strconv.Quote(s))
			}
			words = append(words, b.String())
			i = j + 1
		default:
			j := i
			for j < len(s) && s[j] != ' ' && s[j] != '\t' {
				j++
			}
			words = append(words, s[i:j])
			i = j
		}
	}
	return words, nil
}

// apply runs every rule over body.
func (p *plugin) apply(body []byte) []byte {
	for i := range p.rules {
		body = p.rules[i].apply(body)
	}
	return body
}

func (r *rule) apply(b []byte) []byte {
	if r.re == nil {
		n := 1
		if r.global {
			n = -1
		}
		return bytes.Replace(b, r.literal, r.repl, n)
	}
	if r.global {
		return r.re.ReplaceAll(b, r.repl)
	}
	m := r.re.FindSubmatchIndex(b)
	if m == nil {
		return b
	}
	out := make([]byte, 0, len(b)+len(r.repl))
	out = append(out, b[:m[0]]...)
	out = r.re.Expand(out, r.repl, b, m)
	return append(out, b[m[1]:]...)
}

type stream struct {
	p      *plugin
	active bool
	done   bool
}

// NewStream implements sdk.StreamFactory.
func (p *plugin) NewStream(sdk.Request) any { return &stream{p: p} }

// OnRequestHeaders implements sdk.RequestHeadersHandler: the path and the
// upgrade are known only here.
func (s *stream) OnRequestHeaders(r sdk.Request) sdk.Action {
	h := r.Header()
	if strings.EqualFold(h.Get("upgrade"), "websocket") {
		s.done = true
		return sdk.Continue
	}
	if s.p.path != nil {
		path := r.Path()
		if i := strings.IndexByte(path, '?'); i >= 0 {
			path = path[:i]
		}
		s.done = !s.p.path.MatchString(path)
	}
	return sdk.Continue
}

// OnResponseHeaders implements sdk.ResponseHeadersHandler.
func (s *stream) OnResponseHeaders(r sdk.Request) sdk.Action {
	if s.done || r.EndOfStream() {
		return sdk.Continue
	}
	st := r.Status()
	h := r.ResponseHeader()
	if st == 101 || !s.p.status[st] || !textual(h.Get("content-type")) {
		return sdk.Continue
	}
	if ce := h.Get("content-encoding"); ce != "" && !strings.EqualFold(ce, "identity") {
		return sdk.Continue
	}
	if cl, ok := h.Lookup("content-length"); ok {
		if n, err := strconv.Atoi(cl); err == nil && n > maxBuffer {
			sdk.Warn("sub_filter: body of " + cl + " bytes not filtered (over 768 KiB)")
			return sdk.Continue
		}
	}
	s.active = true
	h.Del("content-length")
	return sdk.Continue
}

// OnResponseBody implements sdk.ResponseBodyHandler: it holds the body
// until its end, then filters it.
func (s *stream) OnResponseBody(r sdk.Request, size int, eos bool) sdk.Action {
	if !s.active {
		return sdk.Continue
	}
	if !eos {
		if size > maxBuffer {
			sdk.Warn("sub_filter: body over 768 KiB passed on unfiltered")
			s.active = false
			return sdk.Continue
		}
		return sdk.Pause
	}
	s.active = false
	body := r.ResponseBody()
	b, err := body.Bytes()
	if err != nil {
		sdk.Error("sub_filter: reading the body: " + err.Error())
		return sdk.Continue
	}
	out := s.p.apply(b)
	if bytes.Equal(out, b) {
		return sdk.Continue
	}
	if err := body.Replace(out); err != nil {
		sdk.Error("sub_filter: replacing the body: " + err.Error())
	}
	return sdk.Continue
}

func textual(ct string) bool {
	if i := strings.IndexByte(ct, ';'); i >= 0 {
		ct = ct[:i]
	}
	ct = strings.ToLower(strings.TrimSpace(ct))
	switch {
	case strings.HasPrefix(ct, "text/"), strings.HasSuffix(ct, "+json"), strings.HasSuffix(ct, "+xml"):
		return true
	}
	switch ct {
	case "application/json", "application/javascript", "application/x-javascript", "application/xml", "image/svg+xml":
		return true
	}
	return false
}
