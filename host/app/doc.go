// Package app is the composition root of sluice: the only package that
// knows every other one. It turns a config into a running generation and
// keeps the process alive across reloads:
//
//	load (host/config) → build a generation beside the running one
//	  (upstreams, plugins, certificates, one proxy.Site per server)
//	→ bind any new listen address (host/server)
//	→ swap: every server's proxy.Entry gets its new Site, the certificate
//	  store is replaced, servers whose listener settings changed get a new
//	  http.Server on the same socket
//	→ retire the old generation: its upstream references and plugin VMs are
//	  released when its last request ends.
//
// A failed step before the swap discards what was built and leaves the
// running generation untouched; the error lists every problem. Long-lived
// things live outside generations and are shared by reference: listening
// sockets (server.Manager), upstream pools and their health state
// (upstream.Registry), compiled Wasm modules (wasm.Runtime), and the
// certificate pointer read by every handshake (tlsx.Manager).
//
// Run adds the process around it: SIGHUP reloads, a changed plugin file is
// picked up by the Wasm runtime, and the context's end (SIGTERM) drains
// in-flight requests for basic.grace_period before exiting.
package app
