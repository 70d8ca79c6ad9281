//go:build linux

package transport

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// checkSocketOptions reports options this platform cannot apply. Linux
// supports all of them.
func checkSocketOptions(SocketOptions) error { return nil }

// setSocketOptions runs on the socket before connect, so that SO_RCVBUF
// shapes the window scale and TCP_FASTOPEN_CONNECT defers the SYN to the
// first write.
func setSocketOptions(fd uintptr, o SocketOptions) error {
	if o.RecvBuffer > 0 {
		if err := unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUF, o.RecvBuffer); err != nil {
			return fmt.Errorf("setting SO_RCVBUF: %w", err)
		}
	}
	if o.UserTimeout > 0 {
		ms := int(o.UserTimeout.Milliseconds())
		if ms == 0 {
			ms = 1
		}
		if err := unix.SetsockoptInt(int(fd), unix.IPPROTO_TCP, unix.TCP_USER_TIMEOUT, ms); err != nil {
			return fmt.Errorf("setting TCP_USER_TIMEOUT: %w", err)
		}
	}
	if o.FastOpen {
		if err := unix.SetsockoptInt(int(fd), unix.IPPROTO_TCP, unix.TCP_FASTOPEN_CONNECT, 1); err != nil {
			return fmt.Errorf("setting TCP_FASTOPEN_CONNECT: %w", err)
		}
	}
	return nil
}
