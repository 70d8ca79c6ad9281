// Command jwt is the sluice plugin for Pingap's "jwt" category: requests
// must carry a valid JSON Web Token (RFC 7519), signed with a shared
// secret, a configured public key, or a key of a JSON Web Key Set fetched
// from an upstream; and it can mint tokens on a login path.
//
// Parameters:
//
//	header         the request header with the token, e.g. "Authorization"
//	               ("Bearer " before the token is optional).
//	cookie         the cookie with the token.
//	query          the query parameter with the token. At least one of
//	               header, cookie and query is required; with several, the
//	               first present in that order is used.
//	secret         the HMAC secret, for HS256/HS384/HS512.
//	public_key     a PEM public key ("PUBLIC KEY" or "RSA PUBLIC KEY"), for
//	               RS*, PS* (RSA) and ES256/384/512 (P-256/384/521).
//	jwks_url       a JSON Web Key Set, "http://idp/.well-known/jwks.json":
//	               fetched with an http callout to the [upstreams.NAME]
//	               named by the URL's host (without the port), with the
//	               URL's path, and Host set to the URL's host. Exactly one
//	               of secret, public_key and jwks_url is required.
//	jwks_upstream  the upstream to fetch jwks_url from instead, when the
//	               URL's host is not the name of one.
//	jwks_ttl       how long fetched keys are trusted before they are
//	               fetched again; default "1h".
//	jwks_cooldown  the least time between two fetches, which bounds the
//	               fetches that tokens with unknown kids cause; default
//	               "10s".
//	algorithm      the only algorithm accepted: default HS256 with secret;
//	               required with public_key (and of its key's type);
//	               optional with jwks_url (default: any the key fits).
//	auth_path      a path (e.g. "/login") that passes without a token and
//	               whose 2xx JSON answers are turned into tokens: the
//	               upstream's JSON object becomes the claims, signed with
//	               secret (HS* only), and the client gets {"token": "..."}.
//	delay          wait this long before refusing a token that was sent,
//	               e.g. "1s"; default 0.
//	step           Pingap's step; only "request" (the default) is valid.
//
// Refusals are 401 with WWW-Authenticate: Bearer and Pingap's wording:
// "Jwt authorization is missing", "... format is invalid", "... is
// invalid" (bad signature, wrong key, unknown kid, "alg": "none" or an
// algorithm not allowed), "... is expired" (from the second of "exp" on),
// "... is not yet valid" (before "nbf"). With jwks_url, a request that
// arrives before any key set could be fetched gets 503.
//
// Each VM fetches the key set when the plugin is configured (so an unknown
// upstream fails the configuration at load), when a request finds its keys
// older than jwks_ttl, and when a token names a kid it does not have (a key
// rotation), at most once per jwks_cooldown. Requests that need the fetch
// wait for it, paused; a failed fetch keeps the keys there were, with a
// warning. RSA and EC keys with "use" "sig" (or none) are taken; others are
// skipped.
//
// Signatures are verified by the host (natively, much faster than in the
// module under the callback budget) when it offers sluice.crypto.verify,
// and in the module otherwise.
//
// A token that passed is remembered (per VM, up to 1024 tokens) until its
// "exp" and for at most 5 minutes, so that a client's next requests with it
// skip the signature check; with jwks_url every fetch of the key set
// forgets them.
//
// The algorithm is never taken from the token alone: a token whose "alg"
// is not the configured one (or, with jwks_url, does not fit the key) is
// refused, so that a public key cannot be used as an HMAC secret. HMAC
// signatures are compared in constant time. Tokens, secrets and claims are
// never logged. A delay never blocks the VM.
package main

import (
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/sluice-proxy/sluice/sdk"
)

func main() {}

func init() { sdk.Register(newJWT) }

var (
	denyHeaders = [][2]string{
		{"www-authenticate", "Bearer"},
		{"content-type", "text/plain; charset=utf-8"},
	}
	textPlain = [][2]string{{"content-type", "text/plain; charset=utf-8"}}
)

type jwtPlugin struct {
	header string // lower-case
	cookie string
	query  string

	alg    *alg // the accepted algorithm; nil: any the JWKS key fits
	secret []byte
	pub    *key
	jwks   *jwks

	authPath string
	minting  map[uint32]bool // with auth_path: its streams, true once the answer is being signed

	delay  time.Duration
	delays sdk.DelayQueue

	cache verified

	// native: the host verifies signatures (verify.go).
	native bool
}

func newJWT(cfg []byte) (sdk.Plugin, error) {
	c, err := sdk.ParseConfig(cfg)
	if err != nil {
		return nil, err
	}
	p := &jwtPlugin{
		header:   strings.ToLower(c.String("header", "")),
		cookie:   c.String("cookie", ""),
		query:    c.String("query", ""),
		authPath: c.String("auth_path", ""),
		delay:    c.Duration("delay", 0),
	}
	if p.header == "" && p.cookie == "" && p.query == "" {
		c.Invalid("header", "set header, cookie or query: where the token is")
	}
	if p.header != "" && !sdk.IsToken(p.header) {
		c.Invalid("header", strconv.Quote(p.header)+" is not a valid header name")
	}

	secret := c.String("secret", "")
	pem := c.String("public_key", "")
	jwksURL := c.String("jwks_url", "")
	algName := c.String("algorithm", "")
	if algName != "" {
		p.alg = algs[algName]
		if p.alg == nil {
			c.Invalid("algorithm", "want one of HS256, HS384, HS512, RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, ES512; got "+strconv.Quote(algName))
		}
	}
	switch n := btoi(secret != "") + btoi(pem != "") + btoi(jwksURL != ""); {
	case n == 0:
		c.Invalid("secret", "set secret, public_key or jwks_url: what tokens are verified with")
	case n > 1:
		c.Invalid("secret", "set only one of secret, public_key and jwks_url")
	case secret != "":
		p.secret = []byte(secret)
		if algName == "" {
			p.alg = algs["HS256"]
		} else if p.alg != nil && p.alg.kind != 'H' {
			c.Invalid("algorithm", algName+" needs public_key or jwks_url; secret is for HS256, HS384 and HS512")
		}
	case pem != "":
		k, err := parsePublicKey(pem)
		switch {
		case err != nil:
			c.Invalid("public_key", "not a usable PEM public key: "+err.Error())
		case algName == "":
			c.Invalid("algorithm", "required with public_key: RS*, PS* for an RSA key, ES* for an EC key")
		case p.alg != nil && !k.fits(p.alg):
			c.Invalid("algorithm", algName+" does not fit the public_key's type or curve")
		}
		p.pub = k
	default:
		p.jwks = &jwks{
			ttl:      c.Duration("jwks_ttl", time.Hour),
			cooldown: c.Duration("jwks_cooldown", 10*time.Second),
			changed:  p.cache.clear,
		}
		if msg := p.jwks.parseURL(jwksURL); msg != "" {
			c.Invalid("jwks_url", msg)
		}
		if up := c.String("jwks_upstream", ""); up != "" {
			p.jwks.upstream = up
		}
		if p.jwks.ttl <= 0 {
			c.Invalid("jwks_ttl", "must be more than 0")
		}
		if p.alg != nil && p.alg.kind == 'H' {
			c.Invalid("algorithm", algName+" needs secret; a key set is for RS*, PS* and ES*")
		}
	}
	if p.jwks == nil {
		for _, k := range []string{"jwks_upstream", "jwks_ttl", "jwks_cooldown"} {
			if c.Has(k) {
				c.Invalid(k, "only goes with jwks_url")
			}
		}
	}
	if p.authPath != "" {
		switch {
		case p.authPath[0] != '/':
			c.Invalid("auth_path", "must start with /")
		case p.secret == nil:
			c.Invalid("auth_path", "minting tokens needs secret (HS256, HS384 or HS512)")
		}
	}
	if s := c.String("step", "request"); s != "request" {
		c.Invalid("step", "jwt runs at the request step, not "+strconv.Quote(s))
	}
	if err := c.Err(); err != nil {
		return nil, err
	}
	p.native = sdk.VerifierAvailable()
	if p.native {
		sdk.Debug("jwt: signatures are verified by the host")
	} else {
		sdk.Debug("jwt: the host has no signature verifier; signatures are verified in the module")
	}
	var plugin sdk.Plugin = p
	if p.authPath != "" {
		// Only a minting plugin sees the responses: the host skips the
		// response callbacks of plugins without handlers for them.
		p.minting = map[uint32]bool{}
		plugin = minter{p}
	}
	if p.jwks != nil {
		// Fetch the keys now, so that the first requests need not wait;
		// an unknown upstream is refused here, at load.
		if err := p.jwks.fetch(); err != nil {
			c.Invalid("jwks_url", "cannot fetch from upstream "+strconv.Quote(p.jwks.upstream)+
				" (is there an [upstreams."+p.jwks.upstream+"]?): "+err.Error())
			return nil, c.Err()
		}
	}
	return plugin, nil
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

func (p *jwtPlugin) OnRequestHeaders(r sdk.Request) sdk.Action {
	if p.authPath != "" {
		if u, _, _ := strings.Cut(r.Path(), "?"); u == p.authPath {
			p.minting[r.ID()] = false
			return sdk.Continue
		}
	}
	raw := p.token(r)
	if raw == "" {
		return p.deny(r, bodyMissing, false)
	}
	now := sdk.Now()
	if (p.jwks == nil || p.jwks.fresh(now)) && p.cache.has(raw, unixSeconds(now)) {
		return sdk.Continue
	}
	t, why := parseToken(raw)
	if why != nil {
		return p.deny(r, why, true)
	}
	if !p.accepts(t.alg) {
		return p.deny(r, bodyInvalid, true)
	}
	if p.jwks != nil && p.jwks.mustWait(now, t) {
		p.jwks.waiters = append(p.jwks.waiters, func() {
			if p.finish(r, t, sdk.Now()) == sdk.Continue {
				if err := r.Resume(); err != nil && !errors.Is(err, sdk.ErrStreamGone) {
					sdk.Error("jwt: " + err.Error())
				}
			}
		})
		return sdk.Pause
	}
	return p.finish(r, t, now)
}

// token returns the raw token of the request, from the first of header,
// cookie and query that has one.
func (p *jwtPlugin) token(r sdk.Request) string {
	if p.header != "" {
		if v := bearer(r.Header().Get(p.header)); v != "" {
			return v
		}
	}
	if p.cookie != "" {
		if v, _ := r.Cookie(p.cookie); v != "" {
			return v
		}
	}
	if p.query != "" {
		if v, _ := sdk.QueryParam(r.Path(), p.query); v != "" {
			return v
		}
	}
	return ""
}

// accepts reports whether tokens signed with a may pass: only the
// configured algorithm, or with a key set and none configured, any
// asymmetric one (the key must then fit it too).
func (p *jwtPlugin) accepts(a *alg) bool {
	if p.alg != nil {
		return a == p.alg
	}
	return a.kind != 'H'
}

// finish verifies t's signature and its claims at now, and lets the
// request go on (Continue) or refuses it.
func (p *jwtPlugin) finish(r sdk.Request, t *token, now time.Time) sdk.Action {
	ok := false
	switch {
	case p.secret != nil:
		ok = p.checkHMAC(t)
	case p.pub != nil:
		ok = p.checkKey(t, p.pub)
	default:
		if p.jwks.fetched.IsZero() {
			p.respond(r, 503, textPlain, bodyNoKeys)
			return sdk.Pause
		}
		for _, k := range p.jwks.candidates(t) {
			if p.checkKey(t, k) {
				ok = true
				break
			}
		}
	}
	if !ok {
		return p.deny(r, bodyInvalid, true)
	}
	exp, why := t.checkClaims(now)
	if why != nil {
		return p.deny(r, why, true)
	}
	p.cache.put(t.raw, exp, now)
	return sdk.Continue
}

// deny answers 401, after the delay when the client sent a token.
func (p *jwtPlugin) deny(r sdk.Request, body []byte, delayed bool) sdk.Action {
	if !delayed || p.delay <= 0 {
		p.respond(r, 401, denyHeaders, body)
		return sdk.Pause
	}
	if err := p.delays.After(p.delay, func() { p.respond(r, 401, denyHeaders, body) }); err != nil {
		sdk.Warn("jwt: cannot delay the answer, answering now: " + err.Error())
		p.respond(r, 401, denyHeaders, body)
	}
	return sdk.Pause
}

func (p *jwtPlugin) respond(r sdk.Request, status int, headers [][2]string, body []byte) {
	if err := r.Respond(status, headers, body); err != nil && !errors.Is(err, sdk.ErrStreamGone) {
		sdk.Error("jwt: " + err.Error())
	}
}

// OnTick answers the delayed refusals that are due.
func (p *jwtPlugin) OnTick() { p.delays.Tick() }

// minter is the plugin when auth_path is set: it also turns the answers on
// auth_path into tokens.
type minter struct{ *jwtPlugin }

// OnResponseHeaders starts minting on auth_path when the upstream answered
// 2xx with JSON: the body will be replaced, so its length goes.
func (p minter) OnResponseHeaders(r sdk.Request) sdk.Action {
	if _, ok := p.minting[r.ID()]; !ok {
		return sdk.Continue
	}
	st := r.Status()
	h := r.ResponseHeader()
	if st < 200 || st > 299 || r.EndOfStream() || !isJSON(h.Get("content-type")) {
		delete(p.minting, r.ID())
		return sdk.Continue
	}
	p.minting[r.ID()] = true
	if err := h.Del("content-length"); err != nil {
		sdk.Error("jwt: " + err.Error())
	}
	return sdk.Continue
}

// OnResponseBody buffers the auth_path answer and replaces it with
// {"token": "..."} whose claims are the upstream's JSON object. An answer
// that is not a JSON object is passed on unsigned, with a warning.
func (p minter) OnResponseBody(r sdk.Request, size int, endOfStream bool) sdk.Action {
	if !p.minting[r.ID()] {
		return sdk.Continue
	}
	if !endOfStream {
		return sdk.Pause // buffer until the whole answer is there
	}
	delete(p.minting, r.ID())
	body, err := r.ResponseBody().Bytes()
	if err != nil {
		sdk.Error("jwt: reading the auth_path answer: " + err.Error())
		return sdk.Continue
	}
	claims := []byte(strings.TrimSpace(string(body)))
	if v, err := parseJSON(claims); err != nil || v.Kind != jsonObject {
		sdk.Warn("jwt: the answer on auth_path " + p.authPath + " is not a JSON object; passed on unsigned")
		return sdk.Continue
	}
	out := `{"token":"` + sign(p.alg, p.secret, claims) + `"}`
	if err := r.ResponseBody().Replace([]byte(out)); err != nil {
		sdk.Error("jwt: replacing the auth_path answer: " + err.Error())
	}
	return sdk.Continue
}

// OnDone forgets the stream's minting state.
func (p minter) OnDone(r sdk.Request) {
	if len(p.minting) > 0 {
		delete(p.minting, r.ID())
	}
}

// isJSON reports whether a Content-Type is JSON (application/json or a
// +json type).
func isJSON(ct string) bool {
	mt, _, _ := strings.Cut(ct, ";")
	mt = strings.ToLower(strings.TrimSpace(mt))
	return mt == "application/json" || strings.HasPrefix(mt, "application/") && strings.HasSuffix(mt, "+json")
}
