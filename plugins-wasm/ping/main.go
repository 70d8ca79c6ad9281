// Command ping is the sluice plugin for Pingap's "ping" category: it answers
// GET/HEAD/... requests for path with 200 "pong", for health checks that
// must not reach an upstream.
//
// Parameters:
//
//	path   the exact request path (query ignored) to answer; "" (the
//	       default, as in Pingap) answers nothing.
package main

import (
	"strings"

	"github.com/sluice-proxy/sluice/sdk"
)

func main() {}

func init() { sdk.Register(newPing) }

type ping struct{ path string }

func newPing(cfg []byte) (sdk.Plugin, error) {
	c, err := sdk.ParseConfig(cfg)
	if err != nil {
		return nil, err
	}
	p := &ping{path: c.String("path", "")}
	if p.path != "" && p.path[0] != '/' {
		c.Invalid("path", "must start with /")
	}
	return p, c.Err()
}

var (
	pong        = []byte("pong")
	pongHeaders = [][2]string{{"content-type", "text/plain; charset=utf-8"}, {"cache-control", "no-store"}}
)

// OnRequestHeaders answers the configured path with pong.
func (p *ping) OnRequestHeaders(r sdk.Request) sdk.Action {
	if p.path == "" || pathOnly(r.Path()) != p.path {
		return sdk.Continue
	}
	if err := r.Respond(200, pongHeaders, pong); err != nil {
		sdk.Error("ping: " + err.Error())
	}
	return sdk.Pause
}

// pathOnly strips the query string from a :path.
func pathOnly(p string) string {
	if i := strings.IndexByte(p, '?'); i >= 0 {
		return p[:i]
	}
	return p
}
