package server

import (
	"context"
	"net"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// TCPOptions are the socket options of a listener and its connections.
type TCPOptions struct {
	// KeepAlive configures TCP keep-alive probes on accepted connections.
	// The zero value keeps Go's default (enabled, 15s).
	KeepAlive net.KeepAliveConfig
	// UserTimeout sets TCP_USER_TIMEOUT on accepted connections (Linux);
	// zero leaves the kernel default.
	UserTimeout time.Duration
	// FastOpen is the TCP Fast Open queue length; zero disables it.
	FastOpen int
	// ReusePort sets SO_REUSEPORT so several processes can share the port
	// (e.g. during a binary upgrade).
	ReusePort bool
}

// Listen opens a TCP listening socket on addr with the options set.
func Listen(addr string, o TCPOptions) (net.Listener, error) {
	lc := net.ListenConfig{KeepAliveConfig: o.KeepAlive}
	if o.ReusePort || o.FastOpen > 0 || o.UserTimeout > 0 {
		lc.Control = func(network, address string, c syscall.RawConn) error {
			var serr error
			err := c.Control(func(fd uintptr) {
				if o.ReusePort {
					if serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEPORT, 1); serr != nil {
						return
					}
				}
				if o.FastOpen > 0 {
					if serr = unix.SetsockoptInt(int(fd), unix.IPPROTO_TCP, unix.TCP_FASTOPEN, o.FastOpen); serr != nil {
						return
					}
				}
				if o.UserTimeout > 0 {
					// Linux copies TCP_USER_TIMEOUT from the listening
					// socket to the connections it accepts.
					serr = unix.SetsockoptInt(int(fd), unix.IPPROTO_TCP, unix.TCP_USER_TIMEOUT, int(o.UserTimeout/time.Millisecond))
				}
			})
			if err != nil {
				return err
			}
			return serr
		}
	}
	return lc.Listen(context.Background(), network(addr), addr)
}

// network returns "tcp6" for an IPv6 wildcard address, "tcp" otherwise. Go
// opens "[::]:80" as a dual-stack socket, which would collide with
// "0.0.0.0:80" in the common Pingap setting "0.0.0.0:80,[::]:80"; as tcp6
// the socket is IPv6-only (IPV6_V6ONLY), as nginx and Pingap open it.
func network(addr string) string {
	host, _, err := net.SplitHostPort(addr)
	if err == nil && (host == "::" || host == "0:0:0:0:0:0:0:0") {
		return "tcp6"
	}
	return "tcp"
}
