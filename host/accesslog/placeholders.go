package accesslog

import (
	"strconv"
	"strings"
	"time"

	"github.com/sluice-proxy/sluice/host/internal/reqinfo"
)

type kind uint8

const (
	kLiteral kind = iota
	kConst        // {$ENV}, {$hostname}: resolved at compile time
	kHost
	kMethod
	kPath
	kProto
	kQuery
	kRemote
	kClientIP
	kScheme
	kURI
	kReferer
	kUserAgent
	kWhen
	kWhenUTC
	kWhenUnix
	kSize
	kSizeHuman
	kStatus
	kLatency
	kLatencyHuman
	kPayloadSize
	kPayloadSizeHuman
	kRequestID
	kCookie
	kReqHeader
	kRespHeader
	kCtx
	kValue // {:key} not known to the host: rec.Values[key]
)

// fixed are the placeholders without a prefix, by name.
var fixed = map[string]kind{
	"host":               kHost,
	"method":             kMethod,
	"path":               kPath,
	"proto":              kProto,
	"query":              kQuery,
	"remote":             kRemote,
	"client_ip":          kClientIP,
	"scheme":             kScheme,
	"uri":                kURI,
	"referer":            kReferer,
	"user_agent":         kUserAgent,
	"when":               kWhen,
	"when_utc_iso":       kWhenUTC,
	"when_unix":          kWhenUnix,
	"size":               kSize,
	"size_human":         kSizeHuman,
	"status":             kStatus,
	"latency":            kLatency,
	"latency_human":      kLatencyHuman,
	"payload_size":       kPayloadSize,
	"payload_size_human": kPayloadSizeHuman,
	"request_id":         kRequestID,
}

type ctxKey uint8

const (
	cConnectionID ctxKey = iota
	cUpstreamReused
	cUpstreamStatus
	cUpstreamAddr
	cUpstream
	cProcessing
	cUpstreamConnectTime
	cUpstreamTCPConnectTime
	cUpstreamTLSHandshakeTime
	cUpstreamProcessingTime
	cUpstreamResponseTime
	cConnectionTime
	cLocation
	cServer
	cConnectionReused
	cTLSVersion
	cTLSCipher
	cTLSHandshakeTime
	cServiceTime
	cPluginTime
	cRetries
	cError
	// cFromValues: a Pingap key the host has no source for; plugins set
	// it in rec.Values (cache and compression figures, in milliseconds
	// for times).
	cFromValues
)

// ctxKeys are the {:key} placeholders with a meaning of their own. timed
// keys also have a "_human" form.
var ctxKeys = map[string]struct {
	key   ctxKey
	timed bool
}{
	"connection_id":               {cConnectionID, false},
	"upstream_reused":             {cUpstreamReused, false},
	"upstream_status":             {cUpstreamStatus, false},
	"upstream_addr":               {cUpstreamAddr, false},
	"upstream":                    {cUpstream, false},
	"processing":                  {cProcessing, false},
	"upstream_connected":          {cFromValues, false},
	"upstream_connect_time":       {cUpstreamConnectTime, true},
	"upstream_tcp_connect_time":   {cUpstreamTCPConnectTime, true},
	"upstream_tls_handshake_time": {cUpstreamTLSHandshakeTime, true},
	"upstream_processing_time":    {cUpstreamProcessingTime, true},
	"upstream_response_time":      {cUpstreamResponseTime, true},
	"upstream_connection_time":    {cFromValues, true},
	"connection_time":             {cConnectionTime, true},
	"location":                    {cLocation, false},
	"server":                      {cServer, false},
	"connection_reused":           {cConnectionReused, false},
	"tls_version":                 {cTLSVersion, false},
	"tls_cipher":                  {cTLSCipher, false},
	"tls_handshake_time":          {cTLSHandshakeTime, true},
	"compression_time":            {cFromValues, true},
	"compression_ratio":           {cFromValues, false},
	"cache_lookup_time":           {cFromValues, true},
	"cache_lock_time":             {cFromValues, true},
	"service_time":                {cServiceTime, true},
	"plugin_time":                 {cPluginTime, true},
	"retries":                     {cRetries, false},
	"error":                       {cError, false},
}

type vtype uint8

const (
	vMissing vtype = iota
	vStr
	vPathQuery // s?s2
	vInt
	vBool
	vBytesHuman
	vMillis
	vMillisHuman
	vWhen
	vWhenUTC
)

// val is one placeholder's value, before it is written as text or JSON.
type val struct {
	typ   vtype
	s, s2 string
	n     int64
	d     time.Duration
	t     time.Time
}

func str(s string) val {
	if s == "" {
		return val{}
	}
	return val{typ: vStr, s: s}
}

func millis(d time.Duration, human bool) val {
	if human {
		return val{typ: vMillisHuman, d: d}
	}
	return val{typ: vMillis, d: d}
}

func boolVal(b bool) val {
	if b {
		return val{typ: vBool, n: 1}
	}
	return val{typ: vBool}
}

func (t *Template) appendValue(dst []byte, p *part, rec *reqinfo.Record, json bool) []byte {
	v := value(p, rec)
	switch v.typ {
	case vMissing:
		if json {
			return append(dst, "null"...)
		}
		return append(dst, '-')
	case vInt:
		return strconv.AppendInt(dst, v.n, 10)
	case vBool:
		if v.n != 0 {
			return append(dst, "true"...)
		}
		return append(dst, "false"...)
	case vMillis:
		return strconv.AppendInt(dst, v.d.Milliseconds(), 10)
	}
	if json {
		dst = append(dst, '"')
	}
	switch v.typ {
	case vStr:
		dst = appendField(dst, v.s, json)
	case vPathQuery:
		dst = appendField(dst, v.s, json)
		if v.s2 != "" {
			dst = append(dst, '?')
			dst = appendField(dst, v.s2, json)
		}
	case vBytesHuman:
		dst = appendHumanBytes(dst, v.n)
	case vMillisHuman:
		dst = appendHumanMillis(dst, v.d.Milliseconds())
	case vWhen:
		dst = v.t.In(t.loc).AppendFormat(dst, "2006-01-02T15:04:05.000-07:00")
	case vWhenUTC:
		dst = v.t.UTC().AppendFormat(dst, "2006-01-02T15:04:05.000Z")
	}
	if json {
		dst = append(dst, '"')
	}
	return dst
}

// value computes p's value for rec.
func value(p *part, rec *reqinfo.Record) val {
	switch p.kind {
	case kConst:
		if p.unset {
			return val{}
		}
		return str(p.text)
	case kHost:
		return str(rec.Host)
	case kMethod:
		return str(rec.Method)
	case kPath:
		if u := requestURI(rec); u != "" {
			path, _, _ := strings.Cut(u, "?")
			return str(path)
		}
		return str(rec.Path)
	case kProto:
		return str(rec.Proto)
	case kQuery:
		return str(rec.Query)
	case kRemote:
		return str(stripPort(rec.Remote))
	case kClientIP:
		return str(rec.ClientIP)
	case kScheme:
		return str(rec.Scheme)
	case kURI:
		if u := requestURI(rec); u != "" {
			return str(u)
		}
		if rec.Path == "" {
			return val{}
		}
		return val{typ: vPathQuery, s: rec.Path, s2: rec.Query}
	case kReferer:
		return str(reqHeader(rec, "Referer"))
	case kUserAgent:
		return str(reqHeader(rec, "User-Agent"))
	case kWhen, kWhenUTC, kWhenUnix:
		if rec.Start.IsZero() {
			return val{}
		}
		// Pingap stamps the line when it is written: the end of the
		// request.
		end := rec.Start.Add(rec.Latency)
		switch p.kind {
		case kWhen:
			return val{typ: vWhen, t: end}
		case kWhenUTC:
			return val{typ: vWhenUTC, t: end}
		}
		return val{typ: vInt, n: end.UnixMilli()}
	case kSize:
		return val{typ: vInt, n: rec.BytesSent}
	case kSizeHuman:
		return val{typ: vBytesHuman, n: rec.BytesSent}
	case kStatus:
		if rec.Status == 0 {
			return val{}
		}
		return val{typ: vInt, n: int64(rec.Status)}
	case kLatency:
		return millis(rec.Latency, false)
	case kLatencyHuman:
		return millis(rec.Latency, true)
	case kPayloadSize:
		return val{typ: vInt, n: rec.BytesReceived}
	case kPayloadSizeHuman:
		return val{typ: vBytesHuman, n: rec.BytesReceived}
	case kRequestID:
		return str(rec.RequestID)
	case kCookie:
		return str(cookie(rec, p.text))
	case kReqHeader:
		return str(reqHeader(rec, p.text))
	case kRespHeader:
		if vv := rec.RespHeader[p.text]; len(vv) > 0 {
			return str(vv[0])
		}
		return val{}
	case kValue:
		return str(rec.Values[p.text])
	case kCtx:
		return ctxValue(p, rec)
	}
	return val{}
}

func ctxValue(p *part, rec *reqinfo.Record) val {
	switch p.ctx {
	case cConnectionID:
		if rec.ConnID == 0 {
			return val{}
		}
		return val{typ: vInt, n: int64(rec.ConnID)}
	case cUpstreamReused:
		if rec.UpstreamAddr == "" {
			return val{}
		}
		return boolVal(rec.UpstreamReused)
	case cUpstreamStatus:
		if rec.UpstreamStatus == 0 {
			return val{}
		}
		return val{typ: vInt, n: int64(rec.UpstreamStatus)}
	case cUpstreamAddr:
		return str(rec.UpstreamAddr)
	case cUpstream:
		return str(rec.Upstream)
	case cProcessing:
		if rec.Processing == 0 {
			return val{}
		}
		return val{typ: vInt, n: rec.Processing}
	case cUpstreamConnectTime:
		if !newUpstreamConn(rec) {
			return val{}
		}
		return millis(rec.UpstreamConnect+rec.UpstreamTLS, p.human)
	case cUpstreamTCPConnectTime:
		if !newUpstreamConn(rec) {
			return val{}
		}
		return millis(rec.UpstreamConnect, p.human)
	case cUpstreamTLSHandshakeTime:
		if rec.UpstreamTLS <= 0 {
			return val{}
		}
		return millis(rec.UpstreamTLS, p.human)
	case cUpstreamProcessingTime:
		if rec.UpstreamStatus == 0 {
			return val{}
		}
		return millis(rec.UpstreamProcessing, p.human)
	case cUpstreamResponseTime:
		if rec.UpstreamStatus == 0 {
			return val{}
		}
		return millis(rec.UpstreamResponse, p.human)
	case cConnectionTime:
		if rec.ConnID == 0 {
			return val{}
		}
		return millis(rec.ConnTime, p.human)
	case cLocation:
		return str(rec.Location)
	case cServer:
		return str(rec.Server)
	case cConnectionReused:
		if rec.ConnID == 0 {
			return val{}
		}
		return boolVal(rec.ConnReused)
	case cTLSVersion:
		return str(rec.TLSVersion)
	case cTLSCipher:
		return str(rec.TLSCipher)
	case cTLSHandshakeTime:
		if rec.TLSVersion == "" {
			return val{}
		}
		return millis(rec.TLSHandshake, p.human)
	case cServiceTime:
		return millis(rec.Latency, p.human)
	case cPluginTime:
		d := PluginTime(rec)
		if d == 0 && len(rec.Plugins) == 0 {
			return val{}
		}
		return millis(d, p.human)
	case cRetries:
		return val{typ: vInt, n: int64(rec.Retries)}
	case cError:
		return str(rec.ErrCause)
	case cFromValues:
		s := rec.Values[p.text]
		if p.human {
			if ms, err := strconv.ParseInt(s, 10, 64); err == nil {
				return millis(time.Duration(ms)*time.Millisecond, true)
			}
		}
		return str(s)
	}
	return val{}
}

// PluginTime is the time a request spent in plugins: the proxy's total
// when it keeps one, else the sum of the per-plugin times.
func PluginTime(rec *reqinfo.Record) time.Duration {
	if rec.PluginsTime > 0 {
		return rec.PluginsTime
	}
	return rec.PluginTotal()
}

// newUpstreamConn reports whether the request opened a new upstream
// connection, whose connect time is then known.
func newUpstreamConn(rec *reqinfo.Record) bool {
	return rec.UpstreamAddr != "" && !rec.UpstreamReused && rec.UpstreamConnect > 0
}

// requestURI is the request target as the client sent it, when it is in
// origin form ("/path?query"); "" otherwise (the record may have been made
// without a request, or the client used the absolute form).
func requestURI(rec *reqinfo.Record) string {
	if rec.Req == nil {
		return ""
	}
	if u := rec.Req.RequestURI; len(u) > 0 && u[0] == '/' {
		return u
	}
	return ""
}

// reqHeader is the first value of the request header name (canonical).
// The header map is the one forwarded upstream: hop-by-hop headers are gone
// and proxy_set_headers applied.
func reqHeader(rec *reqinfo.Record, name string) string {
	if rec.Req == nil {
		return ""
	}
	if vv := rec.Req.Header[name]; len(vv) > 0 {
		return vv[0]
	}
	return ""
}

// cookie finds the value of the cookie name in the request's Cookie
// headers without parsing them into a map.
func cookie(rec *reqinfo.Record, name string) string {
	if rec.Req == nil {
		return ""
	}
	for _, line := range rec.Req.Header["Cookie"] {
		for line != "" {
			var pair string
			pair, line, _ = strings.Cut(line, ";")
			k, v, ok := strings.Cut(strings.TrimSpace(pair), "=")
			if ok && k == name {
				return strings.Trim(v, `"`)
			}
		}
	}
	return ""
}

// stripPort returns the host of "host:port" ("[v6]:port" gives "v6"), or
// the string itself when it has no port.
func stripPort(hp string) string {
	i := strings.LastIndexByte(hp, ':')
	if i < 0 || strings.IndexByte(hp, ']') > i {
		return hp
	}
	h := hp[:i]
	if len(h) > 1 && h[0] == '[' && h[len(h)-1] == ']' {
		return h[1 : len(h)-1]
	}
	if strings.IndexByte(h, ':') >= 0 {
		// A bare IPv6 address without a port.
		return hp
	}
	return h
}
