// Package codec compresses and decompresses HTTP bodies natively for Wasm
// plugins: the host side of the foreign functions declared in
// abi/codecabi (sluice.codec.open, .write, .close, .stats).
//
// A plugin (compression) keeps the policy: which responses, which
// encoding, which level. This package does the byte work as streams, one
// session per body, with klauspost/compress (gzip, zstd, deflate) and
// andybalholm/brotli (br). Doing it here instead of inside the module is a
// measured choice: a Go plugin compiled to Wasm and run by wazero
// compresses several times slower than the same code run natively (see
// BenchmarkCompress and the README).
//
// # Sessions
//
// Codec holds the open sessions of the process, keyed by a handle that is
// only good for the plugin that opened it. Encoders are pooled per encoding
// and level, since building one (a zstd or brotli window) costs more than
// compressing a small body. A decoder runs on a goroutine of its own, fed
// chunk by chunk: the decompressors are pull-based readers, and a goroutine
// parked on "need more input" is how one is suspended between two body
// chunks without buffering the whole body. Its output per call is bounded
// (codecabi.MaxOutput) against decompression bombs.
//
// Sessions a plugin never finishes (its VM trapped, the client left) are
// reaped after Options.IdleTimeout, on the next Open. The number of open
// sessions is bounded by Options.MaxSessions.
//
// Stats counts bodies and bytes per encoding and direction, for the stats
// plugin (sluice.codec.stats) and metrics.
//
// # Wiring
//
// Packages below host/wasm may not speak the ABI, so Functions returns
// plain Go functions; the app adapts each with wasm.ErrorFunc. Errors wrap
// fs.ErrInvalid (bad input: BAD_ARGUMENT) or fs.ErrNotExist (unknown
// handle: NOT_FOUND).
//
// Codec is safe for concurrent use.
package codec
