package proxy

import (
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sluice-proxy/sluice/host/route"
	"github.com/sluice-proxy/sluice/host/upstream"
)

// Generation reference-counts the requests of one config generation, so
// that its resources (upstream references, plugin VMs) are released only
// when its last request has ended. host/app creates one per generation.
type Generation struct {
	inflight atomic.Int64
	retired  atomic.Bool
	closed   atomic.Bool
	onIdle   func()
	idle     chan struct{}
}

// NewGeneration returns a generation that calls onIdle once, after Retire,
// when no request holds it any more.
func NewGeneration(onIdle func()) *Generation {
	return &Generation{onIdle: onIdle, idle: make(chan struct{})}
}

// acquire takes a reference; false if the generation is already retired
// (the caller then loads the current one again).
func (g *Generation) acquire() bool {
	g.inflight.Add(1)
	if g.retired.Load() {
		g.release()
		return false
	}
	return true
}

func (g *Generation) release() {
	if g.inflight.Add(-1) == 0 && g.retired.Load() {
		g.finish()
	}
}

func (g *Generation) finish() {
	if g.closed.CompareAndSwap(false, true) {
		if g.onIdle != nil {
			g.onIdle()
		}
		close(g.idle)
	}
}

// Retire marks the generation as replaced. Its resources are released when
// the requests that hold it have ended (at once if there are none).
func (g *Generation) Retire() {
	g.retired.Store(true)
	if g.inflight.Load() == 0 {
		g.finish()
	}
}

// Idle is closed once a retired generation has released its resources.
func (g *Generation) Idle() <-chan struct{} { return g.idle }

// InFlight returns the number of requests holding the generation.
func (g *Generation) InFlight() int64 { return g.inflight.Load() }

// Site is one server's routing state in one generation: immutable once
// built, shared by all requests of the generation.
type Site struct {
	// Name is the server's config name.
	Name string
	gen  *Generation

	table     *route.Table
	locations map[*route.Location]*Location

	metricsPath    string
	metricsHandler http.Handler

	trusted *trustedSet
	files   FileOpener
	errPage *errorPage
	log     *slog.Logger
	obs     Observers
}

// Location is the runtime of one location in one generation.
type Location struct {
	route *route.Location
	// up is the upstream when it is named literally; upstreams resolves
	// "$var" names at request time.
	up        *upstream.Upstream
	upstreams map[string]*upstream.Upstream
	chain     Chain

	maxProcessing int64
	inflight      atomic.Int64
	bodyLimit     int64
	maxRetries    int
	retryWindow   time.Duration
}

// Entry is the stable http.Handler of one configured server. It outlives
// generations: host/app swaps the Site behind it on every reload, so a
// server whose listener settings did not change keeps its connections.
type Entry struct {
	name string
	site atomic.Pointer[Site]
	// tunnels tracks hijacked (WebSocket) connections, which http.Server's
	// graceful shutdown does not see.
	tunnels   sync.WaitGroup
	tmu       sync.Mutex
	tunnelSet map[net.Conn]io.Closer
}

// NewEntry returns the handler of server name, with no site yet (it answers
// 503 until the first Swap).
func NewEntry(name string) *Entry { return &Entry{name: name} }

// Swap installs the site of a new generation and returns the previous one.
func (e *Entry) Swap(s *Site) *Site { return e.site.Swap(s) }

// current returns the site of the current generation with a reference
// taken on its generation, or nil if there is none.
func (e *Entry) current() *Site {
	for {
		s := e.site.Load()
		if s == nil {
			return nil
		}
		if s.gen == nil || s.gen.acquire() {
			return s
		}
		// Retired between the load and the acquire: a newer site is
		// installed already.
	}
}

// WaitTunnels waits until every upgraded connection of this server has
// closed.
func (e *Entry) WaitTunnels() { e.tunnels.Wait() }
