// Command basic_auth is the sluice plugin for Pingap's "basic_auth"
// category: HTTP Basic authentication (RFC 7617) against a fixed list of
// users.
//
// Parameters:
//
//	authorizations    required: the accepted credentials, each the base64 of
//	                  "user:password" (what a client sends after "Basic ").
//	hide_credentials  remove the Authorization header before the request
//	                  goes upstream; default false.
//	delay             wait this long before answering a failed attempt, e.g.
//	                  "1s", to slow down guessing; default 0.
//	realm             the realm of the WWW-Authenticate challenge; default
//	                  Pingap's "Access to the staging site".
//	step              Pingap's step; only "request" (the default) is valid.
//
// A request without an Authorization header gets 401 "Authorization is
// missing"; one with other credentials (or another scheme, or broken
// base64) gets 401 "Invalid user or password", after the delay. Both carry
// WWW-Authenticate: Basic realm="...", which makes browsers ask.
//
// The comparison takes the same time whichever user matches and however
// much of a password is right: the plugin compares SHA-256 digests of the
// decoded "user:password" in constant time, against every configured user.
// Credentials are never logged, nor echoed in configuration errors. A
// delay never blocks the VM: the request is paused and answered from the
// plugin's tick.
package main

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/sluice-proxy/sluice/sdk"
)

func main() {}

func init() { sdk.Register(newBasicAuth) }

// maxCredentials bounds a decoded "user:password": longer ones are refused
// without a heap allocation to decode them.
const maxCredentials = 512

var (
	bodyMissing = []byte("Authorization is missing")
	bodyInvalid = []byte("Invalid user or password")
)

type basicAuth struct {
	digests [][sha256.Size]byte // SHA-256 of each accepted "user:password"
	hide    bool
	delay   time.Duration
	headers [][2]string // of the 401 answers

	delays sdk.DelayQueue
}

func newBasicAuth(cfg []byte) (sdk.Plugin, error) {
	c, err := sdk.ParseConfig(cfg)
	if err != nil {
		return nil, err
	}
	p := &basicAuth{
		hide:  c.Bool("hide_credentials", false),
		delay: c.Duration("delay", 0),
	}
	auths := c.Strings("authorizations")
	switch {
	case !c.Has("authorizations"):
		c.Invalid("authorizations", `required: a list of base64 "user:password" credentials`)
	case auths != nil && len(auths) == 0:
		c.Invalid("authorizations", "must not be empty")
	}
	for i, a := range auths {
		// Never echo the value: it is a password.
		dec, err := base64.StdEncoding.DecodeString(strings.TrimSpace(a))
		if err != nil || strings.IndexByte(string(dec), ':') < 0 {
			c.Invalid("authorizations["+strconv.Itoa(i)+"]", `is not the base64 of "user:password"`)
			continue
		}
		if len(dec) > maxCredentials {
			c.Invalid("authorizations["+strconv.Itoa(i)+"]", "is longer than "+strconv.Itoa(maxCredentials)+" bytes decoded")
			continue
		}
		p.digests = append(p.digests, sha256.Sum256(dec))
	}
	realm := c.String("realm", "Access to the staging site")
	if !validRealm(realm) {
		c.Invalid("realm", "must be printable text without quotes or backslashes")
	}
	if s := c.String("step", "request"); s != "request" {
		c.Invalid("step", "basic_auth runs at the request step, not "+strconv.Quote(s))
	}
	p.headers = [][2]string{
		{"www-authenticate", `Basic realm="` + realm + `"`},
		{"content-type", "text/plain; charset=utf-8"},
	}
	return p, c.Err()
}

// validRealm reports whether s can go in a quoted-string as it is.
func validRealm(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == 0x7f || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

func (p *basicAuth) OnRequestHeaders(r sdk.Request) sdk.Action {
	h := r.Header()
	v, ok := h.Lookup("authorization")
	if !ok || v == "" {
		return p.deny(r, bodyMissing, false)
	}
	if !p.valid(v) {
		return p.deny(r, bodyInvalid, true)
	}
	if p.hide {
		if err := h.Del("authorization"); err != nil {
			sdk.Error("basic_auth: hiding the credentials: " + err.Error())
		}
	}
	return sdk.Continue
}

// valid reports whether the Authorization header value v carries accepted
// Basic credentials. Its time does not depend on which user matches.
func (p *basicAuth) valid(v string) bool {
	scheme, b64, ok := strings.Cut(strings.TrimLeft(v, " "), " ")
	if !ok || !strings.EqualFold(scheme, "basic") {
		return false
	}
	b64 = strings.Trim(b64, " ")
	// Decode on the stack: base64 works in groups of 4 characters to 3
	// bytes.
	var src [(maxCredentials + 2) / 3 * 4]byte
	var buf [len(src) / 4 * 3]byte
	if len(b64) > len(src) {
		return false
	}
	n, err := base64.StdEncoding.Decode(buf[:], src[:copy(src[:], b64)])
	if err != nil {
		return false
	}
	sum := sha256.Sum256(buf[:n])
	match := 0
	for i := range p.digests {
		match |= subtle.ConstantTimeCompare(sum[:], p.digests[i][:])
	}
	return match == 1
}

// deny answers 401, after the delay when the client sent credentials.
func (p *basicAuth) deny(r sdk.Request, body []byte, delayed bool) sdk.Action {
	if !delayed || p.delay <= 0 {
		p.respond(r, body)
		return sdk.Pause
	}
	if err := p.delays.After(p.delay, func() { p.respond(r, body) }); err != nil {
		sdk.Warn("basic_auth: cannot delay the answer, answering now: " + err.Error())
		p.respond(r, body)
	}
	return sdk.Pause
}

func (p *basicAuth) respond(r sdk.Request, body []byte) {
	if err := r.Respond(401, p.headers, body); err != nil && !errors.Is(err, sdk.ErrStreamGone) {
		sdk.Error("basic_auth: " + err.Error())
	}
}

// OnTick answers the delayed failures that are due.
func (p *basicAuth) OnTick() { p.delays.Tick() }
