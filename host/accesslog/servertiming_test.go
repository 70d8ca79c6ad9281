package accesslog

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/sluice-proxy/sluice/host/internal/reqinfo"
)

func TestAppendServerTiming(t *testing.T) {
	tests := []struct {
		name  string
		rec   func() *reqinfo.Record
		total time.Duration
		want  string
	}{
		{"nothing known", func() *reqinfo.Record { return &reqinfo.Record{} }, 1500 * time.Microsecond, "total;dur=1.5"},
		{"everything", testRecord, 42 * time.Millisecond,
			"upstream.connect;dur=6, upstream.processing;dur=20, upstream;dur=26, cache.lookup;dur=3, cache;dur=3, plugin.auth;dur=0.3, plugin;dur=1, total;dur=42"},
		{"reused connection, odd plugin name", func() *reqinfo.Record {
			r := testRecord()
			r.UpstreamReused = true
			r.Values = map[string]string{"cache_lock_time": "0.25", "cache_lookup_time": "x"}
			r.Plugins = []reqinfo.PluginTiming{{Name: "a b;c", Dur: 1001 * time.Microsecond}, {Name: "idle"}}
			r.PluginsTime = 0
			return r
		}, time.Second, "upstream.processing;dur=20, upstream;dur=20, cache.lock;dur=0.25, cache;dur=0.25, plugin.a_b_c;dur=1.001, plugin;dur=1.001, total;dur=1000"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := string(AppendServerTiming(nil, tt.rec(), tt.total)); got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}

// FuzzTemplate compiles arbitrary formats: compiling never panics, and a
// template that compiles writes exactly one line of text and one valid
// JSON object, whatever the request holds.
func FuzzTemplate(f *testing.F) {
	for _, s := range []string{"combined", "tiny", "{method} {uri}", "{~a}{>b}{<c}{$D}{:e}", "{{status}}", "{", "}{", "{:upstream_connect_time_human}", "{when} {when_utc_iso}", "a{b c}d"} {
		f.Add(s, "ua\n\"x\"\xff")
	}
	f.Fuzz(func(t *testing.T, format, header string) {
		tmpl, err := Compile(format, testOpts)
		if err != nil {
			return
		}
		rec := testRecord()
		rec.Req.Header["User-Agent"] = []string{header}
		rec.Req.Header["Cookie"] = []string{header}
		rec.Values["e"] = header
		text := tmpl.AppendText(nil, rec)
		if strings.ContainsAny(string(text), "\n\r") {
			t.Errorf("format %q gave a line with a line break: %q", format, text)
		}
		js := tmpl.AppendJSON(nil, rec)
		if !json.Valid(js) {
			t.Errorf("format %q gave invalid JSON: %s", format, js)
		}
	})
}
