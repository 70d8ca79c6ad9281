package tlsx

import (
	"crypto/tls"
	"errors"
	"net"
	"sync"
	"time"
)

// DefaultHandshakeTimeout bounds a TLS handshake when ListenerOptions does
// not say otherwise.
const DefaultHandshakeTimeout = 10 * time.Second

// ListenerOptions tune a Listener.
type ListenerOptions struct {
	// HandshakeTimeout bounds each handshake, from accept to done. Zero
	// means DefaultHandshakeTimeout.
	HandshakeTimeout time.Duration
	// OnHandshake, if set, is called once per accepted connection after its
	// handshake, with err nil on success. It runs on the connection's own
	// goroutine, so it may record metrics or log; it must not block.
	OnHandshake func(c net.Conn, info ConnInfo, err error)
	// Now is the clock that times handshakes for Info; nil means
	// time.Now. The timeout always runs on the real clock.
	Now func() time.Time
}

// Listener accepts TCP connections from an inner listener, runs each TLS
// handshake on its own goroutine, and returns from Accept only connections
// whose handshake succeeded, as *tls.Conn (so net/http still sees TLS and
// negotiates h2). Doing the handshake here rather than in net/http lets the
// Listener time it exactly: Info reports the duration. A slow or failed
// handshake never holds up Accept.
type Listener struct {
	inner net.Listener
	cfg   *tls.Config
	opts  ListenerOptions

	ready chan acceptResult
	done  chan struct{}

	mu       sync.Mutex
	inflight map[net.Conn]struct{}
	closed   bool
	wg       sync.WaitGroup
}

type acceptResult struct {
	c   net.Conn
	err error
}

// NewListener wraps inner and starts accepting. cfg is usually a Manager's
// TLSConfig for the server. Close stops it.
func NewListener(inner net.Listener, cfg *tls.Config, opts ListenerOptions) *Listener {
	if opts.HandshakeTimeout <= 0 {
		opts.HandshakeTimeout = DefaultHandshakeTimeout
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	l := &Listener{
		inner:    inner,
		cfg:      cfg,
		opts:     opts,
		ready:    make(chan acceptResult),
		done:     make(chan struct{}),
		inflight: map[net.Conn]struct{}{},
	}
	l.wg.Add(1)
	go l.acceptLoop()
	return l
}

// acceptLoop accepts raw connections and starts their handshakes. An
// accept error is handed to Accept's caller, which decides whether to retry
// (net/http backs off on temporary errors); the loop waits for that hand-
// over, so it cannot spin.
func (l *Listener) acceptLoop() {
	defer l.wg.Done()
	for {
		raw, err := l.inner.Accept()
		if err != nil {
			select {
			case l.ready <- acceptResult{err: err}:
			case <-l.done:
				return
			}
			if errors.Is(err, net.ErrClosed) {
				// Closed under us: later Accepts must fail too, not block.
				l.shutdown()
				return
			}
			continue
		}
		if !l.track(raw) {
			raw.Close()
			return
		}
		l.wg.Add(1)
		go l.handshake(raw)
	}
}

// track records a connection in handshake so that Close can abort it; it
// reports false once the Listener is closed.
func (l *Listener) track(c net.Conn) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return false
	}
	l.inflight[c] = struct{}{}
	return true
}

func (l *Listener) untrack(c net.Conn) {
	l.mu.Lock()
	delete(l.inflight, c)
	l.mu.Unlock()
}

func (l *Listener) handshake(raw net.Conn) {
	defer l.wg.Done()
	defer l.untrack(raw)
	tc := &timedConn{Conn: raw}
	conn := tls.Server(tc, l.cfg)
	start := l.opts.Now()
	// Socket deadlines are on the OS clock, whatever clock times us.
	err := raw.SetDeadline(time.Now().Add(l.opts.HandshakeTimeout))
	if err == nil {
		err = conn.Handshake()
	}
	if err == nil {
		err = raw.SetDeadline(time.Time{})
	}
	tc.handshake = l.opts.Now().Sub(start)
	if l.opts.OnHandshake != nil {
		info, _ := Info(conn)
		l.opts.OnHandshake(conn, info, err)
	}
	if err != nil {
		conn.Close()
		return
	}
	if conn.ConnectionState().NegotiatedProtocol == alpnACME {
		// A TLS-ALPN-01 validation ends with the handshake (RFC 8737 §3);
		// there is nothing for the HTTP server to read.
		conn.Close()
		return
	}
	select {
	case l.ready <- acceptResult{c: conn}:
	case <-l.done:
		conn.Close()
	}
}

// Accept returns the next connection whose handshake succeeded.
func (l *Listener) Accept() (net.Conn, error) {
	select {
	case r := <-l.ready:
		return r.c, r.err
	case <-l.done:
		return nil, net.ErrClosed
	}
}

// Close stops accepting, closes the inner listener, aborts handshakes in
// progress and waits for their goroutines. Connections already returned by
// Accept are not touched.
func (l *Listener) Close() error {
	if !l.shutdown() {
		return nil
	}
	err := l.inner.Close()
	l.wg.Wait()
	return err
}

// shutdown marks the Listener closed, wakes Accept and aborts handshakes in
// progress. It reports false if the Listener was already closed.
func (l *Listener) shutdown() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return false
	}
	l.closed = true
	close(l.done)
	for c := range l.inflight {
		c.Close()
	}
	return true
}

// Addr is the inner listener's address.
func (l *Listener) Addr() net.Addr { return l.inner.Addr() }

// timedConn is the raw connection under a *tls.Conn made by a Listener; it
// carries the handshake's duration to Info.
type timedConn struct {
	net.Conn
	// handshake is written before the connection is handed to Accept's
	// caller (a channel send), and only read after.
	handshake time.Duration
}

// NetConn returns the TCP connection, for code that needs socket options.
func (c *timedConn) NetConn() net.Conn { return c.Conn }

// ConnInfo describes a TLS connection's handshake, for access logs
// ({tls_version}, {tls_cipher}, {tls_handshake_time}) and metrics.
type ConnInfo struct {
	// ServerName is the SNI the client sent, or "".
	ServerName string
	// Version and CipherSuite are the negotiated values (tls.VersionTLS13,
	// tls.TLS_AES_128_GCM_SHA256, ...); VersionName and CipherName give
	// their OpenSSL spellings.
	Version     uint16
	CipherSuite uint16
	// NegotiatedProtocol is the ALPN result: "h2", "http/1.1" or "".
	NegotiatedProtocol string
	// DidResume is true for a resumed session (no full handshake).
	DidResume bool
	// HandshakeDuration is how long the handshake took, or zero when the
	// connection did not come from a Listener.
	HandshakeDuration time.Duration
}

// Info returns the handshake details of c, which must be a *tls.Conn (as
// given to http.Server's ConnContext or ConnState) whose handshake is
// complete; ok is false otherwise.
func Info(c net.Conn) (info ConnInfo, ok bool) {
	tc, isTLS := c.(*tls.Conn)
	if !isTLS {
		return ConnInfo{}, false
	}
	st := tc.ConnectionState()
	info = ConnInfo{
		ServerName:         st.ServerName,
		Version:            st.Version,
		CipherSuite:        st.CipherSuite,
		NegotiatedProtocol: st.NegotiatedProtocol,
		DidResume:          st.DidResume,
	}
	if t, isTimed := tc.NetConn().(*timedConn); isTimed {
		info.HandshakeDuration = t.handshake
	}
	return info, st.HandshakeComplete
}

// VersionName is the OpenSSL name of the version, e.g. "TLSv1.3".
func (i ConnInfo) VersionName() string { return VersionName(i.Version) }

// CipherName is the OpenSSL name of the cipher suite.
func (i ConnInfo) CipherName() string { return CipherName(i.CipherSuite) }
