package cryptoabi

import (
	"encoding/binary"
	"errors"
)

// FuncVerify is the foreign function that verifies a signature.
const FuncVerify = "sluice.crypto.verify"

// Bounds of one call. They bound the host's work per call: hashing is
// linear in the data, RSA verification quadratic in the modulus' size.
const (
	// MaxKey bounds a key's encoded length: an HMAC secret, or an RSA key
	// of MaxRSABits (4 + 1024 bytes) with room to spare.
	MaxKey = 8 << 10
	// MaxSignature bounds a signature's length: no algorithm here makes
	// longer ones (RS* with an 8192-bit key: 1024 bytes).
	MaxSignature = 1 << 10
	// MaxData bounds the signed data: more than any request header carries
	// (a JWT's signing input travels in one).
	MaxData = 1 << 20
	// MinRSABits and MaxRSABits bound an RSA modulus. Go refuses shorter
	// keys as insecure; longer ones cost more than a quick host call may.
	MinRSABits = 1024
	MaxRSABits = 8192
)

// Result bytes.
const (
	// Invalid: the signature does not hold for this key and data.
	Invalid byte = 0
	// Valid: the signature holds.
	Valid byte = 1
)

// Alg is a JWS signature algorithm (RFC 7518 §3.1; EdDSA is RFC 8037's,
// with Ed25519 keys).
type Alg byte

// Algorithms. The zero value is no algorithm.
const (
	HS256 Alg = 1 + iota
	HS384
	HS512
	RS256
	RS384
	RS512
	PS256
	PS384
	PS512
	ES256
	ES384
	ES512
	EdDSA
	maxAlg = EdDSA
)

var algNames = [...]string{
	HS256: "HS256", HS384: "HS384", HS512: "HS512",
	RS256: "RS256", RS384: "RS384", RS512: "RS512",
	PS256: "PS256", PS384: "PS384", PS512: "PS512",
	ES256: "ES256", ES384: "ES384", ES512: "ES512",
	EdDSA: "EdDSA",
}

// String returns the JWS name, e.g. "RS256"; "" for an unknown value.
func (a Alg) String() string {
	if a == 0 || a > maxAlg {
		return ""
	}
	return algNames[a]
}

// ParseAlg returns the Alg of a JWS name ("none" and unknown names are
// not algorithms).
func ParseAlg(name string) (Alg, bool) {
	if len(name) != 5 {
		return 0, false
	}
	for a := Alg(1); a <= maxAlg; a++ {
		if algNames[a] == name {
			return a, true
		}
	}
	return 0, false
}

// Family groups the algorithms that share a key form.
type Family byte

// Families.
const (
	FamilyHMAC  Family = 'H' // HS*: a secret
	FamilyRSA   Family = 'R' // RS* (PKCS #1 v1.5) and PS* (PSS): an RSA key
	FamilyECDSA Family = 'E' // ES*: a point on the algorithm's curve
	FamilyEdDSA Family = 'O' // EdDSA: an Ed25519 key (RFC 8037's OKP)
)

// Family returns the algorithm's key family; 0 for an unknown value.
func (a Alg) Family() Family {
	switch {
	case a >= HS256 && a <= HS512:
		return FamilyHMAC
	case a >= RS256 && a <= PS512:
		return FamilyRSA
	case a >= ES256 && a <= ES512:
		return FamilyECDSA
	case a == EdDSA:
		return FamilyEdDSA
	}
	return 0
}

// PSS reports whether a is an RSASSA-PSS algorithm (PS*).
func (a Alg) PSS() bool { return a >= PS256 && a <= PS512 }

// HashBits returns the size in bits of the algorithm's hash (256, 384 or
// 512); 0 for EdDSA, which hashes internally, and unknown values.
func (a Alg) HashBits() int {
	switch a {
	case HS256, RS256, PS256, ES256:
		return 256
	case HS384, RS384, PS384, ES384:
		return 384
	case HS512, RS512, PS512, ES512:
		return 512
	}
	return 0
}

// CoordSize returns, for ES*, the size in bytes of a coordinate of the
// curve and of each half (R, S) of a signature: 32, 48 or 66. 0 otherwise.
func (a Alg) CoordSize() int {
	switch a {
	case ES256:
		return 32
	case ES384:
		return 48
	case ES512:
		return 66
	}
	return 0
}

// Ed25519KeySize and Ed25519SignatureSize are EdDSA's key and signature
// lengths.
const (
	Ed25519KeySize       = 32
	Ed25519SignatureSize = 64
)

// Errors of the encoders and decoders.
var (
	// ErrShort: the arguments end before their header or a length says.
	ErrShort = errors.New("cryptoabi: arguments too short")
	// ErrAlg: not an algorithm of this package.
	ErrAlg = errors.New("cryptoabi: unknown algorithm")
	// ErrKeySize: a key empty or longer than MaxKey.
	ErrKeySize = errors.New("cryptoabi: key empty or longer than MaxKey")
	// ErrSignatureSize: a signature longer than MaxSignature.
	ErrSignatureSize = errors.New("cryptoabi: signature longer than MaxSignature")
	// ErrDataSize: data longer than MaxData.
	ErrDataSize = errors.New("cryptoabi: data longer than MaxData")
	// ErrRSAKey: not an RSA key of the form and bounds of this package.
	ErrRSAKey = errors.New("cryptoabi: malformed RSA key")
)

// VerifyArgs is the decoded argument of FuncVerify.
type VerifyArgs struct {
	Alg       Alg
	Key       []byte
	Signature []byte
	Data      []byte
}

// AppendVerify appends the encoded arguments of FuncVerify to dst. It
// refuses what the host would refuse for its size (ErrKeySize,
// ErrSignatureSize, ErrDataSize) or algorithm (ErrAlg); the key's form is
// the host's to check.
func AppendVerify(dst []byte, a VerifyArgs) ([]byte, error) {
	if err := a.checkSizes(); err != nil {
		return dst, err
	}
	dst = append(dst, byte(a.Alg))
	dst = binary.LittleEndian.AppendUint16(dst, uint16(len(a.Key)))
	dst = append(dst, a.Key...)
	dst = binary.LittleEndian.AppendUint16(dst, uint16(len(a.Signature)))
	dst = append(dst, a.Signature...)
	return append(dst, a.Data...), nil
}

// VerifySize returns the encoded length of a's arguments.
func VerifySize(a VerifyArgs) int { return 5 + len(a.Key) + len(a.Signature) + len(a.Data) }

// DecodeVerify decodes the arguments of FuncVerify; the slices of the
// result alias b. It checks the layout, the algorithm and the sizes; the
// key's form is the caller's to check.
func DecodeVerify(b []byte) (VerifyArgs, error) {
	if len(b) < 3 {
		return VerifyArgs{}, ErrShort
	}
	a := VerifyArgs{Alg: Alg(b[0])}
	k := int(binary.LittleEndian.Uint16(b[1:]))
	b = b[3:]
	if len(b) < k+2 {
		return VerifyArgs{}, ErrShort
	}
	a.Key, b = b[:k:k], b[k:]
	s := int(binary.LittleEndian.Uint16(b))
	b = b[2:]
	if len(b) < s {
		return VerifyArgs{}, ErrShort
	}
	a.Signature, a.Data = b[:s:s], b[s:]
	if err := a.checkSizes(); err != nil {
		return VerifyArgs{}, err
	}
	return a, nil
}

func (a *VerifyArgs) checkSizes() error {
	switch {
	case a.Alg.Family() == 0:
		return ErrAlg
	case len(a.Key) == 0 || len(a.Key) > MaxKey:
		return ErrKeySize
	case len(a.Signature) > MaxSignature:
		return ErrSignatureSize
	case len(a.Data) > MaxData:
		return ErrDataSize
	}
	return nil
}

// AppendRSAKey appends the key form of the RSA public key with modulus n
// (big-endian, as a JWK's "n" or big.Int.Bytes) and exponent e to dst. It
// refuses (ErrRSAKey) what the host refuses: a modulus out of
// MinRSABits..MaxRSABits or even, an exponent even, below 3 or from 2^31.
func AppendRSAKey(dst []byte, n []byte, e int) ([]byte, error) {
	n = trimZeros(n)
	if !rsaKeyOK(n, e) {
		return dst, ErrRSAKey
	}
	dst = binary.BigEndian.AppendUint32(dst, uint32(e))
	return append(dst, n...), nil
}

// DecodeRSAKey decodes an RSA key form: the modulus (big-endian, without
// leading zeros; it aliases key) and the exponent. It applies the checks
// of AppendRSAKey.
func DecodeRSAKey(key []byte) (n []byte, e int, err error) {
	if len(key) < 5 {
		return nil, 0, ErrRSAKey
	}
	e64 := binary.BigEndian.Uint32(key)
	n = trimZeros(key[4:])
	if e64 >= 1<<31 || !rsaKeyOK(n, int(e64)) {
		return nil, 0, ErrRSAKey
	}
	return n, int(e64), nil
}

func rsaKeyOK(n []byte, e int) bool {
	if len(n) == 0 || n[len(n)-1]&1 == 0 || e < 3 || int64(e) >= 1<<31 || e&1 == 0 {
		return false
	}
	bits := (len(n)-1)*8 + bitLen(n[0])
	return bits >= MinRSABits && bits <= MaxRSABits
}

func trimZeros(b []byte) []byte {
	for len(b) > 0 && b[0] == 0 {
		b = b[1:]
	}
	return b
}

func bitLen(x byte) int {
	n := 0
	for ; x != 0; x >>= 1 {
		n++
	}
	return n
}

// ECKeySize returns the length of the key form (the uncompressed point)
// for an ES* algorithm: 65, 97 or 133; 0 otherwise.
func (a Alg) ECKeySize() int {
	if c := a.CoordSize(); c > 0 {
		return 1 + 2*c
	}
	return 0
}
