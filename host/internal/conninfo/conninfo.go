// Package conninfo carries what the proxy may know about a client
// connection from host/server, which accepts it, to host/proxy, which serves
// its requests (proxy cannot import server: imports flow the other way).
package conninfo

import (
	"context"
	"crypto/tls"
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
	// TLS is the TLS connection, nil for plain connections; its
	// ConnectionState is complete once the first request arrives.
	TLS *tls.Conn
	// Handshake is how long the TLS handshake took (zero for plain or not
	// yet measured connections), in nanoseconds; set by host/server.
	Handshake atomic.Int64
}

type key struct{}

var seq atomic.Uint64

// New returns the context of a freshly accepted connection.
func New(ctx context.Context, c net.Conn) context.Context {
	cc := &Conn{ID: seq.Add(1), Accepted: time.Now(), Local: c.LocalAddr(), Remote: c.RemoteAddr()}
	if t, ok := c.(*tls.Conn); ok {
		cc.TLS = t
	}
	return context.WithValue(ctx, key{}, cc)
}

// From returns the connection of a request's context, or nil.
func From(ctx context.Context) *Conn {
	c, _ := ctx.Value(key{}).(*Conn)
	return c
}
