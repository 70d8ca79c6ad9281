package hostcall

import "github.com/sluice-proxy/sluice/abi"

// Host is the host side of the seam on native builds: one method per
// proxy-wasm host function, with the same Go signature as the package-level
// wrapper of that function. Maps cross serialized (abi.EncodeMap), property
// paths NUL-joined (abi.JoinPath). sdktest implements it.
type Host interface {
	Log(level abi.LogLevel, msg string) abi.Status
	GetLogLevel() (abi.LogLevel, abi.Status)
	GetCurrentTimeNanoseconds() (uint64, abi.Status)
	SetTickPeriodMilliseconds(ms uint32) abi.Status
	GetBufferBytes(b abi.BufferType, start, maxSize uint32) ([]byte, abi.Status)
	SetBufferBytes(b abi.BufferType, start, size uint32, data []byte) abi.Status
	GetBufferStatus(b abi.BufferType) (length, flags uint32, st abi.Status)
	GetHeaderMapPairs(m abi.MapType) ([]byte, abi.Status)
	SetHeaderMapPairs(m abi.MapType, serialized []byte) abi.Status
	GetHeaderMapValue(m abi.MapType, key string) ([]byte, abi.Status)
	AddHeaderMapValue(m abi.MapType, key, value string) abi.Status
	ReplaceHeaderMapValue(m abi.MapType, key, value string) abi.Status
	RemoveHeaderMapValue(m abi.MapType, key string) abi.Status
	GetHeaderMapSize(m abi.MapType) (uint32, abi.Status)
	ContinueStream(s abi.StreamType) abi.Status
	CloseStream(s abi.StreamType) abi.Status
	SendLocalResponse(status uint32, details string, body, headers []byte, grpcStatus int32) abi.Status
	GetStatus() (code uint32, msg []byte, st abi.Status)
	HTTPCall(upstream string, headers, body, trailers []byte, timeoutMS uint32) (uint32, abi.Status)
	GetSharedData(key string) (value []byte, cas uint32, st abi.Status)
	SetSharedData(key string, value []byte, cas uint32) abi.Status
	RegisterSharedQueue(name string) (uint32, abi.Status)
	ResolveSharedQueue(vmID, name string) (uint32, abi.Status)
	EnqueueSharedQueue(id uint32, value []byte) abi.Status
	DequeueSharedQueue(id uint32) ([]byte, abi.Status)
	DefineMetric(t abi.MetricType, name string) (uint32, abi.Status)
	IncrementMetric(id uint32, delta int64) abi.Status
	RecordMetric(id uint32, value int64) abi.Status
	GetMetric(id uint32) (uint64, abi.Status)
	GetProperty(path string) ([]byte, abi.Status)
	SetProperty(path string, value []byte) abi.Status
	SetEffectiveContext(id uint32) abi.Status
	Done() abi.Status
	CallForeignFunction(name string, args []byte) ([]byte, abi.Status)
}

var host Host

// SetHost installs the host that the package-level functions forward to on
// native builds, and returns the previous one; nil uninstalls it. In a Wasm
// build the functions always call the real host and SetHost only exists so
// that code using sdktest still compiles (e.g. for `GOOS=wasip1 go vet`).
func SetHost(h Host) Host {
	prev := host
	host = h
	return prev
}
