package upstream

import (
	"crypto/tls"
	"net/http"
	"strings"

	"github.com/sluice-proxy/sluice/host/config"
	"github.com/sluice-proxy/sluice/host/upstream/transport"
)

// RoundTripper is what an upstream needs from its transport. The real one
// is transport.New's; tests plug in others through Options.NewTransport.
type RoundTripper interface {
	// RoundTrip sends req to addr ("ip:port") and returns the response.
	RoundTrip(req *http.Request, addr string, tr *transport.Trace) (*http.Response, error)
	// CloseIdle closes idle pooled connections (a backend left the set).
	CloseIdle()
	// Close retires the transport: idle connections close now, busy ones
	// when their response ends.
	Close()
}

var _ RoundTripper = (*transport.Transport)(nil)

// newDefaultTransport is the default Options.NewTransport. The
// transport's CloseIdleAddr, which RoundTripper does not require, is used
// when discovery drops a backend.
func newDefaultTransport(o transport.Options) (RoundTripper, error) {
	t, err := transport.New(o)
	if err != nil {
		return nil, err
	}
	return t, nil
}

// transportOptions derives an upstream's transport options from its config
// (Pingap §3.4). Zero values are left zero: the transport applies the
// defaults that config.Upstream documents.
func transportOptions(c *config.Upstream, b *config.Basic) (transport.Options, error) {
	proto, err := transport.ParseProtocol(strings.ToLower(strings.TrimSpace(c.Alpn)))
	if err != nil {
		return transport.Options{}, err
	}
	o := transport.Options{
		ConnectTimeout:      c.ConnectionTimeout.D(),
		TotalConnectTimeout: c.TotalConnectionTimeout.D(),
		ReadTimeout:         c.ReadTimeout.D(),
		WriteTimeout:        c.WriteTimeout.D(),
		IdleTimeout:         c.IdleTimeout.D(),
		Protocol:            proto,
		Socket: transport.SocketOptions{
			KeepAlive: transport.KeepAlive{
				Idle:     c.TCPIdle.D(),
				Interval: c.TCPInterval.D(),
				Count:    c.TCPProbeCount,
			},
			UserTimeout: c.TCPUserTimeout.D(),
			RecvBuffer:  int(c.TCPRecvBuf),
			FastOpen:    c.TCPFastOpen,
		},
	}
	if b != nil {
		o.MaxIdlePerHost = b.UpstreamKeepalivePoolSize
	}
	// Setting sni is what turns TLS to the backends on, as in Pingap.
	if c.Sni != "" {
		o.TLS = &tls.Config{
			MinVersion: tls.VersionTLS12,
			// verify_cert defaults to true; false is the user's explicit choice.
			InsecureSkipVerify: c.VerifyCert != nil && !*c.VerifyCert, //nolint:gosec // see above
		}
		if c.Sni == "$host" {
			o.SNIFromRequest = true
		} else {
			o.TLS.ServerName = c.Sni
		}
	}
	return o, nil
}
