package wasmtest

import (
	"strings"

	"github.com/sluice-proxy/sluice/abi"
	"github.com/sluice-proxy/sluice/host/wasm"
)

// Stream is an in-memory wasm.Stream. Its maps keep pairs in order, with
// pseudo-headers first. It is not safe for concurrent use (neither is a
// stream).
type Stream struct {
	maps [4]Map
	// Attrs answers Attribute, by dotted name.
	Attrs map[string]wasm.Value
}

var _ wasm.Stream = (*Stream)(nil)

// NewStream returns a stream for a request with the given method, path
// (with its query) and authority, scheme "http", and headers (keys are
// lower-cased). Its attributes say the client is 192.0.2.1:4711 and the
// proxy 192.0.2.2:80, over HTTP/1.1.
func NewStream(method, path, authority string, headers ...[2]string) *Stream {
	s := &Stream{Attrs: map[string]wasm.Value{
		"source.address":      wasm.StringValue("192.0.2.1:4711"),
		"source.port":         wasm.IntValue(4711),
		"destination.address": wasm.StringValue("192.0.2.2:80"),
		"destination.port":    wasm.IntValue(80),
		"request.protocol":    wasm.StringValue("HTTP/1.1"),
	}}
	rh := &s.maps[abi.MapHTTPRequestHeaders]
	rh.Set(":method", method)
	rh.Set(":path", path)
	rh.Set(":authority", authority)
	rh.Set(":scheme", "http")
	for _, h := range headers {
		rh.Add(strings.ToLower(h[0]), h[1])
	}
	return s
}

// Headers implements wasm.Stream.
func (s *Stream) Headers(m abi.MapType) wasm.HeaderMap {
	if m > abi.MapHTTPResponseTrailers {
		panic("wasmtest: Headers of map type " + m.String())
	}
	return &s.maps[m]
}

// Map returns one of the stream's maps, for assertions.
func (s *Stream) Map(m abi.MapType) *Map { return &s.maps[m] }

// Attribute implements wasm.Stream.
func (s *Stream) Attribute(name string) (wasm.Value, bool) {
	v, ok := s.Attrs[name]
	return v, ok
}

// Map is an ordered multi-map of header pairs implementing wasm.HeaderMap.
type Map struct {
	Pairs [][2]string
}

var _ wasm.HeaderMap = (*Map)(nil)

func isPseudo(k string) bool { return strings.HasPrefix(k, ":") }

// Len implements wasm.HeaderMap.
func (m *Map) Len() int { return len(m.Pairs) }

// Get implements wasm.HeaderMap.
func (m *Map) Get(key string) (string, bool) {
	for _, p := range m.Pairs {
		if p[0] == key {
			return p[1], true
		}
	}
	return "", false
}

// Values returns every value of key, for assertions.
func (m *Map) Values(key string) []string {
	var out []string
	for _, p := range m.Pairs {
		if p[0] == key {
			out = append(out, p[1])
		}
	}
	return out
}

// AppendPairs implements wasm.HeaderMap.
func (m *Map) AppendPairs(dst [][2]string) [][2]string { return append(dst, m.Pairs...) }

// Add implements wasm.HeaderMap.
func (m *Map) Add(key, value string) {
	if isPseudo(key) {
		m.Set(key, value)
		return
	}
	m.Pairs = append(m.Pairs, [2]string{key, value})
}

// Set implements wasm.HeaderMap.
func (m *Map) Set(key, value string) {
	for i := range m.Pairs {
		if m.Pairs[i][0] == key {
			m.Pairs[i][1] = value
			return
		}
	}
	if isPseudo(key) {
		// Pseudo-headers stay in front.
		i := 0
		for i < len(m.Pairs) && isPseudo(m.Pairs[i][0]) {
			i++
		}
		m.Pairs = append(m.Pairs, [2]string{})
		copy(m.Pairs[i+1:], m.Pairs[i:])
		m.Pairs[i] = [2]string{key, value}
		return
	}
	m.Pairs = append(m.Pairs, [2]string{key, value})
}

// Remove implements wasm.HeaderMap.
func (m *Map) Remove(key string) {
	if isPseudo(key) {
		return
	}
	out := m.Pairs[:0]
	for _, p := range m.Pairs {
		if p[0] != key {
			out = append(out, p)
		}
	}
	clear(m.Pairs[len(out):])
	m.Pairs = out
}

// Replace implements wasm.HeaderMap.
func (m *Map) Replace(pairs [][2]string) {
	var pseudo [][2]string
	for _, p := range m.Pairs {
		if isPseudo(p[0]) {
			pseudo = append(pseudo, p)
		}
	}
	m.Pairs = pseudo
	for _, p := range pairs {
		m.Add(p[0], p[1])
	}
}
