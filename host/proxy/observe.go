package proxy

import (
	"net/http"

	"github.com/sluice-proxy/sluice/host/internal/reqinfo"
)

// Observers are the observability of one site: access log, metrics and
// tracing, built by host/app from host/accesslog, host/metrics and
// host/tracing. The pipeline calls begin when a request arrives,
// beforeUpstream for each attempt to reach a backend (to inject trace
// context) and done once the response has ended. The zero value observes
// nothing and costs nothing.
type Observers struct {
	// Done receives the finished record. The record is reused afterwards:
	// copy what must outlive the call.
	Done func(rec *reqinfo.Record)
}

func (o *Observers) begin(rs *reqState) {}

func (o *Observers) beforeUpstream(rs *reqState, out *http.Request) {}

func (o *Observers) done(rs *reqState) {
	if o.Done != nil {
		o.Done(&rs.rec)
	}
}
