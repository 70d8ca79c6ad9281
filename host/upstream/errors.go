package upstream

import "errors"

// ErrNoBackend means no backend of an upstream can take the request: none is
// healthy, every circuit is open, every one was already tried, or discovery
// has found none yet. The proxy answers 503. Pick wraps it with the
// upstream's name, so test it with errors.Is.
var ErrNoBackend = errors.New("no available backend")

// ErrClosed is returned by Registry.Build after Registry.Close.
var ErrClosed = errors.New("upstream registry is closed")
