// Command accept_encoding is the sluice plugin for Pingap's
// "accept_encoding" category: it rewrites the request's Accept-Encoding to
// the configured codings, in the configured order, keeping only those the
// client accepts, so that the upstream (or a cache keyed on the header)
// sees few variants.
//
// Parameters (Pingap's):
//
//	encodings          required: the codings, in order of preference, as a
//	                   comma-separated string ("zstd, br, gzip").
//	only_one_encoding  true keeps only the first coding the client accepts.
//
// A coding is accepted when the client lists it with a q-value above zero,
// or, not listing it, lists "*" with a q-value above zero (RFC 9110
// §12.5.3); a malformed q-value accepts nothing. Names compare without
// regard to case and as whole tokens ("x-gzip" is not "gzip"). The result,
// e.g. "zstd, gzip", replaces the header; when no coding is accepted the
// header is removed. A request without Accept-Encoding is left alone.
package main

import (
	"strconv"
	"strings"

	"github.com/sluice-proxy/sluice/sdk"
)

func main() {}

func init() { sdk.Register(newAcceptEncoding) }

type plugin struct {
	encodings []string
	onlyOne   bool
	buf       []byte
}

func newAcceptEncoding(cfg []byte) (sdk.Plugin, error) {
	c, err := sdk.ParseConfig(cfg)
	if err != nil {
		return nil, err
	}
	p := &plugin{onlyOne: c.Bool("only_one_encoding", false)}
	list := c.String("encodings", "")
	for _, e := range strings.Split(list, ",") {
		e = strings.TrimSpace(e)
		switch {
		case e == "":
			continue
		case !sdk.IsToken(e) || e == "*":
			c.Invalid("encodings", strconv.Quote(e)+" is not a content coding")
			continue
		}
		for _, seen := range p.encodings {
			if strings.EqualFold(seen, e) {
				c.Invalid("encodings", strconv.Quote(e)+" is listed twice")
			}
		}
		p.encodings = append(p.encodings, e)
	}
	if len(p.encodings) == 0 && c.Err() == nil {
		c.Invalid("encodings", `required: the codings to keep, in order, e.g. "zstd, br, gzip"`)
	}
	return p, c.Err()
}

func (p *plugin) OnRequestHeaders(r sdk.Request) sdk.Action {
	h := r.Header()
	// Several Accept-Encoding lines form one list: read them all (one
	// host call fetches the map for the callback).
	values := h.Values("accept-encoding")
	if len(values) == 0 {
		return sdk.Continue
	}
	b := p.buf[:0]
	for _, e := range p.encodings {
		if !accepts(values, e) {
			continue
		}
		if len(b) > 0 {
			b = append(b, ", "...)
		}
		b = append(b, e...)
		if p.onlyOne {
			break
		}
	}
	p.buf = b
	var err error
	switch {
	case len(b) == 0:
		err = h.Del("accept-encoding")
	case len(values) == 1 && values[0] == string(b):
		return sdk.Continue // already so
	default:
		err = h.Set("accept-encoding", string(b))
	}
	if err != nil {
		sdk.Error("accept_encoding: " + err.Error())
	}
	return sdk.Continue
}

// accepts reports whether the Accept-Encoding values accept coding.
func accepts(values []string, coding string) bool {
	if listed, ok := lookup(values, coding); listed {
		return ok
	}
	listed, ok := lookup(values, "*")
	return listed && ok
}

// lookup finds coding in the Accept-Encoding values: whether it is listed
// and, if so, whether its q-value is above zero (the first listing wins).
func lookup(values []string, coding string) (listed, ok bool) {
	for _, v := range values {
		for v != "" {
			var item string
			item, v, _ = strings.Cut(v, ",")
			name, params, _ := strings.Cut(item, ";")
			if !strings.EqualFold(strings.TrimSpace(name), coding) {
				continue
			}
			return true, positiveQ(params)
		}
	}
	return false, false
}

// positiveQ reports whether the parameters of a list item (after its
// first ";") give a q-value above zero; no q means 1.
func positiveQ(params string) bool {
	for params != "" {
		var p string
		p, params, _ = strings.Cut(params, ";")
		k, v, _ := strings.Cut(p, "=")
		if !strings.EqualFold(strings.TrimSpace(k), "q") {
			continue
		}
		q, valid := parseQ(strings.TrimSpace(v))
		return valid && q > 0
	}
	return true
}

// parseQ parses an RFC 9110 qvalue ("0", "0.5", "1.000") in thousandths.
func parseQ(s string) (int, bool) {
	if s == "" || (s[0] != '0' && s[0] != '1') {
		return 0, false
	}
	q := int(s[0]-'0') * 1000
	if len(s) == 1 {
		return q, true
	}
	if s[1] != '.' || len(s) > 5 {
		return 0, false
	}
	scale := 100
	for i := 2; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
		q += int(s[i]-'0') * scale
		scale /= 10
	}
	if q > 1000 {
		return 0, false
	}
	return q, true
}
