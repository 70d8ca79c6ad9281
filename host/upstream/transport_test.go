package upstream

import (
	"crypto/tls"
	"strings"
	"testing"
	"time"

	"github.com/sluice-proxy/sluice/host/config"
	"github.com/sluice-proxy/sluice/host/upstream/transport"
)

// Issue 2: each upstream's transport is configured from its keys.
func TestTransportOptions(t *testing.T) {
	for _, tc := range []struct {
		name  string
		cfg   config.Upstream
		basic *config.Basic
		check func(t *testing.T, o transport.Options)
		err   string
	}{
		{
			name: "defaults are left to the transport",
			check: func(t *testing.T, o transport.Options) {
				if o.ConnectTimeout != 0 || o.ReadTimeout != 0 || o.MaxIdlePerHost != 0 || o.TLS != nil || o.Protocol != transport.H1 {
					t.Errorf("options = %+v; want zero values", o)
				}
			},
		},
		{
			name: "timeouts, pool size and tcp options",
			cfg: config.Upstream{
				ConnectionTimeout: config.Duration(2 * time.Second), TotalConnectionTimeout: config.Duration(5 * time.Second),
				ReadTimeout: config.Duration(7 * time.Second), WriteTimeout: config.Duration(8 * time.Second),
				IdleTimeout: config.Duration(-1), TCPIdle: config.Duration(30 * time.Second), TCPInterval: config.Duration(5 * time.Second),
				TCPProbeCount: 4, TCPUserTimeout: config.Duration(20 * time.Second), TCPRecvBuf: 1 << 20, TCPFastOpen: true,
			},
			basic: &config.Basic{UpstreamKeepalivePoolSize: 512},
			check: func(t *testing.T, o transport.Options) {
				want := transport.Options{
					ConnectTimeout: 2 * time.Second, TotalConnectTimeout: 5 * time.Second,
					ReadTimeout: 7 * time.Second, WriteTimeout: 8 * time.Second, IdleTimeout: -1, MaxIdlePerHost: 512,
					Socket: transport.SocketOptions{
						KeepAlive:   transport.KeepAlive{Idle: 30 * time.Second, Interval: 5 * time.Second, Count: 4},
						UserTimeout: 20 * time.Second, RecvBuffer: 1 << 20, FastOpen: true,
					},
				}
				if o != want {
					t.Errorf("options =\n%+v\nwant\n%+v", o, want)
				}
			},
		},
		{
			name: "sni turns TLS on and verifies by default",
			cfg:  config.Upstream{Sni: "api.example", Alpn: "H2"},
			check: func(t *testing.T, o transport.Options) {
				if o.TLS == nil || o.TLS.ServerName != "api.example" || o.TLS.InsecureSkipVerify || o.SNIFromRequest || o.TLS.MinVersion != tls.VersionTLS12 {
					t.Errorf("TLS = %+v, SNIFromRequest = %v", o.TLS, o.SNIFromRequest)
				}
				if o.Protocol != transport.H2 {
					t.Errorf("protocol = %v; want h2", o.Protocol)
				}
			},
		},
		{
			name: "sni $host and verify_cert false",
			cfg:  config.Upstream{Sni: "$host", VerifyCert: boolPtr(false), Alpn: "h2h1"},
			check: func(t *testing.T, o transport.Options) {
				if o.TLS == nil || o.TLS.ServerName != "" || !o.TLS.InsecureSkipVerify || !o.SNIFromRequest || o.Protocol != transport.H2H1 {
					t.Errorf("TLS = %+v, SNIFromRequest = %v, protocol = %v", o.TLS, o.SNIFromRequest, o.Protocol)
				}
			},
		},
		{
			name: "h2 without sni is h2c",
			cfg:  config.Upstream{Alpn: "h2"},
			check: func(t *testing.T, o transport.Options) {
				if o.TLS != nil || o.Protocol != transport.H2 {
					t.Errorf("TLS = %v, protocol = %v; want h2c", o.TLS, o.Protocol)
				}
			},
		},
		{name: "bad alpn", cfg: config.Upstream{Alpn: "spdy"}, err: "spdy"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o, err := transportOptions(&tc.cfg, tc.basic)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v; want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, o)
		})
	}
}

// Build hands the derived options to the NewTransport seam.
func TestBuildPassesTransportOptions(t *testing.T) {
	e := newEnv(t)
	c := staticUpstream("", "10.0.0.1")
	c.ReadTimeout = config.Duration(3 * time.Second)
	u, err := e.reg.Build("u", c, &config.Basic{UpstreamKeepalivePoolSize: 64})
	if err != nil {
		t.Fatal(err)
	}
	defer u.Release()
	o := e.transports()[0].opts
	if o.ReadTimeout != 3*time.Second || o.MaxIdlePerHost != 64 {
		t.Errorf("transport built with %+v", o)
	}
	// The pool size is part of what makes a config unchanged.
	u2, err := e.reg.Build("u", c, &config.Basic{UpstreamKeepalivePoolSize: 32})
	if err != nil {
		t.Fatal(err)
	}
	defer u2.Release()
	if u2.p == u.p {
		t.Error("a new keep-alive pool size shared the old transport")
	}
}
