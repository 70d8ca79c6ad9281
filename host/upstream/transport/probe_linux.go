//go:build linux

package transport

import (
	"crypto/tls"
	"net"
	"syscall"

	"golang.org/x/sys/unix"
)

// rawConnOf returns the socket under nc for the idle probe, or nil when nc
// is not a socket (a test's fake connection).
func rawConnOf(nc net.Conn) syscall.RawConn {
	if tc, ok := nc.(*tls.Conn); ok {
		nc = tc.NetConn()
	}
	sc, ok := nc.(syscall.Conn)
	if !ok {
		return nil
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return nil
	}
	return rc
}

// idleAlive reports whether an idle pooled connection still looks usable:
// the backend has neither closed it nor sent anything (an idle connection
// has nothing legitimate to read). Without this check a request that cannot
// be replayed would fail on a connection the backend closed while it sat in
// the pool. It costs one non-blocking recvfrom(MSG_PEEK) system call; the
// caller clears the read deadline first, since the poller refuses to run
// the probe past it.
func idleAlive(rc syscall.RawConn) bool {
	var b [1]byte
	alive := false
	err := rc.Read(func(fd uintptr) bool {
		_, _, err := unix.Recvfrom(int(fd), b[:], unix.MSG_PEEK|unix.MSG_DONTWAIT)
		alive = err == unix.EAGAIN
		return true
	})
	return err == nil && alive
}
