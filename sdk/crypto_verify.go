package sdk

import (
	"errors"

	"github.com/sluice-proxy/sluice/abi"
	"github.com/sluice-proxy/sluice/abi/cryptoabi"
	"github.com/sluice-proxy/sluice/sdk/internal/hostcall"
)

// Native signature checks (the sluice.crypto.verify foreign function of
// abi/cryptoabi). A Go guest can verify signatures itself with crypto/*,
// but under the callback budget an RS256 or ES256 check costs it
// milliseconds, against tens of microseconds for the host. A plugin keeps
// the policy (which algorithm, which key) and hands the host only the
// arithmetic; it keeps its own check as the fallback for a host without the
// function.

// MaxVerifyKey is the longest key VerifySignature takes (an HMAC secret,
// or an RSA key form).
const MaxVerifyKey = cryptoabi.MaxKey

// VerifierAvailable reports whether the host verifies signatures (a plugin
// checks it when configured).
func VerifierAvailable() bool {
	_, st := hostcall.CallForeignFunction(cryptoabi.FuncVerify, nil)
	return st != abi.StatusNotFound
}

// verifyArgs is the scratch buffer of the arguments: a VM runs one
// callback at a time, and the host copies the arguments.
var verifyArgs []byte

var errVerifyResult = errors.New("sluice sdk: verify signature: the host's answer is neither valid nor invalid")

// VerifySignature has the host check that sig is alg's JWS signature (RFC
// 7518, 8037) of data with key. alg is a JWS name: HS256, HS384, HS512,
// RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, ES512 or EdDSA.
// key is in alg's form: the secret for HS*; RSAVerifyKey(n, e) for RS* and
// PS*; the uncompressed point 0x04 || X || Y on alg's curve for ES* (a
// JWK's x and y); the 32-byte public key for EdDSA (Ed25519).
//
// It returns true only when the host says the signature holds. A signature
// longer than any of these algorithms makes is false without a host call.
// On an error nothing was verified: check the signature another way, or
// refuse it. Errors: ErrUnimplemented when the host has no verifier;
// ErrBadArgument for an unknown alg, a key not of alg's form (or longer
// than MaxVerifyKey), or data longer than the host takes (1 MiB).
func VerifySignature(alg string, key, data, sig []byte) (bool, error) {
	a, ok := cryptoabi.ParseAlg(alg)
	if !ok {
		return false, &StatusError{Op: "verify signature: unknown algorithm " + alg, Status: abi.StatusBadArgument}
	}
	if len(sig) > cryptoabi.MaxSignature {
		return false, nil
	}
	args, err := cryptoabi.AppendVerify(verifyArgs[:0], cryptoabi.VerifyArgs{Alg: a, Key: key, Signature: sig, Data: data})
	if err != nil {
		return false, &StatusError{Op: "verify signature: " + err.Error(), Status: abi.StatusBadArgument}
	}
	verifyArgs = args
	res, st := hostcall.CallForeignFunction(cryptoabi.FuncVerify, args)
	if len(args) > 64<<10 {
		verifyArgs = nil // do not keep a huge buffer for good
	}
	switch {
	case st == abi.StatusNotFound:
		return false, &StatusError{Op: "verify signature", Status: abi.StatusUnimplemented}
	case st != abi.StatusOK:
		return false, statusErr("verify signature", st)
	case len(res) == 1 && res[0] == cryptoabi.Valid:
		return true, nil
	case len(res) == 1 && res[0] == cryptoabi.Invalid:
		return false, nil
	}
	return false, errVerifyResult
}

// RSAVerifyKey returns the key form VerifySignature takes for an RSA public
// key with modulus n (big-endian, as a JWK's "n" or big.Int.Bytes) and
// exponent e; nil when the host would refuse the key (a modulus of fewer
// than 1024 or more than 8192 bits, an even modulus or exponent, an
// exponent below 3 or from 2^31), which the plugin then checks itself.
func RSAVerifyKey(n []byte, e int) []byte {
	k, err := cryptoabi.AppendRSAKey(nil, n, e)
	if err != nil {
		return nil
	}
	return k
}
