package server

import (
	"context"
	"net"
	"net/http"
	"sync/atomic"

	"github.com/sluice-proxy/sluice/host/internal/conninfo"
	"github.com/sluice-proxy/sluice/host/tlsx"
)

func connContext(ctx context.Context, c net.Conn) context.Context {
	ctx, cc := conninfo.New(ctx, c)
	if info, ok := tlsx.Info(c); ok {
		cc.TLSVersion = info.VersionName()
		cc.TLSCipher = info.CipherName()
		cc.Handshake = info.HandshakeDuration
	}
	return ctx
}

// connState counts open client connections for metrics.
func connState(_ net.Conn, s http.ConnState) {
	switch s {
	case http.StateNew:
		openConns.Add(1)
	case http.StateClosed, http.StateHijacked:
		openConns.Add(-1)
	}
}

var openConns atomic.Int64

// OpenConns returns the number of client connections open now.
func OpenConns() int64 { return openConns.Load() }
