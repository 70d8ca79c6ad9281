package server

import (
	"context"
	"net"
	"net/http"
	"sync/atomic"

	"github.com/sluice-proxy/sluice/host/internal/conninfo"
)

func connContext(ctx context.Context, c net.Conn) context.Context { return conninfo.New(ctx, c) }

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
