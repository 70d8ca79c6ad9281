package wasm

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sluice-proxy/sluice/abi"
	"github.com/tetratelabs/wazero/api"
)

// Chain is the ordered plugins of a location, built once per generation
// by Set.Chain. It is immutable and safe for concurrent use.
type Chain struct {
	rt      *Runtime
	plugins []*plugin
}

// Len is the number of plugins in the chain.
func (c *Chain) Len() int {
	if c == nil {
		return 0
	}
	return len(c.plugins)
}

// Filter runs a chain's plugins on one request. Get one per request from
// Chain.NewFilter and call, from one goroutine, OnRequestHeaders, then
// OnRequestBody / OnRequestTrailers as data arrives, then the response
// methods, and Done at the end (always, even after a failure or a local
// response). Request callbacks run in chain order, response callbacks in
// reverse order, and only for the plugins the request reached.
//
// A call blocks while a plugin holds the stream (it returned Pause, e.g. to
// make an http callout) until the plugin resumes it, answers it, or its VM
// fails; ctx ending (the client left) unblocks it with Fail.
type Filter struct {
	rt    *Runtime
	s     Stream
	ents  []entry
	reach int // plugins the request reached (entered or skipped)
	// replied is set once a local response was made: a second one is
	// ignored, as Envoy does.
	replied bool
	// replyFrom is the plugin whose response callbacks a local response
	// made with a vm locked must start from; finish runs them.
	replyFrom    int
	replyPending bool
}

type entry struct {
	pl      *plugin
	b       *binding
	v       *vm
	sc      *streamCtx
	skip    bool // failed open: the rest of the stream goes without it
	reqDone bool // its request side ended (no more request callbacks)
}

// streamCtx is a stream context and its state, allocated together and
// recycled.
type streamCtx struct {
	h  hctx
	st streamState
}

// streamState is the host side of one plugin's view of one stream.
// Everything in it is guarded by the vm's mu.
type streamState struct {
	s        Stream
	open     [4]bool // header maps 0-3 the plugin may use now
	logPhase bool    // in proxy_on_log: maps readable, not writable
	body     []byte  // the body buffer visible to buffer functions
	bodyDir  int8    // -1 none, else direction of body
	bodyEOS  bool
	held     [2][]byte // body held while the plugin pauses, per direction
	cont     [2]bool   // proxy_continue_stream was called, per direction
	local    *pendingLocal
	reset    bool
	waiting  bool
	wake     chan struct{}
	props    map[string]string // proxy_set_property
	spent    time.Duration     // time in this plugin's callbacks for the stream
	obs      CallObserver      // the Stream, if it observes calls
}

// pendingLocal is a proxy_send_local_response waiting to be applied.
type pendingLocal struct {
	status  int
	details string
	body    []byte
	headers [][2]string
	grpc    int32
	plugin  string
}

// Directions of a stream, indexes of streamState's per-direction arrays.
const (
	dirRequest  = 0
	dirResponse = 1
)

var streamCtxPool = sync.Pool{New: func() any {
	sc := &streamCtx{}
	sc.h.st = &sc.st
	sc.st.wake = make(chan struct{}, 1)
	return sc
}}

var filterPool = sync.Pool{New: func() any { return &Filter{} }}

// emptyFilter is what a chain without plugins hands out: every method
// returns at once and nothing is allocated.
var emptyFilter = &Filter{}

// NewFilter starts running the chain on one request whose data s exposes.
func (c *Chain) NewFilter(s Stream) *Filter {
	if c == nil || len(c.plugins) == 0 {
		return emptyFilter
	}
	f := filterPool.Get().(*Filter)
	f.s = s
	f.rt = c.rt
	if cap(f.ents) < len(c.plugins) {
		f.ents = make([]entry, len(c.plugins))
	}
	f.ents = f.ents[:len(c.plugins)]
	for i, pl := range c.plugins {
		f.ents[i] = entry{pl: pl}
	}
	return f
}

// OnRequestHeaders runs proxy_on_request_headers of each plugin in order,
// creating its stream context first. endOfStream says the request has no
// body. On Respond the request chain stopped and the local response has
// passed through the response callbacks of the plugins reached.
func (f *Filter) OnRequestHeaders(ctx context.Context, endOfStream bool) Result {
	for i := range f.ents {
		e := &f.ents[i]
		f.reach = i + 1
		if r, ok := f.enter(ctx, e); !ok {
			if r.Outcome != Continue {
				return r
			}
			continue
		}
		v, st := e.v, &e.sc.st // v.mu is held
		if r, done := f.pending(e, i, true); done {
			v.mu.Unlock()
			if r.Outcome == Continue {
				continue // failed open
			}
			return f.finish(ctx, r)
		}
		st.cont = [2]bool{}
		st.open[abi.MapHTTPRequestHeaders] = true
		n := st.s.Headers(abi.MapHTTPRequestHeaders).Len()
		fn := e.fn(abi.StreamRequestHeaders, v.fns.onRequestHeaders)
		act, err := v.call(&e.sc.h, fn, uint64(e.sc.h.id), uint64(n), b2u(endOfStream))
		r := f.after(ctx, e, i, true, dirRequest, err, headersPause(act, fn != nil))
		st.open[abi.MapHTTPRequestHeaders] = false
		if endOfStream {
			e.reqDone = true
		}
		v.mu.Unlock()
		if r.Outcome != Continue {
			return f.finish(ctx, r)
		}
	}
	return Result{}
}

// OnRequestBody passes a chunk of the request body through the plugins in
// order and returns the bytes to forward now: nil while a plugin buffers
// (it paused on a chunk), the buffered body when it continues. out may
// alias chunk or a buffer of the filter: forward it before the next call.
// endOfStream marks the last chunk (a request with trailers ends with
// OnRequestTrailers instead). A buffered body over Options.BodyLimit is
// answered with 413.
func (f *Filter) OnRequestBody(ctx context.Context, chunk []byte, endOfStream bool) ([]byte, Result) {
	if len(f.ents) == 0 {
		return chunk, Result{}
	}
	data := chunk
	for i := 0; i < f.reach; i++ {
		e := &f.ents[i]
		if e.skip || e.sc == nil || e.reqDone {
			continue
		}
		out, pass, r := f.body(ctx, e, i, dirRequest, data, endOfStream)
		if endOfStream {
			e.reqDone = true
		}
		if r.Outcome != Continue {
			return nil, f.finish(ctx, r)
		}
		if !pass {
			return nil, Result{}
		}
		data = out
	}
	return data, Result{}
}

// OnRequestTrailers runs proxy_on_request_trailers of each plugin in order.
// It returns body bytes to forward before the trailers: what plugins held
// while waiting for more body, released now that the body is complete.
func (f *Filter) OnRequestTrailers(ctx context.Context) ([]byte, Result) {
	if len(f.ents) == 0 {
		return nil, Result{}
	}
	var data []byte
	for i := 0; i < f.reach; i++ {
		e := &f.ents[i]
		if e.skip || e.sc == nil || e.reqDone {
			continue
		}
		out, r := f.trailers(ctx, e, i, dirRequest, data)
		e.reqDone = true
		if r.Outcome != Continue {
			return nil, f.finish(ctx, r)
		}
		data = out
	}
	return data, Result{}
}

// OnResponseHeaders runs proxy_on_response_headers of the plugins reached,
// in reverse order. On Respond the response was replaced by a plugin's
// local response, which has passed through the remaining plugins.
func (f *Filter) OnResponseHeaders(ctx context.Context, endOfStream bool) Result {
	if len(f.ents) == 0 {
		return Result{}
	}
	return f.finish(ctx, f.responseHeaders(ctx, f.reach-1, endOfStream))
}

// OnResponseBody is OnRequestBody for the response, in reverse order; a
// buffered body over Options.BodyLimit fails with a 500 local response.
// A Respond after body bytes were forwarded can only be honoured by
// resetting the stream.
func (f *Filter) OnResponseBody(ctx context.Context, chunk []byte, endOfStream bool) ([]byte, Result) {
	if len(f.ents) == 0 {
		return chunk, Result{}
	}
	out, r := f.responseBody(ctx, f.reach-1, chunk, endOfStream)
	return out, f.finish(ctx, r)
}

// OnResponseTrailers is OnRequestTrailers for the response, in reverse
// order.
func (f *Filter) OnResponseTrailers(ctx context.Context) ([]byte, Result) {
	if len(f.ents) == 0 {
		return nil, Result{}
	}
	var data []byte
	for i := f.reach - 1; i >= 0; i-- {
		e := &f.ents[i]
		if e.skip || e.sc == nil {
			continue
		}
		out, r := f.trailers(ctx, e, i, dirResponse, data)
		if r.Outcome != Continue {
			return nil, f.finish(ctx, r)
		}
		data = out
	}
	return data, Result{}
}

// Timings calls fn with the time each plugin entered has spent in its
// callbacks for this stream so far (not counting waits while it paused the
// stream), in chain order. Call it before Done.
func (f *Filter) Timings(fn func(plugin string, d time.Duration)) {
	for i := range f.ents {
		if e := &f.ents[i]; e.sc != nil {
			fn(e.pl.name, e.sc.st.spent)
		}
	}
}

// Done ends the stream for every plugin it entered: proxy_on_log for each
// in order (with the request headers, response headers and trailers
// readable), then proxy_on_done and proxy_on_delete for each. The Filter
// must not be used afterwards.
func (f *Filter) Done() {
	if len(f.ents) == 0 {
		return
	}
	for i := range f.ents {
		e := &f.ents[i]
		if e.sc == nil || e.fn(abi.StreamLog, e.v.fns.onLog) == nil {
			continue
		}
		v, st := e.v, &e.sc.st
		v.mu.Lock()
		st.logPhase = true
		_, _ = v.call(&e.sc.h, v.fns.onLog, uint64(e.sc.h.id))
		st.logPhase = false
		v.mu.Unlock()
	}
	for i := range f.ents {
		e := &f.ents[i]
		if e.sc == nil {
			continue
		}
		v, h := e.v, &e.sc.h
		v.mu.Lock()
		_, _ = v.call(h, e.fn(abi.StreamDone, v.fns.onDone), uint64(h.id))
		_, _ = v.call(h, v.fns.onDelete, uint64(h.id))
		delete(v.contexts, h.id)
		v.mu.Unlock()
		e.b.pool.streamEnded(e.b.pc)
		releaseStreamCtx(e.sc)
		f.ents[i] = entry{}
	}
	f.s, f.rt, f.reach, f.replied, f.replyPending = nil, nil, 0, false, false
	f.ents = f.ents[:0]
	filterPool.Put(f)
}

func releaseStreamCtx(sc *streamCtx) {
	st := &sc.st
	select {
	case <-st.wake:
	default:
	}
	wake := st.wake
	*st = streamState{wake: wake, bodyDir: -1}
	sc.h = hctx{st: st}
	streamCtxPool.Put(sc)
}

// enter creates e's stream context on a vm of its plugin's current pool
// and returns with that vm locked, so that the first callback follows
// without another stream slipping in. A vm found dead before the context
// exists is skipped: the stream is not pinned to it yet. ok false means
// the plugin is not running for this stream (nothing is locked): r is
// Continue if its fail policy is open, else Fail.
func (f *Filter) enter(ctx context.Context, e *entry) (r Result, ok bool) {
	b := e.pl.cur.Load()
	for b != nil && !b.pool.enter(b.pc) {
		b = e.pl.cur.Load()
	}
	if b == nil {
		return f.failed(e, errors.New("plugin unloaded")), false
	}
	if b.pc.mask.Load() == 0 {
		// The plugin takes no part in streams (abi.StreamCallbacks).
		b.pool.streamEnded(b.pc)
		e.skip = true
		return Result{}, false
	}
	var v *vm
	var root *hctx
	// A vm picked may die while this stream waits for it (it was running
	// a callback that trapped or overran): then try the others, and wait
	// for replacements when none is left.
	for range 4 * len(b.pool.slots) {
		if v = b.pool.pick(); v == nil {
			// Every vm failed: wait a little for a replacement rather
			// than fail the requests behind a burst of failures.
			if v = b.pool.waitVM(ctx); v == nil {
				break
			}
		}
		v.mu.Lock()
		if root = v.roots[b.pc]; root != nil && !v.dead.Load() {
			break
		}
		v.mu.Unlock()
		v = nil
	}
	if v == nil {
		b.pool.streamEnded(b.pc)
		return f.failed(e, errNoVM), false
	}
	sc := streamCtxPool.Get().(*streamCtx)
	sc.h = hctx{id: v.newID(), v: v, cfg: root.cfg, root: root, st: &sc.st}
	sc.st.s = f.s
	sc.st.obs, _ = f.s.(CallObserver)
	sc.st.bodyDir = -1
	v.contexts[sc.h.id] = &sc.h
	e.b, e.v, e.sc = b, v, sc
	if _, err := v.call(&sc.h, v.fns.onContextCreate, uint64(sc.h.id), uint64(root.id)); err != nil {
		v.mu.Unlock()
		return f.failed(e, err), false
	}
	return Result{}, true
}

// fn returns the callback fn of e's plugin, or nil when its
// abi.StreamCallbacks mask leaves it out (a nil callback is not called and
// counts as Continue).
func (e *entry) fn(bit abi.StreamCallbacks, fn api.Function) api.Function {
	if abi.StreamCallbacks(e.b.pc.mask.Load())&bit == 0 {
		return nil
	}
	return fn
}

// failed applies e's fail policy to err.
func (f *Filter) failed(e *entry, err error) Result {
	e.skip = true
	if e.pl.open {
		return Result{}
	}
	return Result{Outcome: Fail, Plugin: e.pl.name, Err: err}
}

// pending returns what an action recorded outside any callback of e (by
// an asynchronous callback on its effective context) means now. v.mu is
// held.
func (f *Filter) pending(e *entry, i int, request bool) (Result, bool) {
	st := &e.sc.st
	switch {
	case e.v.dead.Load():
		return f.failed(e, e.v.err), true
	case st.reset:
		return Result{Outcome: Reset, Plugin: e.pl.name}, true
	case st.local != nil && !f.replied:
		return f.localReply(e, i, request), true
	}
	st.local = nil // a second local response is ignored
	return Result{}, false
}

// after interprets the end of a callback of e: a failure, a reset, a
// local response, or a pause (then it waits for the plugin to resume the
// stream in direction dir). v.mu is held.
func (f *Filter) after(ctx context.Context, e *entry, i int, request bool, dir int, err error, pause bool) Result {
	if err != nil {
		return f.failed(e, err)
	}
	st := &e.sc.st
	for {
		if r, done := f.pending(e, i, request); done {
			return r
		}
		if !pause || st.cont[dir] {
			st.cont[dir] = false
			return Result{}
		}
		// Paused: wait for continue_stream, a local response, a reset or
		// the vm's failure, delivered by another callback on this vm.
		st.waiting = true
		e.v.mu.Unlock()
		select {
		case <-st.wake:
			e.v.mu.Lock()
		case <-ctx.Done():
			e.v.mu.Lock()
			st.waiting = false
			return Result{Outcome: Fail, Plugin: e.pl.name, Err: ctx.Err()}
		}
		st.waiting = false
	}
}

// localReply turns e's pending local response into the stream's response
// and runs it through the response callbacks: from plugin i itself when it
// answered in the request phase (Envoy re-enters the plugin's response
// callbacks), from the next one when it answered in the response phase.
// v.mu is held and stays held.
func (f *Filter) localReply(e *entry, i int, request bool) Result {
	lr := e.sc.st.local
	e.sc.st.local = nil
	f.replied = true
	f.replyPending = true
	f.replyFrom = i
	if !request {
		f.replyFrom = i - 1
	}
	return Result{Outcome: Respond, Plugin: lr.plugin, Response: &LocalResponse{
		Status: lr.status, Headers: lr.headers, Body: lr.body, Details: lr.details,
	}}
}

// finish completes a Respond result: the local response replaces the
// response headers of the stream and passes through the response callbacks
// of the plugins it must cross. Other results are returned as they are.
func (f *Filter) finish(ctx context.Context, r Result) Result {
	if r.Outcome != Respond || !f.replyPending {
		return r
	}
	f.replyPending = false
	from := f.replyFrom
	lr := r.Response
	rh := f.s.Headers(abi.MapHTTPResponseHeaders)
	pairs := make([][2]string, 0, len(lr.Headers)+3)
	pairs = append(pairs, [2]string{":status", strconv.Itoa(lr.Status)})
	hasType := false
	for _, p := range lr.Headers {
		hasType = hasType || p[0] == "content-type"
		pairs = append(pairs, p)
	}
	if len(lr.Body) > 0 && !hasType {
		pairs = append(pairs, [2]string{"content-type", "text/plain"})
	}
	rh.Replace(pairs)
	f.s.Headers(abi.MapHTTPResponseTrailers).Replace(nil)

	// A body the host streams itself (a file) follows the headers: the
	// response-body callbacks get it through OnResponseBody, like an
	// upstream's.
	follows := false
	if lb, ok := f.s.(LocalBodyStreamer); ok {
		follows = lb.LocalBodyFollows()
	}
	eos := len(lr.Body) == 0 && !follows
	if hr := f.responseHeaders(ctx, from, eos); hr.Outcome != Continue && hr.Outcome != Respond {
		return hr
	}
	if !eos && !follows {
		out, br := f.responseBody(ctx, from, lr.Body, true)
		switch br.Outcome {
		case Continue:
		case Respond:
			// A plugin answered again while a local response crossed it
			// (Envoy ignores the second answer and the body is lost): the
			// stream cannot be answered consistently.
			return Result{Outcome: Fail, Plugin: br.Plugin, Err: errors.New("plugin answered while a local response passed through it")}
		default:
			return br
		}
		lr.Body = out
	}
	status, hdrs := 0, rh.AppendPairs(nil)
	lr.Headers = hdrs[:0]
	for _, p := range hdrs {
		if p[0] == ":status" {
			status, _ = strconv.Atoi(p[1])
			continue
		}
		lr.Headers = append(lr.Headers, p)
	}
	if status != 0 {
		lr.Status = status
	}
	return r
}

// responseHeaders runs proxy_on_response_headers from plugin `from` down
// to the first. A local response here is not finished (see finish).
func (f *Filter) responseHeaders(ctx context.Context, from int, endOfStream bool) Result {
	for i := from; i >= 0; i-- {
		e := &f.ents[i]
		if e.skip || e.sc == nil {
			continue
		}
		v, st := e.v, &e.sc.st
		v.mu.Lock()
		if r, done := f.pending(e, i, false); done {
			v.mu.Unlock()
			if r.Outcome == Continue {
				continue // failed open
			}
			return r
		}
		st.cont = [2]bool{}
		st.open[abi.MapHTTPResponseHeaders] = true
		n := st.s.Headers(abi.MapHTTPResponseHeaders).Len()
		fn := e.fn(abi.StreamResponseHeaders, v.fns.onResponseHeaders)
		act, err := v.call(&e.sc.h, fn, uint64(e.sc.h.id), uint64(n), b2u(endOfStream))
		r := f.after(ctx, e, i, false, dirResponse, err, headersPause(act, fn != nil))
		st.open[abi.MapHTTPResponseHeaders] = false
		v.mu.Unlock()
		if r.Outcome != Continue {
			return r
		}
	}
	return Result{}
}

// responseBody passes a response chunk from plugin `from` down to the
// first.
func (f *Filter) responseBody(ctx context.Context, from int, chunk []byte, endOfStream bool) ([]byte, Result) {
	data := chunk
	for i := from; i >= 0; i-- {
		e := &f.ents[i]
		if e.skip || e.sc == nil {
			continue
		}
		out, pass, r := f.body(ctx, e, i, dirResponse, data, endOfStream)
		if r.Outcome != Continue {
			return nil, r
		}
		if !pass {
			return nil, Result{}
		}
		data = out
	}
	return data, Result{}
}

// body runs one body callback of e on data appended to what e holds.
// pass says whether e let data through: out is then the (maybe modified)
// body to give to the next plugin. Pausing on the last chunk waits for the
// plugin to resume.
func (f *Filter) body(ctx context.Context, e *entry, i, dir int, data []byte, eos bool) (out []byte, pass bool, r Result) {
	v, st := e.v, &e.sc.st
	fn, mapTrailers := e.fn(abi.StreamRequestBody, v.fns.onRequestBody), abi.MapHTTPRequestTrailers
	if dir == dirResponse {
		fn, mapTrailers = e.fn(abi.StreamResponseBody, v.fns.onResponseBody), abi.MapHTTPResponseTrailers
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if r, done := f.pending(e, i, dir == dirRequest); done {
		if r.Outcome == Continue { // failed open: the data goes on without it
			return append(st.held[dir], data...), true, r
		}
		return nil, false, r
	}
	st.cont = [2]bool{}
	buf := data[:len(data):len(data)] // appends never write into the caller's chunk
	if held := st.held[dir]; held != nil {
		buf = append(held, data...)
	}
	if fn == nil {
		st.held[dir] = nil
		return buf, true, Result{}
	}
	if len(st.held[dir]) > 0 && len(buf) > f.rt.opts.BodyLimit {
		// The limit is on what a plugin makes the host hold (it paused on
		// earlier chunks), not on one chunk passing through: a local
		// response's whole body is one chunk.
		st.held[dir] = nil
		status := 413
		if dir == dirResponse {
			status = 500
		}
		st.local = &pendingLocal{status: status, details: "wasm_buffer_limit_exceeded", plugin: e.pl.name, grpc: -1}
		return nil, false, f.localReply(e, i, dir == dirRequest)
	}
	st.body, st.bodyDir, st.bodyEOS = buf, int8(dir), eos
	st.open[mapTrailers] = eos // trailers may be added at the end of the body
	act, err := v.call(&e.sc.h, fn, uint64(e.sc.h.id), uint64(len(buf)), b2u(eos))
	st.open[mapTrailers] = false
	pause := act != uint64(abi.ActionContinue)
	if err == nil && pause && !eos && !st.cont[dir] && st.local == nil && !st.reset {
		// Buffer: keep the body (owned) for the next chunk.
		if len(st.held[dir]) == 0 && len(st.body) > 0 {
			st.held[dir] = append([]byte(nil), st.body...)
		} else {
			st.held[dir] = st.body
		}
		if st.held[dir] == nil {
			st.held[dir] = []byte{}
		}
		st.body, st.bodyDir = nil, -1
		return nil, false, Result{}
	}
	r = f.after(ctx, e, i, dir == dirRequest, dir, err, pause)
	out = st.body
	st.body, st.bodyDir, st.held[dir] = nil, -1, nil
	if r.Outcome != Continue {
		return nil, false, r
	}
	return out, true, Result{}
}

// trailers feeds e any body released by the plugins before it, then runs
// its trailers callback; it returns the body e releases before the
// trailers.
func (f *Filter) trailers(ctx context.Context, e *entry, i, dir int, data []byte) ([]byte, Result) {
	if len(data) > 0 {
		out, pass, r := f.body(ctx, e, i, dir, data, false)
		if r.Outcome != Continue {
			return nil, r
		}
		if pass {
			data = out
		} else {
			data = nil
		}
	}
	v, st := e.v, &e.sc.st
	m, fn := abi.MapHTTPRequestTrailers, e.fn(abi.StreamRequestTrailers, v.fns.onRequestTrailers)
	if dir == dirResponse {
		m, fn = abi.MapHTTPResponseTrailers, e.fn(abi.StreamResponseTrailers, v.fns.onResponseTrailers)
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if r, done := f.pending(e, i, dir == dirRequest); done {
		if r.Outcome == Continue { // failed open
			return append(data, st.held[dir]...), r
		}
		return nil, r
	}
	st.cont = [2]bool{}
	st.open[m] = true
	n := st.s.Headers(m).Len()
	act, err := v.call(&e.sc.h, fn, uint64(e.sc.h.id), uint64(n))
	r := f.after(ctx, e, i, dir == dirRequest, dir, err, act != uint64(abi.ActionContinue))
	st.open[m] = false
	if r.Outcome != Continue {
		return nil, r
	}
	if held := st.held[dir]; len(held) > 0 {
		data = append(data, held...)
	}
	st.held[dir] = nil
	return data, Result{}
}

// headersPause maps a headers callback's result to pause or not, as
// Envoy: Continue and ContinueAndEndStream go on, every other value stops.
func headersPause(act uint64, exported bool) bool {
	if !exported {
		return false
	}
	a := abi.Action(act)
	return a != abi.ActionContinue && a != abi.ActionContinueAndEndStream
}

func b2u(b bool) uint64 {
	if b {
		return 1
	}
	return 0
}

// detailsOf replaces whitespace in response code details, as Envoy does.
func detailsOf(s string) string {
	return strings.Map(func(r rune) rune {
		if r == ' ' || r == '\t' || r == '\n' || r == '\r' || r == '\f' || r == '\v' {
			return '_'
		}
		return r
	}, s)
}
