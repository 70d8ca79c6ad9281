package wasm

import (
	"bytes"
	"context"
	"strconv"
	"strings"

	"github.com/tetratelabs/wazero/api"

	"github.com/sluice-proxy/sluice/abi"
)

// legacyAttributes are the top-level names the Go SDK still uses for what
// Envoy now calls xds.*; both spellings are answered.
var legacyAttributes = map[string]string{
	"node": "xds.node", "cluster_name": "xds.cluster_name", "cluster_metadata": "xds.cluster_metadata",
	"route_name": "xds.route_name", "route_metadata": "xds.route_metadata",
	"listener_direction": "xds.listener_direction", "listener_metadata": "xds.listener_metadata",
	"upstream_host_metadata": "xds.upstream_host_metadata", "connection_id": "connection.id",
}

// streamAttributes are the two-segment attributes asked of the Stream,
// keyed by their NUL-joined path so that a lookup with the guest's bytes
// does not allocate.
var streamAttributes = func() map[string]string {
	names := []string{
		"request.time", "request.protocol", "request.duration", "request.size", "request.total_size",
		"request.headers_bytes",
		"response.code_details", "response.flags", "response.grpc_status", "response.size",
		"response.total_size", "response.headers_bytes", "response.backend_latency",
		"source.address", "source.port", "destination.address", "destination.port",
		"connection.id", "connection.mtls", "connection.requested_server_name", "connection.tls_version",
		"connection.subject_local_certificate", "connection.subject_peer_certificate",
		"connection.dns_san_local_certificate", "connection.dns_san_peer_certificate",
		"connection.uri_san_local_certificate", "connection.uri_san_peer_certificate",
		"connection.sha256_peer_certificate_digest", "connection.transport_failure_reason",
		"connection.termination_details",
		"upstream.address", "upstream.port", "upstream.local_address", "upstream.tls_version",
		"upstream.transport_failure_reason", "upstream.request_attempt_count",
		"xds.node", "xds.cluster_name", "xds.cluster_metadata", "xds.listener_direction",
		"xds.listener_metadata", "xds.route_name", "xds.route_metadata", "xds.virtual_host_name",
		"xds.virtual_host_metadata", "xds.upstream_host_metadata", "xds.filter_chain_name",
		// sluice's own, read on hot paths (limit, ip_restriction).
		"sluice.client_ip", "sluice.server", "sluice.request_id",
	}
	m := make(map[string]string, len(names)+len(legacyAttributes))
	for _, n := range names {
		m[strings.Replace(n, ".", "\x00", 1)] = n
	}
	for old, n := range legacyAttributes {
		m[old] = n
	}
	return m
}()

// hostGetProperty implements proxy_get_property(path_ptr, path_len,
// return_ptr, return_len): the value of an attribute by NUL-separated path
// (abi.JoinPath), encoded as proxy-wasm does (strings raw, integers 8 bytes
// little-endian, maps serialized). See Stream.Attribute for the names.
// Values set with proxy_set_property are found under their path.
//
// Statuses: OK; NOT_FOUND for an unknown or unavailable attribute (every
// stream attribute on a root context); INVALID_MEMORY_ACCESS.
func hostGetProperty(ctx context.Context, _ api.Module, stack []uint64) {
	v := vmFrom(ctx)
	path, ok := v.read(u32(stack, 0), u32(stack, 1))
	if !ok {
		ret(stack, abi.StatusInvalidMemoryAccess)
		return
	}
	val, found := v.property(path, v.buf[:0])
	if !found {
		ret(stack, abi.StatusNotFound)
		return
	}
	v.buf = val
	ret(stack, v.returnBytes(val, u32(stack, 2), u32(stack, 3)))
}

// property appends the encoded value of the attribute at path to dst.
// path is a view of guest memory: it is only read before the caller
// allocates.
func (v *vm) property(path []byte, dst []byte) ([]byte, bool) {
	h := v.current()
	if h == nil {
		return dst, false
	}
	switch string(path) {
	case "plugin_name", "plugin_root_id":
		return append(dst, h.cfg.name...), true
	case "plugin_vm_id":
		return append(dst, v.pool.vmID...), true
	case "xds\x00node\x00id", "node\x00id":
		// Envoy's node id names the proxy instance: plugins (stats,
		// $hostname) read it to say where they run.
		return append(dst, v.pool.rt.opts.NodeID...), true
	case "xds\x00node\x00user_agent_version", "node\x00user_agent_version":
		return append(dst, v.pool.rt.opts.Version...), true
	}
	st := h.st
	if st == nil {
		return dst, false
	}
	if name, ok := streamAttributes[string(path)]; ok {
		val, ok := st.s.Attribute(name)
		if !ok {
			return dst, false
		}
		return val.AppendEncoded(dst), true
	}
	// first\0second[\0key[\0deeper]]
	first, rest, _ := bytes.Cut(path, []byte{0})
	second, rest, _ := bytes.Cut(rest, []byte{0})
	key, _, deeper := bytes.Cut(rest, []byte{0})
	switch string(first) {
	case "request":
		if val, ok, known := requestAttribute(st.s, second, key, deeper, dst); known {
			return val, ok
		}
	case "response":
		if val, ok, known := responseAttribute(st.s, second, key, deeper, dst); known {
			return val, ok
		}
	}
	if val, ok := st.props[string(path)]; ok {
		return append(dst, val...), true
	}
	if bytes.IndexByte(path, 0) >= 0 {
		// Any other attribute of the Stream, by its dotted name.
		if val, ok := st.s.Attribute(strings.ReplaceAll(string(path), "\x00", ".")); ok {
			return val.AppendEncoded(dst), true
		}
	}
	return dst, false
}

// requestAttribute answers the request.* attributes derived from the
// request headers. known is false for the ones it does not own.
func requestAttribute(s Stream, name, key []byte, indexed bool, dst []byte) (val []byte, ok, known bool) {
	hm := s.Headers(abi.MapHTTPRequestHeaders)
	header := func(k string) ([]byte, bool, bool) {
		v, ok := hm.Get(k)
		return append(dst, v...), ok, true
	}
	switch string(name) {
	case "path":
		return header(":path")
	case "host":
		return header(":authority")
	case "scheme":
		return header(":scheme")
	case "method":
		return header(":method")
	case "referer":
		return header("referer")
	case "useragent":
		return header("user-agent")
	case "id":
		return header("x-request-id")
	case "url_path", "query":
		p, ok := hm.Get(":path")
		if !ok {
			return dst, false, true
		}
		before, after, found := strings.Cut(p, "?")
		if string(name) == "url_path" {
			return append(dst, before...), true, true
		}
		return append(dst, after...), found, true
	case "headers":
		return mapAttribute(hm, key, indexed, dst)
	}
	return dst, false, false
}

// responseAttribute answers response.code, response.headers and
// response.trailers.
func responseAttribute(s Stream, name, key []byte, indexed bool, dst []byte) (val []byte, ok, known bool) {
	switch string(name) {
	case "code":
		st, ok := s.Headers(abi.MapHTTPResponseHeaders).Get(":status")
		if !ok {
			return dst, false, true
		}
		n, err := strconv.Atoi(st)
		if err != nil {
			return dst, false, true
		}
		return IntValue(int64(n)).AppendEncoded(dst), true, true
	case "headers":
		return mapAttribute(s.Headers(abi.MapHTTPResponseHeaders), key, indexed, dst)
	case "trailers":
		return mapAttribute(s.Headers(abi.MapHTTPResponseTrailers), key, indexed, dst)
	}
	return dst, false, false
}

// mapAttribute encodes a header map as a property: the serialized map with
// repeated keys joined by ",", or with a key segment the joined values of
// that key.
func mapAttribute(hm HeaderMap, key []byte, indexed bool, dst []byte) ([]byte, bool, bool) {
	pairs := hm.AppendPairs(nil)
	if len(key) > 0 {
		if indexed {
			return dst, false, true // values have no fields
		}
		k := lowerBytes(key)
		found := false
		for _, p := range pairs {
			if p[0] == k {
				if found {
					dst = append(dst, ',')
				}
				dst = append(dst, p[1]...)
				found = true
			}
		}
		return dst, found, true
	}
	joined := make([][2]string, 0, len(pairs))
	idx := map[string]int{}
	for _, p := range pairs {
		if i, ok := idx[p[0]]; ok {
			joined[i][1] += "," + p[1]
			continue
		}
		idx[p[0]] = len(joined)
		joined = append(joined, p)
	}
	return abi.AppendMap(dst, joined), true, true
}

// hostSetProperty implements proxy_set_property(path_ptr, path_len,
// value_ptr, value_len): stores the value under the path for the rest of
// the stream (Envoy's filter state); proxy_get_property then finds it.
//
// A Stream that implements AttributeSetter sees every dotted path set, so
// that plugins can talk to the host through properties (the proxy's
// "sluice.*" attributes); a value it refuses is BAD_ARGUMENT.
//
// Statuses: OK; NOT_FOUND on a root context (no stream); BAD_ARGUMENT;
// INVALID_MEMORY_ACCESS.
func hostSetProperty(ctx context.Context, _ api.Module, stack []uint64) {
	v := vmFrom(ctx)
	path, ok1 := v.read(u32(stack, 0), u32(stack, 1))
	val, ok2 := v.read(u32(stack, 2), u32(stack, 3))
	if !ok1 || !ok2 {
		ret(stack, abi.StatusInvalidMemoryAccess)
		return
	}
	h := v.current()
	if h == nil || h.st == nil {
		ret(stack, abi.StatusNotFound)
		return
	}
	if as, ok := h.st.s.(AttributeSetter); ok && bytes.IndexByte(path, 0) >= 0 {
		if !as.SetAttribute(strings.ReplaceAll(string(path), "\x00", "."), string(val)) {
			ret(stack, abi.StatusBadArgument)
			return
		}
	}
	if h.st.props == nil {
		h.st.props = map[string]string{}
	}
	h.st.props[string(path)] = string(val)
	ret(stack, abi.StatusOK)
}
