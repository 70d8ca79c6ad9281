// Command key_auth is the sluice plugin for Pingap's "key_auth" category:
// requests must carry one of a list of API keys, in a header or a query
// parameter.
//
// Parameters:
//
//	header            the request header that carries the key, e.g.
//	                  "X-Api-Key".
//	query             the query parameter that carries the key, e.g.
//	                  "api_key". One of header and query is required; when
//	                  both are set, query is used (as Pingap does).
//	keys              required: the accepted keys.
//	hide_credentials  remove the key (the header, or the query parameter
//	                  from the path) before the request goes upstream;
//	                  default false.
//	delay             wait this long before answering a wrong key, e.g.
//	                  "1s", to slow down guessing; default 0.
//	step              Pingap's step: "request" (default) or
//	                  "proxy_upstream"; sluice runs both before the request
//	                  goes upstream, so they behave the same.
//
// A request without the key gets 401 "Key missing"; one with a key that is
// not in the list gets 401 "Key auth fail", after the delay.
//
// Keys are compared as SHA-256 digests in constant time, against every key,
// so the time taken says nothing about how much of a key is right or which
// key matched. Keys are never logged, nor echoed in configuration errors.
// A delay never blocks the VM: the request is paused and answered from the
// plugin's tick.
package main

import (
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"strconv"
	"time"

	"github.com/sluice-proxy/sluice/sdk"
)

func main() {}

func init() { sdk.Register(newKeyAuth) }

var (
	bodyMissing = []byte("Key missing")
	bodyInvalid = []byte("Key auth fail")
	textPlain   = [][2]string{{"content-type", "text/plain; charset=utf-8"}}
)

type keyAuth struct {
	header  string // lower-case; "" when the key is in the query
	query   string
	digests [][sha256.Size]byte // SHA-256 of each accepted key
	hide    bool
	delay   time.Duration

	delays sdk.DelayQueue
}

func newKeyAuth(cfg []byte) (sdk.Plugin, error) {
	c, err := sdk.ParseConfig(cfg)
	if err != nil {
		return nil, err
	}
	p := &keyAuth{
		hide:  c.Bool("hide_credentials", false),
		delay: c.Duration("delay", 0),
	}
	header, query := c.String("header", ""), c.String("query", "")
	switch {
	case query != "":
		p.query = query
	case header != "":
		if !sdk.IsToken(header) {
			c.Invalid("header", strconv.Quote(header)+" is not a valid header name")
		}
		p.header = lowerASCII(header)
	default:
		c.Invalid("header", "set header or query: where the key is")
	}
	keys := c.Strings("keys")
	switch {
	case !c.Has("keys"):
		c.Invalid("keys", "required: the accepted keys")
	case keys != nil && len(keys) == 0:
		c.Invalid("keys", "must not be empty")
	}
	for i, k := range keys {
		if k == "" {
			c.Invalid("keys["+strconv.Itoa(i)+"]", "must not be empty")
			continue
		}
		p.digests = append(p.digests, sha256.Sum256([]byte(k)))
	}
	switch s := c.String("step", "request"); s {
	case "request", "proxy_upstream":
	default:
		c.Invalid("step", `key_auth runs at the "request" or "proxy_upstream" step, not `+strconv.Quote(s))
	}
	return p, c.Err()
}

func lowerASCII(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

func (p *keyAuth) OnRequestHeaders(r sdk.Request) sdk.Action {
	h := r.Header()
	var key, path string
	if p.header != "" {
		key = h.Get(p.header)
	} else {
		path = r.Path()
		key, _ = sdk.QueryParam(path, p.query)
	}
	if key == "" {
		return p.deny(r, bodyMissing, false)
	}
	if !p.valid(key) {
		return p.deny(r, bodyInvalid, true)
	}
	if p.hide {
		var err error
		if p.header != "" {
			err = h.Del(p.header)
		} else {
			err = h.Set(":path", sdk.WithoutQueryParam(path, p.query))
		}
		if err != nil {
			sdk.Error("key_auth: hiding the key: " + err.Error())
		}
	}
	return sdk.Continue
}

// valid reports whether key is one of the accepted keys, in a time that
// does not depend on which.
func (p *keyAuth) valid(key string) bool {
	sum := sha256.Sum256([]byte(key))
	match := 0
	for i := range p.digests {
		match |= subtle.ConstantTimeCompare(sum[:], p.digests[i][:])
	}
	return match == 1
}

// deny answers 401, after the delay when the client sent a key.
func (p *keyAuth) deny(r sdk.Request, body []byte, delayed bool) sdk.Action {
	if !delayed || p.delay <= 0 {
		respond(r, body)
		return sdk.Pause
	}
	if err := p.delays.After(p.delay, func() { respond(r, body) }); err != nil {
		sdk.Warn("key_auth: cannot delay the answer, answering now: " + err.Error())
		respond(r, body)
	}
	return sdk.Pause
}

func respond(r sdk.Request, body []byte) {
	if err := r.Respond(401, textPlain, body); err != nil && !errors.Is(err, sdk.ErrStreamGone) {
		sdk.Error("key_auth: " + err.Error())
	}
}

// OnTick answers the delayed failures that are due.
func (p *keyAuth) OnTick() { p.delays.Tick() }
