package h1

import (
	"context"
	"time"
)

// Noticing a client that goes away while its request is being served.
//
// net/http keeps a read pending on every connection while the handler
// runs, which costs a goroutine switch and a syscall per request. Here the
// read starts only when a request has been running for watchDelay: fast
// requests pay for a timer reset, and a slow one (a long poll, a held
// upstream) still learns within watchDelay that its client left, so that
// its context is canceled, the upstream request aborted and what it held
// (a rate-limit slot, a pooled connection) released.
//
// The pending read is a Peek on the connection's reader, so that bytes of
// a pipelined next request land in the buffer like any other. It runs only
// when the handler is done with the request body (the reader has one user
// at a time); a request whose body is still being read is checked again
// after another watchDelay.
const watchDelay = 100 * time.Millisecond

// aLongTimeAgo is a deadline in the past: it fails a pending read at once.
var aLongTimeAgo = time.Unix(1, 0)

// beginWatch arms the watch for the request now starting.
func (c *conn) beginWatch(body *body, cancel context.CancelFunc) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.active, c.body, c.cancel = true, body, cancel
	if c.watchTimer == nil {
		c.watchTimer = time.AfterFunc(watchDelay, c.startWatch)
	} else {
		c.watchTimer.Reset(watchDelay)
	}
}

// startWatch runs on the timer: it starts the pending read if it can.
func (c *conn) startWatch() {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if !c.active || c.watching {
		return
	}
	if c.body != nil && !c.body.done() {
		c.watchTimer.Reset(watchDelay)
		return
	}
	// From here on the handler leaves the reader alone.
	if c.br.Buffered() > 0 {
		// A pipelined request is waiting: the client is there.
		return
	}
	// The request is read: its read deadline has served its purpose, and
	// must not be mistaken for the client leaving.
	c.nc.SetReadDeadline(time.Time{})
	c.watching = true
	c.watchDone = make(chan struct{})
	go c.watch(c.cancel, c.watchDone)
}

func (c *conn) watch(cancel context.CancelFunc, done chan struct{}) {
	defer close(done)
	if _, err := c.br.Peek(1); err != nil && !c.aborting.Load() {
		// EOF or a reset: nobody is waiting for the response.
		cancel()
	}
}

// endWatch stops the watch when the handler is done, and waits for a
// pending read to give the reader back. It reports whether it had to cut
// such a read short (which leaves a read deadline in the past).
func (c *conn) endWatch() bool {
	c.wmu.Lock()
	c.watchTimer.Stop()
	c.active, c.body, c.cancel = false, nil, nil
	watching, done := c.watching, c.watchDone
	c.watching = false
	if watching {
		c.aborting.Store(true)
		c.nc.SetReadDeadline(aLongTimeAgo)
	}
	c.wmu.Unlock()
	if watching {
		<-done
		c.aborting.Store(false)
		c.readDeadline = true
	}
	return watching
}
