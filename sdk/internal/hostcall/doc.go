// Package hostcall is the SDK's only seam to the host: every proxy-wasm host
// function as a Go function with Go types, and every callback the host may
// make as a method of the Guest interface.
//
// Two builds implement the same functions:
//
//   - imports_wasm.go (GOOS=wasip1 GOARCH=wasm) declares the proxy-wasm
//     imports with go:wasmimport and calls them directly, and
//     exports_wasm.go exports the callbacks with go:wasmexport and forwards
//     them to the registered Guest.
//   - imports_native.go (every other platform) forwards each function to a
//     Host registered with SetHost. sdk/sdktest registers an in-memory fake,
//     so that a plugin's logic runs under plain `go test`, and drives the
//     callbacks through CurrentGuest.
//
// # Memory
//
// Inputs are passed to the host as pointers into Go memory, borrowed for the
// call. Results are written by the host into buffers it obtains from the
// exported allocator (proxy_on_memory_allocate). Those buffers are kept in a
// pin list until the wrapper that made the host call takes them, so the
// garbage collector cannot free a buffer between its allocation and its
// hand-over (the allocator may be called more than once per host call, and
// any allocation may run the collector). A result of length 0 has pointer 0
// and no buffer.
//
// Nothing here is safe for concurrent use: a proxy-wasm VM runs one callback
// at a time, and so does sdktest.
package hostcall
