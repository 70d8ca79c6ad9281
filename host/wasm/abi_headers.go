package wasm

import (
	"context"

	"github.com/tetratelabs/wazero/api"

	"github.com/sluice-proxy/sluice/abi"
	"github.com/sluice-proxy/sluice/host/internal/h1wire"
)

// mapState is how a host call may use a header map now.
type mapState uint8

const (
	mapUnavailable mapState = iota // BAD_ARGUMENT (or empty pairs)
	mapAbsent                      // in proxy_on_log: NOT_FOUND
	mapReadOnly
	mapWritable
)

// headerMap resolves map type m for the current context, following
// Envoy's windows: a stream's request (response) headers are usable
// during its request (response) headers callback and while it pauses
// there; trailers during their callback, and may be added during the last
// body callback; in proxy_on_log the request headers, response headers and
// trailers are readable; http-call response maps during
// proxy_on_http_call_response only.
func (v *vm) headerMap(m abi.MapType) (HeaderMap, mapState) {
	switch {
	case m <= abi.MapHTTPResponseTrailers:
		h := v.current()
		if h == nil || h.st == nil {
			return nil, mapUnavailable
		}
		st := h.st
		if st.open[m] {
			return st.s.Headers(m), mapWritable
		}
		if st.logPhase {
			if m == abi.MapHTTPRequestTrailers {
				return nil, mapAbsent
			}
			return st.s.Headers(m), mapReadOnly
		}
	case m == abi.MapHTTPCallResponseHeaders && v.callResp != nil:
		return pairsMap(v.callResp.headers), mapReadOnly
	case m == abi.MapHTTPCallResponseTrailers && v.callResp != nil:
		return pairsMap(v.callResp.trailers), mapReadOnly
	}
	return nil, mapUnavailable
}

// hostGetHeaderMapPairs implements proxy_get_header_map_pairs(map,
// return_ptr, return_len): the whole map, serialized (abi.AppendMap), in a
// fresh guest allocation; an empty or unavailable map is (0, 0).
//
// Statuses: OK (also for a map not available now, as Envoy);
// BAD_ARGUMENT for a map type above 7; INVALID_MEMORY_ACCESS.
func hostGetHeaderMapPairs(ctx context.Context, _ api.Module, stack []uint64) {
	v := vmFrom(ctx)
	m := abi.MapType(u32(stack, 0))
	if !m.Valid() {
		ret(stack, abi.StatusBadArgument)
		return
	}
	var data []byte
	if hm, state := v.headerMap(m); state >= mapReadOnly {
		pairs := hm.AppendPairs(v.scratch[:0])
		if len(pairs) > 0 {
			v.buf = abi.AppendMap(v.buf[:0], pairs)
			data = v.buf
		}
		clear(pairs)
		v.scratch = pairs[:0]
	}
	ret(stack, v.returnBytes(data, u32(stack, 1), u32(stack, 2)))
}

// hostSetHeaderMapPairs implements proxy_set_header_map_pairs(map, ptr,
// len): the map becomes exactly the serialized pairs (keys lower-cased). A
// malformed serialization counts as the empty map, as in Envoy.
//
// Statuses: OK; BAD_ARGUMENT for a map that cannot be changed now, a map
// type above 7, or a pair that is not a valid header;
// INVALID_MEMORY_ACCESS.
func hostSetHeaderMapPairs(ctx context.Context, _ api.Module, stack []uint64) {
	v := vmFrom(ctx)
	hm, state := v.headerMap(abi.MapType(u32(stack, 0)))
	if state != mapWritable {
		ret(stack, abi.StatusBadArgument)
		return
	}
	b, ok := v.read(u32(stack, 1), u32(stack, 2))
	if !ok {
		ret(stack, abi.StatusInvalidMemoryAccess)
		return
	}
	pairs, err := abi.DecodeMap(b)
	if err != nil {
		pairs = nil
	}
	for i := range pairs {
		pairs[i][0] = lowerString(pairs[i][0])
		if !validKey(pairs[i][0]) || !validValue(pairs[i][1]) {
			ret(stack, abi.StatusBadArgument)
			return
		}
	}
	hm.Replace(pairs)
	ret(stack, abi.StatusOK)
}

// hostGetHeaderMapValue implements proxy_get_header_map_value(map,
// key_ptr, key_len, return_ptr, return_len): the first value of the key
// (matched case-insensitively).
//
// Statuses: OK; NOT_FOUND for an absent key (and for request trailers in
// proxy_on_log); BAD_ARGUMENT for a map not available now or a map type
// above 7; INVALID_MEMORY_ACCESS.
func hostGetHeaderMapValue(ctx context.Context, _ api.Module, stack []uint64) {
	v := vmFrom(ctx)
	hm, state := v.headerMap(abi.MapType(u32(stack, 0)))
	switch state {
	case mapUnavailable:
		ret(stack, abi.StatusBadArgument)
		return
	case mapAbsent:
		ret(stack, abi.StatusNotFound)
		return
	}
	key, ok := v.read(u32(stack, 1), u32(stack, 2))
	if !ok {
		ret(stack, abi.StatusInvalidMemoryAccess)
		return
	}
	value, found := hm.Get(lowerBytes(key))
	if !found {
		ret(stack, abi.StatusNotFound)
		return
	}
	ret(stack, v.returnString(value, u32(stack, 3), u32(stack, 4)))
}

// hostAddHeaderMapValue implements proxy_add_header_map_value(map,
// key_ptr, key_len, value_ptr, value_len): appends a value.
//
// Statuses: OK; BAD_ARGUMENT for a map that cannot be changed now, a map
// type above 7, a key that is not a header name or a value with CR, LF or
// NUL; INVALID_MEMORY_ACCESS.
func hostAddHeaderMapValue(ctx context.Context, _ api.Module, stack []uint64) {
	setHeader(ctx, stack, false)
}

// hostReplaceHeaderMapValue implements proxy_replace_header_map_value:
// overwrites the first value of the key (later duplicates stay), or adds
// it. Statuses as hostAddHeaderMapValue.
func hostReplaceHeaderMapValue(ctx context.Context, _ api.Module, stack []uint64) {
	setHeader(ctx, stack, true)
}

func setHeader(ctx context.Context, stack []uint64, replace bool) {
	v := vmFrom(ctx)
	hm, state := v.headerMap(abi.MapType(u32(stack, 0)))
	if state != mapWritable {
		ret(stack, abi.StatusBadArgument)
		return
	}
	kb, ok1 := v.read(u32(stack, 1), u32(stack, 2))
	vb, ok2 := v.read(u32(stack, 3), u32(stack, 4))
	if !ok1 || !ok2 {
		ret(stack, abi.StatusInvalidMemoryAccess)
		return
	}
	key, value := lowerBytes(kb), string(vb)
	if !validKey(key) || !validValue(value) {
		ret(stack, abi.StatusBadArgument)
		return
	}
	if replace {
		hm.Set(key, value)
	} else {
		hm.Add(key, value)
	}
	ret(stack, abi.StatusOK)
}

// hostRemoveHeaderMapValue implements proxy_remove_header_map_value(map,
// key_ptr, key_len): removes every value of the key; absent is fine.
//
// Statuses: OK; BAD_ARGUMENT for a map that cannot be changed now or a map
// type above 7; INVALID_MEMORY_ACCESS.
func hostRemoveHeaderMapValue(ctx context.Context, _ api.Module, stack []uint64) {
	v := vmFrom(ctx)
	hm, state := v.headerMap(abi.MapType(u32(stack, 0)))
	if state != mapWritable {
		ret(stack, abi.StatusBadArgument)
		return
	}
	key, ok := v.read(u32(stack, 1), u32(stack, 2))
	if !ok {
		ret(stack, abi.StatusInvalidMemoryAccess)
		return
	}
	hm.Remove(lowerBytes(key))
	ret(stack, abi.StatusOK)
}

// hostGetHeaderMapSize implements proxy_get_header_map_size(map,
// return_size): writes the sum of the key and value lengths as a u32
// (Envoy's byte size, not the serialized size).
//
// Statuses: OK; BAD_ARGUMENT for a map not available now or a map type
// above 7; INVALID_MEMORY_ACCESS.
func hostGetHeaderMapSize(ctx context.Context, _ api.Module, stack []uint64) {
	v := vmFrom(ctx)
	hm, state := v.headerMap(abi.MapType(u32(stack, 0)))
	if state < mapReadOnly {
		ret(stack, abi.StatusBadArgument)
		return
	}
	pairs := hm.AppendPairs(v.scratch[:0])
	n := 0
	for _, p := range pairs {
		n += len(p[0]) + len(p[1])
	}
	clear(pairs)
	v.scratch = pairs[:0]
	if !v.putU32(u32(stack, 1), uint32(n)) {
		ret(stack, abi.StatusInvalidMemoryAccess)
		return
	}
	ret(stack, abi.StatusOK)
}

// pairsMap is a read-only HeaderMap over pairs (http-call responses).
type pairsMap [][2]string

func (p pairsMap) Len() int { return len(p) }

func (p pairsMap) Get(key string) (string, bool) {
	for _, kv := range p {
		if kv[0] == key {
			return kv[1], true
		}
	}
	return "", false
}

func (p pairsMap) AppendPairs(dst [][2]string) [][2]string { return append(dst, p...) }
func (pairsMap) Add(string, string)                        {}
func (pairsMap) Set(string, string)                        {}
func (pairsMap) Remove(string)                             {}
func (pairsMap) Replace([][2]string)                       {}

// lowerBytes returns b as a lower-case string (header keys are matched
// lower-case, as Envoy's LowerCaseString).
func lowerBytes(b []byte) string {
	for _, c := range b {
		if 'A' <= c && c <= 'Z' {
			out := make([]byte, len(b))
			for i, c := range b {
				if 'A' <= c && c <= 'Z' {
					c += 'a' - 'A'
				}
				out[i] = c
			}
			return string(out)
		}
	}
	return string(b)
}

func lowerString(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; 'A' <= c && c <= 'Z' {
			return lowerBytes([]byte(s))
		}
	}
	return s
}

// validKey reports whether k is a header name (an RFC 9110 token), or a
// pseudo-header (":" then a token). Keys reach net/http, which would
// reject or mangle anything else.
func validKey(k string) bool {
	if len(k) > 0 && k[0] == ':' {
		k = k[1:]
	}
	if k == "" {
		return false
	}
	for i := 0; i < len(k); i++ {
		if !h1wire.TokenByte(k[i]) {
			return false
		}
	}
	return true
}

// validValue refuses the bytes that would split or truncate a header
// line.
func validValue(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c == '\r' || c == '\n' || c == 0 {
			return false
		}
	}
	return true
}
