// Package proxy is the per-request pipeline of sluice. One Entry per
// configured server is the http.Handler that host/server calls; behind it sits
// the Site of the running config generation, swapped atomically on reload.
//
// A request goes through these steps, in this order, and nowhere else is the
// order written down (see Entry.ServeHTTP):
//
//  1. Acquire the current generation (it is not retired while a request
//     holds it).
//  2. The Prometheus pull path of the server, if configured.
//  3. Match a location (host/route); none is a 404.
//  4. Location limits: max_processing (429) and client_max_body_size (413,
//     also enforced while a chunked body streams).
//  5. Request plugins in the location's order (host/wasm). A plugin may
//     answer locally, which ends the request phase.
//  6. Rewrite, proxy_set_headers / proxy_add_headers, reverse-proxy headers,
//     hop-by-hop headers removed.
//  7. Pick a backend (host/upstream) and forward, retrying where safe:
//     after a failed connect for any method, and for idempotent requests
//     without a body that failed before any response byte, bounded by
//     max_retries and max_retry_window.
//  8. Response plugins in reverse order; the response streams to the client
//     with its trailers. A WebSocket upgrade becomes a two-way tunnel.
//  9. Access log and metrics; plugin on_log/on_done/on_delete.
//
// Failures become HTTP statuses in one place, errors.go.
//
// The inbound request's header map is reused as the outbound one: net/http
// hands it to the handler and never reads it again, and cloning it would be
// a map allocation per request on the hot path. Everything that must stay as
// the client sent it (path, query, host for logs) is kept in the request
// state before anything changes.
package proxy
