package main

import (
	"encoding/json"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/sluice-proxy/sluice/abi/codecabi"
	"github.com/sluice-proxy/sluice/sdk"
	"github.com/sluice-proxy/sluice/sdk/sdktest"
)

type document struct {
	Processing int64  `json:"processing"`
	Accepted   uint64 `json:"accepted"`
	Hostname   string `json:"hostname"`
	Version    string `json:"version"`
	GoVersion  string `json:"go_version"`
	Arch       string `json:"arch"`
	StartTime  int64  `json:"start_time"`
	Uptime     string `json:"uptime"`
	Memory     string `json:"memory"`
	MemoryMB   uint64 `json:"memory_mb"`
}

func TestStats(t *testing.T) {
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	h := sdktest.Start(t, `{"path":"/stats"}`, sdktest.WithNow(t0),
		sdktest.WithProperty("plugin_name", []byte("st")),
		sdktest.WithProperty("xds.node.id", []byte("edge-1")),
		sdktest.WithProperty("xds.node.user_agent_version", []byte("v1.2.3")))

	// Two requests finish, one stays in flight.
	for range 2 {
		s := h.NewStream()
		if a := s.SendRequestHeaders(sdktest.Get("/app"), true); a != sdk.Continue {
			t.Fatalf("ordinary request: action %v", a)
		}
		s.SendResponseHeaders(sdktest.Response(200), true)
		s.Complete()
	}
	open := h.NewStream()
	open.SendRequestHeaders(sdktest.Get("/slow"), true)

	// Another VM counted 5 requests, 1 in progress: counters are shared.
	v, _, ok := h.SharedData("sluice.stats.st.counts")
	if !ok || len(v) != 16 {
		t.Fatalf("shared counters %x %v", v, ok)
	}
	other := append([]byte(nil), v...)
	other[0] += 5
	other[8] += 1
	h.SetSharedData("sluice.stats.st.counts", other)

	h.SetNow(t0.Add(90*time.Minute + 1500*time.Millisecond))
	s := h.NewStream()
	if a := s.SendRequestHeaders(sdktest.Get("/stats?pretty"), true); a != sdk.Pause {
		t.Fatalf("stats request: action %v", a)
	}
	lr := s.LocalResponse()
	if lr == nil || lr.Status != 200 || lr.Header("content-type") != "application/json" {
		t.Fatalf("response %+v", lr)
	}
	var d document
	dec := json.NewDecoder(strings.NewReader(string(lr.Body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&d); err != nil {
		t.Fatalf("stats body %s: %v", lr.Body, err)
	}
	// 3 local + 5 elsewhere + this one; 1 open + 1 elsewhere + this one.
	want := document{Processing: 3, Accepted: 9, Hostname: "edge-1", Version: "v1.2.3",
		GoVersion: runtime.Version(), Arch: runtime.GOOS + "/" + runtime.GOARCH,
		StartTime: t0.Unix(), Uptime: "1h30m1s", Memory: d.Memory, MemoryMB: d.MemoryMB}
	if d != want {
		t.Errorf("document\n got %+v\nwant %+v", d, want)
	}
	if !strings.HasSuffix(d.Memory, "iB") || d.MemoryMB == 0 {
		t.Errorf("memory %q / %d MB", d.Memory, d.MemoryMB)
	}
	s.Complete()
	open.Complete()
	v, _, _ = h.SharedData("sluice.stats.st.counts")
	if v[8] != 1 { // only the other VM's request is still in progress
		t.Errorf("processing after completion = %d; want 1", v[8])
	}
}

func TestStatsStartTimeKept(t *testing.T) {
	h := sdktest.New(t, sdktest.WithNow(time.Unix(2000, 0)))
	h.SetSharedData("sluice.stats.test.start", []byte{0xe8, 0x03, 0, 0, 0, 0, 0, 0}) // 1000: set by an earlier VM
	if err := h.Configure(`{"path":"/s"}`); err != nil {
		t.Fatal(err)
	}
	s := h.NewStream()
	s.SendRequestHeaders(sdktest.Get("/s"), true)
	if body := string(s.LocalResponse().Body); !strings.Contains(body, `"start_time":1000,`) || !strings.Contains(body, `"uptime":"16m40s"`) {
		t.Errorf("body %s; want the earlier VM's start time", body)
	}
}

func TestStatsNodeFallback(t *testing.T) {
	tests := []struct {
		name string
		opts []sdktest.Option
		want string
	}{
		{name: "xds.node.id", opts: []sdktest.Option{sdktest.WithProperty("xds.node.id", []byte("a")), sdktest.WithProperty("xds.node", []byte("b"))}, want: "a"},
		{name: "plain xds.node", opts: []sdktest.Option{sdktest.WithProperty("xds.node", []byte("b"))}, want: "b"},
		{name: "serialized xds.node", opts: []sdktest.Option{sdktest.WithProperty("xds.node", []byte{0x0a, 0x01, 'b'})}, want: ""},
		{name: "none", want: ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := sdktest.Start(t, `{"path":"/s"}`, tc.opts...)
			s := h.NewStream()
			s.SendRequestHeaders(sdktest.Get("/s"), true)
			if body := string(s.LocalResponse().Body); !strings.Contains(body, `"hostname":"`+tc.want+`"`) {
				t.Errorf("body %s; want hostname %q", body, tc.want)
			}
		})
	}
}

func TestAppendString(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain", `"plain"`},
		{`q"b\`, `"q\"b\\"`},
		{"tab\tnl\n", `"tab\u0009nl\u000a"`},
		{"é", `"é"`},
		{"\xff", `"\ufffd"`},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got := string(appendString(nil, tc.in))
			if got != tc.want {
				t.Errorf("appendString(%q) = %s; want %s", tc.in, got, tc.want)
			}
			var back string
			if err := json.Unmarshal([]byte(got), &back); err != nil {
				t.Errorf("not JSON: %v", err)
			}
		})
	}
}

func TestHumanBytes(t *testing.T) {
	tests := []struct {
		n    uint64
		want string
	}{{0, "0 B"}, {1023, "1023 B"}, {1536, "1.5 KiB"}, {5 << 20, "5.0 MiB"}, {3 << 30, "3.0 GiB"}}
	for _, tc := range tests {
		if got := humanBytes(tc.n); got != tc.want {
			t.Errorf("humanBytes(%d) = %q; want %q", tc.n, got, tc.want)
		}
	}
}

func TestStatsBadConfig(t *testing.T) {
	tests := []struct{ name, config, want string }{
		{name: "path required", config: `{}`, want: `key "path": required`},
		{name: "relative path", config: `{"path":"stats"}`, want: `key "path": must start with /`},
		{name: "unknown", config: `{"path":"/s","paths":1}`, want: `unknown key "paths"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := sdktest.New(t).Configure(tc.config)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Configure(%s) = %v; want %q", tc.config, err, tc.want)
			}
		})
	}
}

// Issue 5: the host codec's figures, when it has one.
func TestStatsCompression(t *testing.T) {
	var st codecabi.Stats
	st.Encoded[codecabi.Gzip] = codecabi.Counters{Bodies: 3, In: 3000, Out: 1000}
	st.Decoded[codecabi.Brotli] = codecabi.Counters{Bodies: 1, In: 100, Out: 400}
	h := sdktest.Start(t, `{"path":"/stats"}`, sdktest.WithForeignFunction(codecabi.FuncStats, func([]byte) ([]byte, error) {
		return codecabi.AppendStats(nil, &st), nil
	}))
	s := h.NewStream()
	s.SendRequestHeaders(sdktest.Get("/stats"), true)
	var d struct {
		Compression map[string]struct {
			Compressed, Decompressed struct {
				Bodies, In, Out uint64
				Ratio           float64
			}
		} `json:"compression"`
	}
	if err := json.Unmarshal(s.LocalResponse().Body, &d); err != nil {
		t.Fatalf("%s: %v", s.LocalResponse().Body, err)
	}
	gz, br := d.Compression["gzip"], d.Compression["br"]
	if len(d.Compression) != 4 || gz.Compressed.Bodies != 3 || gz.Compressed.In != 3000 || gz.Compressed.Out != 1000 ||
		gz.Compressed.Ratio != 3 || br.Decompressed.Out != 400 || br.Decompressed.Ratio != 0.25 || d.Compression["zstd"].Compressed.Ratio != 0 {
		t.Errorf("compression %+v", d.Compression)
	}
}
