// Command traffic_splitting is the sluice plugin for Pingap's
// "traffic_splitting" category: it sends a share of a location's requests
// to another upstream (canaries, blue/green, A/B tests). It picks the
// upstream through the property sluice.upstream.
//
// Parameters (Pingap's):
//
//	upstream       required: the upstream ([upstreams.NAME]) to send to.
//	weight         0-100 (default 0): the percentage of requests sent.
//	stickiness     false (default): each request rolls at random; true: the
//	               roll is crc32(value) % 100 of the sticky value, so a
//	               client always lands on the same side.
//	sticky_cookie  the cookie holding the sticky value.
//	sticky_header  the header holding it, when sticky_cookie is not set.
//	matcher        with stickiness, a regular expression (RE2) on the
//	               sticky value: a match rolls 0 (sent when weight > 0),
//	               anything else is never sent.
//
// A request is sent when its roll < weight. Without its sticky value a
// sticky request is never sent. An upstream name the config does not have
// is logged (once per VM) and the location's own upstream is used.
package main

import (
	"errors"
	"hash/crc32"
	"math/rand/v2"
	"regexp"
	"strconv"
	"strings"

	"github.com/sluice-proxy/sluice/sdk"
)

func main() {}

func init() { sdk.Register(newTrafficSplitting) }

// never is a roll no weight reaches.
const never = 255

type plugin struct {
	upstream   []byte
	weight     int
	stickiness bool
	cookie     string
	header     string // lower case
	matcher    *regexp.Regexp
	warned     bool
}

func newTrafficSplitting(cfg []byte) (sdk.Plugin, error) {
	c, err := sdk.ParseConfig(cfg)
	if err != nil {
		return nil, err
	}
	p := &plugin{}
	up := c.String("upstream", "")
	if up == "" {
		c.Invalid("upstream", "required: the upstream to send the share to")
	}
	p.upstream = []byte(up)
	p.weight = c.Int("weight", 0)
	if p.weight < 0 || p.weight > 100 {
		c.Invalid("weight", "must be between 0 and 100, got "+strconv.Itoa(p.weight))
	}
	p.stickiness = c.Bool("stickiness", false)
	p.cookie = c.String("sticky_cookie", "")
	p.header = strings.ToLower(c.String("sticky_header", ""))
	if p.header != "" && !sdk.IsToken(p.header) {
		c.Invalid("sticky_header", strconv.Quote(p.header)+" is not a valid header name")
	}
	if m := c.String("matcher", ""); m != "" {
		if p.matcher, err = regexp.Compile(m); err != nil {
			c.Invalid("matcher", err.Error())
		}
	}
	if p.stickiness && p.cookie == "" && p.header == "" {
		c.Invalid("stickiness", "needs sticky_cookie or sticky_header")
	}
	if !p.stickiness && (p.cookie != "" || p.header != "" || p.matcher != nil) {
		c.Invalid("stickiness", "sticky_cookie, sticky_header and matcher need stickiness = true")
	}
	return p, c.Err()
}

// roll returns the request's roll: 0-99, or never.
func (p *plugin) roll(r sdk.Request) int {
	if !p.stickiness {
		return rand.IntN(100)
	}
	var v string
	var ok bool
	if p.cookie != "" {
		v, ok = r.Cookie(p.cookie)
	} else {
		v, ok = r.Header().Lookup(p.header)
	}
	if !ok {
		return never
	}
	if p.matcher != nil {
		if p.matcher.MatchString(v) {
			return 0
		}
		return never
	}
	return int(crc32IEEE(v) % 100)
}

// crc32IEEE is crc32.ChecksumIEEE (Pingap's crc32fast::hash) of a string,
// without converting it to a byte slice.
func crc32IEEE(s string) uint32 {
	crc := ^uint32(0)
	for i := 0; i < len(s); i++ {
		crc = crc32.IEEETable[byte(crc)^s[i]] ^ crc>>8
	}
	return ^crc
}

func (p *plugin) OnRequestHeaders(r sdk.Request) sdk.Action {
	if p.weight == 0 || p.roll(r) >= p.weight {
		return sdk.Continue
	}
	if err := r.SetProperty("sluice.upstream", p.upstream); err != nil && !p.warned {
		p.warned = true
		msg := "traffic_splitting: cannot send to upstream " + strconv.Quote(string(p.upstream)) + ": "
		if errors.Is(err, sdk.ErrBadArgument) {
			msg += "the config has no such upstream"
		} else {
			msg += err.Error()
		}
		sdk.Error(msg)
	}
	return sdk.Continue
}
