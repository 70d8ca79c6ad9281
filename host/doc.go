// Package host is the root of everything that runs inside the sluice
// process. It holds no code; its sub-packages are the architecture:
//
//	           ┌──────────── host/app (composition root: load → build generation → swap → drain) ───────────┐
//	           │                                                                                              │
//	client ──► host/server ──► host/route ──► host/proxy ──► host/wasm (plugins, proxy-wasm ABI) ◄── abi/
//	(TLS via host/tlsx)        (pick location)  (pipeline)  └─► host/upstream (balance, health, transport) ──► backend
//	                                                 │
//	                                                 └─► host/accesslog, host/metrics, host/tracing (leaves)
//
// Imports flow one way, from host/app down to host/config; the table in
// DESIGN.md §1 lists what each package may import and host/archtest checks it.
package host
