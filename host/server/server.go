package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/sluice-proxy/sluice/host/server/h1"
	"github.com/sluice-proxy/sluice/host/tlsx"
)

// Spec describes one server as the config wants it.
type Spec struct {
	// Name is the server's config name, used in logs.
	Name string
	// Addrs are the listen addresses.
	Addrs []string
	// Handler serves every request of this server. It should be stable
	// across generations (host/proxy swaps what is behind it), so that a
	// server with unchanged settings keeps its connections.
	Handler http.Handler
	// TLS, when not nil, terminates TLS on every connection with this
	// config. It should pick certificates through a pointer that outlives
	// generations, so that certificate changes need no new server.
	TLS *tls.Config
	// H2 enables HTTP/2: ALPN "h2" on TLS, prior-knowledge h2c on plain
	// listeners.
	H2 bool
	// ReadTimeout, ReadHeaderTimeout, WriteTimeout and IdleTimeout are the
	// http.Server timeouts; zero disables the one concerned.
	ReadTimeout, ReadHeaderTimeout, WriteTimeout, IdleTimeout time.Duration
	// MaxHeaderBytes caps request headers.
	MaxHeaderBytes int
	// MaxConcurrentStreams caps HTTP/2 streams per connection. Default 100.
	MaxConcurrentStreams int
	// TCP holds socket options.
	TCP TCPOptions
	// OnHandshake, if set, is told about every TLS handshake (metrics).
	OnHandshake func(c net.Conn, info tlsx.ConnInfo, err error)
	// Fingerprint identifies the listener-relevant settings. Two Specs of
	// the same server with equal fingerprints share one http.Server across
	// an Apply. The caller computes it from the config (TLS and Handler
	// are not compared).
	Fingerprint string
}

// Manager runs the servers of the process.
type Manager struct {
	log    *slog.Logger
	grace  time.Duration
	listen func(addr string, o TCPOptions) (net.Listener, error)

	mu     sync.Mutex
	ports  map[string]*port // by listen address
	sites  map[string]*site // by server name
	closed bool
	wg     sync.WaitGroup // accept loops and retiring servers
}

// Options configures a Manager.
type Options struct {
	// Logger receives server errors; default slog.Default().
	Logger *slog.Logger
	// GracePeriod is how long a retired or shut-down server waits for its
	// connections before closing them. Default 30s.
	GracePeriod time.Duration
	// Listen opens a listening socket; default is Listen with TCP options.
	// Tests inject failures here.
	Listen func(addr string, o TCPOptions) (net.Listener, error)
}

// NewManager returns a Manager with no servers.
func NewManager(o Options) *Manager {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.GracePeriod <= 0 {
		o.GracePeriod = 30 * time.Second
	}
	if o.Listen == nil {
		o.Listen = Listen
	}
	return &Manager{log: o.Logger.With("component", "server"), grace: o.GracePeriod, listen: o.Listen,
		ports: map[string]*port{}, sites: map[string]*site{}}
}

// site is one server: HTTP/1 connections are served by h1, HTTP/2 ones
// are handed to srv (net/http), and feeds bring the connections.
type site struct {
	spec  Spec
	h1    *h1.Server
	srv   *http.Server
	feeds []*feed // one per address
}

// shutdown stops both servers gracefully, within ctx.
func (st *site) shutdown(ctx context.Context) error {
	var err1, err2 error
	var wg sync.WaitGroup
	wg.Go(func() { err1 = st.h1.Shutdown(ctx) })
	err2 = st.srv.Shutdown(ctx)
	wg.Wait()
	return errors.Join(err1, err2)
}

// close closes every connection of both servers.
func (st *site) close() {
	st.h1.Close()
	st.srv.Close()
}

// port is one listening socket and its accept loop. The loop hands each
// connection to the feed currently attached, so the socket survives changes
// of the server behind it.
type port struct {
	conf   string // the address as configured
	addr   string // the address bound
	ln     net.Listener
	mu     sync.Mutex
	cur    *feed
	closed bool
}

func (p *port) close() {
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	p.ln.Close()
}

// Apply makes the running servers match specs. It binds every new address
// first; if that fails nothing changes and the error names the server and
// address. Servers that are gone or changed are retired gracefully in the
// background.
func (m *Manager) Apply(specs []Spec) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return errors.New("server manager is shut down")
	}

	wantAddr := map[string]string{} // addr -> server name
	for _, s := range specs {
		for _, a := range s.Addrs {
			if other, dup := wantAddr[a]; dup {
				return fmt.Errorf("servers.%s.addr: %q is already used by servers.%s", s.Name, a, other)
			}
			wantAddr[a] = s.Name
		}
	}

	// 1. Bind what is new. On failure close what was bound here.
	var opened []*port
	for _, s := range specs {
		for _, a := range s.Addrs {
			if _, ok := m.ports[a]; ok {
				continue
			}
			ln, err := m.listen(a, s.TCP)
			if err != nil {
				for _, p := range opened {
					p.ln.Close()
					delete(m.ports, p.conf)
				}
				return fmt.Errorf("servers.%s.addr: listening on %s: %w", s.Name, a, err)
			}
			p := &port{conf: a, addr: ln.Addr().String(), ln: ln}
			opened = append(opened, p)
			m.ports[a] = p
		}
	}

	// 2. Build or keep sites.
	next := make(map[string]*site, len(specs))
	var retire []*site
	for _, s := range specs {
		old := m.sites[s.Name]
		if old != nil && old.spec.Fingerprint == s.Fingerprint && slices.Equal(old.spec.Addrs, s.Addrs) {
			// The handler is not swapped (it would race with requests
			// being served): callers keep one handler per server name.
			// The TLS config is not swapped: its certificates come
			// through the tlsx Manager's pointer, and its other settings
			// are part of the fingerprint.
			next[s.Name] = old
			continue
		}
		st := m.newSite(s)
		for i, a := range s.Addrs {
			m.ports[a].attach(st.feeds[i])
		}
		next[s.Name] = st
		if old != nil {
			retire = append(retire, old)
		}
	}
	for name, old := range m.sites {
		if _, ok := next[name]; !ok {
			retire = append(retire, old)
		}
	}
	m.sites = next
	// Only now that every new socket has its server: a connection accepted
	// before would find no feed and be closed unread (a reset for a client
	// that connected as soon as the port answered).
	for _, p := range opened {
		m.wg.Add(1)
		go m.acceptLoop(p)
	}

	// 3. Close sockets nobody wants any more, then retire old servers.
	for a, p := range m.ports {
		if _, ok := wantAddr[a]; !ok {
			p.close()
			delete(m.ports, a)
		}
	}
	for _, st := range retire {
		m.retire(st)
	}
	return nil
}

// Addrs returns the actual listening addresses by configured address (the
// port differs when the config asked for ":0").
func (m *Manager) Addrs() map[string]string {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make(map[string]string, len(m.ports))
	for a, p := range m.ports {
		out[a] = p.addr
	}
	return out
}

func (m *Manager) newSite(s Spec) *site {
	srv := &http.Server{
		Handler:           s.Handler,
		ReadTimeout:       s.ReadTimeout,
		ReadHeaderTimeout: s.ReadHeaderTimeout,
		WriteTimeout:      s.WriteTimeout,
		IdleTimeout:       s.IdleTimeout,
		MaxHeaderBytes:    s.MaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(m.log.With("server", s.Name).Handler(), slog.LevelDebug),
		ConnContext:       connContext,
		ConnState:         connState,
	}
	var p http.Protocols
	p.SetHTTP1(true)
	if s.H2 {
		if s.TLS != nil {
			p.SetHTTP2(true)
		} else {
			p.SetUnencryptedHTTP2(true)
		}
	}
	srv.Protocols = &p
	streams := s.MaxConcurrentStreams
	if streams <= 0 {
		streams = 100
	}
	srv.HTTP2 = &http.HTTP2Config{MaxConcurrentStreams: streams}
	log := m.log.With("server", s.Name)
	hs := &h1.Server{
		Handler:           s.Handler,
		ReadTimeout:       s.ReadTimeout,
		ReadHeaderTimeout: s.ReadHeaderTimeout,
		WriteTimeout:      s.WriteTimeout,
		IdleTimeout:       s.IdleTimeout,
		MaxHeaderBytes:    s.MaxHeaderBytes,
		ConnContext:       connContext,
		ConnState:         connState,
		Logger:            log,
	}
	st := &site{spec: s, h1: hs, srv: srv}
	if s.H2 {
		// net/http serves what speaks HTTP/2; it gets those connections
		// from h1 through a feed of its own.
		h2 := newFeed()
		hs.H2 = func(c net.Conn) {
			if !h2.push(c) {
				c.Close()
			}
		}
		m.wg.Add(1)
		go func() {
			defer m.wg.Done()
			err := srv.Serve(h2)
			if err != nil && !errors.Is(err, http.ErrServerClosed) && !errors.Is(err, net.ErrClosed) {
				log.Error("serving HTTP/2 stopped", "err", err)
			}
		}()
	}
	for range s.Addrs {
		f := newFeed()
		st.feeds = append(st.feeds, f)
		var ln net.Listener = f
		if s.TLS != nil {
			// Handshakes run off the accept path with a deadline, and the
			// servers get finished *tls.Conn values: net/http negotiates
			// h2 from their ALPN as long as its own TLSConfig stays nil.
			ln = tlsx.NewListener(f, s.TLS, tlsx.ListenerOptions{HandshakeTimeout: s.ReadHeaderTimeout, OnHandshake: s.OnHandshake})
		}
		m.wg.Add(1)
		go func() {
			defer m.wg.Done()
			for {
				c, err := ln.Accept()
				if err != nil {
					if !errors.Is(err, net.ErrClosed) {
						log.Error("serving stopped", "err", err)
					}
					return
				}
				go hs.ServeConn(c)
			}
		}()
	}
	return st
}

// retire stops feeding st new connections and lets its current ones finish
// within the grace period.
func (m *Manager) retire(st *site) {
	for _, f := range st.feeds {
		f.Close()
	}
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		ctx, cancel := context.WithTimeout(context.Background(), m.grace)
		defer cancel()
		if err := st.shutdown(ctx); err != nil {
			m.log.Warn("closing connections after grace period", "server", st.spec.Name, "grace", m.grace)
			st.close()
		}
	}()
}

// Shutdown closes every listening socket, then waits for in-flight
// requests to finish, at most until ctx ends; connections still open then
// are closed.
func (m *Manager) Shutdown(ctx context.Context) error {
	m.mu.Lock()
	m.closed = true
	for a, p := range m.ports {
		p.close()
		delete(m.ports, a)
	}
	sites := m.sites
	m.sites = map[string]*site{}
	m.mu.Unlock()

	var wg sync.WaitGroup
	var firstErr error
	var emu sync.Mutex
	for _, st := range sites {
		for _, f := range st.feeds {
			f.Close()
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := st.shutdown(ctx); err != nil {
				st.close()
				emu.Lock()
				if firstErr == nil {
					firstErr = fmt.Errorf("shutting down server %s: %w", st.spec.Name, err)
				}
				emu.Unlock()
			}
		}()
	}
	wg.Wait()
	m.wg.Wait()
	return firstErr
}

func (m *Manager) acceptLoop(p *port) {
	defer m.wg.Done()
	var delay time.Duration
	for {
		c, err := p.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			// Temporary errors (EMFILE and friends): back off like
			// net/http does instead of spinning.
			if delay == 0 {
				delay = 5 * time.Millisecond
			} else if delay *= 2; delay > time.Second {
				delay = time.Second
			}
			m.log.Warn("accept failed; retrying", "addr", p.addr, "err", err, "delay", delay)
			time.Sleep(delay)
			continue
		}
		delay = 0
		p.deliver(c)
	}
}

// deliver hands c to the attached feed. A feed closed by a reload between
// reading p.cur and pushing refuses it; the loop then sees the new feed.
func (p *port) deliver(c net.Conn) {
	for {
		p.mu.Lock()
		f, closed := p.cur, p.closed
		p.mu.Unlock()
		if f == nil || closed {
			c.Close()
			return
		}
		if f.push(c) {
			return
		}
		p.mu.Lock()
		same := p.cur == f
		p.mu.Unlock()
		if same {
			// The server of this socket was retired and none replaced
			// it: the socket is about to close.
			c.Close()
			return
		}
	}
}

func (p *port) attach(f *feed) {
	p.mu.Lock()
	p.cur = f
	p.mu.Unlock()
}
