//go:build unix && !linux

package transport

import (
	"fmt"
	"syscall"
)

const haveRecvBuffer = true

func setRecvBuffer(fd uintptr, n int) error {
	if err := syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, n); err != nil {
		return fmt.Errorf("setting SO_RCVBUF: %w", err)
	}
	return nil
}
