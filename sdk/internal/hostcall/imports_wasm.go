//go:build wasm

package hostcall

import (
	"runtime"
	"unsafe"

	"github.com/sluice-proxy/sluice/abi"
)

// The raw imports. Parameter types map one to one onto the wasm signatures
// in abi.HostFunctions: uint32, int32, unsafe.Pointer and *uint32/*uint64
// are i32 and int64 is i64 (TestImportSignatures checks this file against
// abi). Out-parameters are written by the host little-endian.

//go:wasmimport env proxy_log
func proxyLog(level abi.LogLevel, msg unsafe.Pointer, msgLen uint32) abi.Status

//go:wasmimport env proxy_get_log_level
func proxyGetLogLevel(level *uint32) abi.Status

//go:wasmimport env proxy_get_current_time_nanoseconds
func proxyGetCurrentTimeNanoseconds(t *uint64) abi.Status

//go:wasmimport env proxy_set_tick_period_milliseconds
func proxySetTickPeriodMilliseconds(ms uint32) abi.Status

//go:wasmimport env proxy_get_buffer_bytes
func proxyGetBufferBytes(b abi.BufferType, start, maxSize uint32, retPtr, retLen *uint32) abi.Status

//go:wasmimport env proxy_set_buffer_bytes
func proxySetBufferBytes(b abi.BufferType, start, size uint32, data unsafe.Pointer, dataLen uint32) abi.Status

//go:wasmimport env proxy_get_buffer_status
func proxyGetBufferStatus(b abi.BufferType, retLen, retFlags *uint32) abi.Status

//go:wasmimport env proxy_get_header_map_pairs
func proxyGetHeaderMapPairs(m abi.MapType, retPtr, retLen *uint32) abi.Status

//go:wasmimport env proxy_set_header_map_pairs
func proxySetHeaderMapPairs(m abi.MapType, data unsafe.Pointer, dataLen uint32) abi.Status

//go:wasmimport env proxy_get_header_map_value
func proxyGetHeaderMapValue(m abi.MapType, key unsafe.Pointer, keyLen uint32, retPtr, retLen *uint32) abi.Status

//go:wasmimport env proxy_add_header_map_value
func proxyAddHeaderMapValue(m abi.MapType, key unsafe.Pointer, keyLen uint32, value unsafe.Pointer, valueLen uint32) abi.Status

//go:wasmimport env proxy_replace_header_map_value
func proxyReplaceHeaderMapValue(m abi.MapType, key unsafe.Pointer, keyLen uint32, value unsafe.Pointer, valueLen uint32) abi.Status

//go:wasmimport env proxy_remove_header_map_value
func proxyRemoveHeaderMapValue(m abi.MapType, key unsafe.Pointer, keyLen uint32) abi.Status

//go:wasmimport env proxy_get_header_map_size
func proxyGetHeaderMapSize(m abi.MapType, retSize *uint32) abi.Status

//go:wasmimport env proxy_continue_stream
func proxyContinueStream(s abi.StreamType) abi.Status

//go:wasmimport env proxy_close_stream
func proxyCloseStream(s abi.StreamType) abi.Status

//go:wasmimport env proxy_send_local_response
func proxySendLocalResponse(status uint32, details unsafe.Pointer, detailsLen uint32, body unsafe.Pointer, bodyLen uint32, headers unsafe.Pointer, headersLen uint32, grpcStatus int32) abi.Status

//go:wasmimport env proxy_get_status
func proxyGetStatus(code, retPtr, retLen *uint32) abi.Status

//go:wasmimport env proxy_http_call
func proxyHTTPCall(upstream unsafe.Pointer, upstreamLen uint32, headers unsafe.Pointer, headersLen uint32, body unsafe.Pointer, bodyLen uint32, trailers unsafe.Pointer, trailersLen uint32, timeoutMS uint32, token *uint32) abi.Status

//go:wasmimport env proxy_get_shared_data
func proxyGetSharedData(key unsafe.Pointer, keyLen uint32, retPtr, retLen, cas *uint32) abi.Status

//go:wasmimport env proxy_set_shared_data
func proxySetSharedData(key unsafe.Pointer, keyLen uint32, value unsafe.Pointer, valueLen uint32, cas uint32) abi.Status

//go:wasmimport env proxy_register_shared_queue
func proxyRegisterSharedQueue(name unsafe.Pointer, nameLen uint32, id *uint32) abi.Status

//go:wasmimport env proxy_resolve_shared_queue
func proxyResolveSharedQueue(vmID unsafe.Pointer, vmIDLen uint32, name unsafe.Pointer, nameLen uint32, id *uint32) abi.Status

//go:wasmimport env proxy_enqueue_shared_queue
func proxyEnqueueSharedQueue(id uint32, value unsafe.Pointer, valueLen uint32) abi.Status

//go:wasmimport env proxy_dequeue_shared_queue
func proxyDequeueSharedQueue(id uint32, retPtr, retLen *uint32) abi.Status

//go:wasmimport env proxy_define_metric
func proxyDefineMetric(t abi.MetricType, name unsafe.Pointer, nameLen uint32, id *uint32) abi.Status

//go:wasmimport env proxy_increment_metric
func proxyIncrementMetric(id uint32, delta int64) abi.Status

//go:wasmimport env proxy_record_metric
func proxyRecordMetric(id uint32, value int64) abi.Status

//go:wasmimport env proxy_get_metric
func proxyGetMetric(id uint32, value *uint64) abi.Status

//go:wasmimport env proxy_get_property
func proxyGetProperty(path unsafe.Pointer, pathLen uint32, retPtr, retLen *uint32) abi.Status

//go:wasmimport env proxy_set_property
func proxySetProperty(path unsafe.Pointer, pathLen uint32, value unsafe.Pointer, valueLen uint32) abi.Status

//go:wasmimport env proxy_set_effective_context
func proxySetEffectiveContext(id uint32) abi.Status

//go:wasmimport env proxy_done
func proxyDone() abi.Status

//go:wasmimport env proxy_call_foreign_function
func proxyCallForeignFunction(name unsafe.Pointer, nameLen uint32, args unsafe.Pointer, argsLen uint32, retPtr, retLen *uint32) abi.Status

// pinned holds the buffers handed to the host by the allocator until the
// wrapper that made the host call takes them (see the package doc).
var pinned [][]byte

// allocate serves proxy_on_memory_allocate.
func allocate(size uint32) unsafe.Pointer {
	if size == 0 {
		// Hosts never ask for 0 bytes, but a valid pointer is cheaper than
		// a trap if one does.
		size = 1
	}
	buf := make([]byte, size)
	pinned = append(pinned, buf)
	return unsafe.Pointer(&buf[0])
}

// take returns the pinned buffer the host wrote at (ptr, n) and drops every
// pin. A result that the host did not allocate through us, which a correct
// host never returns, reads as empty.
func take(ptr, n uint32) []byte {
	defer unpin()
	if n == 0 {
		return nil
	}
	for _, b := range pinned {
		if uint32(uintptr(unsafe.Pointer(&b[0]))) == ptr && uint32(len(b)) >= n {
			return b[:n:n]
		}
	}
	return nil
}

func unpin() {
	clear(pinned)
	pinned = pinned[:0]
}

func strPtr(s string) (unsafe.Pointer, uint32) {
	return unsafe.Pointer(unsafe.StringData(s)), uint32(len(s))
}

func bytesPtr(b []byte) (unsafe.Pointer, uint32) {
	return unsafe.Pointer(unsafe.SliceData(b)), uint32(len(b))
}

// Log calls proxy_log.
func Log(level abi.LogLevel, msg string) abi.Status {
	p, n := strPtr(msg)
	st := proxyLog(level, p, n)
	runtime.KeepAlive(msg)
	return st
}

// GetLogLevel calls proxy_get_log_level.
func GetLogLevel() (abi.LogLevel, abi.Status) {
	var l uint32
	st := proxyGetLogLevel(&l)
	return abi.LogLevel(l), st
}

// GetCurrentTimeNanoseconds calls proxy_get_current_time_nanoseconds.
func GetCurrentTimeNanoseconds() (uint64, abi.Status) {
	var t uint64
	st := proxyGetCurrentTimeNanoseconds(&t)
	return t, st
}

// SetTickPeriodMilliseconds calls proxy_set_tick_period_milliseconds.
func SetTickPeriodMilliseconds(ms uint32) abi.Status { return proxySetTickPeriodMilliseconds(ms) }

// GetBufferBytes calls proxy_get_buffer_bytes.
func GetBufferBytes(b abi.BufferType, start, maxSize uint32) ([]byte, abi.Status) {
	var ptr, n uint32
	st := proxyGetBufferBytes(b, start, maxSize, &ptr, &n)
	return take(ptr, n), st
}

// SetBufferBytes calls proxy_set_buffer_bytes.
func SetBufferBytes(b abi.BufferType, start, size uint32, data []byte) abi.Status {
	p, n := bytesPtr(data)
	st := proxySetBufferBytes(b, start, size, p, n)
	runtime.KeepAlive(data)
	return st
}

// GetBufferStatus calls proxy_get_buffer_status.
func GetBufferStatus(b abi.BufferType) (length, flags uint32, st abi.Status) {
	st = proxyGetBufferStatus(b, &length, &flags)
	return length, flags, st
}

// GetHeaderMapPairs calls proxy_get_header_map_pairs and returns the
// serialized map.
func GetHeaderMapPairs(m abi.MapType) ([]byte, abi.Status) {
	var ptr, n uint32
	st := proxyGetHeaderMapPairs(m, &ptr, &n)
	return take(ptr, n), st
}

// SetHeaderMapPairs calls proxy_set_header_map_pairs with a serialized map.
func SetHeaderMapPairs(m abi.MapType, serialized []byte) abi.Status {
	p, n := bytesPtr(serialized)
	st := proxySetHeaderMapPairs(m, p, n)
	runtime.KeepAlive(serialized)
	return st
}

// GetHeaderMapValue calls proxy_get_header_map_value.
func GetHeaderMapValue(m abi.MapType, key string) ([]byte, abi.Status) {
	kp, kn := strPtr(key)
	var ptr, n uint32
	st := proxyGetHeaderMapValue(m, kp, kn, &ptr, &n)
	runtime.KeepAlive(key)
	return take(ptr, n), st
}

// AddHeaderMapValue calls proxy_add_header_map_value.
func AddHeaderMapValue(m abi.MapType, key, value string) abi.Status {
	kp, kn := strPtr(key)
	vp, vn := strPtr(value)
	st := proxyAddHeaderMapValue(m, kp, kn, vp, vn)
	runtime.KeepAlive(key)
	runtime.KeepAlive(value)
	return st
}

// ReplaceHeaderMapValue calls proxy_replace_header_map_value.
func ReplaceHeaderMapValue(m abi.MapType, key, value string) abi.Status {
	kp, kn := strPtr(key)
	vp, vn := strPtr(value)
	st := proxyReplaceHeaderMapValue(m, kp, kn, vp, vn)
	runtime.KeepAlive(key)
	runtime.KeepAlive(value)
	return st
}

// RemoveHeaderMapValue calls proxy_remove_header_map_value.
func RemoveHeaderMapValue(m abi.MapType, key string) abi.Status {
	kp, kn := strPtr(key)
	st := proxyRemoveHeaderMapValue(m, kp, kn)
	runtime.KeepAlive(key)
	return st
}

// GetHeaderMapSize calls proxy_get_header_map_size.
func GetHeaderMapSize(m abi.MapType) (uint32, abi.Status) {
	var n uint32
	st := proxyGetHeaderMapSize(m, &n)
	return n, st
}

// ContinueStream calls proxy_continue_stream.
func ContinueStream(s abi.StreamType) abi.Status { return proxyContinueStream(s) }

// CloseStream calls proxy_close_stream.
func CloseStream(s abi.StreamType) abi.Status { return proxyCloseStream(s) }

// SendLocalResponse calls proxy_send_local_response; headers is a
// serialized map.
func SendLocalResponse(status uint32, details string, body, headers []byte, grpcStatus int32) abi.Status {
	dp, dn := strPtr(details)
	bp, bn := bytesPtr(body)
	hp, hn := bytesPtr(headers)
	st := proxySendLocalResponse(status, dp, dn, bp, bn, hp, hn, grpcStatus)
	runtime.KeepAlive(details)
	runtime.KeepAlive(body)
	runtime.KeepAlive(headers)
	return st
}

// GetStatus calls proxy_get_status.
func GetStatus() (code uint32, msg []byte, st abi.Status) {
	var ptr, n uint32
	st = proxyGetStatus(&code, &ptr, &n)
	return code, take(ptr, n), st
}

// HTTPCall calls proxy_http_call; headers and trailers are serialized maps.
func HTTPCall(upstream string, headers, body, trailers []byte, timeoutMS uint32) (uint32, abi.Status) {
	up, un := strPtr(upstream)
	hp, hn := bytesPtr(headers)
	bp, bn := bytesPtr(body)
	tp, tn := bytesPtr(trailers)
	var token uint32
	st := proxyHTTPCall(up, un, hp, hn, bp, bn, tp, tn, timeoutMS, &token)
	runtime.KeepAlive(upstream)
	runtime.KeepAlive(headers)
	runtime.KeepAlive(body)
	runtime.KeepAlive(trailers)
	return token, st
}

// GetSharedData calls proxy_get_shared_data.
func GetSharedData(key string) (value []byte, cas uint32, st abi.Status) {
	kp, kn := strPtr(key)
	var ptr, n uint32
	st = proxyGetSharedData(kp, kn, &ptr, &n, &cas)
	runtime.KeepAlive(key)
	return take(ptr, n), cas, st
}

// SetSharedData calls proxy_set_shared_data.
func SetSharedData(key string, value []byte, cas uint32) abi.Status {
	kp, kn := strPtr(key)
	vp, vn := bytesPtr(value)
	st := proxySetSharedData(kp, kn, vp, vn, cas)
	runtime.KeepAlive(key)
	runtime.KeepAlive(value)
	return st
}

// RegisterSharedQueue calls proxy_register_shared_queue.
func RegisterSharedQueue(name string) (uint32, abi.Status) {
	np, nn := strPtr(name)
	var id uint32
	st := proxyRegisterSharedQueue(np, nn, &id)
	runtime.KeepAlive(name)
	return id, st
}

// ResolveSharedQueue calls proxy_resolve_shared_queue.
func ResolveSharedQueue(vmID, name string) (uint32, abi.Status) {
	vp, vn := strPtr(vmID)
	np, nn := strPtr(name)
	var id uint32
	st := proxyResolveSharedQueue(vp, vn, np, nn, &id)
	runtime.KeepAlive(vmID)
	runtime.KeepAlive(name)
	return id, st
}

// EnqueueSharedQueue calls proxy_enqueue_shared_queue.
func EnqueueSharedQueue(id uint32, value []byte) abi.Status {
	vp, vn := bytesPtr(value)
	st := proxyEnqueueSharedQueue(id, vp, vn)
	runtime.KeepAlive(value)
	return st
}

// DequeueSharedQueue calls proxy_dequeue_shared_queue.
func DequeueSharedQueue(id uint32) ([]byte, abi.Status) {
	var ptr, n uint32
	st := proxyDequeueSharedQueue(id, &ptr, &n)
	return take(ptr, n), st
}

// DefineMetric calls proxy_define_metric.
func DefineMetric(t abi.MetricType, name string) (uint32, abi.Status) {
	np, nn := strPtr(name)
	var id uint32
	st := proxyDefineMetric(t, np, nn, &id)
	runtime.KeepAlive(name)
	return id, st
}

// IncrementMetric calls proxy_increment_metric.
func IncrementMetric(id uint32, delta int64) abi.Status { return proxyIncrementMetric(id, delta) }

// RecordMetric calls proxy_record_metric.
func RecordMetric(id uint32, value int64) abi.Status { return proxyRecordMetric(id, value) }

// GetMetric calls proxy_get_metric.
func GetMetric(id uint32) (uint64, abi.Status) {
	var v uint64
	st := proxyGetMetric(id, &v)
	return v, st
}

// GetProperty calls proxy_get_property; path is NUL-joined (abi.JoinPath).
func GetProperty(path string) ([]byte, abi.Status) {
	pp, pn := strPtr(path)
	var ptr, n uint32
	st := proxyGetProperty(pp, pn, &ptr, &n)
	runtime.KeepAlive(path)
	return take(ptr, n), st
}

// SetProperty calls proxy_set_property.
func SetProperty(path string, value []byte) abi.Status {
	pp, pn := strPtr(path)
	vp, vn := bytesPtr(value)
	st := proxySetProperty(pp, pn, vp, vn)
	runtime.KeepAlive(path)
	runtime.KeepAlive(value)
	return st
}

// SetEffectiveContext calls proxy_set_effective_context.
func SetEffectiveContext(id uint32) abi.Status { return proxySetEffectiveContext(id) }

// Done calls proxy_done.
func Done() abi.Status { return proxyDone() }

// CallForeignFunction calls proxy_call_foreign_function.
func CallForeignFunction(name string, args []byte) ([]byte, abi.Status) {
	np, nn := strPtr(name)
	ap, an := bytesPtr(args)
	var ptr, n uint32
	st := proxyCallForeignFunction(np, nn, ap, an, &ptr, &n)
	runtime.KeepAlive(name)
	runtime.KeepAlive(args)
	return take(ptr, n), st
}
