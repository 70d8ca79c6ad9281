package sdk

import "github.com/sluice-proxy/sluice/abi"

// Action is what a stream handler returns: Continue lets the stream go on,
// Pause holds it until Request.Resume (or a local response).
type Action = abi.Action

// The actions a handler returns.
const (
	// Continue passes the stream to the next plugin.
	Continue = abi.ActionContinue
	// Pause holds the stream. On headers it holds the body too; on a body
	// chunk the host buffers the body, and the next body callback sees
	// everything buffered so far.
	Pause = abi.ActionPause
)

// Plugin is one configured instance of a plugin: what a Factory returns for
// one [plugins.X] table. It handles the streams of its configuration by
// implementing any of the handler interfaces below; an interface it does not
// implement costs nothing and lets the stream continue. If it implements
// StreamFactory, each stream gets its own handler value instead.
type Plugin any

// Factory builds a Plugin from its configuration, the plugin's table as JSON
// (an empty object, or empty, when it has no keys). An error refuses the
// configuration: sluice does not load it and shows the error's message, so
// name the offending key (Config does).
type Factory func(config []byte) (Plugin, error)

// StreamFactory is implemented by a Plugin that keeps per-request state: for
// each new stream, NewStream returns the value whose handler methods serve
// that stream (it may be a fresh struct holding the request's state).
type StreamFactory interface {
	NewStream(r Request) any
}

// RequestHeadersHandler sees the request headers. Request.EndOfStream
// reports whether the request has no body.
type RequestHeadersHandler interface {
	OnRequestHeaders(r Request) Action
}

// RequestBodyHandler sees the request body: size is the length of the body
// buffered so far (all of it if earlier calls returned Pause),
// endOfStream whether this is the last chunk.
type RequestBodyHandler interface {
	OnRequestBody(r Request, size int, endOfStream bool) Action
}

// RequestTrailersHandler sees the request trailers.
type RequestTrailersHandler interface {
	OnRequestTrailers(r Request) Action
}

// ResponseHeadersHandler sees the response headers, including those of a
// local response sent by this or a later plugin.
type ResponseHeadersHandler interface {
	OnResponseHeaders(r Request) Action
}

// ResponseBodyHandler sees the response body, as RequestBodyHandler.
type ResponseBodyHandler interface {
	OnResponseBody(r Request, size int, endOfStream bool) Action
}

// ResponseTrailersHandler sees the response trailers.
type ResponseTrailersHandler interface {
	OnResponseTrailers(r Request) Action
}

// LogHandler runs once the stream is complete, before DoneHandler; request
// and response headers can still be read.
type LogHandler interface {
	OnLog(r Request)
}

// DoneHandler runs last for every stream, however it ended.
type DoneHandler interface {
	OnDone(r Request)
}

// TickHandler is called every tick period (see SetTickPeriod). Ticks belong
// to the plugin instance, not to a stream.
type TickHandler interface {
	OnTick()
}

// QueueHandler is called after an item was enqueued on a queue this plugin
// instance registered (see RegisterQueue).
type QueueHandler interface {
	OnQueueReady(q Queue)
}

// Closer is implemented by a Plugin that must release something when the
// host retires its configuration.
type Closer interface {
	Close()
}

// Register installs the plugin's factory. Call it from an init function of
// the plugin's main package; the last call wins.
func Register(f Factory) { vm.factory = f }
