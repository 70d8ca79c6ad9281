package proxy

import (
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"

	"github.com/sluice-proxy/sluice/host/route"
)

// varSource answers route templates ($host, $http_NAME, :ctx_key, ...) from
// the request being proxied.
type varSource struct{ rs *reqState }

var _ route.Source = varSource{}

var hostname, _ = os.Hostname()

func (v varSource) AppendBuiltin(dst []byte, b route.Builtin) []byte {
	rs := v.rs
	switch b {
	case route.Host:
		return append(dst, route.StripPort(rs.rec.Host)...)
	case route.Scheme:
		return append(dst, rs.rec.Scheme...)
	case route.Hostname:
		return append(dst, hostname...)
	case route.RemoteAddr:
		return rs.client.AppendTo(dst)
	case route.RemotePort:
		return strconv.AppendUint(dst, uint64(rs.peer.Port()), 10)
	case route.ServerAddr:
		if a, ok := rs.localAddr(); ok {
			return a.Addr().Unmap().AppendTo(dst)
		}
	case route.ServerPort:
		return append(dst, rs.serverPort()...)
	case route.UpstreamAddr:
		return append(dst, rs.rec.UpstreamAddr...)
	case route.ProxyAddXForwardedFor:
		return append(dst, rs.proxyAddXFF()...)
	}
	return dst
}

func (v varSource) AppendHeader(dst []byte, name string) []byte {
	for i, s := range v.rs.r.Header[name] {
		if i > 0 {
			dst = append(dst, ", "...)
		}
		dst = append(dst, s...)
	}
	return dst
}

func (v varSource) AppendCtx(dst []byte, key string) []byte {
	rec := &v.rs.rec
	switch key {
	case "location":
		return append(dst, rec.Location...)
	case "upstream_addr":
		return append(dst, rec.UpstreamAddr...)
	case "request_id":
		return append(dst, rec.RequestID...)
	case "connection_id":
		return strconv.AppendUint(dst, rec.ConnID, 10)
	case "connection_reused":
		return strconv.AppendBool(dst, rec.ConnReused)
	case "tls_version":
		return append(dst, rec.TLSVersion...)
	}
	if s, ok := rec.Values[key]; ok {
		return append(dst, s...)
	}
	return dst
}

// proxyAddXFF is the X-Forwarded-For to send upstream: what the client sent
// with the TCP peer appended.
func (rs *reqState) proxyAddXFF() string {
	ip := rs.peer.Addr().Unmap().String()
	prior := rs.r.Header["X-Forwarded-For"]
	if len(prior) == 0 {
		return ip
	}
	return strings.Join(prior, ", ") + ", " + ip
}

func (rs *reqState) localAddr() (ap netip.AddrPort, ok bool) {
	if rs.conn == nil || rs.conn.Local == nil {
		return ap, false
	}
	if t, ok := rs.conn.Local.(*net.TCPAddr); ok {
		return t.AddrPort(), true
	}
	return ap, false
}

func (rs *reqState) serverPort() string {
	if a, ok := rs.localAddr(); ok {
		return strconv.Itoa(int(a.Port()))
	}
	if rs.rec.Scheme == "https" {
		return "443"
	}
	return "80"
}
