// Command csrf is the sluice plugin for Pingap's "csrf" category: a
// double-submit cookie check with Pingap's signed tokens.
//
// Parameters (Pingap's):
//
//	token_path  required: the path (query ignored) that issues a token.
//	key         required: the secret that signs tokens. Every sluice (and
//	            Pingap) sharing it accepts the others' tokens.
//	name        the cookie and header name (default "x-csrf-token").
//	ttl         how long a token is valid, a duration; "0" or absent: for
//	            ever.
//
// A request to token_path is answered 204 with Cache-Control: no-store and
// Set-Cookie: NAME=TOKEN; Path=/ (plus Max-Age when ttl is set). The page's
// script reads the cookie and sends it back in the NAME header: requests
// other than GET, HEAD and OPTIONS must carry the header, equal to the
// cookie, holding a token signed with key and not older than ttl, or they
// are answered 401 "Csrf token is empty or invalid". A cross-site page can
// make the browser send the cookie but cannot read it to set the header.
//
// The token is Pingap's: ID.TS.SIG, ID 12 random characters of the nanoid
// alphabet, TS the issue time in Unix seconds as lower-case hex, SIG the
// standard padded base64 of sha256(ID + "." + TS + key). The signature is
// compared in constant time; the key is never logged.
package main

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"strconv"
	"strings"
	"time"

	"github.com/sluice-proxy/sluice/sdk"
)

func main() {}

func init() { sdk.Register(newCSRF) }

type plugin struct {
	tokenPath string
	key       []byte
	name      string   // lower case: a header name as the host gives it
	cookie    string   // as configured: cookie names are case-sensitive
	ttl       int64    // seconds; 0: no expiry
	msg       []byte   // what is signed, reused
	b64Buf    [44]byte // the signature, reused
}

func newCSRF(cfg []byte) (sdk.Plugin, error) {
	c, err := sdk.ParseConfig(cfg)
	if err != nil {
		return nil, err
	}
	p := &plugin{tokenPath: c.String("token_path", "")}
	switch {
	case p.tokenPath == "":
		c.Invalid("token_path", "required: the path that issues tokens")
	case p.tokenPath[0] != '/':
		c.Invalid("token_path", "must start with /")
	}
	key := c.String("key", "")
	if key == "" {
		c.Invalid("key", "required: the secret that signs tokens")
	}
	p.key = []byte(key)
	p.cookie = c.String("name", "x-csrf-token")
	if !sdk.IsToken(p.cookie) {
		c.Invalid("name", strconv.Quote(p.cookie)+" is not a valid header and cookie name")
	}
	p.name = strings.ToLower(p.cookie)
	ttl := c.Duration("ttl", 0)
	switch {
	case ttl < 0:
		c.Invalid("ttl", "must not be negative")
	case ttl > 0 && ttl < time.Second:
		c.Invalid("ttl", "must be at least 1s (tokens carry whole seconds)")
	}
	p.ttl = int64(ttl / time.Second)
	return p, c.Err()
}

func (p *plugin) OnRequestHeaders(r sdk.Request) sdk.Action {
	path := r.Path()
	if i := strings.IndexByte(path, '?'); i >= 0 {
		path = path[:i]
	}
	if path == p.tokenPath {
		p.issue(r)
		return sdk.Pause
	}
	switch r.Method() {
	case "GET", "HEAD", "OPTIONS":
		return sdk.Continue
	}
	header := r.Header().Get(p.name)
	cookie, _ := r.Cookie(p.cookie)
	// The header and the cookie are both the client's: comparing them is
	// no secret, the signature is.
	if header == "" || header != cookie || !p.valid(header, sdk.Now().Unix()) {
		if err := r.Respond(401, [][2]string{{"content-type", "text/plain; charset=utf-8"}}, []byte("Csrf token is empty or invalid")); err != nil {
			sdk.Error("csrf: " + err.Error())
		}
		return sdk.Pause
	}
	return sdk.Continue
}

// issue answers a token request.
func (p *plugin) issue(r sdk.Request) {
	token, err := p.token(sdk.Now().Unix())
	if err != nil {
		sdk.Error("csrf: making a token: " + err.Error())
		if err := r.Respond(500, nil, nil); err != nil {
			sdk.Error("csrf: " + err.Error())
		}
		return
	}
	cookie := p.cookie + "=" + token + "; Path=/"
	if p.ttl > 0 {
		cookie += "; Max-Age=" + strconv.FormatInt(p.ttl, 10)
	}
	headers := [][2]string{{"cache-control", "no-store"}, {"set-cookie", cookie}}
	if err := r.Respond(204, headers, nil); err != nil {
		sdk.Error("csrf: " + err.Error())
	}
}

// nanoidAlphabet is nanoid's URL-safe alphabet: 64 characters, so a random
// byte's low 6 bits pick one without bias.
const nanoidAlphabet = "_-0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"

// token makes a token issued at now (Unix seconds).
func (p *plugin) token(now int64) (string, error) {
	var id [12]byte
	if _, err := rand.Read(id[:]); err != nil {
		return "", err
	}
	for i := range id {
		id[i] = nanoidAlphabet[id[i]&63]
	}
	prefix := string(id[:]) + "." + strconv.FormatInt(now, 16)
	return prefix + "." + string(p.sign(prefix)), nil
}

// sign returns base64(sha256(prefix + key)) in a buffer of p.
func (p *plugin) sign(prefix string) []byte {
	p.msg = append(append(p.msg[:0], prefix...), p.key...)
	sum := sha256.Sum256(p.msg)
	base64.StdEncoding.Encode(p.b64Buf[:], sum[:])
	return p.b64Buf[:]
}

// valid checks a token's shape, age and signature.
func (p *plugin) valid(token string, now int64) bool {
	id, rest, ok := strings.Cut(token, ".")
	if !ok || id == "" {
		return false
	}
	ts, sig, ok := strings.Cut(rest, ".")
	if !ok || strings.IndexByte(sig, '.') >= 0 {
		return false
	}
	issued, err := strconv.ParseUint(ts, 16, 63)
	if err != nil {
		return false
	}
	if p.ttl > 0 && now-int64(issued) > p.ttl {
		return false
	}
	want := p.sign(token[:len(id)+1+len(ts)])
	return subtle.ConstantTimeCompare([]byte(sig), want) == 1
}
