// Package h1 serves HTTP/1.0 and HTTP/1.1 connections to an http.Handler.
//
// It replaces net/http's server for the connections that matter most to a
// proxy's throughput: net/http spends about as much CPU per request as the
// proxying itself (a background read goroutine and an extra read syscall per
// request, a fresh header map and response writer, the textproto parser).
// Measured with the same handler on one core, net/http's server reaches
// 0.60 of nginx while a bare read/write loop reaches 1.0 (README,
// Performance).
//
// The handler sees the usual *http.Request and an http.ResponseWriter that
// also implements http.Flusher, http.Hijacker and the deadline methods of
// http.ResponseController, so host/proxy cannot tell the two servers apart.
// Heads are parsed by host/internal/h1wire, the parser the upstream
// transport uses for responses; request bodies are framed strictly (a
// request with both Content-Length and Transfer-Encoding is refused rather
// than guessed at, RFC 9112 §6.3).
//
// HTTP/2 stays with net/http: a TLS connection that negotiated "h2" and a
// plain one that opens with the HTTP/2 preface are handed to Server.H2.
//
// What this server does not do, on purpose: it does not sniff a
// Content-Type (a proxy passes the backend's through, or none), and it does
// not watch an idle client while the handler runs, so a client that goes
// away is noticed when its response is written rather than at once.
package h1
