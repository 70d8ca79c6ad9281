// Package server owns the listening sockets and the net/http servers that
// read requests from them: HTTP/1.0 and 1.1, HTTP/2 over TLS (ALPN) and h2c
// with prior knowledge, TLS termination with a tls.Config supplied by
// host/tlsx, timeouts and header limits that are on by default, and graceful
// shutdown.
//
// A Manager outlives config generations. Apply takes the wanted set of
// servers and makes it so with as little disturbance as possible:
//
//   - a listening address that stays keeps its socket, so no connection is
//     ever refused because of a reload;
//   - a server whose listener settings (TLS, h2, timeouts, TCP options) are
//     unchanged keeps its http.Server and its client connections; only its
//     handler sees the new generation, and that swap is the handler's own
//     business (host/proxy);
//   - a server whose settings changed gets a new http.Server on the same
//     socket: new connections go to it, the old one drains its connections
//     for the grace period;
//   - new addresses are bound before anything else changes, so a bind
//     failure refuses the whole Apply and leaves the running set untouched.
//
// Each accepted connection carries a *conninfo.Conn with its id,
// accept time and request count, which the proxy uses for access logs and
// metrics.
package server
