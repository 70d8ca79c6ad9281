package server

import (
	"net"
	"sync"
)

// feed is a net.Listener fed by a port's accept loop. An http.Server serves
// a feed instead of the socket itself, so that the socket can outlive the
// server: on a reload the port attaches a new feed and the old server stops
// getting connections without the socket ever closing.
//
// The hand-over is unbuffered on purpose: a connection is either taken by
// the server's Accept or refused by a closed feed (and then offered to the
// port's current feed), so none is ever stranded in a retired server.
type feed struct {
	ch   chan net.Conn
	done chan struct{}
	once sync.Once
}

func newFeed() *feed {
	return &feed{ch: make(chan net.Conn), done: make(chan struct{})}
}

// push hands c to the server; false if the feed is closed.
func (f *feed) push(c net.Conn) bool {
	select {
	case f.ch <- c:
		return true
	case <-f.done:
		return false
	}
}

// Accept implements net.Listener.
func (f *feed) Accept() (net.Conn, error) {
	select {
	case c := <-f.ch:
		return c, nil
	case <-f.done:
		return nil, net.ErrClosed
	}
}

// Close implements net.Listener. It does not close the socket.
func (f *feed) Close() error {
	f.once.Do(func() { close(f.done) })
	return nil
}

// Addr implements net.Listener.
func (f *feed) Addr() net.Addr { return &net.TCPAddr{} }
