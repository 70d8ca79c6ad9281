package main

import (
	"crypto/ecdsa"
	"crypto/hmac"
	"crypto/rsa"
	"encoding/base64"
	"math"
	"math/big"
	"strconv"
	"strings"
	"time"

	"github.com/sluice-proxy/sluice/sdk"
)

type jsonValue = sdk.JSONValue

const (
	jsonNumber = sdk.JSONNumber
	jsonString = sdk.JSONString
	jsonArray  = sdk.JSONArray
	jsonObject = sdk.JSONObject
)

var (
	parseJSON = sdk.ParseJSON
	itoa      = strconv.Itoa
)

// token is a JWS in compact serialization (RFC 7515 §7.1), split and with
// its header read; the payload is read only once the signature holds.
type token struct {
	raw     string
	alg     *alg
	kid     string
	signed  string // header.payload, what the signature covers
	payload string // base64url
	sig     []byte
}

// Why a token is refused, as the 401 body says it (Pingap's wording).
var (
	bodyMissing = []byte("Jwt authorization is missing")
	bodyFormat  = []byte("Jwt authorization format is invalid")
	bodyInvalid = []byte("Jwt authorization is invalid")
	bodyExpired = []byte("Jwt authorization is expired")
	bodyNotYet  = []byte("Jwt authorization is not yet valid")
	bodyNoKeys  = []byte("Jwt signing keys are unavailable")
)

// parseToken splits s and reads its header. It refuses "alg": "none" and
// any algorithm not in algs, and headers with "crit" (RFC 7515 §4.1.11:
// extensions it does not understand). The body it returns says why.
func parseToken(s string) (*token, []byte) {
	h, rest, ok1 := strings.Cut(s, ".")
	payload, sig, ok2 := strings.Cut(rest, ".")
	if !ok1 || !ok2 || strings.IndexByte(sig, '.') >= 0 || h == "" || payload == "" {
		return nil, bodyFormat
	}
	hb, err := base64.RawURLEncoding.DecodeString(h)
	if err != nil {
		return nil, bodyFormat
	}
	hdr, err := parseJSON(hb)
	if err != nil || hdr.Kind != jsonObject {
		return nil, bodyFormat
	}
	if _, crit := hdr.Get("crit"); crit {
		return nil, bodyInvalid
	}
	a := algs[str(&hdr, "alg")] // "none" and unknown names are not there
	if a == nil {
		return nil, bodyInvalid
	}
	sb, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil {
		return nil, bodyFormat
	}
	return &token{raw: s, alg: a, kid: str(&hdr, "kid"), signed: s[:len(h)+1+len(payload)], payload: payload, sig: sb}, nil
}

// verifyHMAC checks an HS256/384/512 signature, in constant time.
func (t *token) verifyHMAC(secret []byte) bool {
	if t.alg.kind != 'H' {
		return false
	}
	m := hmac.New(t.alg.hash.New, secret)
	m.Write([]byte(t.signed))
	return hmac.Equal(m.Sum(nil), t.sig)
}

// verifyKey checks an RS, PS or ES signature with k.
func (t *token) verifyKey(k *key) bool {
	if !k.fits(t.alg) {
		return false
	}
	h := t.alg.hash.New()
	h.Write([]byte(t.signed))
	digest := h.Sum(nil)
	switch t.alg.kind {
	case 'R':
		return rsa.VerifyPKCS1v15(k.rsa, t.alg.hash, digest, t.sig) == nil
	case 'P':
		// RFC 7518 §3.5: the salt is as long as the hash.
		opts := rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash, Hash: t.alg.hash}
		return rsa.VerifyPSS(k.rsa, t.alg.hash, digest, t.sig, &opts) == nil
	case 'E':
		// RFC 7518 §3.4: R and S as fixed-size big-endian integers.
		n := t.alg.size
		if len(t.sig) != 2*n {
			return false
		}
		r := new(big.Int).SetBytes(t.sig[:n])
		s := new(big.Int).SetBytes(t.sig[n:])
		return ecdsa.Verify(k.ec, digest, r, s)
	}
	return false
}

// checkClaims reads the payload of a token whose signature holds and
// checks its time claims against now: "exp" (RFC 7519 §4.1.4: refused from
// that second on) and "nbf" (§4.1.5: refused before it). It returns the
// expiry (+Inf without "exp") and nil, or the body saying why the token is
// refused.
func (t *token) checkClaims(now time.Time) (exp float64, why []byte) {
	pb, err := base64.RawURLEncoding.DecodeString(t.payload)
	if err != nil {
		return 0, bodyFormat
	}
	claims, err := parseJSON(pb)
	if err != nil || claims.Kind != jsonObject {
		return 0, bodyFormat
	}
	sec := unixSeconds(now)
	exp = math.Inf(1)
	if v, ok := claims.Get("exp"); ok {
		if exp, ok = number(v); !ok {
			return 0, bodyInvalid
		}
		if sec >= exp {
			return 0, bodyExpired
		}
	}
	if v, ok := claims.Get("nbf"); ok {
		nbf, ok := number(v)
		if !ok {
			return 0, bodyInvalid
		}
		if sec < nbf {
			return 0, bodyNotYet
		}
	}
	return exp, nil
}

func unixSeconds(t time.Time) float64 { return float64(t.UnixNano()) / 1e9 }

// number reads a NumericDate: a JSON number of seconds.
func number(v *jsonValue) (float64, bool) {
	if v.Kind != jsonNumber {
		return 0, false
	}
	f, err := strconv.ParseFloat(v.Str, 64)
	return f, err == nil && !math.IsInf(f, 0)
}

// bearer strips the "Bearer " scheme (any case) from an Authorization
// value; a value without it is taken as the token itself (Pingap accepts
// both).
func bearer(v string) string {
	v = strings.TrimSpace(v)
	if len(v) > 7 && strings.EqualFold(v[:7], "bearer ") {
		return strings.TrimLeft(v[7:], " ")
	}
	return v
}

// sign makes an HS256/384/512 token of payload with secret, as Pingap's
// auth_path does.
func sign(a *alg, secret, payload []byte) string {
	enc := base64.RawURLEncoding
	header := `{"alg":"` + a.name + `","typ":"JWT"}`
	var b strings.Builder
	b.Grow(enc.EncodedLen(len(header)) + enc.EncodedLen(len(payload)) + enc.EncodedLen(a.hash.Size()) + 2)
	b.WriteString(enc.EncodeToString([]byte(header)))
	b.WriteByte('.')
	b.WriteString(enc.EncodeToString(payload))
	m := hmac.New(a.hash.New, secret)
	m.Write([]byte(b.String()))
	b.WriteByte('.')
	b.WriteString(enc.EncodeToString(m.Sum(nil)))
	return b.String()
}
