// Package abi declares the proxy-wasm ABI (v0.2.1, also accepting the v0.2.0
// marker the Go SDK exports) once, as data: the names of every host function
// a plugin may import and every callback a plugin may export, their wasm
// signatures, the enumerations that cross the boundary (statuses, actions,
// buffer, map, stream, peer, metric types, log levels), and the wire codec of
// header maps.
//
// Both sides import it: host/wasm implements the host functions on wazero,
// and the guest SDK (sdk/) declares the imports and exports. It uses the
// standard library only and builds for the host and for GOOS=wasip1
// GOARCH=wasm. Names and numbers follow Envoy's host library
// (proxy-wasm-cpp-host), since the public SDKs are tested against it; see
// shared/reference/proxy-wasm.md.
//
// # Values crossing the boundary
//
// Every scalar is an i32 except metric values and the current time (i64).
// Booleans are i32 0 or 1. Pointers and sizes are i32 offsets into the
// guest's linear memory. Out-parameters (return_ptr, return_len,
// return_token, ...) are guest addresses where the host writes the value
// little-endian: 4 bytes for pointers, sizes and ids, 8 bytes for time and
// metric values. They need not be aligned.
//
// # Memory ownership
//
//   - Inputs: a (ptr, len) pair passed by the guest to a host function is
//     borrowed for the duration of that call only. The host copies what it
//     keeps; the guest may free or reuse the bytes as soon as the call
//     returns.
//   - Results: when a host function returns bytes (a header value, a
//     serialized map, a buffer, a property), the host calls the guest's
//     allocator (FuncMalloc, else FuncOnMemoryAllocate) for exactly len
//     bytes, copies the data there and writes (ptr, len) to the
//     out-parameters. The guest owns that memory from then on and frees it.
//     A zero-length result is written as ptr 0, len 0 and the allocator is
//     not called (some SDKs crash on zero-size allocations and treat ptr 0 as
//     "nothing").
//   - The allocator is the only guest code the host calls while a host
//     function is running. It may grow (and so move) linear memory: the host
//     copies its inputs before it allocates, and re-reads memory after.
//   - An allocator that returns 0 makes the host function fail with
//     StatusInvalidMemoryAccess. So does any (ptr, len) that is not entirely
//     inside linear memory.
//
// # Header maps
//
// Maps (headers, trailers, http-call response headers) cross the boundary in
// one serialized form, see EncodeMap and DecodeMap: a u32 count, then a u32
// key length and a u32 value length per pair, then each key and value
// followed by a NUL byte. Keys are lower-case. Decoding rejects maps larger
// than MaxMapBytes or with more than MaxMapPairs pairs.
//
// # Property paths
//
// A property path is a list of segments joined by a single NUL byte, with no
// trailing NUL: ["request", "path"] is "request\x00path". See JoinPath and
// SplitPath.
package abi
