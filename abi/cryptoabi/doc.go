// Package cryptoabi declares, once for the host (host/cryptox) and the
// guests (through sdk), the foreign function with which a plugin has the
// host verify a signature natively: its name, the algorithms, the byte
// layout of its argument and result, the key forms and the bounds.
//
// Why it exists: a plugin's callbacks run under a time budget, which makes
// every loop iteration of a guest exit to the host to check it; RSA and
// ECDSA verification loop a great deal, so a Go guest verifying an RS256
// JWT spends milliseconds where the host spends tens of microseconds. The
// policy (which algorithm, which key, what the claims must say) stays in
// the plugin; only the arithmetic moves.
//
// # Verify (FuncVerify)
//
//	args:   [0]               Alg
//	        [1:3]             K, the key's length (little-endian uint16,
//	                          1 to MaxKey)
//	        [3:3+K]           the key, in the form of its algorithm (below)
//	        [3+K:5+K]         S, the signature's length (little-endian
//	                          uint16, at most MaxSignature)
//	        [5+K:5+K+S]       the signature, as JWS carries it (RFC 7518)
//	        [5+K+S:]          the signed data (at most MaxData bytes)
//	result: one byte: Valid or Invalid
//
// For example, an HS256 check of data "a.b" with secret "k" and a 32-byte
// MAC is the bytes 01 | 01 00 | 'k' | 20 00 | <32 bytes> | 'a' '.' 'b'.
//
// The result says Valid only when the signature holds. Any other answer (a
// non-OK status, an empty or unknown result) must be taken as "not
// verified": a guest never treats a failure of the host as a pass.
//
// # Key forms
//
//   - HS256, HS384, HS512: the secret itself.
//   - RS*, PS* (RSASSA-PKCS1-v1_5 and RSASSA-PSS): the public exponent e
//     as a 4-byte big-endian integer, then the modulus n big-endian
//     (AppendRSAKey). The modulus has MinRSABits to MaxRSABits bits; e is
//     odd, at least 3 and below 2^31.
//   - ES256, ES384, ES512: the SEC 1 uncompressed point 0x04 || X || Y on
//     the algorithm's curve (P-256, P-384, P-521), X and Y big-endian and
//     of the curve's size (Alg.CoordSize): a JWK's x and y, concatenated.
//   - EdDSA: the 32-byte Ed25519 public key (a JWK's x).
//
// These are the raw parameters a JSON Web Key carries, so a plugin gets
// them without DER. The host caches the public keys it has parsed (keyed
// by their exact bytes), so sending the same key again costs a lookup.
//
// # Signatures
//
// As JWS has them: the MAC for HS*; the s bytes of the modulus' size for
// RS* and PS* (PSS with a salt as long as the hash, RFC 7518 §3.5); R || S
// with each of Alg.CoordSize bytes for ES* (§3.4); 64 bytes for EdDSA. A
// signature of another length is Invalid, not an error.
//
// # Errors
//
// Arguments that cannot be decoded, an unknown algorithm, a key that is not
// of the algorithm's form (wrong length, a point off the curve, an RSA
// modulus out of bounds), or data over MaxData are BAD_ARGUMENT. A host
// without the function answers NOT_FOUND.
package cryptoabi
