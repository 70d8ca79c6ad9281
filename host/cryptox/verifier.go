package cryptox

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"fmt"
	"hash"
	"io/fs"
	"math/big"

	"github.com/sluice-proxy/sluice/abi/cryptoabi"
)

// Options configure a Verifier. The zero value is usable.
type Options struct {
	// MaxKeys bounds the parsed public keys kept (all plugins together);
	// the least recently used goes first. Each takes at most a few KiB
	// (an RSA key of cryptoabi.MaxRSABits). Default 512; negative keeps
	// none (every call parses its key).
	MaxKeys int
}

// Verifier verifies signatures for plugins.
type Verifier struct {
	keys *keyCache
}

// New returns a Verifier with an empty key cache.
func New(o Options) *Verifier {
	if o.MaxKeys == 0 {
		o.MaxKeys = 512
	}
	return &Verifier{keys: newKeyCache(max(o.MaxKeys, 0))}
}

// Functions returns the foreign functions of abi/cryptoabi by name, for
// wasm.Options.ForeignFunctions (through wasm.ErrorFunc).
func (v *Verifier) Functions() map[string]func(plugin string, args []byte) ([]byte, error) {
	return map[string]func(string, []byte) ([]byte, error){
		cryptoabi.FuncVerify: v.VerifyCall,
	}
}

// VerifyCall implements cryptoabi.FuncVerify: it decodes args, verifies,
// and returns cryptoabi.Valid or cryptoabi.Invalid as the one byte of the
// result. The plugin's name plays no part: see "Key cache" in the package
// doc.
func (v *Verifier) VerifyCall(_ string, args []byte) ([]byte, error) {
	a, err := cryptoabi.DecodeVerify(args)
	if err != nil {
		return nil, invalid("crypto verify: %v", err)
	}
	ok, err := v.Verify(a.Alg, a.Key, a.Data, a.Signature)
	if err != nil {
		return nil, err
	}
	if ok {
		return []byte{cryptoabi.Valid}, nil
	}
	return []byte{cryptoabi.Invalid}, nil
}

// Verify reports whether sig is alg's signature of data with key (in the
// key form of cryptoabi for alg). A signature of the wrong length is
// false; an unknown algorithm, a key not of alg's form, or sizes over
// cryptoabi's bounds are errors wrapping fs.ErrInvalid. Error messages
// name the algorithm and what is wrong, never key material.
func (v *Verifier) Verify(alg cryptoabi.Alg, key, data, sig []byte) (bool, error) {
	switch {
	case len(key) == 0 || len(key) > cryptoabi.MaxKey:
		return false, invalid("crypto verify %s: key of %d bytes, want 1 to %d", alg, len(key), cryptoabi.MaxKey)
	case len(data) > cryptoabi.MaxData:
		return false, invalid("crypto verify %s: %d bytes of data, over %d", alg, len(data), cryptoabi.MaxData)
	case len(sig) > cryptoabi.MaxSignature:
		return false, invalid("crypto verify %s: signature of %d bytes, over %d", alg, len(sig), cryptoabi.MaxSignature)
	}
	switch alg.Family() {
	case cryptoabi.FamilyHMAC:
		return verifyHMAC(alg, key, data, sig), nil
	case cryptoabi.FamilyRSA:
		k, err := v.keys.get(alg, key)
		if err != nil {
			return false, err
		}
		return verifyRSA(alg, k.rsa, data, sig), nil
	case cryptoabi.FamilyECDSA:
		k, err := v.keys.get(alg, key)
		if err != nil {
			return false, err
		}
		return verifyECDSA(alg, k.ec, data, sig), nil
	case cryptoabi.FamilyEdDSA:
		k, err := v.keys.get(alg, key)
		if err != nil {
			return false, err
		}
		return ed25519.Verify(k.ed, data, sig), nil
	}
	return false, invalid("crypto verify: unknown algorithm %d", byte(alg))
}

// invalid is an error the plugin sees as BAD_ARGUMENT.
func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{fs.ErrInvalid}, args...)...)
}

// verifyHMAC compares the MAC in constant time (RFC 7518 §3.2).
func verifyHMAC(alg cryptoabi.Alg, secret, data, sig []byte) bool {
	m := hmac.New(newHash(alg), secret)
	m.Write(data)
	var buf [sha512.Size]byte
	return hmac.Equal(m.Sum(buf[:0]), sig)
}

func newHash(alg cryptoabi.Alg) func() hash.Hash {
	switch alg.HashBits() {
	case 384:
		return sha512.New384
	case 512:
		return sha512.New
	}
	return sha256.New
}

// digest hashes data with alg's hash into buf.
func digest(alg cryptoabi.Alg, data []byte, buf *[sha512.Size]byte) (crypto.Hash, []byte) {
	switch alg.HashBits() {
	case 384:
		s := sha512.Sum384(data)
		return crypto.SHA384, buf[:copy(buf[:], s[:])]
	case 512:
		*buf = sha512.Sum512(data)
		return crypto.SHA512, buf[:]
	}
	s := sha256.Sum256(data)
	return crypto.SHA256, buf[:copy(buf[:], s[:])]
}

// verifyRSA checks an RS* or PS* signature. PSS salts are as long as the
// hash (RFC 7518 §3.5).
func verifyRSA(alg cryptoabi.Alg, k *rsa.PublicKey, data, sig []byte) bool {
	var buf [sha512.Size]byte
	h, d := digest(alg, data, &buf)
	if alg.PSS() {
		return rsa.VerifyPSS(k, h, d, sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash, Hash: h}) == nil
	}
	return rsa.VerifyPKCS1v15(k, h, d, sig) == nil
}

// verifyECDSA checks an ES* signature: R || S as fixed-size big-endian
// integers (RFC 7518 §3.4), not ASN.1.
func verifyECDSA(alg cryptoabi.Alg, k *ecdsa.PublicKey, data, sig []byte) bool {
	n := alg.CoordSize()
	if len(sig) != 2*n {
		return false
	}
	var buf [sha512.Size]byte
	_, d := digest(alg, data, &buf)
	var r, s big.Int
	r.SetBytes(sig[:n])
	s.SetBytes(sig[n:])
	return ecdsa.Verify(k, d, &r, &s)
}
