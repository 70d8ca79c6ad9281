package sdktest

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/sluice-proxy/sluice/abi"
	"github.com/sluice-proxy/sluice/sdk/internal/hostcall"
)

// The proxy-wasm host functions, with the statuses sluice (and Envoy)
// return. They act on the effective context: the running callback's, or
// the one set with proxy_set_effective_context.

// fake is Host seen as the SDK's host: a separate method set, so that the
// test-facing API of Host stays free of ABI functions.
type fake Host

var _ hostcall.Host = (*fake)(nil)

func clone(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return append([]byte(nil), b...)
}

// stream returns the stream the host acts on, or nil from a root context.
func (h *fake) stream() *Stream { return h.streams[h.effective] }

// rootOf returns the root of the effective context.
func (h *fake) rootOf() uint32 {
	if h.roots[h.effective] != nil {
		return h.effective
	}
	if s := h.streams[h.effective]; s != nil {
		return s.root
	}
	return h.root
}

// Log implements hostcall.Host.
func (h *fake) Log(level abi.LogLevel, msg string) abi.Status {
	h.hostCalls[abi.FuncLog]++
	if !level.Valid() {
		return abi.StatusBadArgument
	}
	h.logs = append(h.logs, LogEntry{Level: level, Message: msg, Context: h.effective})
	h.t.Logf("plugin log [%s]: %s", level, msg)
	return abi.StatusOK
}

// GetLogLevel implements hostcall.Host.
func (h *fake) GetLogLevel() (abi.LogLevel, abi.Status) {
	h.hostCalls[abi.FuncGetLogLevel]++
	return h.logLevel, abi.StatusOK
}

// GetCurrentTimeNanoseconds implements hostcall.Host.
func (h *fake) GetCurrentTimeNanoseconds() (uint64, abi.Status) {
	h.hostCalls[abi.FuncGetCurrentTimeNanoseconds]++
	return uint64(h.now.UnixNano()), abi.StatusOK
}

// SetTickPeriodMilliseconds implements hostcall.Host.
func (h *fake) SetTickPeriodMilliseconds(ms uint32) abi.Status {
	h.hostCalls[abi.FuncSetTickPeriodMilliseconds]++
	if r := h.roots[h.rootOf()]; r != nil {
		r.tick = time.Duration(ms) * time.Millisecond
	}
	return abi.StatusOK
}

// buffer returns the buffer b as available now.
func (h *fake) buffer(b abi.BufferType) (*[]byte, bool, abi.Status) {
	if !b.Valid() {
		return nil, false, abi.StatusBadArgument
	}
	s := h.stream()
	switch b {
	case abi.BufferHTTPRequestBody, abi.BufferHTTPResponseBody:
		if s == nil {
			return nil, false, abi.StatusNotFound
		}
		bd := &s.reqBody
		if b == abi.BufferHTTPResponseBody {
			bd = &s.respBody
		}
		if !bd.inCallback && !bd.buffering {
			return nil, false, abi.StatusNotFound
		}
		return &bd.buf, true, abi.StatusOK
	case abi.BufferHTTPCallResponseBody:
		if h.delivering == nil {
			return nil, false, abi.StatusNotFound
		}
		return &h.delivering.respBody, false, abi.StatusOK
	case abi.BufferPluginConfiguration:
		if !h.configuring {
			return nil, false, abi.StatusNotFound
		}
		return &h.pluginConfig, false, abi.StatusOK
	case abi.BufferVMConfiguration:
		var empty []byte
		return &empty, false, abi.StatusOK
	}
	return nil, false, abi.StatusNotFound
}

// GetBufferBytes implements hostcall.Host.
func (h *fake) GetBufferBytes(b abi.BufferType, start, maxSize uint32) ([]byte, abi.Status) {
	h.hostCalls[abi.FuncGetBufferBytes]++
	buf, _, st := h.buffer(b)
	if st != abi.StatusOK {
		return nil, st
	}
	if uint64(start)+uint64(maxSize) > math.MaxUint32 {
		return nil, abi.StatusBadArgument
	}
	data := *buf
	if int(start) > len(data) {
		return nil, abi.StatusOK
	}
	end := min(uint64(start)+uint64(maxSize), uint64(len(data)))
	return clone(data[start:end]), abi.StatusOK
}

// SetBufferBytes implements hostcall.Host with Envoy's rules: start 0
// drops the first size bytes and prepends, start at or past the end
// appends, anything in between is BAD_ARGUMENT.
func (h *fake) SetBufferBytes(b abi.BufferType, start, size uint32, data []byte) abi.Status {
	h.hostCalls[abi.FuncSetBufferBytes]++
	buf, mutable, st := h.buffer(b)
	if st != abi.StatusOK {
		return st
	}
	if !mutable {
		return abi.StatusBadArgument
	}
	cur := *buf
	switch {
	case start == 0:
		drop := min(int(size), len(cur))
		*buf = append(clone(data), cur[drop:]...)
	case int(start) >= len(cur):
		*buf = append(cur, data...)
	default:
		return abi.StatusBadArgument
	}
	return abi.StatusOK
}

// GetBufferStatus implements hostcall.Host.
func (h *fake) GetBufferStatus(b abi.BufferType) (uint32, uint32, abi.Status) {
	h.hostCalls[abi.FuncGetBufferStatus]++
	buf, _, st := h.buffer(b)
	if st != abi.StatusOK {
		return 0, 0, st
	}
	return uint32(len(*buf)), 0, abi.StatusOK
}

// headerMap returns the map m as accessible now, and whether it may change.
func (h *fake) headerMap(m abi.MapType) (*[][2]string, bool, abi.Status) {
	if !m.Valid() {
		return nil, false, abi.StatusBadArgument
	}
	switch m {
	case abi.MapHTTPCallResponseHeaders, abi.MapHTTPCallResponseTrailers:
		if h.delivering == nil {
			return nil, false, abi.StatusBadArgument
		}
		if m == abi.MapHTTPCallResponseHeaders {
			return &h.delivering.respHeaders, false, abi.StatusOK
		}
		return &h.delivering.respTrailers, false, abi.StatusOK
	case abi.MapGrpcReceiveInitialMeta, abi.MapGrpcReceiveTrailingMeta:
		return nil, false, abi.StatusBadArgument
	}
	s := h.stream()
	if s == nil {
		return nil, false, abi.StatusBadArgument
	}
	switch m {
	case abi.MapHTTPRequestHeaders:
		if s.inLog {
			return &s.reqHeaders, false, abi.StatusOK
		}
		if !s.reqHeadersOpen {
			return nil, false, abi.StatusBadArgument
		}
		return &s.reqHeaders, true, abi.StatusOK
	case abi.MapHTTPResponseHeaders:
		if s.inLog {
			return &s.respHeaders, false, abi.StatusOK
		}
		if !s.respHeadersOpen {
			return nil, false, abi.StatusBadArgument
		}
		return &s.respHeaders, true, abi.StatusOK
	case abi.MapHTTPRequestTrailers:
		return &s.reqTrailers, !s.inLog, abi.StatusOK
	default:
		return &s.respTrailers, !s.inLog, abi.StatusOK
	}
}

// GetHeaderMapPairs implements hostcall.Host: a map that is not available
// reads as empty (always OK, as Envoy).
func (h *fake) GetHeaderMapPairs(m abi.MapType) ([]byte, abi.Status) {
	h.hostCalls[abi.FuncGetHeaderMapPairs]++
	if !m.Valid() {
		return nil, abi.StatusBadArgument
	}
	hm, _, st := h.headerMap(m)
	if st != abi.StatusOK || len(*hm) == 0 {
		return abi.EncodeMap(nil), abi.StatusOK
	}
	return abi.EncodeMap(*hm), abi.StatusOK
}

// SetHeaderMapPairs implements hostcall.Host.
func (h *fake) SetHeaderMapPairs(m abi.MapType, serialized []byte) abi.Status {
	h.hostCalls[abi.FuncSetHeaderMapPairs]++
	hm, mutable, st := h.headerMap(m)
	if st != abi.StatusOK {
		return st
	}
	if !mutable {
		return abi.StatusBadArgument
	}
	pairs, err := abi.DecodeMap(serialized)
	if err != nil {
		pairs = nil // Envoy treats a malformed map as empty
	}
	*hm = lowerPairs(pairs)
	return abi.StatusOK
}

// GetHeaderMapValue implements hostcall.Host.
func (h *fake) GetHeaderMapValue(m abi.MapType, key string) ([]byte, abi.Status) {
	h.hostCalls[abi.FuncGetHeaderMapValue]++
	hm, _, st := h.headerMap(m)
	if st != abi.StatusOK {
		return nil, st
	}
	key = strings.ToLower(key)
	for _, p := range *hm {
		if p[0] == key {
			return clone([]byte(p[1])), abi.StatusOK
		}
	}
	return nil, abi.StatusNotFound
}

// AddHeaderMapValue implements hostcall.Host.
func (h *fake) AddHeaderMapValue(m abi.MapType, key, value string) abi.Status {
	h.hostCalls[abi.FuncAddHeaderMapValue]++
	hm, mutable, st := h.headerMap(m)
	if st != abi.StatusOK {
		return st
	}
	if !mutable {
		return abi.StatusBadArgument
	}
	*hm = append(*hm, [2]string{strings.ToLower(key), value})
	return abi.StatusOK
}

// ReplaceHeaderMapValue implements hostcall.Host: the first value is
// overwritten (others stay), or the header is added.
func (h *fake) ReplaceHeaderMapValue(m abi.MapType, key, value string) abi.Status {
	h.hostCalls[abi.FuncReplaceHeaderMapValue]++
	hm, mutable, st := h.headerMap(m)
	if st != abi.StatusOK {
		return st
	}
	if !mutable {
		return abi.StatusBadArgument
	}
	key = strings.ToLower(key)
	for i := range *hm {
		if (*hm)[i][0] == key {
			(*hm)[i][1] = value
			return abi.StatusOK
		}
	}
	*hm = append(*hm, [2]string{key, value})
	return abi.StatusOK
}

// RemoveHeaderMapValue implements hostcall.Host.
func (h *fake) RemoveHeaderMapValue(m abi.MapType, key string) abi.Status {
	h.hostCalls[abi.FuncRemoveHeaderMapValue]++
	hm, mutable, st := h.headerMap(m)
	if st != abi.StatusOK {
		return st
	}
	if !mutable {
		return abi.StatusBadArgument
	}
	key = strings.ToLower(key)
	out := (*hm)[:0]
	for _, p := range *hm {
		if p[0] != key {
			out = append(out, p)
		}
	}
	*hm = out
	return abi.StatusOK
}

// GetHeaderMapSize implements hostcall.Host (sum of key and value lengths).
func (h *fake) GetHeaderMapSize(m abi.MapType) (uint32, abi.Status) {
	h.hostCalls[abi.FuncGetHeaderMapSize]++
	hm, _, st := h.headerMap(m)
	if st != abi.StatusOK {
		return 0, st
	}
	n := 0
	for _, p := range *hm {
		n += len(p[0]) + len(p[1])
	}
	return uint32(n), abi.StatusOK
}

// ContinueStream implements hostcall.Host.
func (h *fake) ContinueStream(st abi.StreamType) abi.Status {
	h.hostCalls[abi.FuncContinueStream]++
	s := h.stream()
	if s == nil {
		return abi.StatusNotFound
	}
	switch st {
	case abi.StreamHTTPRequest, abi.StreamHTTPResponse:
	case abi.StreamUpstream, abi.StreamDownstream:
		return abi.StatusUnimplemented
	default:
		return abi.StatusBadArgument
	}
	s.resumed[st]++
	if !s.paused[st] {
		return abi.StatusOK
	}
	s.paused[st] = false
	bd := &s.reqBody
	if st == abi.StreamHTTPRequest {
		s.reqHeadersOpen = false
	} else {
		s.respHeadersOpen, s.respHeadersSent = false, true
		bd = &s.respBody
	}
	if bd.buffering {
		bd.sent = append(bd.sent, bd.buf...)
		bd.buf, bd.buffering = nil, false
	}
	return abi.StatusOK
}

// CloseStream implements hostcall.Host.
func (h *fake) CloseStream(st abi.StreamType) abi.Status {
	h.hostCalls[abi.FuncCloseStream]++
	s := h.stream()
	if s == nil {
		return abi.StatusNotFound
	}
	if st > abi.StreamUpstream {
		return abi.StatusBadArgument
	}
	s.reset = true
	return abi.StatusOK
}

// SendLocalResponse implements hostcall.Host. A second local response, or
// one after the response headers left, is refused (BAD_ARGUMENT) so that
// tests notice.
func (h *fake) SendLocalResponse(status uint32, details string, body, headers []byte, grpcStatus int32) abi.Status {
	h.hostCalls[abi.FuncSendLocalResponse]++
	s := h.stream()
	if s == nil {
		return abi.StatusNotFound
	}
	if s.local != nil || s.respHeadersSent {
		return abi.StatusBadArgument
	}
	pairs, err := abi.DecodeMap(headers)
	if err != nil {
		return abi.StatusBadArgument
	}
	s.local = &LocalResponse{Status: int(status), Headers: lowerPairs(pairs), Body: clone(body), Details: details}
	if v, ok := s.props[dotted("sluice.respond_file")]; ok && h.fileBody != nil {
		if b, err := h.readFileBody(string(v)); err == nil {
			s.local.Body = b
		} else {
			s.local.Body = []byte("sdktest: " + err.Error())
		}
	}
	s.paused = [2]bool{}
	s.reqHeadersOpen = false
	return abi.StatusOK
}

// GetStatus implements hostcall.Host.
func (h *fake) GetStatus() (uint32, []byte, abi.Status) {
	h.hostCalls[abi.FuncGetStatus]++
	return h.callStatus, clone([]byte(h.callMessage)), abi.StatusOK
}

// HTTPCall implements hostcall.Host.
func (h *fake) HTTPCall(upstream string, headers, body, trailers []byte, timeoutMS uint32) (uint32, abi.Status) {
	h.hostCalls[abi.FuncHTTPCall]++
	hs, err := abi.DecodeMap(headers)
	if err != nil {
		return 0, abi.StatusBadArgument
	}
	ts, err := abi.DecodeMap(trailers)
	if err != nil {
		return 0, abi.StatusBadArgument
	}
	for _, k := range []string{":method", ":path", ":authority"} {
		if get(hs, k) == "" {
			return 0, abi.StatusBadArgument
		}
	}
	if h.upstreams != nil && !h.upstreams[upstream] {
		return 0, abi.StatusBadArgument
	}
	h.nextToken++
	c := &Call{
		h: (*Host)(h), token: h.nextToken, root: h.rootOf(),
		Upstream: upstream, Headers: lowerPairs(hs), Body: clone(body), Trailers: lowerPairs(ts),
		Timeout: time.Duration(timeoutMS) * time.Millisecond,
	}
	h.calls[c.token] = c
	h.callOrder = append(h.callOrder, c)
	return c.token, abi.StatusOK
}

// GetSharedData implements hostcall.Host.
func (h *fake) GetSharedData(key string) ([]byte, uint32, abi.Status) {
	h.hostCalls[abi.FuncGetSharedData]++
	v, ok := h.shared[key]
	if !ok {
		// As sluice does: a CAS no key holds, good for creating key.
		h.casNext++
		return nil, h.casNext, abi.StatusNotFound
	}
	return clone(v.value), v.cas, abi.StatusOK
}

// SetSharedData implements hostcall.Host.
func (h *fake) SetSharedData(key string, value []byte, cas uint32) abi.Status {
	h.hostCalls[abi.FuncSetSharedData]++
	if v, ok := h.shared[key]; ok && cas != 0 && cas != v.cas {
		return abi.StatusCasMismatch
	}
	(*Host)(h).SetSharedData(key, value)
	return abi.StatusOK
}

// RegisterSharedQueue implements hostcall.Host.
func (h *fake) RegisterSharedQueue(name string) (uint32, abi.Status) {
	h.hostCalls[abi.FuncRegisterSharedQueue]++
	if id, ok := h.queueByName[name]; ok {
		h.queues[id-1].consumer = h.rootOf()
		return id, abi.StatusOK
	}
	h.queues = append(h.queues, &queue{name: name, consumer: h.rootOf()})
	id := uint32(len(h.queues))
	h.queueByName[name] = id
	return id, abi.StatusOK
}

// ResolveSharedQueue implements hostcall.Host. The fake has one VM id, "".
func (h *fake) ResolveSharedQueue(vmID, name string) (uint32, abi.Status) {
	h.hostCalls[abi.FuncResolveSharedQueue]++
	id, ok := h.queueByName[name]
	if !ok || vmID != "" {
		return 0, abi.StatusNotFound
	}
	return id, abi.StatusOK
}

// EnqueueSharedQueue implements hostcall.Host; the consumer is notified
// after the current callback returns.
func (h *fake) EnqueueSharedQueue(id uint32, value []byte) abi.Status {
	h.hostCalls[abi.FuncEnqueueSharedQueue]++
	if id == 0 || int(id) > len(h.queues) {
		return abi.StatusNotFound
	}
	q := h.queues[id-1]
	q.items = append(q.items, clone(value))
	h.deferred = append(h.deferred, func() {
		(*Host)(h).callback(q.consumer, func() { h.guest.OnQueueReady(q.consumer, id) })
	})
	return abi.StatusOK
}

// DequeueSharedQueue implements hostcall.Host.
func (h *fake) DequeueSharedQueue(id uint32) ([]byte, abi.Status) {
	h.hostCalls[abi.FuncDequeueSharedQueue]++
	if id == 0 || int(id) > len(h.queues) {
		return nil, abi.StatusNotFound
	}
	q := h.queues[id-1]
	if len(q.items) == 0 {
		return nil, abi.StatusEmpty
	}
	v := q.items[0]
	q.items = q.items[1:]
	return v, abi.StatusOK
}

// DefineMetric implements hostcall.Host.
func (h *fake) DefineMetric(t abi.MetricType, name string) (uint32, abi.Status) {
	h.hostCalls[abi.FuncDefineMetric]++
	if !t.Valid() {
		return 0, abi.StatusBadArgument
	}
	if id, ok := h.metricByName[name]; ok {
		if h.metrics[id].kind != t {
			return 0, abi.StatusBadArgument
		}
		return id, abi.StatusOK
	}
	h.metrics = append(h.metrics, &metric{name: name, kind: t})
	id := uint32(len(h.metrics) - 1)
	h.metricByName[name] = id
	return id, abi.StatusOK
}

func (h *fake) metric(id uint32) *metric {
	if int(id) >= len(h.metrics) {
		return nil
	}
	return h.metrics[id]
}

// IncrementMetric implements hostcall.Host.
func (h *fake) IncrementMetric(id uint32, delta int64) abi.Status {
	h.hostCalls[abi.FuncIncrementMetric]++
	m := h.metric(id)
	switch {
	case m == nil:
		return abi.StatusNotFound
	case m.kind == abi.MetricCounter && delta <= 0, m.kind == abi.MetricHistogram:
		return abi.StatusBadArgument
	}
	m.value += delta
	return abi.StatusOK
}

// RecordMetric implements hostcall.Host.
func (h *fake) RecordMetric(id uint32, value int64) abi.Status {
	h.hostCalls[abi.FuncRecordMetric]++
	m := h.metric(id)
	if m == nil {
		return abi.StatusNotFound
	}
	switch m.kind {
	case abi.MetricCounter:
		m.value += value
	case abi.MetricGauge:
		m.value = value
	default:
		m.samples = append(m.samples, value)
	}
	return abi.StatusOK
}

// GetMetric implements hostcall.Host.
func (h *fake) GetMetric(id uint32) (uint64, abi.Status) {
	h.hostCalls[abi.FuncGetMetric]++
	m := h.metric(id)
	switch {
	case m == nil:
		return 0, abi.StatusNotFound
	case m.kind == abi.MetricHistogram:
		return 0, abi.StatusBadArgument
	}
	return uint64(m.value), abi.StatusOK
}

// GetProperty implements hostcall.Host: the stream's own attributes first,
// then the host's; "request.headers.NAME" style paths index the request
// header map.
func (h *fake) GetProperty(path string) ([]byte, abi.Status) {
	h.hostCalls[abi.FuncGetProperty]++
	if s := h.stream(); s != nil {
		if v, ok := s.props[path]; ok {
			return clone(v), abi.StatusOK
		}
		if name, ok := strings.CutPrefix(path, "request"+abi.PathSeparator+"headers"+abi.PathSeparator); ok {
			for _, p := range s.reqHeaders {
				if p[0] == strings.ToLower(name) {
					return []byte(p[1]), abi.StatusOK
				}
			}
			return nil, abi.StatusNotFound
		}
	}
	if v, ok := h.props[path]; ok {
		return clone(v), abi.StatusOK
	}
	return nil, abi.StatusNotFound
}

// readFileBody reads "PATH\x00OFFSET\x00LENGTH" with the host's fileBody.
func (h *fake) readFileBody(v string) ([]byte, error) {
	path, rest, _ := strings.Cut(v, "\x00")
	off, size, _ := strings.Cut(rest, "\x00")
	o, err1 := strconv.ParseInt(off, 10, 64)
	n, err2 := strconv.ParseInt(size, 10, 64)
	if err1 != nil || err2 != nil {
		return nil, fmt.Errorf("bad sluice.respond_file %q", v)
	}
	return h.fileBody(path, o, n)
}

// SetProperty implements hostcall.Host (stream contexts only, as Envoy).
func (h *fake) SetProperty(path string, value []byte) abi.Status {
	if path == dotted("sluice.respond_file") && h.fileBody == nil {
		h.hostCalls[abi.FuncSetProperty]++
		return abi.StatusBadArgument
	}
	h.hostCalls[abi.FuncSetProperty]++
	s := h.stream()
	if s == nil {
		return abi.StatusNotFound
	}
	s.props[path] = clone(value)
	return abi.StatusOK
}

// SetEffectiveContext implements hostcall.Host.
func (h *fake) SetEffectiveContext(id uint32) abi.Status {
	h.hostCalls[abi.FuncSetEffectiveContext]++
	if h.streams[id] == nil && h.roots[id] == nil {
		return abi.StatusBadArgument
	}
	h.effective = id
	return abi.StatusOK
}

// Done implements hostcall.Host: SDK roots never wait, so nothing is
// pending.
func (h *fake) Done() abi.Status {
	h.hostCalls[abi.FuncDone]++
	return abi.StatusNotFound
}

// CallForeignFunction implements hostcall.Host.
func (h *fake) CallForeignFunction(name string, args []byte) ([]byte, abi.Status) {
	h.hostCalls[abi.FuncCallForeignFunction]++
	fn, ok := h.foreign[name]
	if !ok {
		return nil, abi.StatusNotFound
	}
	out, err := fn(clone(args))
	if err != nil {
		var fe *ForeignError
		if errors.As(err, &fe) {
			return nil, fe.Status
		}
		return nil, abi.StatusSerializationFailure
	}
	return out, abi.StatusOK
}

// Properties of integers are 8 bytes little-endian; IntProperty encodes one
// for WithProperty and Stream.SetProperty.
func IntProperty(v int64) []byte { return le64(uint64(v)) }
