//go:build !linux

package transport

import "errors"

// checkSocketOptions refuses, at load time, the options only Linux has.
func checkSocketOptions(o SocketOptions) error {
	var errs []error
	if o.UserTimeout != 0 {
		errs = append(errs, errors.New("tcp user timeout is only supported on Linux"))
	}
	if o.FastOpen {
		errs = append(errs, errors.New("tcp fast open is only supported on Linux"))
	}
	if o.RecvBuffer != 0 && !haveRecvBuffer {
		errs = append(errs, errors.New("tcp receive buffer size is not supported on this platform"))
	}
	return errors.Join(errs...)
}

// setSocketOptions applies SO_RCVBUF, the one option other platforms have.
func setSocketOptions(fd uintptr, o SocketOptions) error {
	if o.RecvBuffer > 0 {
		return setRecvBuffer(fd, o.RecvBuffer)
	}
	return nil
}
