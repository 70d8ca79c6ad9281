package transport

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"syscall"
	"time"
)

// Dialer opens a TCP connection to a backend. *net.Dialer implements it.
// It is the seam through which tests inject connect failures and fake
// connections; the default one applies Options.Socket.
type Dialer interface {
	DialContext(ctx context.Context, network, address string) (net.Conn, error)
}

var _ Dialer = (*net.Dialer)(nil)

// newNetDialer builds the default dialer from the socket options. Timeouts
// come from the dial context, not from the dialer.
func newNetDialer(o SocketOptions) (*net.Dialer, error) {
	d := &net.Dialer{}
	if o.KeepAlive.Idle < 0 {
		d.KeepAlive = -1
	} else {
		d.KeepAliveConfig = net.KeepAliveConfig{
			Enable:   true,
			Idle:     o.KeepAlive.Idle,
			Interval: o.KeepAlive.Interval,
			Count:    o.KeepAlive.Count,
		}
	}
	if o.UserTimeout == 0 && o.RecvBuffer == 0 && !o.FastOpen {
		return d, nil
	}
	if err := checkSocketOptions(o); err != nil {
		return nil, err
	}
	d.Control = func(_, _ string, c syscall.RawConn) error {
		var serr error
		if err := c.Control(func(fd uintptr) { serr = setSocketOptions(fd, o) }); err != nil {
			return err
		}
		return serr
	}
	return d, nil
}

// dialed is a fresh connection and what the dial learned about it.
type dialed struct {
	nc       net.Conn
	tlsState *tls.ConnectionState
	connect  time.Duration
	tls      time.Duration
}

// dial connects to addr, then runs the TLS handshake when cfg is not nil.
// sni overrides cfg.ServerName when not empty. It bounds the TCP connect by
// s.connect and connect plus handshake by s.total. Failures are *Error with
// Op OpDial or OpTLS.
func dial(ctx context.Context, s *settings, addr string, cfg *tls.Config, sni string) (dialed, error) {
	var d dialed
	if s.total > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, s.total)
		defer cancel()
	}
	dctx := ctx
	if s.connect > 0 && (s.total == 0 || s.connect < s.total) {
		var cancel context.CancelFunc
		dctx, cancel = context.WithTimeout(ctx, s.connect)
		defer cancel()
	}
	start := time.Now()
	nc, err := s.dialer.DialContext(dctx, "tcp", addr)
	d.connect = time.Since(start)
	if err != nil {
		return d, dialError(OpDial, addr, dctx, err)
	}
	if nc == nil {
		return d, &Error{Op: OpDial, Addr: addr, Err: errors.New("dialer returned no connection")}
	}
	if cfg == nil {
		d.nc = nc
		return d, nil
	}
	if sni != "" || cfg.ServerName == "" {
		cfg = cfg.Clone()
		if sni == "" {
			host, _, err := net.SplitHostPort(addr)
			if err != nil {
				nc.Close()
				return d, &Error{Op: OpTLS, Addr: addr, Err: fmt.Errorf("backend address: %w", err)}
			}
			sni = host
		}
		cfg.ServerName = sni
	}
	tc := tls.Client(nc, cfg)
	start = time.Now()
	err = tc.HandshakeContext(ctx)
	d.tls = time.Since(start)
	if err != nil {
		nc.Close()
		return d, dialError(OpTLS, addr, ctx, err)
	}
	st := tc.ConnectionState()
	d.nc, d.tlsState = tc, &st
	return d, nil
}

// dialError wraps a connect or handshake failure, telling a timeout of ours
// (ctx expired while its parent did not) from a cancellation by the caller.
func dialError(op, addr string, ctx context.Context, err error) *Error {
	e := &Error{Op: op, Addr: addr, Err: err}
	if cerr := ctx.Err(); cerr != nil {
		e.Timeout = errors.Is(cerr, context.DeadlineExceeded)
		if !errors.Is(err, cerr) {
			e.Err = fmt.Errorf("%w (%w)", cerr, err)
		}
		return e
	}
	e.Timeout = isTimeout(err)
	return e
}
