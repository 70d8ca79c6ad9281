package main

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	_ "crypto/sha256" // SHA-256 for HS256, RS256, PS256, ES256
	_ "crypto/sha512" // SHA-384 and SHA-512 for the others
	"encoding/base64"
	"encoding/pem"
	"errors"
	"math/big"

	"github.com/sluice-proxy/sluice/sdk"
)

// alg is a JWS algorithm (RFC 7518 §3.1).
type alg struct {
	name  string
	kind  byte // 'H' HMAC, 'R' RSASSA-PKCS1-v1_5, 'P' RSASSA-PSS, 'E' ECDSA
	hash  crypto.Hash
	curve elliptic.Curve // for 'E'
	size  int            // for 'E': bytes of r and of s in the signature
}

// algs are the algorithms the plugin verifies. "none" is not one of them.
var algs = map[string]*alg{
	"HS256": {name: "HS256", kind: 'H', hash: crypto.SHA256},
	"HS384": {name: "HS384", kind: 'H', hash: crypto.SHA384},
	"HS512": {name: "HS512", kind: 'H', hash: crypto.SHA512},
	"RS256": {name: "RS256", kind: 'R', hash: crypto.SHA256},
	"RS384": {name: "RS384", kind: 'R', hash: crypto.SHA384},
	"RS512": {name: "RS512", kind: 'R', hash: crypto.SHA512},
	"PS256": {name: "PS256", kind: 'P', hash: crypto.SHA256},
	"PS384": {name: "PS384", kind: 'P', hash: crypto.SHA384},
	"PS512": {name: "PS512", kind: 'P', hash: crypto.SHA512},
	"ES256": {name: "ES256", kind: 'E', hash: crypto.SHA256, curve: elliptic.P256(), size: 32},
	"ES384": {name: "ES384", kind: 'E', hash: crypto.SHA384, curve: elliptic.P384(), size: 48},
	"ES512": {name: "ES512", kind: 'E', hash: crypto.SHA512, curve: elliptic.P521(), size: 66},
}

// key is a public key for verifying signatures.
type key struct {
	kid string // JWK "kid", "" if none
	alg string // JWK "alg", "" if any algorithm of the key type
	rsa *rsa.PublicKey
	ec  *ecdsa.PublicKey
	// native is the key in the form the host's verifier takes (see
	// verify.go), made once here; nil when the host would refuse it (an
	// RSA key over 8192 bits), and the module checks signatures itself.
	native []byte
}

// rsaPublic and ecPublic make keys with their native forms.
func rsaPublic(k *rsa.PublicKey) *key {
	return &key{rsa: k, native: sdk.RSAVerifyKey(k.N.Bytes(), k.E)}
}

// ecPublic takes the uncompressed point k was parsed from.
func ecPublic(k *ecdsa.PublicKey, point []byte) *key {
	return &key{ec: k, native: point}
}

// fits reports whether k can verify signatures made with a.
func (k *key) fits(a *alg) bool {
	if k.alg != "" && k.alg != a.name {
		return false
	}
	switch a.kind {
	case 'R', 'P':
		return k.rsa != nil
	case 'E':
		return k.ec != nil && k.ec.Curve == a.curve
	}
	return false
}

// parsePublicKey reads a PEM public key: "PUBLIC KEY" (X.509
// SubjectPublicKeyInfo) with an RSA or P-256/384/521 key, or "RSA PUBLIC
// KEY" (PKCS #1). It decodes the little DER it needs itself: crypto/x509
// would add about 400 KiB to the plugin.
func parsePublicKey(text string) (*key, error) {
	block, rest := pem.Decode([]byte(text))
	if block == nil {
		return nil, errors.New("no PEM block found")
	}
	if len(bytes.TrimSpace(rest)) > 0 {
		return nil, errors.New("more than one PEM block")
	}
	switch block.Type {
	case "RSA PUBLIC KEY":
		k, err := parsePKCS1(block.Bytes)
		if err != nil {
			return nil, err
		}
		return rsaPublic(k), nil
	case "PUBLIC KEY":
		return parseSPKI(block.Bytes)
	}
	return nil, errors.New("PEM block is a " + block.Type + ", want a PUBLIC KEY")
}

// DER tags.
const (
	tagInteger   = 0x02
	tagBitString = 0x03
	tagNull      = 0x05
	tagOID       = 0x06
	tagSequence  = 0x30
)

// Object identifiers, DER-encoded.
var (
	oidRSA  = []byte{0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01} // 1.2.840.113549.1.1.1
	oidEC   = []byte{0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01}             // 1.2.840.10045.2.1
	oidP256 = []byte{0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07}       // 1.2.840.10045.3.1.7
	oidP384 = []byte{0x2b, 0x81, 0x04, 0x00, 0x22}                         // 1.3.132.0.34
	oidP521 = []byte{0x2b, 0x81, 0x04, 0x00, 0x23}                         // 1.3.132.0.35
)

var errDER = errors.New("malformed DER")

// der reads DER one element at a time.
type der []byte

// read returns the contents of the next element, which must have tag.
func (d *der) read(tag byte) (der, error) {
	b := *d
	if len(b) < 2 || b[0] != tag {
		return nil, errDER
	}
	n, off := int(b[1]), 2
	if n&0x80 != 0 {
		l := n & 0x7f
		if l == 0 || l > 3 || len(b) < 2+l {
			return nil, errDER
		}
		n = 0
		for _, c := range b[2 : 2+l] {
			n = n<<8 | int(c)
		}
		off = 2 + l
	}
	if len(b)-off < n {
		return nil, errDER
	}
	*d = b[off+n:]
	return b[off : off+n], nil
}

// integer reads a non-negative INTEGER.
func (d *der) integer() (*big.Int, error) {
	v, err := d.read(tagInteger)
	if err != nil || len(v) == 0 || v[0]&0x80 != 0 {
		return nil, errDER
	}
	return new(big.Int).SetBytes(v), nil
}

func parseSPKI(b []byte) (*key, error) {
	d := der(b)
	spki, err := d.read(tagSequence)
	if err != nil || len(d) != 0 {
		return nil, errDER
	}
	algID, err := spki.read(tagSequence)
	if err != nil {
		return nil, err
	}
	oid, err := algID.read(tagOID)
	if err != nil {
		return nil, err
	}
	bits, err := spki.read(tagBitString)
	if err != nil || len(spki) != 0 || len(bits) < 1 || bits[0] != 0 {
		return nil, errDER
	}
	pub := []byte(bits[1:])
	switch {
	case bytes.Equal(oid, oidRSA):
		if len(algID) > 0 {
			if _, err := algID.read(tagNull); err != nil {
				return nil, err
			}
		}
		k, err := parsePKCS1(pub)
		if err != nil {
			return nil, err
		}
		return rsaPublic(k), nil
	case bytes.Equal(oid, oidEC):
		curveOID, err := algID.read(tagOID)
		if err != nil {
			return nil, err
		}
		var curve elliptic.Curve
		switch {
		case bytes.Equal(curveOID, oidP256):
			curve = elliptic.P256()
		case bytes.Equal(curveOID, oidP384):
			curve = elliptic.P384()
		case bytes.Equal(curveOID, oidP521):
			curve = elliptic.P521()
		default:
			return nil, errors.New("unsupported elliptic curve (want P-256, P-384 or P-521)")
		}
		k, err := ecdsa.ParseUncompressedPublicKey(curve, pub)
		if err != nil {
			return nil, err
		}
		return ecPublic(k, pub), nil
	}
	return nil, errors.New("unsupported key type (want RSA or EC)")
}

func parsePKCS1(b []byte) (*rsa.PublicKey, error) {
	d := der(b)
	seq, err := d.read(tagSequence)
	if err != nil || len(d) != 0 {
		return nil, errDER
	}
	n, err := seq.integer()
	if err != nil {
		return nil, err
	}
	e, err := seq.integer()
	if err != nil || len(seq) != 0 {
		return nil, errDER
	}
	return rsaKey(n, e)
}

func rsaKey(n, e *big.Int) (*rsa.PublicKey, error) {
	if n.BitLen() < 1024 {
		return nil, errors.New("RSA key shorter than 1024 bits")
	}
	if !e.IsInt64() || e.Int64() < 3 || e.Int64() > 1<<31-1 || e.Bit(0) == 0 {
		return nil, errors.New("bad RSA exponent")
	}
	return &rsa.PublicKey{N: n, E: int(e.Int64())}, nil
}

// parseJWKS reads a JSON Web Key Set (RFC 7517 §5): the RSA and EC (P-256,
// P-384, P-521) signing keys in it. Keys of other types, or meant for
// encryption ("use": "enc"), are skipped; a malformed RSA or EC key is an
// error, as is a set without a usable key.
func parseJWKS(data []byte) ([]*key, error) {
	doc, err := parseJSON(data)
	if err != nil {
		return nil, err
	}
	list, ok := doc.Get("keys")
	if doc.Kind != jsonObject || !ok || list.Kind != jsonArray {
		return nil, errors.New(`want an object with a "keys" array`)
	}
	var keys []*key
	for i := range list.Items {
		jwk := &list.Items[i]
		if jwk.Kind != jsonObject {
			return nil, errors.New("keys[" + itoa(i) + "]: want an object")
		}
		if use := str(jwk, "use"); use != "" && use != "sig" {
			continue
		}
		var k *key
		switch str(jwk, "kty") {
		case "RSA":
			n, err1 := b64Int(jwk, "n")
			e, err2 := b64Int(jwk, "e")
			if err := errors.Join(err1, err2); err != nil {
				return nil, errors.New("keys[" + itoa(i) + "]: " + err.Error())
			}
			pub, err := rsaKey(n, e)
			if err != nil {
				return nil, errors.New("keys[" + itoa(i) + "]: " + err.Error())
			}
			k = rsaPublic(pub)
		case "EC":
			pub, point, err := ecKey(jwk)
			if err != nil {
				return nil, errors.New("keys[" + itoa(i) + "]: " + err.Error())
			}
			k = ecPublic(pub, point)
		default:
			continue
		}
		k.kid, k.alg = str(jwk, "kid"), str(jwk, "alg")
		if a := algs[k.alg]; k.alg != "" && (a == nil || !k.fits(a)) {
			continue // an algorithm we do not verify, or not of this key
		}
		keys = append(keys, k)
	}
	if len(keys) == 0 {
		return nil, errors.New("no RSA or EC signing key in the set")
	}
	return keys, nil
}

// ecKey reads a JWK's EC key; it returns the key and its uncompressed
// point.
func ecKey(jwk *jsonValue) (*ecdsa.PublicKey, []byte, error) {
	var curve elliptic.Curve
	var size int
	switch str(jwk, "crv") {
	case "P-256":
		curve, size = elliptic.P256(), 32
	case "P-384":
		curve, size = elliptic.P384(), 48
	case "P-521":
		curve, size = elliptic.P521(), 66
	default:
		return nil, nil, errors.New(`unsupported "crv" (want P-256, P-384 or P-521)`)
	}
	x, err1 := b64(jwk, "x")
	y, err2 := b64(jwk, "y")
	if err := errors.Join(err1, err2); err != nil {
		return nil, nil, err
	}
	if len(x) != size || len(y) != size {
		return nil, nil, errors.New("coordinates of the wrong size for the curve")
	}
	pt := make([]byte, 0, 1+2*size)
	pt = append(append(append(pt, 4), x...), y...)
	k, err := ecdsa.ParseUncompressedPublicKey(curve, pt)
	return k, pt, err
}

func str(v *jsonValue, name string) string {
	if m, ok := v.Get(name); ok && m.Kind == jsonString {
		return m.Str
	}
	return ""
}

func b64(v *jsonValue, name string) ([]byte, error) {
	s := str(v, name)
	if s == "" {
		return nil, errors.New(`missing "` + name + `"`)
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return nil, errors.New(`"` + name + `" is not base64url`)
	}
	return b, nil
}

func b64Int(v *jsonValue, name string) (*big.Int, error) {
	b, err := b64(v, name)
	if err != nil {
		return nil, err
	}
	return new(big.Int).SetBytes(b), nil
}
