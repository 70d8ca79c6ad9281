// Command noop is a sluice plugin that does nothing: its request-headers
// and response-headers handlers let the stream continue. Benchmarks use it
// to measure what a plugin costs by itself: the two handlers are what the
// lightest real plugins (request_id, response_headers) run, so the host
// crosses into the VM for them as for any plugin. (A plugin with no
// handler at all costs nothing per request: the host skips it, see
// abi.CallbackStreamCallbacks.) It takes no parameters.
package main

import "github.com/sluice-proxy/sluice/sdk"

func main() {}

func init() { sdk.Register(newNoop) }

type noop struct{}

func newNoop(cfg []byte) (sdk.Plugin, error) {
	c, err := sdk.ParseConfig(cfg)
	if err != nil {
		return nil, err
	}
	return noop{}, c.Err()
}

func (noop) OnRequestHeaders(sdk.Request) sdk.Action { return sdk.Continue }

func (noop) OnResponseHeaders(sdk.Request) sdk.Action { return sdk.Continue }
