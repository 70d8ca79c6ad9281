package main

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"strings"
	"sync"
	"testing"
)

// signer makes test tokens with one algorithm and key.
type signer struct {
	alg    string
	secret []byte
	rsa    *rsa.PrivateKey
	ec     *ecdsa.PrivateKey
}

var (
	keysOnce                sync.Once
	rsaKey1, rsaKey2        *rsa.PrivateKey
	ecKeys1, ecKeys2        map[string]*ecdsa.PrivateKey // by alg
	curves                  = map[string]elliptic.Curve{"ES256": elliptic.P256(), "ES384": elliptic.P384(), "ES512": elliptic.P521()}
	allAlgs                 = []string{"HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512"}
	hmacSecret, hmacSecret2 = []byte("correct horse battery staple"), []byte("incorrect horse")
)

// testKeys generates the test keys once per test binary: RSA 2048 is slow.
func testKeys(t testing.TB) {
	t.Helper()
	keysOnce.Do(func() {
		var err error
		if rsaKey1, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			panic(err)
		}
		if rsaKey2, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			panic(err)
		}
		ecKeys1, ecKeys2 = map[string]*ecdsa.PrivateKey{}, map[string]*ecdsa.PrivateKey{}
		for name, c := range curves {
			if ecKeys1[name], err = ecdsa.GenerateKey(c, rand.Reader); err != nil {
				panic(err)
			}
			if ecKeys2[name], err = ecdsa.GenerateKey(c, rand.Reader); err != nil {
				panic(err)
			}
		}
	})
}

// signers returns a signer for alg with the first test key, and one with
// the second ("wrong") key.
func signers(t testing.TB, alg string) (good, wrong signer) {
	testKeys(t)
	good, wrong = signer{alg: alg}, signer{alg: alg}
	switch alg[0] {
	case 'H':
		good.secret, wrong.secret = hmacSecret, hmacSecret2
	case 'R', 'P':
		good.rsa, wrong.rsa = rsaKey1, rsaKey2
	case 'E':
		good.ec, wrong.ec = ecKeys1[alg], ecKeys2[alg]
	}
	return good, wrong
}

func hashOf(alg string) crypto.Hash {
	switch alg[2:] {
	case "384":
		return crypto.SHA384
	case "512":
		return crypto.SHA512
	}
	return crypto.SHA256
}

func b64u(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// token signs claims with a header {"alg": s.alg} plus extra header fields.
func (s signer) token(t testing.TB, claims map[string]any, header map[string]any) string {
	t.Helper()
	h := map[string]any{"alg": s.alg, "typ": "JWT"}
	for k, v := range header {
		h[k] = v
	}
	input := b64u(mustJSON(h)) + "." + b64u(mustJSON(claims))
	return input + "." + b64u(s.sign(t, []byte(input)))
}

func (s signer) sign(t testing.TB, input []byte) []byte {
	t.Helper()
	hash := hashOf(s.alg)
	if s.alg[0] == 'H' {
		m := hmac.New(hash.New, s.secret)
		m.Write(input)
		return m.Sum(nil)
	}
	d := hash.New()
	d.Write(input)
	digest := d.Sum(nil)
	switch s.alg[0] {
	case 'R':
		sig, err := rsa.SignPKCS1v15(rand.Reader, s.rsa, hash, digest)
		if err != nil {
			t.Fatal(err)
		}
		return sig
	case 'P':
		sig, err := rsa.SignPSS(rand.Reader, s.rsa, hash, digest, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
		if err != nil {
			t.Fatal(err)
		}
		return sig
	}
	r, ss, err := ecdsa.Sign(rand.Reader, s.ec, digest)
	if err != nil {
		t.Fatal(err)
	}
	size := (s.ec.Curve.Params().BitSize + 7) / 8
	sig := make([]byte, 2*size)
	r.FillBytes(sig[:size])
	ss.FillBytes(sig[size:])
	return sig
}

// publicPEM returns the signer's public key as a PEM "PUBLIC KEY".
func (s signer) publicPEM(t testing.TB) string {
	t.Helper()
	var pub any
	if s.ec != nil {
		pub = &s.ec.PublicKey
	} else {
		pub = &s.rsa.PublicKey
	}
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

// jwk returns the signer's public key as a JWK with kid (and alg, if set).
func (s signer) jwk(kid, alg string) map[string]any {
	m := map[string]any{"kid": kid, "use": "sig"}
	if alg != "" {
		m["alg"] = alg
	}
	if s.rsa != nil {
		m["kty"] = "RSA"
		m["n"] = b64u(s.rsa.N.Bytes())
		m["e"] = b64u(big.NewInt(int64(s.rsa.E)).Bytes())
		return m
	}
	p := s.ec.Curve.Params()
	size := (p.BitSize + 7) / 8
	pt, err := s.ec.PublicKey.Bytes() // 0x04 || X || Y
	if err != nil {
		panic(err)
	}
	m["kty"], m["crv"] = "EC", p.Name
	m["x"], m["y"] = b64u(pt[1:1+size]), b64u(pt[1+size:])
	return m
}

func jwksJSON(keys ...map[string]any) []byte {
	return mustJSON(map[string]any{"keys": keys})
}

// quote quotes s for a JSON config.
func quote(s string) string { return string(mustJSON(s)) }

func contains(list []string, s string) bool {
	for _, l := range list {
		if strings.Contains(l, s) {
			return true
		}
	}
	return false
}
