//go:build !unix

package transport

import "errors"

const haveRecvBuffer = false

func setRecvBuffer(uintptr, int) error {
	return errors.New("SO_RCVBUF is not supported on this platform")
}
