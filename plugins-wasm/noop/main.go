// Command noop is a sluice plugin that does nothing: every callback lets
// the stream continue. Benchmarks use it to measure what a plugin costs by
// itself. It takes no parameters.
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
