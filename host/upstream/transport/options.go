package transport

import (
	"crypto/tls"
	"errors"
	"fmt"
	"time"
)

// Protocol is the HTTP version spoken to the backends (the upstream's
// `alpn` key).
type Protocol uint8

const (
	// H1 is HTTP/1.1 through the lean client of this package.
	H1 Protocol = iota
	// H2 is HTTP/2: over TLS when Options.TLS is set (ALPN "h2" required),
	// otherwise h2c with prior knowledge.
	H2
	// H2H1 offers both "h2" and "http/1.1" by ALPN and speaks whatever the
	// backend picks. Without TLS there is nothing to negotiate and it is
	// the same as H1.
	H2H1
)

// String returns the config spelling: "h1", "h2" or "h2h1".
func (p Protocol) String() string {
	switch p {
	case H1:
		return "h1"
	case H2:
		return "h2"
	case H2H1:
		return "h2h1"
	}
	return fmt.Sprintf("Protocol(%d)", uint8(p))
}

// ParseProtocol reads the upstream `alpn` value. The empty string is H1.
func ParseProtocol(s string) (Protocol, error) {
	switch s {
	case "", "h1", "http1", "http/1.1":
		return H1, nil
	case "h2", "http2":
		return H2, nil
	case "h2h1":
		return H2H1, nil
	}
	return H1, fmt.Errorf("unknown protocol %q (want h1, h2 or h2h1)", s)
}

// Defaults used when an Options field is zero.
const (
	DefaultConnectTimeout         = 10 * time.Second
	DefaultReadTimeout            = 60 * time.Second
	DefaultWriteTimeout           = 60 * time.Second
	DefaultIdleTimeout            = 60 * time.Second
	DefaultExpectContinueTimeout  = time.Second
	DefaultMaxIdlePerHost         = 128
	DefaultMaxResponseHeaderBytes = 64 << 10
)

// KeepAlive configures TCP keep-alive probes on backend connections (the
// upstream's tcp_idle, tcp_interval and tcp_probe_count). Zero fields take the
// operating system's or Go's defaults (15s, 15s, 9).
type KeepAlive struct {
	// Idle is how long a connection is idle before the first probe. A
	// negative value turns TCP keep-alive off.
	Idle time.Duration
	// Interval is the time between unanswered probes.
	Interval time.Duration
	// Count is how many unanswered probes drop the connection.
	Count int
}

// SocketOptions are applied to every backend socket by the default dialer.
type SocketOptions struct {
	KeepAlive KeepAlive
	// UserTimeout sets TCP_USER_TIMEOUT: how long written data may stay
	// unacknowledged before the kernel drops the connection. Zero leaves
	// the system default. Linux only; New fails elsewhere.
	UserTimeout time.Duration
	// RecvBuffer sets SO_RCVBUF in bytes before connecting. Zero leaves
	// the system default.
	RecvBuffer int
	// FastOpen enables TCP Fast Open on connect (TCP_FASTOPEN_CONNECT), so
	// a repeat connection carries the request in its SYN. Linux only; New
	// fails elsewhere.
	FastOpen bool
}

// Options configure a Transport. The zero value is a working HTTP/1.1
// transport with the package defaults. A zero duration means the default;
// a negative one turns that limit off.
type Options struct {
	// ConnectTimeout bounds the TCP connect (connection_timeout).
	ConnectTimeout time.Duration
	// TotalConnectTimeout bounds the TCP connect plus the TLS handshake
	// (total_connection_timeout). Default: ConnectTimeout + 10s.
	TotalConnectTimeout time.Duration
	// ReadTimeout bounds the wait for the response head (from the end of
	// the request until the blank line after the headers) and every wait
	// for response body data (read_timeout).
	ReadTimeout time.Duration
	// WriteTimeout bounds every write of the request to the socket
	// (write_timeout).
	WriteTimeout time.Duration
	// IdleTimeout is how long an idle keep-alive connection stays in the
	// pool (idle_timeout). A negative value disables keep-alive.
	IdleTimeout time.Duration
	// ExpectContinueTimeout is how long a request carrying
	// "Expect: 100-continue" waits for the backend's 100 before sending
	// its body anyway. Negative: send the body at once.
	ExpectContinueTimeout time.Duration
	// MaxIdlePerHost caps the idle keep-alive connections kept per backend
	// address (upstream_keepalive_pool_size). Zero is
	// DefaultMaxIdlePerHost; negative disables keep-alive, and every
	// request then carries "Connection: close".
	MaxIdlePerHost int
	// MaxResponseHeaderBytes caps the response head, the interim (1xx)
	// heads together with the final one, and the trailers. Zero is
	// DefaultMaxResponseHeaderBytes.
	MaxResponseHeaderBytes int
	// TLS, when not nil, makes connections use TLS with this
	// configuration (cloned; never modified). Its ServerName is the fixed
	// SNI (the upstream's `sni`); when empty and SNIFromRequest is false,
	// the host part of the backend address is used for verification.
	// InsecureSkipVerify is `verify_cert = false`. NextProtos is set from
	// Protocol.
	TLS *tls.Config
	// SNIFromRequest sends the request's host (without port) as SNI and
	// verifies the certificate against it (`sni = "$host"`). Connections
	// are pooled per address and name. Requires TLS.
	SNIFromRequest bool
	// Protocol selects HTTP/1.1, HTTP/2 or negotiation.
	Protocol Protocol
	// Socket are the options of the default dialer. They are ignored when
	// Dialer is set.
	Socket SocketOptions
	// Dialer opens TCP connections. Nil uses a net.Dialer configured from
	// Socket. Tests inject failures here.
	Dialer Dialer
}

// settings are Options with defaults applied and "disabled" spelled as 0.
type settings struct {
	connect, total       time.Duration
	read, write          time.Duration
	idle, expectContinue time.Duration
	maxIdle              int // 0: keep-alive off
	maxHeader            int
	tls                  *tls.Config
	sniFromRequest       bool
	protocol             Protocol
	dialer               Dialer
}

// resolve checks o and fills in the defaults.
func (o *Options) resolve() (settings, error) {
	var errs []error
	s := settings{
		connect:        orDefault(o.ConnectTimeout, DefaultConnectTimeout),
		read:           orDefault(o.ReadTimeout, DefaultReadTimeout),
		write:          orDefault(o.WriteTimeout, DefaultWriteTimeout),
		idle:           orDefault(o.IdleTimeout, DefaultIdleTimeout),
		expectContinue: orDefault(o.ExpectContinueTimeout, DefaultExpectContinueTimeout),
		sniFromRequest: o.SNIFromRequest,
		protocol:       o.Protocol,
		dialer:         o.Dialer,
	}
	switch {
	case o.TotalConnectTimeout > 0:
		s.total = o.TotalConnectTimeout
		if s.connect == 0 || s.connect > s.total {
			s.connect = s.total
		}
	case o.TotalConnectTimeout == 0 && s.connect > 0:
		s.total = s.connect + 10*time.Second
	}
	switch {
	case o.MaxIdlePerHost == 0:
		s.maxIdle = DefaultMaxIdlePerHost
	case o.MaxIdlePerHost > 0:
		s.maxIdle = o.MaxIdlePerHost
	}
	if s.idle == 0 {
		s.maxIdle = 0
	}
	switch {
	case o.MaxResponseHeaderBytes == 0:
		s.maxHeader = DefaultMaxResponseHeaderBytes
	case o.MaxResponseHeaderBytes < 512:
		errs = append(errs, fmt.Errorf("max response header bytes %d is below the minimum of 512", o.MaxResponseHeaderBytes))
	default:
		s.maxHeader = o.MaxResponseHeaderBytes
	}
	if o.TLS != nil {
		s.tls = o.TLS.Clone()
		if s.tls.ClientSessionCache == nil {
			// Resumed sessions make reconnects to a backend cheaper.
			s.tls.ClientSessionCache = tls.NewLRUClientSessionCache(0)
		}
	}
	if o.SNIFromRequest && o.TLS == nil {
		errs = append(errs, errors.New("sni from request needs TLS to the upstream"))
	}
	if o.Protocol > H2H1 {
		errs = append(errs, fmt.Errorf("unknown protocol %d", o.Protocol))
	}
	if o.Socket.RecvBuffer < 0 {
		errs = append(errs, fmt.Errorf("socket receive buffer %d is negative", o.Socket.RecvBuffer))
	}
	if o.Socket.KeepAlive.Count < 0 || o.Socket.KeepAlive.Interval < 0 {
		errs = append(errs, errors.New("tcp keep-alive interval and probe count must not be negative"))
	}
	if o.Socket.UserTimeout < 0 {
		errs = append(errs, fmt.Errorf("tcp user timeout %v is negative", o.Socket.UserTimeout))
	}
	if s.dialer == nil {
		d, err := newNetDialer(o.Socket)
		if err != nil {
			errs = append(errs, err)
		} else {
			s.dialer = d
		}
	}
	if len(errs) > 0 {
		return settings{}, fmt.Errorf("transport options: %w", errors.Join(errs...))
	}
	return s, nil
}

// orDefault maps zero to def and negative to 0 ("off").
func orDefault(d, def time.Duration) time.Duration {
	switch {
	case d == 0:
		return def
	case d < 0:
		return 0
	}
	return d
}
