//go:build !linux

package transport

import (
	"net"
	"syscall"
)

// rawConnOf returns nil: the idle probe is Linux only, and elsewhere a stale
// connection is found by the request that uses it.
func rawConnOf(net.Conn) syscall.RawConn { return nil }

// idleAlive is never called off Linux, since rawConnOf returns nil.
func idleAlive(syscall.RawConn) bool { return true }
