package cryptox

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"math/big"
	"sync"
	"testing"

	"github.com/sluice-proxy/sluice/abi/cryptoabi"
)

// testKey is a key pair of the tests, with its public half in cryptoabi's
// key form.
type testKey struct {
	secret []byte
	rsa    *rsa.PrivateKey
	ec     *ecdsa.PrivateKey
	ed     ed25519.PrivateKey
	form   []byte
}

var (
	keysOnce sync.Once
	keySets  [2]map[cryptoabi.Family]*testKey // two of each, for "wrong key"
	ecSets   [2]map[cryptoabi.Alg]*testKey
	allAlgs  []cryptoabi.Alg
)

// keys generates the test keys once per test binary (RSA is slow to make):
// the good key (0) and another (1) of alg's kind.
func keys(t testing.TB, alg cryptoabi.Alg) (good, other *testKey) {
	t.Helper()
	keysOnce.Do(func() {
		for a := cryptoabi.HS256; a.Family() != 0; a++ {
			allAlgs = append(allAlgs, a)
		}
		for i := range keySets {
			rk, err := rsa.GenerateKey(rand.Reader, 2048)
			if err != nil {
				panic(err)
			}
			_, edk, err := ed25519.GenerateKey(rand.Reader)
			if err != nil {
				panic(err)
			}
			keySets[i] = map[cryptoabi.Family]*testKey{
				cryptoabi.FamilyHMAC:  {secret: []byte("correct horse battery staple " + string(rune('a'+i)))},
				cryptoabi.FamilyRSA:   {rsa: rk, form: rsaForm(&rk.PublicKey)},
				cryptoabi.FamilyEdDSA: {ed: edk, form: []byte(edk.Public().(ed25519.PublicKey))},
			}
			keySets[i][cryptoabi.FamilyHMAC].form = keySets[i][cryptoabi.FamilyHMAC].secret
			ecSets[i] = map[cryptoabi.Alg]*testKey{}
			for a, c := range map[cryptoabi.Alg]elliptic.Curve{cryptoabi.ES256: elliptic.P256(), cryptoabi.ES384: elliptic.P384(), cryptoabi.ES512: elliptic.P521()} {
				ek, err := ecdsa.GenerateKey(c, rand.Reader)
				if err != nil {
					panic(err)
				}
				pt, err := ek.PublicKey.Bytes()
				if err != nil {
					panic(err)
				}
				ecSets[i][a] = &testKey{ec: ek, form: pt}
			}
		}
	})
	if alg.Family() == cryptoabi.FamilyECDSA {
		return ecSets[0][alg], ecSets[1][alg]
	}
	return keySets[0][alg.Family()], keySets[1][alg.Family()]
}

func rsaForm(k *rsa.PublicKey) []byte {
	b, err := cryptoabi.AppendRSAKey(nil, k.N.Bytes(), k.E)
	if err != nil {
		panic(err)
	}
	return b
}

func hashOf(alg cryptoabi.Alg) crypto.Hash {
	switch alg.HashBits() {
	case 384:
		return crypto.SHA384
	case 512:
		return crypto.SHA512
	}
	return crypto.SHA256
}

// sign makes alg's JWS signature of data with k, independently of the
// code under test where the standard library allows.
func (k *testKey) sign(t testing.TB, alg cryptoabi.Alg, data []byte) []byte {
	t.Helper()
	h := hashOf(alg)
	switch alg.Family() {
	case cryptoabi.FamilyHMAC:
		m := hmac.New(h.New, k.secret)
		m.Write(data)
		return m.Sum(nil)
	case cryptoabi.FamilyEdDSA:
		return ed25519.Sign(k.ed, data)
	}
	d := h.New()
	d.Write(data)
	digest := d.Sum(nil)
	var sig []byte
	var err error
	switch {
	case alg.PSS():
		sig, err = rsa.SignPSS(rand.Reader, k.rsa, h, digest, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
	case alg.Family() == cryptoabi.FamilyRSA:
		sig, err = rsa.SignPKCS1v15(rand.Reader, k.rsa, h, digest)
	default:
		var r, s *big.Int
		if r, s, err = ecdsa.Sign(rand.Reader, k.ec, digest); err == nil {
			n := alg.CoordSize()
			sig = make([]byte, 2*n)
			r.FillBytes(sig[:n])
			s.FillBytes(sig[n:])
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	return sig
}

func flip(b []byte, i int) []byte {
	c := append([]byte(nil), b...)
	c[i%len(c)] ^= 0x01
	return c
}
