package main

import (
	"errors"

	"github.com/sluice-proxy/sluice/sdk"
)

// Signatures are checked by the host when it can (sdk.VerifySignature, the
// sluice.crypto.verify foreign function) and in the module otherwise. The
// module's own checks (token.go) work anywhere, but under the callback
// budget every loop turn of a guest exits to the host: an RS256 or ES256
// check costs milliseconds in the module and tens of microseconds in the
// host. The policy stays here either way: the algorithm the host is asked
// for is the token's, after accepts and fits have held it to the config
// and the key.

// checkHMAC checks an HS256/384/512 signature with the secret.
func (p *jwtPlugin) checkHMAC(t *token) bool {
	if t.alg.kind != 'H' {
		return false
	}
	if p.native && len(p.secret) <= sdk.MaxVerifyKey {
		if ok, done := p.hostVerify(t, p.secret); done {
			return ok
		}
	}
	return t.verifyHMAC(p.secret)
}

// checkKey checks an RS, PS or ES signature with k.
func (p *jwtPlugin) checkKey(t *token, k *key) bool {
	if !k.fits(t.alg) {
		return false
	}
	if p.native && k.native != nil {
		if ok, done := p.hostVerify(t, k.native); done {
			return ok
		}
	}
	return t.verifyKey(k)
}

// hostVerify asks the host. done is false when the host gave no verdict
// (it has no verifier, or refused the call): the module then checks the
// signature itself, so that a host's failure never lets a token pass, nor
// refuses one the module would take. A host without the verifier is not
// asked again.
func (p *jwtPlugin) hostVerify(t *token, key []byte) (ok, done bool) {
	ok, err := sdk.VerifySignature(t.alg.name, key, []byte(t.signed), t.sig)
	if err == nil {
		return ok, true
	}
	if errors.Is(err, sdk.ErrUnimplemented) {
		p.native = false
	}
	return false, false
}
