// Package cryptox verifies signatures natively for Wasm plugins: the host
// side of the foreign function declared in abi/cryptoabi
// (sluice.crypto.verify).
//
// A plugin (jwt) keeps the policy: which algorithm a token may use, which
// key may sign it, what its claims must say. This package does the
// arithmetic: HMAC (HS256/384/512, compared in constant time), RSASSA-PKCS1
// v1.5 (RS*), RSASSA-PSS (PS*), ECDSA on P-256/384/521 (ES*) and Ed25519
// (EdDSA), with the standard library. Doing it here is a measured choice:
// plugin callbacks run under a time budget that makes every loop iteration
// of a guest exit to Go to check it, and signature checks loop a great
// deal, so an RS256 verification that takes tens of microseconds natively
// takes milliseconds in a Go guest (see BenchmarkVerify and the README).
//
// # Work per call
//
// Every call is bounded before any arithmetic: the data by
// cryptoabi.MaxData, keys by cryptoabi.MaxKey, RSA moduli by
// cryptoabi.MaxRSABits (verification is quadratic in the modulus' size)
// and exponents below 2^31.
//
// # Key cache
//
// Public keys are parsed once and kept, keyed by their exact bytes, in a
// bounded LRU (Options.MaxKeys): a plugin sends its key with every call,
// and the cache turns that into a lookup (for an EC key, it saves checking
// that the point is on the curve). The cache is shared by all plugins: an
// entry is found only with the very bytes that made it, so a plugin gets
// from it exactly what parsing its own bytes would give, and learns nothing
// about other plugins' keys. HMAC secrets are never kept.
//
// # Wiring
//
// Packages below host/wasm may not speak the ABI, so Functions returns
// plain Go functions; the app adapts each with wasm.ErrorFunc. Errors wrap
// fs.ErrInvalid (bad arguments: BAD_ARGUMENT).
//
// A Verifier is safe for concurrent use.
package cryptox
