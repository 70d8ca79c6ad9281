// Command ua_restriction is the sluice plugin for Pingap's
// "ua_restriction" category: it answers 403 by the User-Agent header.
//
// Parameters (Pingap's):
//
//	ua_list  required: regular expressions (RE2 syntax, which Pingap's Rust
//	         regex shares); a user agent matches if any of them matches
//	         anywhere in it ("^...$" to match it whole).
//	type     "allow" (default): only matching user agents pass, and a
//	         request without one is refused; "deny": matching user agents
//	         are refused. Case does not matter.
//	message  the 403 body (default "Request is forbidden").
//
// The patterns are compiled once, into one alternation, when the plugin is
// configured: a request costs one match.
package main

import (
	"regexp"
	"strconv"
	"strings"

	"github.com/sluice-proxy/sluice/sdk"
)

func main() {}

func init() { sdk.Register(newUARestriction) }

type plugin struct {
	re              *regexp.Regexp
	sdk.Restriction // type and message
}

func newUARestriction(cfg []byte) (sdk.Plugin, error) {
	c, err := sdk.ParseConfig(cfg)
	if err != nil {
		return nil, err
	}
	p := &plugin{}
	list := c.Strings("ua_list")
	switch {
	case list == nil && !c.Has("ua_list"):
		c.Invalid("ua_list", "required: the user-agent patterns to allow or deny")
	case list != nil && len(list) == 0:
		c.Invalid("ua_list", "must list at least one pattern")
	}
	var all strings.Builder
	for i, s := range list {
		// Each alone first, so that an error names the entry.
		if _, err := regexp.Compile(s); err != nil {
			c.Invalid("ua_list["+strconv.Itoa(i)+"]", err.Error())
			continue
		}
		if all.Len() > 0 {
			all.WriteByte('|')
		}
		all.WriteString("(?:" + s + ")")
	}
	if all.Len() > 0 {
		p.re, err = regexp.Compile(all.String())
		if err != nil {
			c.Invalid("ua_list", err.Error())
		}
	}
	p.Restriction = c.Restriction()
	return p, c.Err()
}

func (p *plugin) OnRequestHeaders(r sdk.Request) sdk.Action {
	ua, ok := r.Header().Lookup("user-agent")
	return p.Check(r, ok && p.re.MatchString(ua))
}
