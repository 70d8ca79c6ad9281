//go:build !wasm

package hostcall

import "github.com/sluice-proxy/sluice/abi"

func h() Host {
	if host == nil {
		panic("sluice sdk: no proxy-wasm host; natively, plugin code runs only under sdk/sdktest")
	}
	return host
}

// Log forwards to Host.Log.
func Log(level abi.LogLevel, msg string) abi.Status { return h().Log(level, msg) }

// GetLogLevel forwards to Host.GetLogLevel.
func GetLogLevel() (abi.LogLevel, abi.Status) { return h().GetLogLevel() }

// GetCurrentTimeNanoseconds forwards to Host.GetCurrentTimeNanoseconds.
func GetCurrentTimeNanoseconds() (uint64, abi.Status) { return h().GetCurrentTimeNanoseconds() }

// SetTickPeriodMilliseconds forwards to Host.SetTickPeriodMilliseconds.
func SetTickPeriodMilliseconds(ms uint32) abi.Status { return h().SetTickPeriodMilliseconds(ms) }

// GetBufferBytes forwards to Host.GetBufferBytes.
func GetBufferBytes(b abi.BufferType, start, maxSize uint32) ([]byte, abi.Status) {
	return h().GetBufferBytes(b, start, maxSize)
}

// SetBufferBytes forwards to Host.SetBufferBytes.
func SetBufferBytes(b abi.BufferType, start, size uint32, data []byte) abi.Status {
	return h().SetBufferBytes(b, start, size, data)
}

// GetBufferStatus forwards to Host.GetBufferStatus.
func GetBufferStatus(b abi.BufferType) (length, flags uint32, st abi.Status) {
	return h().GetBufferStatus(b)
}

// GetHeaderMapPairs forwards to Host.GetHeaderMapPairs.
func GetHeaderMapPairs(m abi.MapType) ([]byte, abi.Status) { return h().GetHeaderMapPairs(m) }

// SetHeaderMapPairs forwards to Host.SetHeaderMapPairs.
func SetHeaderMapPairs(m abi.MapType, serialized []byte) abi.Status {
	return h().SetHeaderMapPairs(m, serialized)
}

// GetHeaderMapValue forwards to Host.GetHeaderMapValue.
func GetHeaderMapValue(m abi.MapType, key string) ([]byte, abi.Status) {
	return h().GetHeaderMapValue(m, key)
}

// AddHeaderMapValue forwards to Host.AddHeaderMapValue.
func AddHeaderMapValue(m abi.MapType, key, value string) abi.Status {
	return h().AddHeaderMapValue(m, key, value)
}

// ReplaceHeaderMapValue forwards to Host.ReplaceHeaderMapValue.
func ReplaceHeaderMapValue(m abi.MapType, key, value string) abi.Status {
	return h().ReplaceHeaderMapValue(m, key, value)
}

// RemoveHeaderMapValue forwards to Host.RemoveHeaderMapValue.
func RemoveHeaderMapValue(m abi.MapType, key string) abi.Status {
	return h().RemoveHeaderMapValue(m, key)
}

// GetHeaderMapSize forwards to Host.GetHeaderMapSize.
func GetHeaderMapSize(m abi.MapType) (uint32, abi.Status) { return h().GetHeaderMapSize(m) }

// ContinueStream forwards to Host.ContinueStream.
func ContinueStream(s abi.StreamType) abi.Status { return h().ContinueStream(s) }

// CloseStream forwards to Host.CloseStream.
func CloseStream(s abi.StreamType) abi.Status { return h().CloseStream(s) }

// SendLocalResponse forwards to Host.SendLocalResponse.
func SendLocalResponse(status uint32, details string, body, headers []byte, grpcStatus int32) abi.Status {
	return h().SendLocalResponse(status, details, body, headers, grpcStatus)
}

// GetStatus forwards to Host.GetStatus.
func GetStatus() (code uint32, msg []byte, st abi.Status) { return h().GetStatus() }

// HTTPCall forwards to Host.HTTPCall.
func HTTPCall(upstream string, headers, body, trailers []byte, timeoutMS uint32) (uint32, abi.Status) {
	return h().HTTPCall(upstream, headers, body, trailers, timeoutMS)
}

// GetSharedData forwards to Host.GetSharedData.
func GetSharedData(key string) (value []byte, cas uint32, st abi.Status) {
	return h().GetSharedData(key)
}

// SetSharedData forwards to Host.SetSharedData.
func SetSharedData(key string, value []byte, cas uint32) abi.Status {
	return h().SetSharedData(key, value, cas)
}

// RegisterSharedQueue forwards to Host.RegisterSharedQueue.
func RegisterSharedQueue(name string) (uint32, abi.Status) { return h().RegisterSharedQueue(name) }

// ResolveSharedQueue forwards to Host.ResolveSharedQueue.
func ResolveSharedQueue(vmID, name string) (uint32, abi.Status) {
	return h().ResolveSharedQueue(vmID, name)
}

// EnqueueSharedQueue forwards to Host.EnqueueSharedQueue.
func EnqueueSharedQueue(id uint32, value []byte) abi.Status { return h().EnqueueSharedQueue(id, value) }

// DequeueSharedQueue forwards to Host.DequeueSharedQueue.
func DequeueSharedQueue(id uint32) ([]byte, abi.Status) { return h().DequeueSharedQueue(id) }

// DefineMetric forwards to Host.DefineMetric.
func DefineMetric(t abi.MetricType, name string) (uint32, abi.Status) {
	return h().DefineMetric(t, name)
}

// IncrementMetric forwards to Host.IncrementMetric.
func IncrementMetric(id uint32, delta int64) abi.Status { return h().IncrementMetric(id, delta) }

// RecordMetric forwards to Host.RecordMetric.
func RecordMetric(id uint32, value int64) abi.Status { return h().RecordMetric(id, value) }

// GetMetric forwards to Host.GetMetric.
func GetMetric(id uint32) (uint64, abi.Status) { return h().GetMetric(id) }

// GetProperty forwards to Host.GetProperty.
func GetProperty(path string) ([]byte, abi.Status) { return h().GetProperty(path) }

// SetProperty forwards to Host.SetProperty.
func SetProperty(path string, value []byte) abi.Status { return h().SetProperty(path, value) }

// SetEffectiveContext forwards to Host.SetEffectiveContext.
func SetEffectiveContext(id uint32) abi.Status { return h().SetEffectiveContext(id) }

// Done forwards to Host.Done.
func Done() abi.Status { return h().Done() }

// CallForeignFunction forwards to Host.CallForeignFunction.
func CallForeignFunction(name string, args []byte) ([]byte, abi.Status) {
	return h().CallForeignFunction(name, args)
}
