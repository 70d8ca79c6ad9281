// Package conninfo carries what the proxy may know about a client
// connection from host/server, which accepts it, to host/proxy, which serves
// its requests (proxy cannot import server: imports flow the other way).
package conninfo

import (
	"context"
	"net"
	"sync/atomic"
	"time"
)

// Conn describes one client connection. It is created once per connection.
type Conn struct {
	// ID numbers connections from 1 in the order they were accepted.
	ID uint64
	// Accepted is when the connection was accepted.
	Accepted time.Time
	// Requests counts the requests read on the connection so far; the
	// proxy increments it, so a value above 1 means the connection was
	// reused.
	Requests atomic.Int64
	// Local and Remote are the connection's addresses.
	Local, Remote net.Addr
	// TLSVersion and TLSCipher name the TLS version and cipher suite as
	// logs show them ("TLSv1.3", OpenSSL names); empty on plain
	// connections. Handshake is how long the TLS handshake took.
	TLSVersion, TLSCipher string
	Handshake             time.Duration
}

type key struct{}

var seq atomic.Uint64

// New returns the context of a freshly accepted connection, and the Conn
// in it for the caller to complete.
func New(ctx context.Context, c net.Conn) (context.Context, *Conn) {
	cc := &Conn{ID: seq.Add(1), Accepted: time.Now(), Local: c.LocalAddr(), Remote: c.RemoteAddr()}
	return context.WithValue(ctx, key{}, cc), cc
}

// From returns the connection of a request's context, or nil.
func From(ctx context.Context) *Conn {
	c, _ := ctx.Value(key{}).(*Conn)
	return c
}
