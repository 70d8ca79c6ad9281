package upstream

import (
	"net/http"
	"sync/atomic"

	"github.com/sluice-proxy/sluice/host/upstream/transport"
)

// Upstream is one config generation's handle on an upstream. Handles of
// generations with the same config for the upstream share its state. All
// methods are safe for concurrent use.
type Upstream struct {
	p        *pool
	released atomic.Bool
}

// Name returns the upstream's name in the config.
func (u *Upstream) Name() string { return u.p.name }

// Pick chooses a backend for a request, skipping unhealthy backends, open
// circuits and the backends in tried (those this request already failed
// on). It returns an error wrapping ErrNoBackend when none is left, which
// the proxy answers with 503. It does not allocate.
//
// Every backend Pick returns counts as in flight until Done is called with
// it, exactly once, whether or not the request was sent.
func (u *Upstream) Pick(k Key, tried []*Backend) (*Backend, error) {
	b := u.p.pickBackend(&k, tried)
	if b == nil {
		return nil, u.p.errNoBackend
	}
	b.inflight.Add(1)
	return b, nil
}

// RoundTrip sends req to backend b through the upstream's transport and
// returns the response headers; the body streams. tr, if not nil, is filled
// with connection timings. req.URL.Host is not used: the transport dials
// b.Addr().
func (u *Upstream) RoundTrip(req *http.Request, b *Backend, tr *transport.Trace) (*http.Response, error) {
	return u.p.rt.RoundTrip(req, b.addr, tr)
}

// Done ends a request picked with b: status is the response's status (0 if
// none came) and err the transport error, if any. With
// enable_backend_stats it feeds b's stats window and circuit breaker: a
// failure is an error or a status in backend_failure_status_code (default
// 5xx); an error that is context.Canceled (the client left) is not counted.
func (u *Upstream) Done(b *Backend, status int, err error) { u.p.done(b, status, err) }

// Status returns the upstream's current state.
func (u *Upstream) Status() UpstreamStatus { return u.p.status() }

// Release gives the handle back: the generation holding it has been
// retired and none of its requests will use it again. The last Release of a
// shared pool stops its health checks and discovery and closes its
// transport. Calling it more than once is harmless.
func (u *Upstream) Release() {
	if u.released.Swap(true) {
		return
	}
	u.p.reg.release(u.p)
}
