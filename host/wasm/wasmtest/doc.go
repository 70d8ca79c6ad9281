// Package wasmtest helps test code around host/wasm: Stream is an
// in-memory wasm.Stream for driving filters without a proxy, and
// CheckStream is the conformance test every wasm.Stream implementation
// (host/proxy's included) must pass.
package wasmtest
