// Package h1wire holds the HTTP/1 syntax that both ends of the proxy parse:
// host/upstream/transport reads response heads from backends and
// host/server/h1 reads request heads from clients. One implementation of
// field parsing, token and value checks means one set of rules for what
// counts as well-formed (and one fuzz target guarding it). The token check
// also serves the packages that validate names without parsing a head
// (host/wasm for plugin-set headers, host/accesslog for Server-Timing).
//
// The parser works on a complete head held in one byte slice (usually a
// bufio.Reader's own buffer), canonicalizes header names in place, and
// records offsets, so that the caller turns the whole head into one string
// and every name and value into a substring of it: one allocation for all
// the text of a head.
package h1wire
