package app

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/sluice-proxy/sluice/host/upstream"
	"github.com/sluice-proxy/sluice/host/upstream/transport"
	"github.com/sluice-proxy/sluice/host/wasm"
)

// callouts sends plugins' http callouts (proxy_http_call) to the upstreams
// of the current generation, with the same balancing, health and transports
// as proxied requests.
type callouts struct{ a *App }

var (
	_ wasm.HTTPCaller      = callouts{}
	_ wasm.UpstreamChecker = callouts{}
)

// maxCalloutBody caps a callout response read into memory for a plugin.
const maxCalloutBody = 16 << 20

// upstream finds name in the generation being built (whose plugins are
// being configured and may call out already), else in the running one. It
// takes no lock: proxy_http_call may run inside App.install.
func (c callouts) upstream(name string) *upstream.Upstream {
	for _, g := range [...]*generation{c.a.building.Load(), c.a.running.Load()} {
		if g != nil {
			if u := g.upstreams[name]; u != nil {
				return u
			}
		}
	}
	return nil
}

// HasUpstream implements wasm.UpstreamChecker.
func (c callouts) HasUpstream(name string) bool { return c.upstream(name) != nil }

// Call implements wasm.HTTPCaller.
func (c callouts) Call(ctx context.Context, name string, headers [][2]string, body []byte, trailers [][2]string,
	timeout time.Duration) (int, [][2]string, []byte, [][2]string, error) {
	up := c.upstream(name)
	if up == nil {
		return 0, nil, nil, nil, fmt.Errorf("unknown upstream %q", name)
	}
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	req := &http.Request{Method: http.MethodGet, Header: http.Header{}, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1}
	path := "/"
	for _, h := range headers {
		switch h[0] {
		case ":method":
			req.Method = h[1]
		case ":path":
			path = h[1]
		case ":authority":
			req.Host = h[1]
		case ":scheme":
		default:
			req.Header.Add(h[0], h[1])
		}
	}
	u, err := url.ParseRequestURI(path)
	if err != nil {
		return 0, nil, nil, nil, fmt.Errorf("callout :path %q: %w", path, err)
	}
	req.URL = u
	if len(body) > 0 {
		req.Body = io.NopCloser(bytes.NewReader(body))
		req.ContentLength = int64(len(body))
		req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	}
	if len(trailers) > 0 {
		req.Trailer = http.Header{}
		for _, t := range trailers {
			req.Trailer.Add(t[0], t[1])
		}
		req.ContentLength = -1
	}
	req = req.WithContext(ctx)

	b, err := up.Pick(upstream.Key{Req: req}, nil)
	if err != nil {
		return 0, nil, nil, nil, err
	}
	var tr transport.Trace
	resp, err := up.RoundTrip(req, b, &tr)
	if err != nil {
		up.Done(b, 0, err)
		return 0, nil, nil, nil, err
	}
	defer resp.Body.Close()
	rb, err := io.ReadAll(io.LimitReader(resp.Body, maxCalloutBody+1))
	if err == nil && len(rb) > maxCalloutBody {
		err = errors.New("callout response body over 16 MiB")
	}
	up.Done(b, resp.StatusCode, err)
	if err != nil {
		return 0, nil, nil, nil, err
	}
	return resp.StatusCode, pairs(resp.Header), rb, pairs(resp.Trailer), nil
}

func pairs(h http.Header) [][2]string {
	out := make([][2]string, 0, len(h))
	for k, vv := range h {
		lk := strings.ToLower(k)
		for _, v := range vv {
			out = append(out, [2]string{lk, v})
		}
	}
	return out
}
