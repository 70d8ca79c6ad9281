package accesslog

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sluice-proxy/sluice/host/internal/reqinfo"
)

var testOpts = Options{
	Location: time.FixedZone("X", 8*3600),
	LookupEnv: func(k string) (string, bool) {
		if k == "REGION" {
			return "eu-1", true
		}
		return "", false
	},
	Hostname: "proxy-7",
}

// testRecord is a finished request with every field set.
func testRecord() *reqinfo.Record {
	req, _ := http.NewRequest("GET", "http://example.com/api/users?id=7&x=%20", nil)
	req.RequestURI = "/api/users?id=7&x=%20"
	req.Header.Set("Referer", "https://ref.example/")
	req.Header.Set("User-Agent", `curl/8 "quoted"`)
	req.Header.Set("Cookie", "a=1; uid=42; b=\"q\"")
	req.Header.Set("X-Tenant", "acme")
	return &reqinfo.Record{
		Start:              time.Date(2024, 1, 2, 3, 4, 5, 6e6, time.UTC),
		Latency:            1500 * time.Millisecond,
		Server:             "main",
		Location:           "api",
		Upstream:           "users",
		RequestID:          "req-1",
		Req:                req,
		Method:             "GET",
		Host:               "example.com",
		Path:               "/api/users",
		Query:              "id=7&x=%20",
		Proto:              "HTTP/1.1",
		Scheme:             "https",
		Remote:             "10.1.1.1:5555",
		ClientIP:           "1.1.1.1",
		Status:             201,
		RespHeader:         http.Header{"Content-Type": {"application/json"}},
		BytesSent:          1536,
		BytesReceived:      12,
		ConnID:             9,
		ConnReused:         true,
		ConnTime:           65 * time.Second,
		TLSVersion:         "TLSv1.3",
		TLSCipher:          "TLS_AES_128_GCM_SHA256",
		TLSHandshake:       3 * time.Millisecond,
		UpstreamAddr:       "127.0.0.1:8080",
		UpstreamStatus:     201,
		UpstreamConnect:    2 * time.Millisecond,
		UpstreamTLS:        4 * time.Millisecond,
		UpstreamProcessing: 20 * time.Millisecond,
		UpstreamResponse:   25 * time.Millisecond,
		Retries:            1,
		Plugins:            []reqinfo.PluginTiming{{Name: "auth", Dur: 300 * time.Microsecond}},
		PluginsTime:        time.Millisecond,
		Values:             map[string]string{"cache_lookup_time": "3", "compression_ratio": "2.5", "cache_status": "hit"},
		Processing:         4,
	}
}

func TestAppendText(t *testing.T) {
	rec := testRecord()
	tests := []struct {
		name, format, want string
	}{
		{"tiny", "tiny", `GET /api/users?id=7&x=%20 201 1.5KB - 1500ms`},
		{"short", "short", `10.1.1.1 GET /api/users?id=7&x=%20 HTTP/1.1 201 1.5KB - 1500ms`},
		{"common", "common", `10.1.1.1 "GET /api/users?id=7&x=%20 HTTP/1.1" 201 1.5KB"`},
		{"combined", "combined", `10.1.1.1 "GET /api/users?id=7&x=%20 HTTP/1.1" 201 1.5KB "https://ref.example/" "curl/8 \x22quoted\x22"`},
		{"fixed", "{host} {method} {path} {proto} {query} {remote} {client_ip} {scheme} {uri} {referer} {user_agent}",
			`example.com GET /api/users HTTP/1.1 id=7&x=%20 10.1.1.1 1.1.1.1 https /api/users?id=7&x=%20 https://ref.example/ curl/8 \x22quoted\x22`},
		{"times", "{when} {when_utc_iso} {when_unix}", `2024-01-02T11:04:06.506+08:00 2024-01-02T03:04:06.506Z 1704164646506`},
		{"sizes", "{size} {size_human} {status} {latency} {latency_human} {payload_size} {payload_size_human} {request_id}",
			`1536 1.5KB 201 1500 1.5s 12 12B req-1`},
		{"prefixed", "{~uid} {~b} {~none} {>X-Tenant} {>x-tenant} {>X-None} {<content-type} {<X-None} {$REGION} {$NOPE} {$hostname}",
			`42 q - acme acme - application/json - eu-1 - proxy-7`},
		{"context", "{:connection_id} {:upstream_reused} {:upstream_status} {:upstream_addr} {:upstream} {:processing} {:location} {:server} {:connection_reused} {:tls_version} {:tls_cipher} {:retries}",
			`9 false 201 127.0.0.1:8080 users 4 api main true TLSv1.3 TLS_AES_128_GCM_SHA256 1`},
		{"context times", "{:upstream_connect_time} {:upstream_tcp_connect_time} {:upstream_tls_handshake_time} {:upstream_processing_time} {:upstream_response_time} {:connection_time} {:tls_handshake_time} {:service_time} {:plugin_time}",
			`6 2 4 20 25 65000 3 1500 1`},
		{"context human", "{:upstream_connect_time_human} {:connection_time_human} {:service_time_human} {:cache_lookup_time_human}",
			`6ms 1m 1.5s 3ms`},
		{"context values", "{:cache_lookup_time} {:compression_ratio} {:cache_lock_time} {:upstream_connected} {:upstream_connection_time} {:cache_status} {:error}",
			`3 2.5 - - - hit -`},
		{"literal braces", "{ {status} } {a b} {status", `{ 201 } {a b} {status`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tmpl, err := Compile(tt.format, testOpts)
			if err != nil {
				t.Fatal(err)
			}
			if got := string(tmpl.AppendText(nil, rec)); got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}

func TestAppendTextMissing(t *testing.T) {
	rec := &reqinfo.Record{}
	tmpl, err := Compile("{host} {method} {uri} {path} {status} {when} {referer} {~c} {>h} {<h} {:upstream_addr} {:upstream_reused} {:upstream_connect_time} {:upstream_processing_time} {:tls_handshake_time} {:connection_id} {:plugin_time} {:processing}", testOpts)
	if err != nil {
		t.Fatal(err)
	}
	want := strings.TrimSpace(strings.Repeat("- ", 18))
	if got := string(tmpl.AppendText(nil, rec)); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

func TestAppendTextEscapes(t *testing.T) {
	rec := testRecord()
	rec.Req.Header.Set("User-Agent", "evil\n127.0.0.1 GET /forged\\")
	tmpl, err := Compile(`"{user_agent}"`, testOpts)
	if err != nil {
		t.Fatal(err)
	}
	want := `"evil\x0a127.0.0.1 GET /forged\x5c"`
	if got := string(tmpl.AppendText(nil, rec)); got != want {
		t.Errorf("got %s; want %s", got, want)
	}
}

func TestAppendJSON(t *testing.T) {
	rec := testRecord()
	rec.Req.Header.Set("X-Bad", "a\"b\x01\xff")
	tmpl, err := Compile(`{method} "{uri}" {status} {size_human} {latency} {when_utc_iso} {>X-Bad} {~nope} {:upstream_reused} {:connection_reused} {status} {$REGION}`, testOpts)
	if err != nil {
		t.Fatal(err)
	}
	got := tmpl.AppendJSON(nil, rec)
	want := `{"method":"GET","uri":"/api/users?id=7&x=%20","status":201,"size_human":"1.5KB","latency":1500,"when_utc_iso":"2024-01-02T03:04:06.506Z","req_x-bad":"a\"b\u0001\ufffd","cookie_nope":null,"upstream_reused":false,"connection_reused":true,"env_REGION":"eu-1"}`
	if string(got) != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	if !json.Valid(got) {
		t.Errorf("not valid JSON: %s", got)
	}
}

func TestCompileErrors(t *testing.T) {
	tests := []struct{ name, format, want string }{
		{"empty", "  ", "empty"},
		{"unknown", "{mehtod} {uri}", "unknown placeholder {mehtod} (did you mean {method}?)"},
		{"far from anything", "{zzzzzzzzzz}", "placeholders are the fixed names"},
		{"no cookie name", "{~}", "no name after '~'"},
		{"no ctx key", "{status} {:}", "no name after ':'"},
		{"human of a non-time", "{:location_human}", ""},
		{"newline", "{status}\n{uri}", "control character"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Compile(tt.format, testOpts)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Compile(%q): %v; want it to compile (a plugin value)", tt.format, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Compile(%q) error = %v; want it to contain %q", tt.format, err, tt.want)
			}
		})
	}
}

func TestHuman(t *testing.T) {
	bytes := []struct {
		n    int64
		want string
	}{{0, "0B"}, {999, "999B"}, {1000, "1KB"}, {1536, "1.5KB"}, {999999, "999.9KB"}, {2_500_000, "2.5MB"}, {3e9, "3GB"}, {-1, "0B"}}
	for _, tt := range bytes {
		t.Run("bytes "+tt.want, func(t *testing.T) {
			if got := string(appendHumanBytes(nil, tt.n)); got != tt.want {
				t.Errorf("appendHumanBytes(%d) = %s; want %s", tt.n, got, tt.want)
			}
		})
	}
	ms := []struct {
		n    int64
		want string
	}{{0, "0ms"}, {999, "999ms"}, {1000, "1s"}, {1234, "1.2s"}, {60_000, "1m"}, {90_000, "1.5m"}, {3_600_000, "1h"}, {5_400_000, "1.5h"}}
	for _, tt := range ms {
		t.Run("millis "+tt.want, func(t *testing.T) {
			if got := string(appendHumanMillis(nil, tt.n)); got != tt.want {
				t.Errorf("appendHumanMillis(%d) = %s; want %s", tt.n, got, tt.want)
			}
		})
	}
}

func TestStripPort(t *testing.T) {
	for in, want := range map[string]string{
		"1.2.3.4:80": "1.2.3.4", "[::1]:80": "::1", "::1": "::1", "host": "host", "": "", "[fe80::1]": "[fe80::1]",
	} {
		t.Run(in, func(t *testing.T) {
			if got := stripPort(in); got != want {
				t.Errorf("stripPort(%q) = %q; want %q", in, got, want)
			}
		})
	}
}

func TestAppendTextAllocs(t *testing.T) {
	rec := testRecord()
	tmpl, err := Compile("combined", testOpts)
	if err != nil {
		t.Fatal(err)
	}
	full, err := Compile("{when} {uri} {~uid} {>X-Tenant} {:upstream_connect_time_human} {:cache_lookup_time}", testOpts)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 0, 1024)
	for _, tt := range []*Template{tmpl, full} {
		for _, js := range []bool{false, true} {
			n := testing.AllocsPerRun(100, func() {
				if js {
					buf = tt.AppendJSON(buf[:0], rec)
				} else {
					buf = tt.AppendText(buf[:0], rec)
				}
			})
			if n != 0 {
				t.Errorf("%s (json %v): %v allocations per line; want 0", tt, js, n)
			}
		}
	}
}

func BenchmarkLog(b *testing.B) {
	rec := testRecord()
	tmpl, err := Compile("combined", testOpts)
	if err != nil {
		b.Fatal(err)
	}
	outs := NewOutputs(OutputsOptions{Stdout: discard{}})
	out, err := outs.Open(Spec{Buffer: 1 << 16})
	if err != nil {
		b.Fatal(err)
	}
	defer outs.Close(context.Background())
	l := NewLogger(tmpl, out, false)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			l.Log(rec)
		}
	})
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
