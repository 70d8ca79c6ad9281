package sdk

import (
	"github.com/sluice-proxy/sluice/abi"
	"github.com/sluice-proxy/sluice/sdk/internal/hostcall"
)

// vmState is the SDK's view of the VM: the contexts the host created and the
// bookkeeping that makes handles and effective contexts work. A VM runs one
// callback at a time, so nothing here is locked.
type vmState struct {
	factory Factory
	roots   map[uint32]*root
	streams map[uint32]*stream
	free    []*stream // deleted streams, reused to spare an allocation

	// current is the context the host's functions act on now: the
	// callback's context, or the one last set with
	// proxy_set_effective_context during this callback.
	current uint32
	// epoch counts callbacks. Per-callback caches (header maps, the log
	// level) are valid while their epoch equals it, because other plugins
	// may change a map between two callbacks.
	epoch uint64

	calls map[uint32]pendingCall // http calls by token

	logLevel      abi.LogLevel
	logLevelEpoch uint64
}

type root struct {
	id     uint32
	plugin Plugin
}

type stream struct {
	id      uint32
	alive   bool
	root    *root
	handler any

	endOfStream     bool
	responseStarted bool
	paused          bool
	pausedDir       abi.StreamType
	respondedEpoch  uint64 // epoch of the callback that sent a local response

	maps [4]headerCache // by abi.MapType of the stream's maps
}

var vm = vmState{
	roots:   map[uint32]*root{},
	streams: map[uint32]*stream{},
	calls:   map[uint32]pendingCall{},
}

func init() { hostcall.SetGuest(&vm) }

var _ hostcall.Guest = (*vmState)(nil)
var _ hostcall.Resetter = (*vmState)(nil)

// Reset forgets every context and pending call, as a fresh VM would, but
// keeps the registered factory (sdktest gives each test a fresh VM).
func (v *vmState) Reset() {
	clear(v.roots)
	clear(v.streams)
	clear(v.calls)
	v.free = nil
	v.current, v.epoch, v.logLevelEpoch = 0, 1, 0
}

// enter starts a callback on context id.
func (v *vmState) enter(id uint32) {
	v.current = id
	v.epoch++
}

// use makes the host act on context id for the rest of this callback.
func (v *vmState) use(id uint32) error {
	if v.current == id {
		return nil
	}
	if st := hostcall.SetEffectiveContext(id); st != abi.StatusOK {
		return statusErr("set effective context", st)
	}
	v.current = id
	return nil
}

// OnContextCreate implements hostcall.Guest.
func (v *vmState) OnContextCreate(id, parent uint32) {
	if parent == 0 {
		v.roots[id] = &root{id: id}
		return
	}
	var s *stream
	if n := len(v.free); n > 0 {
		s = v.free[n-1]
		v.free = v.free[:n-1]
		*s = stream{}
	} else {
		s = new(stream)
	}
	s.id, s.alive = id, true
	s.root = v.roots[parent]
	v.streams[id] = s
	if s.root == nil || s.root.plugin == nil {
		return // an unconfigured root: the stream passes through
	}
	s.handler = s.root.plugin
	if f, ok := s.root.plugin.(StreamFactory); ok {
		v.enter(id)
		s.handler = f.NewStream(Request{s: s, id: id})
	}
}

// OnVMStart implements hostcall.Guest. The VM configuration is not used.
func (v *vmState) OnVMStart(rootID, vmConfigSize uint32) bool { return true }

// OnConfigure implements hostcall.Guest: it reads the plugin configuration
// and runs the factory. A refusal is logged at error level with the
// factory's message, which sluice reports as the reason the configuration
// does not load.
func (v *vmState) OnConfigure(rootID, configSize uint32) bool {
	v.enter(rootID)
	r := v.roots[rootID]
	if r == nil {
		r = &root{id: rootID}
		v.roots[rootID] = r
	}
	if v.factory == nil {
		Log(LevelError, "no plugin registered: call sdk.Register from an init function")
		return false
	}
	var cfg []byte
	if configSize > 0 {
		b, st := hostcall.GetBufferBytes(abi.BufferPluginConfiguration, 0, configSize)
		if st != abi.StatusOK {
			Log(LevelError, statusErr("reading the plugin configuration", st).Error())
			return false
		}
		cfg = b
	}
	p, err := runFactory(v.factory, cfg)
	if err != nil {
		Log(LevelError, err.Error())
		return false
	}
	if c, ok := r.plugin.(Closer); ok {
		c.Close()
	}
	r.plugin = p
	return true
}

// runFactory turns a panic of the factory into an error, so that a plugin
// that trips over a bad configuration reports it instead of killing the VM.
func runFactory(f Factory, cfg []byte) (p Plugin, err error) {
	defer func() {
		if e := recover(); e != nil {
			err = panicError{e}
		}
	}()
	return f(cfg)
}

type panicError struct{ v any }

// Error implements error.
func (e panicError) Error() string {
	switch v := e.v.(type) {
	case error:
		return "plugin panicked while configuring: " + v.Error()
	case string:
		return "plugin panicked while configuring: " + v
	}
	return "plugin panicked while configuring"
}

// OnTick implements hostcall.Guest.
func (v *vmState) OnTick(rootID uint32) {
	v.enter(rootID)
	if r := v.roots[rootID]; r != nil {
		if h, ok := r.plugin.(TickHandler); ok {
			h.OnTick()
		}
	}
}

// OnQueueReady implements hostcall.Guest.
func (v *vmState) OnQueueReady(rootID, queueID uint32) {
	v.enter(rootID)
	if r := v.roots[rootID]; r != nil {
		if h, ok := r.plugin.(QueueHandler); ok {
			h.OnQueueReady(Queue(queueID))
		}
	}
}

// stream returns the live stream id and starts a callback on it.
func (v *vmState) stream(id uint32) *stream {
	s := v.streams[id]
	if s != nil {
		v.enter(id)
	}
	return s
}

// finish reconciles a handler's action with what it did: a local response
// sent during the callback means stop (the host then answers), and a pause
// is remembered so that Resume knows the direction.
func (s *stream) finish(a Action, dir abi.StreamType) Action {
	if s.respondedEpoch == vm.epoch {
		return Pause
	}
	if a != Continue {
		s.paused, s.pausedDir = true, dir
	}
	return a
}

// OnRequestHeaders implements hostcall.Guest.
func (v *vmState) OnRequestHeaders(id, numHeaders uint32, endOfStream bool) Action {
	s := v.stream(id)
	if s == nil {
		return Continue
	}
	s.endOfStream = endOfStream
	h, ok := s.handler.(RequestHeadersHandler)
	if !ok {
		return Continue
	}
	return s.finish(h.OnRequestHeaders(Request{s: s, id: id}), abi.StreamHTTPRequest)
}

// OnRequestBody implements hostcall.Guest.
func (v *vmState) OnRequestBody(id, size uint32, endOfStream bool) Action {
	s := v.stream(id)
	if s == nil {
		return Continue
	}
	s.endOfStream = endOfStream
	h, ok := s.handler.(RequestBodyHandler)
	if !ok {
		return Continue
	}
	return s.finish(h.OnRequestBody(Request{s: s, id: id}, int(size), endOfStream), abi.StreamHTTPRequest)
}

// OnRequestTrailers implements hostcall.Guest.
func (v *vmState) OnRequestTrailers(id, numTrailers uint32) Action {
	s := v.stream(id)
	if s == nil {
		return Continue
	}
	s.endOfStream = true
	h, ok := s.handler.(RequestTrailersHandler)
	if !ok {
		return Continue
	}
	return s.finish(h.OnRequestTrailers(Request{s: s, id: id}), abi.StreamHTTPRequest)
}

// OnResponseHeaders implements hostcall.Guest.
func (v *vmState) OnResponseHeaders(id, numHeaders uint32, endOfStream bool) Action {
	s := v.stream(id)
	if s == nil {
		return Continue
	}
	s.endOfStream, s.responseStarted, s.paused = endOfStream, true, false
	h, ok := s.handler.(ResponseHeadersHandler)
	if !ok {
		return Continue
	}
	return s.finish(h.OnResponseHeaders(Request{s: s, id: id}), abi.StreamHTTPResponse)
}

// OnResponseBody implements hostcall.Guest.
func (v *vmState) OnResponseBody(id, size uint32, endOfStream bool) Action {
	s := v.stream(id)
	if s == nil {
		return Continue
	}
	s.endOfStream = endOfStream
	h, ok := s.handler.(ResponseBodyHandler)
	if !ok {
		return Continue
	}
	return s.finish(h.OnResponseBody(Request{s: s, id: id}, int(size), endOfStream), abi.StreamHTTPResponse)
}

// OnResponseTrailers implements hostcall.Guest.
func (v *vmState) OnResponseTrailers(id, numTrailers uint32) Action {
	s := v.stream(id)
	if s == nil {
		return Continue
	}
	s.endOfStream = true
	h, ok := s.handler.(ResponseTrailersHandler)
	if !ok {
		return Continue
	}
	return s.finish(h.OnResponseTrailers(Request{s: s, id: id}), abi.StreamHTTPResponse)
}

// StreamCallbacks implements hostcall.Guest: the stream callbacks the
// plugin of rootID has handlers for. A header callback is included with the
// body and trailer handlers of its direction, since the SDK learns the
// stream's state there. A StreamFactory's handlers are only known per
// stream, so it gets every callback.
func (v *vmState) StreamCallbacks(rootID uint32) abi.StreamCallbacks {
	r := v.roots[rootID]
	if r == nil || r.plugin == nil {
		return abi.StreamAll
	}
	return callbacksOf(r.plugin)
}

func callbacksOf(p any) abi.StreamCallbacks {
	if _, ok := p.(StreamFactory); ok {
		return abi.StreamAll
	}
	var m abi.StreamCallbacks
	if _, ok := p.(RequestHeadersHandler); ok {
		m |= abi.StreamRequestHeaders
	}
	if _, ok := p.(RequestBodyHandler); ok {
		m |= abi.StreamRequestHeaders | abi.StreamRequestBody
	}
	if _, ok := p.(RequestTrailersHandler); ok {
		m |= abi.StreamRequestHeaders | abi.StreamRequestTrailers
	}
	if _, ok := p.(ResponseHeadersHandler); ok {
		m |= abi.StreamResponseHeaders
	}
	if _, ok := p.(ResponseBodyHandler); ok {
		m |= abi.StreamResponseHeaders | abi.StreamResponseBody
	}
	if _, ok := p.(ResponseTrailersHandler); ok {
		m |= abi.StreamResponseHeaders | abi.StreamResponseTrailers
	}
	if _, ok := p.(LogHandler); ok {
		m |= abi.StreamLog
	}
	if _, ok := p.(DoneHandler); ok {
		m |= abi.StreamDone
	}
	return m
}

// OnLog implements hostcall.Guest.
func (v *vmState) OnLog(id uint32) {
	if s := v.stream(id); s != nil {
		if h, ok := s.handler.(LogHandler); ok {
			h.OnLog(Request{s: s, id: id})
		}
	}
}

// OnDone implements hostcall.Guest. Roots and streams are always done at
// once (proxy_done is never needed).
func (v *vmState) OnDone(id uint32) bool {
	if s := v.stream(id); s != nil {
		if h, ok := s.handler.(DoneHandler); ok {
			h.OnDone(Request{s: s, id: id})
		}
		return true
	}
	v.enter(id)
	if r := v.roots[id]; r != nil {
		if c, ok := r.plugin.(Closer); ok {
			c.Close()
		}
		r.plugin = nil
	}
	return true
}

// OnDelete implements hostcall.Guest.
func (v *vmState) OnDelete(id uint32) {
	if s := v.streams[id]; s != nil {
		delete(v.streams, id)
		*s = stream{}
		v.free = append(v.free, s)
		return
	}
	delete(v.roots, id)
}
