package sdktest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rsa"
	_ "crypto/sha256" // the hashes of the algorithms
	_ "crypto/sha512"
	"errors"
	"math/big"

	"github.com/sluice-proxy/sluice/abi"
	"github.com/sluice-proxy/sluice/abi/cryptoabi"
)

// CryptoVerifier fakes sluice's native signature verifier (the
// sluice.crypto.verify foreign function of abi/cryptoabi) with the standard
// library, so that a plugin using sdk.VerifySignature gets real answers
// under go test. It refuses what the host refuses (bad key forms, sizes over
// cryptoabi's bounds) with BAD_ARGUMENT. It counts the verifications asked
// of it, so that a test can tell which way a plugin checked a signature,
// and it can be made to fail.
//
//	cv := sdktest.NewCryptoVerifier()
//	h := sdktest.Start(t, config, cv.Option())
//
// A Host without it has no verifier: sdk.VerifierAvailable is false and
// sdk.VerifySignature returns sdk.ErrUnimplemented.
type CryptoVerifier struct {
	calls   int
	failing abi.Status
}

// NewCryptoVerifier returns a working fake.
func NewCryptoVerifier() *CryptoVerifier { return &CryptoVerifier{} }

// Option installs the fake's foreign function in a Host.
func (c *CryptoVerifier) Option() Option {
	return func(h *Host) { h.foreign[cryptoabi.FuncVerify] = c.verify }
}

// Calls returns the number of verifications asked so far (calls whose
// arguments decode; sdk.VerifierAvailable's probe is not one).
func (c *CryptoVerifier) Calls() int { return c.calls }

// Fail makes every call fail with st from now on (e.g.
// abi.StatusInternalFailure); abi.StatusOK makes it work again.
func (c *CryptoVerifier) Fail(st abi.Status) { c.failing = st }

var errBadKey = &ForeignError{Status: abi.StatusBadArgument, Err: errors.New("key not of the algorithm's form")}

func (c *CryptoVerifier) verify(args []byte) ([]byte, error) {
	a, err := cryptoabi.DecodeVerify(args)
	if err != nil {
		return nil, &ForeignError{Status: abi.StatusBadArgument, Err: err}
	}
	c.calls++
	if c.failing != abi.StatusOK {
		return nil, &ForeignError{Status: c.failing}
	}
	ok, err := fakeVerify(a)
	if err != nil {
		return nil, err
	}
	if ok {
		return []byte{cryptoabi.Valid}, nil
	}
	return []byte{cryptoabi.Invalid}, nil
}

func fakeVerify(a cryptoabi.VerifyArgs) (bool, error) {
	h := crypto.SHA256
	switch a.Alg.HashBits() {
	case 384:
		h = crypto.SHA384
	case 512:
		h = crypto.SHA512
	}
	if a.Alg.Family() == cryptoabi.FamilyHMAC {
		m := hmac.New(h.New, a.Key)
		m.Write(a.Data)
		return hmac.Equal(m.Sum(nil), a.Signature), nil
	}
	if a.Alg == cryptoabi.EdDSA {
		if len(a.Key) != ed25519.PublicKeySize {
			return false, errBadKey
		}
		return ed25519.Verify(a.Key, a.Data, a.Signature), nil
	}
	d := h.New()
	d.Write(a.Data)
	digest := d.Sum(nil)
	if a.Alg.Family() == cryptoabi.FamilyRSA {
		n, e, err := cryptoabi.DecodeRSAKey(a.Key)
		if err != nil {
			return false, errBadKey
		}
		k := &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: e}
		if a.Alg.PSS() {
			return rsa.VerifyPSS(k, h, digest, a.Signature, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash}) == nil, nil
		}
		return rsa.VerifyPKCS1v15(k, h, digest, a.Signature) == nil, nil
	}
	curve := map[cryptoabi.Alg]elliptic.Curve{cryptoabi.ES256: elliptic.P256(), cryptoabi.ES384: elliptic.P384(), cryptoabi.ES512: elliptic.P521()}[a.Alg]
	if len(a.Key) != a.Alg.ECKeySize() {
		return false, errBadKey
	}
	k, err := ecdsa.ParseUncompressedPublicKey(curve, a.Key)
	if err != nil {
		return false, errBadKey
	}
	n := a.Alg.CoordSize()
	if len(a.Signature) != 2*n {
		return false, nil
	}
	return ecdsa.Verify(k, digest, new(big.Int).SetBytes(a.Signature[:n]), new(big.Int).SetBytes(a.Signature[n:])), nil
}
