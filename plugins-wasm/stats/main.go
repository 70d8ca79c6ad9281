// Command stats is the sluice plugin for Pingap's "stats" category: it
// counts the requests that pass through it and answers path with a JSON
// document about them and the plugin's VM.
//
// Parameters:
//
//	path  the exact request path (query ignored) to answer; required.
//
// The document:
//
//	processing  requests in progress through this plugin, across all VMs
//	accepted    requests seen since the plugin was first loaded, across all VMs
//	hostname    the host's node id (property xds.node.id, or xds.node if
//	            that is a plain string), "" if unknown
//	version     the host's version (property xds.node.user_agent_version)
//	start_time  Unix seconds when the plugin was first loaded
//	uptime      time since then, e.g. "1h2m3s"
//	memory, memory_mb  memory of the answering VM's Go runtime
//	go_version, arch   how the plugin was built
//	compression  the host codec's figures since the process started, when
//	             the host has one (sluice.codec.stats): per encoding
//	             (gzip, br, zstd, deflate) the bodies compressed and
//	             decompressed, with bytes in and out and the ratio in/out
//
// The counters live in shared data under keys named after the plugin (its
// [plugins.NAME]), so every VM sees the same numbers; each request costs
// two compare-and-swap updates.
package main

import (
	"encoding/binary"
	"runtime"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/sluice-proxy/sluice/sdk"
)

func main() {}

func init() { sdk.Register(newStats) }

type stats struct {
	path     string
	countKey string
	startKey string
	counted  map[uint32]struct{}
	buf      [16]byte
}

func newStats(cfg []byte) (sdk.Plugin, error) {
	c, err := sdk.ParseConfig(cfg)
	if err != nil {
		return nil, err
	}
	s := &stats{path: c.String("path", ""), counted: map[uint32]struct{}{}}
	switch {
	case s.path == "":
		c.Invalid("path", "required")
	case s.path[0] != '/':
		c.Invalid("path", "must start with /")
	}
	if err := c.Err(); err != nil {
		return nil, err
	}
	name, err := sdk.PropertyString("plugin_name")
	if err != nil || name == "" {
		name = "stats"
	}
	s.countKey = "sluice.stats." + name + ".counts"
	s.startKey = "sluice.stats." + name + ".start"
	// The first VM to load the plugin records the start; later VMs (and
	// replacements of crashed ones) keep it.
	now := sdk.Now().Unix()
	if _, err := sdk.UpdateSharedData(s.startKey, func(old []byte, ok bool) []byte {
		if ok && len(old) == 8 {
			return old
		}
		return binary.LittleEndian.AppendUint64(nil, uint64(now))
	}); err != nil {
		return nil, err
	}
	return s, nil
}

// add changes the shared counters and returns their new values.
func (s *stats) add(accepted, processing int64) (uint64, int64, error) {
	v, err := sdk.UpdateSharedData(s.countKey, func(old []byte, ok bool) []byte {
		var a uint64
		var p int64
		if ok && len(old) == 16 {
			a, p = binary.LittleEndian.Uint64(old), int64(binary.LittleEndian.Uint64(old[8:]))
		}
		a += uint64(accepted)
		p = max(p+processing, 0)
		binary.LittleEndian.PutUint64(s.buf[:8], a)
		binary.LittleEndian.PutUint64(s.buf[8:], uint64(p))
		return s.buf[:]
	})
	if err != nil {
		return 0, 0, err
	}
	return binary.LittleEndian.Uint64(v), int64(binary.LittleEndian.Uint64(v[8:])), nil
}

// OnRequestHeaders counts the request and answers the stats path.
func (s *stats) OnRequestHeaders(r sdk.Request) sdk.Action {
	accepted, processing, err := s.add(1, 1)
	if err != nil {
		sdk.Error("stats: counting the request: " + err.Error())
	} else {
		s.counted[r.ID()] = struct{}{}
	}
	p := r.Path()
	if i := strings.IndexByte(p, '?'); i >= 0 {
		p = p[:i]
	}
	if p != s.path {
		return sdk.Continue
	}
	body := s.document(accepted, processing)
	if err := r.Respond(200, [][2]string{{"content-type", "application/json"}, {"cache-control", "no-store"}}, body); err != nil {
		sdk.Error("stats: " + err.Error())
	}
	return sdk.Pause
}

// OnDone counts the end of a counted request.
func (s *stats) OnDone(r sdk.Request) {
	if _, ok := s.counted[r.ID()]; !ok {
		return
	}
	delete(s.counted, r.ID())
	if _, _, err := s.add(0, -1); err != nil {
		sdk.Error("stats: counting the end of a request: " + err.Error())
	}
}

func (s *stats) document(accepted uint64, processing int64) []byte {
	now := sdk.Now()
	start := now.Unix()
	if b, _, err := sdk.GetSharedData(s.startKey); err == nil && len(b) == 8 {
		start = int64(binary.LittleEndian.Uint64(b))
	}
	hostname := nodeID()
	version, _ := sdk.PropertyString("xds.node.user_agent_version")
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)

	b := make([]byte, 0, 512)
	b = append(b, `{"processing":`...)
	b = strconv.AppendInt(b, processing, 10)
	b = append(b, `,"accepted":`...)
	b = strconv.AppendUint(b, accepted, 10)
	b = appendField(b, "hostname", hostname)
	b = appendField(b, "version", version)
	b = appendField(b, "go_version", runtime.Version())
	b = appendField(b, "arch", runtime.GOOS+"/"+runtime.GOARCH)
	b = append(b, `,"start_time":`...)
	b = strconv.AppendInt(b, start, 10)
	uptime := max(now.Sub(time.Unix(start, 0)), 0).Truncate(time.Second)
	b = appendField(b, "uptime", uptime.String())
	b = appendField(b, "memory", humanBytes(ms.Sys))
	b = append(b, `,"memory_mb":`...)
	b = strconv.AppendUint(b, ms.Sys>>20, 10)
	if figs, err := sdk.CodecStats(); err == nil {
		b = appendCodec(b, figs)
	}
	b = append(b, '}')
	return b
}

// appendCodec appends the "compression" member: the host codec's figures
// (the compression plugin's work, which lives in the host: modules do not
// share data with each other).
func appendCodec(b []byte, figs []sdk.CodecFigures) []byte {
	b = append(b, `,"compression":{`...)
	for i, f := range figs {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, f.Encoding)
		b = append(b, `:{"compressed":`...)
		b = appendCounters(b, f.Compressed)
		b = append(b, `,"decompressed":`...)
		b = appendCounters(b, f.Decompressed)
		b = append(b, '}')
	}
	return append(b, '}')
}

func appendCounters(b []byte, c sdk.CodecCounters) []byte {
	b = append(b, `{"bodies":`...)
	b = strconv.AppendUint(b, c.Bodies, 10)
	b = append(b, `,"in":`...)
	b = strconv.AppendUint(b, c.In, 10)
	b = append(b, `,"out":`...)
	b = strconv.AppendUint(b, c.Out, 10)
	b = append(b, `,"ratio":`...)
	ratio := 0.0
	if c.Out > 0 {
		ratio = float64(c.In) / float64(c.Out)
	}
	b = strconv.AppendFloat(b, ratio, 'f', 2, 64)
	return append(b, '}')
}

// nodeID returns the host's node id: Envoy's xds.node.id, or xds.node when
// a host answers it with a plain string.
func nodeID() string {
	if id, err := sdk.PropertyString("xds.node.id"); err == nil {
		return id
	}
	node, err := sdk.PropertyString("xds.node")
	if err != nil || !utf8.ValidString(node) {
		return ""
	}
	for i := 0; i < len(node); i++ {
		if node[i] < 0x20 {
			return "" // a serialized message, not a name
		}
	}
	return node
}

func appendField(b []byte, key, value string) []byte {
	b = append(b, ',')
	b = appendString(b, key)
	b = append(b, ':')
	return appendString(b, value)
}

// appendString appends s as a JSON string.
func appendString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c < 0x20:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, `\ufffd`...)
		} else {
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return append(b, '"')
}

// humanBytes formats n like "3.2 MiB".
func humanBytes(n uint64) string {
	const unit = 1024
	if n < unit {
		return strconv.FormatUint(n, 10) + " B"
	}
	div, exp := uint64(unit), 0
	for m := n / unit; m >= unit && exp < 4; m /= unit {
		div *= unit
		exp++
	}
	return strconv.FormatFloat(float64(n)/float64(div), 'f', 1, 64) + " " + "KMGTP"[exp:exp+1] + "iB"
}
