package accesslog

import (
	"strconv"
	"time"

	"github.com/sluice-proxy/sluice/host/internal/h1wire"
	"github.com/sluice-proxy/sluice/host/internal/reqinfo"
)

// AppendServerTiming appends the value of a Server-Timing response header
// (enable_server_timing) for rec, as far as it is known when the response
// headers are about to be written; total is the time since the request
// arrived. The metrics are Pingap's, in its order, each only when it has a
// value: upstream.connect (TCP connect and TLS handshake of a new upstream
// connection), upstream.processing (request sent to response headers),
// upstream (their sum), cache.lookup, cache.lock and cache (from the
// cache_lookup_time and cache_lock_time values a cache plugin sets, in
// milliseconds), plugin.<name> for each plugin, plugin (all plugins) and
// total. Durations are milliseconds with up to three decimals (Pingap
// rounds to whole milliseconds, which says 0 for everything on a fast
// network).
func AppendServerTiming(dst []byte, rec *reqinfo.Record, total time.Duration) []byte {
	start := len(dst)
	var upstream time.Duration
	if newUpstreamConn(rec) {
		d := rec.UpstreamConnect + rec.UpstreamTLS
		upstream += d
		dst = appendTiming(dst, start, "upstream.connect", "", d)
	}
	if rec.UpstreamStatus != 0 {
		upstream += rec.UpstreamProcessing
		dst = appendTiming(dst, start, "upstream.processing", "", rec.UpstreamProcessing)
	}
	if upstream > 0 {
		dst = appendTiming(dst, start, "upstream", "", upstream)
	}

	var cache time.Duration
	if d, ok := valueMillis(rec, "cache_lookup_time"); ok {
		cache += d
		dst = appendTiming(dst, start, "cache.lookup", "", d)
	}
	if d, ok := valueMillis(rec, "cache_lock_time"); ok {
		cache += d
		dst = appendTiming(dst, start, "cache.lock", "", d)
	}
	if cache > 0 {
		dst = appendTiming(dst, start, "cache", "", cache)
	}

	for _, p := range rec.Plugins {
		if p.Dur > 0 {
			dst = appendTiming(dst, start, "plugin.", p.Name, p.Dur)
		}
	}
	if d := PluginTime(rec); d > 0 {
		dst = appendTiming(dst, start, "plugin", "", d)
	}
	return appendTiming(dst, start, "total", "", total)
}

// valueMillis reads a plugin-set time in milliseconds from rec.Values.
func valueMillis(rec *reqinfo.Record, key string) (time.Duration, bool) {
	s, ok := rec.Values[key]
	if !ok {
		return 0, false
	}
	ms, err := strconv.ParseFloat(s, 64)
	if err != nil || ms < 0 {
		return 0, false
	}
	return time.Duration(ms * float64(time.Millisecond)), true
}

// appendTiming appends "name;dur=ms", preceded by ", " unless it is the
// first metric after start. suffix is appended to name as a token
// (characters a token cannot hold become '_').
func appendTiming(dst []byte, start int, name, suffix string, d time.Duration) []byte {
	if len(dst) > start {
		dst = append(dst, ", "...)
	}
	dst = append(dst, name...)
	for i := 0; i < len(suffix); i++ {
		c := suffix[i]
		if !h1wire.TokenByte(c) {
			c = '_'
		}
		dst = append(dst, c)
	}
	dst = append(dst, ";dur="...)
	return appendMillisFrac(dst, d)
}

// appendMillisFrac writes d in milliseconds with up to three decimals,
// trailing zeros dropped: "12", "0.25", "1.005".
func appendMillisFrac(dst []byte, d time.Duration) []byte {
	if d < 0 {
		d = 0
	}
	us := d.Microseconds()
	dst = strconv.AppendInt(dst, us/1000, 10)
	frac := us % 1000
	if frac == 0 {
		return dst
	}
	digits := [3]byte{byte('0' + frac/100), byte('0' + frac/10%10), byte('0' + frac%10)}
	n := 3
	for digits[n-1] == '0' {
		n--
	}
	dst = append(dst, '.')
	return append(dst, digits[:n]...)
}
