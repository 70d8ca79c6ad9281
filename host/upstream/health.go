package upstream

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
)

// checker runs an upstream's active health checks: every check_frequency it
// checks each backend of the current set (one after another, or all at once
// with `parallel`), and flips a backend after `success` passes or `failure`
// failures in a row. One goroutine per pool; it stops when the pool closes.
type checker struct {
	p      *pool
	hc     healthCheck
	client *http.Client    // HTTP(S) checks only
	tr     *http.Transport // its transport, whose idle conns close with the pool
}

// maxCheckBody is how much of a check response's body is drained so that
// its connection can be reused; a longer body closes the connection.
const maxCheckBody = 64 << 10

func newChecker(p *pool, hc healthCheck) *checker {
	c := &checker{p: p, hc: hc}
	if hc.kind == checkTCP {
		return c
	}
	dial := p.dial
	c.tr = &http.Transport{
		Proxy: nil, // a check goes to the backend itself, never through $HTTP_PROXY
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			ctx, cancel := context.WithTimeout(ctx, hc.connectTimeout)
			defer cancel()
			return dial(ctx, network, addr)
		},
		// Pingap does not verify certificates in checks: the check asks
		// "is it up", and the backends are often reached by IP.
		TLSClientConfig:       &tls.Config{InsecureSkipVerify: true, ServerName: hostOnly(hc.host)}, //nolint:gosec // see above
		TLSHandshakeTimeout:   hc.connectTimeout,
		ResponseHeaderTimeout: hc.readTimeout,
		DisableKeepAlives:     !hc.reuse,
		DisableCompression:    true,
		MaxIdleConnsPerHost:   1,
	}
	c.client = &http.Client{
		Transport: c.tr,
		// A redirect is an answer, and not a 200.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return c
}

// run checks every backend, waits until check_frequency has passed since
// the round began, and starts again, until ctx is done.
func (c *checker) run(ctx context.Context) {
	clock := c.p.clock
	for {
		start := clock.Now()
		c.round(ctx)
		if ctx.Err() != nil {
			return
		}
		wait := c.hc.frequency - clock.Now().Sub(start)
		t := clock.NewTimer(max(wait, 0))
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C():
		}
	}
}

// round checks the backends of the current set once.
func (c *checker) round(ctx context.Context) {
	bs := c.p.set.Load().backends
	if c.hc.parallel {
		var wg sync.WaitGroup
		for _, b := range bs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				c.record(ctx, b, c.check(ctx, b))
			}()
		}
		wg.Wait()
	} else {
		for _, b := range bs {
			if ctx.Err() != nil {
				return
			}
			c.record(ctx, b, c.check(ctx, b))
		}
	}
	c.p.updateAvailability()
}

// check runs one check against b: a TCP connect, or a GET that must answer
// 200.
func (c *checker) check(ctx context.Context, b *Backend) error {
	if c.hc.kind == checkTCP {
		ctx, cancel := context.WithTimeout(ctx, c.hc.connectTimeout)
		defer cancel()
		conn, err := c.p.dial(ctx, "tcp", b.addr)
		if err != nil {
			return err
		}
		return conn.Close()
	}
	ctx, cancel := context.WithTimeout(ctx, c.hc.connectTimeout+c.hc.readTimeout)
	defer cancel()
	scheme := "http://"
	if c.hc.kind == checkHTTPS {
		scheme = "https://"
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, scheme+b.addr+c.hc.path, nil)
	if err != nil {
		return fmt.Errorf("building health check request: %w", err)
	}
	req.Host = c.hc.host
	req.Header.Set("User-Agent", "sluice-health-check")
	resp, err := c.client.Do(req)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxCheckBody))
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("health check answered status %d, want 200", resp.StatusCode)
	}
	return nil
}

// record counts a check's result and flips the backend when a threshold is
// reached.
func (c *checker) record(ctx context.Context, b *Backend, err error) {
	if ctx.Err() != nil {
		return // the pool is closing; a cancelled check says nothing
	}
	b.mu.Lock()
	flipped := false
	if err == nil {
		b.checkFail = 0
		b.checkOK++
		if !b.healthy.Load() && b.checkOK >= c.hc.success {
			b.healthy.Store(true)
			flipped = true
		}
	} else {
		b.checkOK = 0
		b.checkFail++
		if b.healthy.Load() && b.checkFail >= c.hc.failure {
			b.healthy.Store(false)
			flipped = true
		}
	}
	b.mu.Unlock()
	if !flipped {
		return
	}
	if err == nil {
		c.p.log.Info("backend is healthy", "backend", b.addr)
	} else {
		c.p.log.Warn("backend is unhealthy", "backend", b.addr, "error", err)
	}
	c.p.obs.BackendHealthChanged(c.p.name, b.addr, err == nil, err)
}

func (c *checker) close() {
	if c.tr != nil {
		c.tr.CloseIdleConnections()
	}
}
