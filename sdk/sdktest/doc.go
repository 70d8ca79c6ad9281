// Package sdktest runs a plugin written with the sluice SDK in-process,
// under plain `go test`, against a fake host that behaves like sluice (and
// Envoy) where plugins can tell the difference: header maps readable and
// writable only in their phase, body buffering on Pause, local responses,
// deferred queue notifications, shared data with CAS, metrics, ticks, http
// callouts answered by the test, properties and a settable clock.
//
// A test imports the plugin's package (for a plugin's own main_test.go,
// that is the package under test), starts a Host with the plugin's JSON
// configuration and drives streams through it:
//
//	h := sdktest.Start(t, `{"path": "/ping"}`)
//	s := h.NewStream()
//	if a := s.SendRequestHeaders(sdktest.Get("/ping"), true); a != sdk.Pause { ... }
//	lr := s.LocalResponse()   // status 200, body "pong"
//
// The SDK keeps its VM state in package variables, as a Wasm module does,
// so one Host exists at a time: New waits for the previous Host of the test
// binary to be cleaned up, and tests using sdktest must not call
// t.Parallel.
package sdktest
