// Package sdk is the Go SDK for sluice plugins: proxy-wasm modules built
// with the standard Go toolchain,
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o NAME.wasm .
//
// A plugin is a main package with an empty main function that registers a
// Factory from an init function. sluice calls the factory once per
// [plugins.X] table that uses the module (and once per VM), with the
// table's keys as JSON; the value it returns handles that configuration's
// streams through whichever handler interfaces it implements:
//
//	func main() {}
//
//	func init() {
//		sdk.Register(func(cfg []byte) (sdk.Plugin, error) {
//			c, err := sdk.ParseConfig(cfg)
//			if err != nil {
//				return nil, err
//			}
//			p := &hello{name: c.String("name", "world")}
//			return p, c.Err()
//		})
//	}
//
//	type hello struct{ name string }
//
//	func (p *hello) OnRequestHeaders(r sdk.Request) sdk.Action {
//		if r.Path() == "/hello" {
//			r.Respond(200, [][2]string{{"content-type", "text/plain"}}, []byte("hello "+p.name))
//		}
//		return sdk.Continue
//	}
//
// # Model
//
// The module runs in several VMs (one per worker); each VM runs one callback
// at a time, so plugin code needs no locks, and state in Go variables is per
// VM. State shared between VMs goes through GetSharedData/SetSharedData and
// queues. Streams are pinned to a VM for their life.
//
// A handler returns Continue or Pause. Pause holds the stream (for an http
// callout, a delay); a later callback (HTTPCall's, OnTick, OnQueueReady)
// calls Request.Resume or Request.Respond on the kept Request. Goroutines do
// not outlive a callback: never block or sleep in one.
//
// Each host crossing costs, so the SDK makes few: reading one header is one
// call, the first whole-map read fetches the map once for the rest of the
// callback, local responses and http calls are one call each.
//
// # Testing
//
// The same code compiles natively, where its host calls go to the fake host
// of package sdktest: test a plugin's handlers with plain `go test`.
//
// # Errors
//
// Host refusals are *StatusError values; test them with errors.Is against
// ErrNotFound, ErrBadArgument, ErrCASMismatch, ErrQueueEmpty. A handle on a
// finished stream returns ErrStreamGone.
package sdk
