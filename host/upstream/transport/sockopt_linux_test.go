//go:build linux

package transport

import (
	"context"
	"net"
	"net/http"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func sockopt(t *testing.T, c net.Conn, level, opt int) int {
	t.Helper()
	rc, err := c.(*net.TCPConn).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var v int
	var serr error
	if err := rc.Control(func(fd uintptr) { v, serr = unix.GetsockoptInt(int(fd), level, opt) }); err != nil {
		t.Fatal(err)
	}
	if serr != nil {
		t.Fatal(serr)
	}
	return v
}

// dialWith connects to addr with the default dialer built from o.
func dialWith(t *testing.T, o SocketOptions, addr string) net.Conn {
	t.Helper()
	d, err := newNetDialer(o)
	if err != nil {
		t.Fatal(err)
	}
	c, err := d.DialContext(context.Background(), "tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestSocketOptions(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	o := SocketOptions{
		KeepAlive:   KeepAlive{Idle: 7 * time.Second, Interval: 3 * time.Second, Count: 4},
		UserTimeout: 1500 * time.Millisecond,
		RecvBuffer:  64 << 10,
		FastOpen:    true,
	}
	c := dialWith(t, o, ln.Addr().String())
	for _, tc := range []struct {
		name       string
		level, opt int
		want       int
	}{
		{"keep-alive on", syscall.SOL_SOCKET, syscall.SO_KEEPALIVE, 1},
		{"keep-alive idle", syscall.IPPROTO_TCP, unix.TCP_KEEPIDLE, 7},
		{"keep-alive interval", syscall.IPPROTO_TCP, unix.TCP_KEEPINTVL, 3},
		{"keep-alive count", syscall.IPPROTO_TCP, unix.TCP_KEEPCNT, 4},
		{"user timeout", syscall.IPPROTO_TCP, unix.TCP_USER_TIMEOUT, 1500},
		{"receive buffer (doubled by the kernel)", syscall.SOL_SOCKET, syscall.SO_RCVBUF, 128 << 10},
		{"fast open", syscall.IPPROTO_TCP, unix.TCP_FASTOPEN_CONNECT, 1},
	} {
		if got := sockopt(t, c, tc.level, tc.opt); got != tc.want {
			t.Errorf("%s: got %d; want %d", tc.name, got, tc.want)
		}
	}

	t.Run("keep-alive off", func(t *testing.T) {
		c := dialWith(t, SocketOptions{KeepAlive: KeepAlive{Idle: -1}}, ln.Addr().String())
		if got := sockopt(t, c, syscall.SOL_SOCKET, syscall.SO_KEEPALIVE); got != 0 {
			t.Errorf("SO_KEEPALIVE = %d; want 0", got)
		}
	})
}

func TestFastOpenRoundTrip(t *testing.T) {
	// With TCP_FASTOPEN_CONNECT the SYN waits for the first write; the
	// request must still go through.
	srv, _ := newServer(t, http.HandlerFunc(echoHandler))
	tp := newT(t, Options{Socket: SocketOptions{FastOpen: true}})
	for range 3 {
		tp.CloseIdle()
		mustDo(t, tp, newReq(t, "GET", "/", nil), addrOf(srv), nil)
	}
}
