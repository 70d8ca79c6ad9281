package sdk_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/sluice-proxy/sluice/abi"
	"github.com/sluice-proxy/sluice/sdk"
	"github.com/sluice-proxy/sluice/sdk/sdktest"
)

// funcs is a test plugin whose handlers are set per test.
type funcs struct {
	reqHeaders  func(r sdk.Request) sdk.Action
	reqBody     func(r sdk.Request, size int, eos bool) sdk.Action
	respHeaders func(r sdk.Request) sdk.Action
	tick        func()
	queue       func(q sdk.Queue)
	log         func(r sdk.Request)
}

func (f *funcs) OnRequestHeaders(r sdk.Request) sdk.Action {
	if f.reqHeaders == nil {
		return sdk.Continue
	}
	return f.reqHeaders(r)
}

func (f *funcs) OnRequestBody(r sdk.Request, size int, eos bool) sdk.Action {
	if f.reqBody == nil {
		return sdk.Continue
	}
	return f.reqBody(r, size, eos)
}

func (f *funcs) OnResponseHeaders(r sdk.Request) sdk.Action {
	if f.respHeaders == nil {
		return sdk.Continue
	}
	return f.respHeaders(r)
}

func (f *funcs) OnTick() {
	if f.tick != nil {
		f.tick()
	}
}

func (f *funcs) OnQueueReady(q sdk.Queue) {
	if f.queue != nil {
		f.queue(q)
	}
}

func (f *funcs) OnLog(r sdk.Request) {
	if f.log != nil {
		f.log(r)
	}
}

// start registers p and configures it.
func start(t *testing.T, p sdk.Plugin, opts ...sdktest.Option) *sdktest.Host {
	t.Helper()
	sdk.Register(func([]byte) (sdk.Plugin, error) { return p, nil })
	return sdktest.Start(t, `{}`, opts...)
}

func check(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func TestHeaders(t *testing.T) {
	var seen struct {
		method, path, authority, scheme, agent string
		values                                 []string
		n                                      int
	}
	p := &funcs{reqHeaders: func(r sdk.Request) sdk.Action {
		h := r.Header()
		seen.method, seen.path, seen.authority, seen.scheme = r.Method(), r.Path(), r.Authority(), r.Scheme()
		seen.agent = h.Get("User-Agent")
		seen.values = h.Values("x-multi")
		h.Range(func(k, v string) bool { seen.n++; return true })
		check(t, "set", h.Set("X-Multi", "one"))         // two values: remove + add
		check(t, "set new", h.Set("x-new", "v"))         // absent: add
		check(t, "set single", h.Set("user-agent", "b")) // one value: replace in place
		check(t, "add", h.Add("X-Added", "1"))
		check(t, "add again", h.Add("x-added", "2"))
		check(t, "del", h.Del("x-gone"))
		check(t, "set path", h.Set(":path", "/rewritten"))
		if got := h.Values("x-added"); strings.Join(got, ",") != "1,2" {
			t.Errorf("cached Values(x-added) = %v", got)
		}
		if _, ok := h.Lookup("x-gone"); ok {
			t.Error("x-gone still visible after Del")
		}
		return sdk.Continue
	}, respHeaders: func(r sdk.Request) sdk.Action {
		if r.Status() != 201 {
			t.Errorf("Status() = %d; want 201", r.Status())
		}
		check(t, "response set", r.ResponseHeader().Set("server", "sluice"))
		// Request headers have been forwarded: reading them now is refused.
		if err := r.Header().Set("x-late", "1"); !errors.Is(err, sdk.ErrBadArgument) {
			t.Errorf("late request header change: %v; want ErrBadArgument", err)
		}
		return sdk.Continue
	}}
	h := start(t, p)
	s := h.NewStream()
	a := s.SendRequestHeaders(sdktest.Get("/a?b=c", "user-agent", "a", "x-multi", "1", "x-multi", "2", "x-gone", "z"), true)
	if a != sdk.Continue {
		t.Fatalf("action %v; want Continue", a)
	}
	if seen.method != "GET" || seen.path != "/a?b=c" || seen.authority != "example.com" || seen.scheme != "http" || seen.agent != "a" {
		t.Errorf("pseudo-headers/agent = %+v", seen)
	}
	if strings.Join(seen.values, ",") != "1,2" || seen.n != 8 {
		t.Errorf("Values = %v, Range saw %d pairs; want [1 2], 8", seen.values, seen.n)
	}
	want := [][2]string{
		{":method", "GET"}, {":path", "/rewritten"}, {":authority", "example.com"}, {":scheme", "http"},
		{"user-agent", "b"}, {"x-multi", "one"}, {"x-new", "v"}, {"x-added", "1"}, {"x-added", "2"},
	}
	if got := s.RequestHeaders(); !equalPairs(got, want) {
		t.Errorf("request headers\n got %v\nwant %v", got, want)
	}
	s.SendResponseHeaders(sdktest.Response(201), true)
	if got := s.ResponseHeader("server"); got != "sluice" {
		t.Errorf("response server = %q", got)
	}
	s.Complete()
}

func equalPairs(a, b [][2]string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestRespondForcesPause(t *testing.T) {
	p := &funcs{reqHeaders: func(r sdk.Request) sdk.Action {
		check(t, "respond", r.Respond(403, [][2]string{{"Content-Type", "text/plain"}}, []byte("no")))
		return sdk.Continue // the SDK must turn this into Pause
	}}
	h := start(t, p)
	s := h.NewStream()
	if a := s.SendRequestHeaders(sdktest.Get("/"), true); a != sdk.Pause {
		t.Fatalf("action %v; want Pause after Respond", a)
	}
	lr := s.LocalResponse()
	if lr == nil || lr.Status != 403 || string(lr.Body) != "no" || lr.Header("content-type") != "text/plain" {
		t.Fatalf("local response %+v", lr)
	}
	if err := (sdk.Request{}).Respond(200, nil, nil); !errors.Is(err, sdk.ErrStreamGone) {
		t.Errorf("zero Request: %v; want ErrStreamGone", err)
	}
}

func TestRespondBadStatus(t *testing.T) {
	var err error
	h := start(t, &funcs{reqHeaders: func(r sdk.Request) sdk.Action {
		err = r.Respond(42, nil, nil)
		return sdk.Continue
	}})
	s := h.NewStream()
	if a := s.SendRequestHeaders(sdktest.Get("/"), true); a != sdk.Continue || !errors.Is(err, sdk.ErrBadArgument) {
		t.Fatalf("action %v, err %v; want Continue, ErrBadArgument", a, err)
	}
}

func TestBodyBuffering(t *testing.T) {
	var sizes []int
	p := &funcs{reqBody: func(r sdk.Request, size int, eos bool) sdk.Action {
		sizes = append(sizes, size)
		if !eos {
			return sdk.Pause // buffer until the end
		}
		b, err := r.Body().Bytes()
		check(t, "read body", err)
		check(t, "replace", r.Body().Replace([]byte(strings.ToUpper(string(b)))))
		check(t, "append", r.Body().Append([]byte("!")))
		check(t, "prepend", r.Body().Prepend([]byte(">")))
		n, err := r.Body().Len()
		check(t, "len", err)
		if n != len(b)+2 {
			t.Errorf("Len = %d; want %d", n, len(b)+2)
		}
		part, err := r.Body().Slice(1, 3)
		check(t, "slice", err)
		if string(part) != "HEL" {
			t.Errorf("Slice(1,3) = %q", part)
		}
		return sdk.Continue
	}}
	h := start(t, p)
	s := h.NewStream()
	s.SendRequestHeaders(sdktest.Request("POST", "/", "x"), false)
	for i, chunk := range []string{"hel", "lo ", "world"} {
		s.SendRequestBody([]byte(chunk), i == 2)
	}
	if got := string(s.RequestBody()); got != ">HELLO WORLD!" {
		t.Errorf("forwarded body %q", got)
	}
	if len(sizes) != 3 || sizes[0] != 3 || sizes[1] != 6 || sizes[2] != 11 {
		t.Errorf("body sizes %v; want [3 6 11] (accumulated)", sizes)
	}
}

func TestHTTPCall(t *testing.T) {
	tests := []struct {
		name       string
		answer     func(c *sdktest.Call)
		wantResume int
		wantLocal  int
	}{
		{name: "allowed", answer: func(c *sdktest.Call) {
			c.Respond(sdktest.Response(200, "x-user", "ann"), []byte("ok"), nil)
		}, wantResume: 1},
		{name: "denied", answer: func(c *sdktest.Call) {
			c.Respond(sdktest.Response(403), []byte("denied"), [][2]string{{"grpc-status", "7"}})
		}, wantLocal: 403},
		{name: "failed", answer: func(c *sdktest.Call) { c.Fail() }, wantLocal: 502},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got sdk.CallResponse
			p := &funcs{reqHeaders: func(r sdk.Request) sdk.Action {
				err := sdk.HTTPCall("auth", [][2]string{{":method", "GET"}, {":path", "/check"}, {":authority", "auth"}},
					nil, 2*time.Second, func(resp sdk.CallResponse) {
						got = resp
						switch {
						case resp.Err != nil:
							check(t, "respond 502", r.Respond(502, nil, []byte(resp.Err.Error())))
						case resp.Status != 200:
							check(t, "respond", r.Respond(resp.Status, nil, resp.Body))
						default:
							check(t, "set user", r.Header().Set("x-user", resp.Header("X-User")))
							check(t, "resume", r.Resume())
						}
					})
				check(t, "http call", err)
				return sdk.Pause
			}}
			h := start(t, p, sdktest.WithUpstreams("auth"))
			s := h.NewStream()
			if a := s.SendRequestHeaders(sdktest.Get("/"), true); a != sdk.Pause {
				t.Fatalf("action %v; want Pause", a)
			}
			calls := h.HTTPCalls()
			if len(calls) != 1 || calls[0].Upstream != "auth" || calls[0].Header(":path") != "/check" || calls[0].Timeout != 2*time.Second {
				t.Fatalf("calls %+v", calls)
			}
			tc.answer(calls[0])
			if n := s.Resumed(abi.StreamHTTPRequest); n != tc.wantResume {
				t.Errorf("resumed %d; want %d", n, tc.wantResume)
			}
			if tc.wantResume == 1 && (s.RequestHeader("x-user") != "ann" || string(got.Body) != "ok") {
				t.Errorf("x-user %q, body %q", s.RequestHeader("x-user"), got.Body)
			}
			lr := s.LocalResponse()
			switch {
			case tc.wantLocal == 0 && lr != nil:
				t.Errorf("unexpected local response %+v", lr)
			case tc.wantLocal != 0 && (lr == nil || lr.Status != tc.wantLocal):
				t.Errorf("local response %+v; want status %d", lr, tc.wantLocal)
			}
			if tc.name == "failed" && !strings.Contains(got.Err.Error(), `upstream "auth" failed: reset`) {
				t.Errorf("call error %v", got.Err)
			}
			if tc.name == "denied" && (len(got.Trailers) != 1 || got.Trailers[0][1] != "7") {
				t.Errorf("trailers %v", got.Trailers)
			}
		})
	}
}

func TestHTTPCallRefused(t *testing.T) {
	tests := []struct {
		name     string
		upstream string
		headers  [][2]string
		timeout  time.Duration
		want     string
	}{
		{name: "missing authority", upstream: "auth", headers: [][2]string{{":method", "GET"}, {":path", "/"}}, want: "headers lack :authority"},
		{name: "negative timeout", upstream: "auth", headers: [][2]string{{":method", "GET"}, {":path", "/"}, {":authority", "a"}}, timeout: -1, want: "negative timeout"},
		{name: "unknown upstream", upstream: "nope", headers: [][2]string{{":method", "GET"}, {":path", "/"}, {":authority", "a"}}, want: "BAD_ARGUMENT"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var err error
			h := start(t, &funcs{reqHeaders: func(r sdk.Request) sdk.Action {
				err = sdk.HTTPCall(tc.upstream, tc.headers, nil, tc.timeout, func(sdk.CallResponse) {})
				return sdk.Continue
			}}, sdktest.WithUpstreams("auth"))
			h.NewStream().SendRequestHeaders(sdktest.Get("/"), true)
			if err == nil || !strings.Contains(err.Error(), tc.want) || len(h.HTTPCalls()) != 0 {
				t.Errorf("err %v, calls %d; want %q and no call", err, len(h.HTTPCalls()), tc.want)
			}
		})
	}
}

func TestStreamGoneInCallback(t *testing.T) {
	var resumeErr error
	h := start(t, &funcs{reqHeaders: func(r sdk.Request) sdk.Action {
		check(t, "call", sdk.HTTPCall("u", [][2]string{{":method", "GET"}, {":path", "/"}, {":authority", "a"}}, nil, 0,
			func(sdk.CallResponse) { resumeErr = r.Resume() }))
		return sdk.Pause
	}})
	s := h.NewStream()
	s.SendRequestHeaders(sdktest.Get("/"), true)
	s.Complete() // the client went away
	// A new stream reuses the SDK's stream struct; the old handle must not
	// act on it.
	s2 := h.NewStream()
	s2.SendRequestHeaders(sdktest.Get("/"), true)
	h.HTTPCalls()[0].Respond(sdktest.Response(200), nil, nil)
	if !errors.Is(resumeErr, sdk.ErrStreamGone) || s2.Resumed(abi.StreamHTTPRequest) != 0 {
		t.Fatalf("resume of a finished stream: %v (second stream resumed %d times)", resumeErr, s2.Resumed(abi.StreamHTTPRequest))
	}
}

func TestSharedData(t *testing.T) {
	h := start(t, &funcs{})
	h.NewStream() // any context works; shared data is VM-wide
	if _, _, err := sdk.GetSharedData("k"); !errors.Is(err, sdk.ErrNotFound) {
		t.Fatalf("absent key: %v", err)
	}
	check(t, "set", sdk.SetSharedData("k", []byte("1"), 0))
	v, cas, err := sdk.GetSharedData("k")
	check(t, "get", err)
	if string(v) != "1" || cas == 0 {
		t.Fatalf("got %q cas %d", v, cas)
	}
	h.SetSharedData("k", []byte("other VM")) // someone else writes
	if err := sdk.SetSharedData("k", []byte("2"), cas); !errors.Is(err, sdk.ErrCASMismatch) {
		t.Fatalf("stale CAS: %v; want ErrCASMismatch", err)
	}
	got, err := sdk.UpdateSharedData("n", func(old []byte, ok bool) []byte {
		if ok {
			t.Error("absent key reported present")
		}
		return []byte("x")
	})
	check(t, "update", err)
	got, err = sdk.UpdateSharedData("n", func(old []byte, ok bool) []byte { return append(old, 'y') })
	check(t, "update 2", err)
	if string(got) != "xy" {
		t.Errorf("update = %q", got)
	}
}

func TestQueue(t *testing.T) {
	var got []string
	var q sdk.Queue
	p := &funcs{queue: func(ready sdk.Queue) {
		if ready != q {
			t.Errorf("ready queue %d; want %d", ready, q)
		}
		for {
			b, err := ready.Dequeue()
			if errors.Is(err, sdk.ErrQueueEmpty) {
				return
			}
			check(t, "dequeue", err)
			got = append(got, string(b))
		}
	}, reqHeaders: func(r sdk.Request) sdk.Action {
		rq, err := sdk.ResolveQueue("", "events")
		check(t, "resolve", err)
		check(t, "enqueue", rq.Enqueue([]byte(r.Path())))
		if len(got) != 0 {
			t.Error("queue notification delivered inside the producer's callback")
		}
		return sdk.Continue
	}}
	sdk.Register(func([]byte) (sdk.Plugin, error) {
		var err error
		q, err = sdk.RegisterQueue("events")
		return p, err
	})
	h := sdktest.Start(t, `{}`)
	if _, err := sdk.ResolveQueue("", "missing"); !errors.Is(err, sdk.ErrNotFound) {
		t.Errorf("missing queue: %v", err)
	}
	h.NewStream().SendRequestHeaders(sdktest.Get("/a"), true)
	h.Enqueue("events", []byte("b"))
	if strings.Join(got, ",") != "/a,b" {
		t.Errorf("dequeued %v", got)
	}
}

func TestMetrics(t *testing.T) {
	h := start(t, &funcs{})
	c, err := sdk.DefineCounter("requests")
	check(t, "counter", err)
	check(t, "inc", c.Inc())
	check(t, "add", c.Add(4))
	check(t, "add 0", c.Add(0))
	g, err := sdk.DefineGauge("inflight")
	check(t, "gauge", err)
	check(t, "set", g.Set(10))
	check(t, "sub", g.Add(-3))
	hist, err := sdk.DefineHistogram("latency")
	check(t, "histogram", err)
	check(t, "record", hist.Record(12))
	if v, _ := c.Value(); v != 5 {
		t.Errorf("counter value %d", v)
	}
	if v, _ := g.Value(); v != 7 {
		t.Errorf("gauge value %d", v)
	}
	if v, ok := h.Metric("requests"); !ok || v != 5 {
		t.Errorf("host counter %d %v", v, ok)
	}
	if s := h.HistogramSamples("latency"); len(s) != 1 || s[0] != 12 {
		t.Errorf("samples %v", s)
	}
	if _, err := sdk.DefineGauge("requests"); !errors.Is(err, sdk.ErrBadArgument) {
		t.Errorf("redefining with another type: %v", err)
	}
}

func TestTicksAndClock(t *testing.T) {
	start0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	var ticks []time.Time
	p := &funcs{tick: func() { ticks = append(ticks, sdk.Now()) }}
	sdk.Register(func([]byte) (sdk.Plugin, error) { return p, sdk.SetTickPeriod(100 * time.Millisecond) })
	h := sdktest.Start(t, `{}`, sdktest.WithNow(start0))
	if h.TickPeriod() != 100*time.Millisecond {
		t.Fatalf("tick period %v", h.TickPeriod())
	}
	h.Advance(350 * time.Millisecond)
	if len(ticks) != 3 || !ticks[2].Equal(start0.Add(300*time.Millisecond)) {
		t.Fatalf("ticks %v", ticks)
	}
	if !sdk.Now().Equal(start0.Add(350 * time.Millisecond)) {
		t.Errorf("Now() = %v", sdk.Now())
	}
}

func TestProperties(t *testing.T) {
	var addr, ua string
	var port int64
	var perr error
	p := &funcs{reqHeaders: func(r sdk.Request) sdk.Action {
		b, err := r.Property("source.address")
		check(t, "source.address", err)
		addr = string(b)
		port, err = sdk.PropertyInt("source.port")
		check(t, "source.port", err)
		ua, err = sdk.PropertyString("request.headers.user-agent")
		check(t, "request header property", err)
		check(t, "set property", r.SetProperty("my.flag", []byte("on")))
		_, perr = sdk.Property("no.such")
		return sdk.Continue
	}}
	h := start(t, p, sdktest.WithProperty("plugin_name", []byte("demo")))
	s := h.NewStream()
	s.SetProperty("source.address", []byte("10.0.0.1:5000"))
	s.SetProperty("source.port", sdktest.IntProperty(5000))
	s.SendRequestHeaders(sdktest.Get("/", "user-agent", "curl"), true)
	if addr != "10.0.0.1:5000" || port != 5000 || ua != "curl" || !errors.Is(perr, sdk.ErrNotFound) {
		t.Errorf("addr %q port %d ua %q missing %v", addr, port, ua, perr)
	}
	if name, err := sdk.PropertyString("plugin_name"); err != nil || name != "demo" {
		t.Errorf("plugin_name %q %v", name, err)
	}
}

func TestConfigureRefused(t *testing.T) {
	tests := []struct {
		name    string
		factory sdk.Factory
		want    string
	}{
		{name: "error", factory: func(cfg []byte) (sdk.Plugin, error) {
			c, err := sdk.ParseConfig(cfg)
			if err != nil {
				return nil, err
			}
			c.Int("size", 8)
			return nil, c.Err()
		}, want: `unknown key "sise" (did you mean "size"?)`},
		{name: "panic", factory: func([]byte) (sdk.Plugin, error) { panic("boom") }, want: "plugin panicked while configuring: boom"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sdk.Register(tc.factory)
			h := sdktest.New(t)
			err := h.Configure(`{"sise": 8}`)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Configure: %v; want %q", err, tc.want)
			}
		})
	}
}

// perStream keeps state per stream through StreamFactory.
type perStream struct{ n *int }

func (p perStream) NewStream(r sdk.Request) any { *p.n++; return &counter{id: *p.n} }

type counter struct{ id, seen int }

func (c *counter) OnRequestHeaders(r sdk.Request) sdk.Action {
	c.seen++
	return sdk.Continue
}

func (c *counter) OnResponseHeaders(r sdk.Request) sdk.Action {
	c.seen++
	return sdk.Continue
}

func (c *counter) OnLog(r sdk.Request) {
	sdk.Info("stream " + string(rune('0'+c.id)) + " saw " + string(rune('0'+c.seen)))
}

func TestStreamFactory(t *testing.T) {
	n := 0
	h := start(t, perStream{n: &n})
	a, b := h.NewStream(), h.NewStream()
	a.SendRequestHeaders(sdktest.Get("/"), true)
	b.SendRequestHeaders(sdktest.Get("/"), true)
	a.SendResponseHeaders(sdktest.Response(200), true)
	a.Complete()
	b.Complete()
	got := strings.Join(h.LogMessages(sdk.LevelInfo), ",")
	if got != "stream 1 saw 2,stream 2 saw 1" {
		t.Errorf("logs %q", got)
	}
}

func TestLogEnabled(t *testing.T) {
	start(t, &funcs{}, sdktest.WithLogLevel(sdk.LevelWarn))
	if sdk.LogEnabled(sdk.LevelInfo) || !sdk.LogEnabled(sdk.LevelError) {
		t.Error("LogEnabled does not follow the host level warn")
	}
}

func TestForeignFunction(t *testing.T) {
	start(t, &funcs{})
	z, err := sdk.CallForeign("compress", []byte("hello hello hello"))
	check(t, "compress", err)
	if z[0] != 0x78 {
		t.Errorf("compress result %x is not zlib", z)
	}
	back, err := sdk.CallForeign("uncompress", z)
	if err != nil || string(back) != "hello hello hello" {
		t.Errorf("uncompress %q %v", back, err)
	}
	if _, err := sdk.CallForeign("nope", nil); !errors.Is(err, sdk.ErrNotFound) {
		t.Errorf("unknown foreign function: %v", err)
	}
}

// TestHostCrossings pins down how many host calls common operations cost.
func TestHostCrossings(t *testing.T) {
	var step string
	tests := []struct {
		name string
		run  func(r sdk.Request)
		want map[string]int
	}{
		{name: "get one header", run: func(r sdk.Request) { r.Header().Get("a") },
			want: map[string]int{abi.FuncGetHeaderMapValue: 1}},
		{name: "whole map once per callback", run: func(r sdk.Request) {
			r.Header().Values("a")
			r.Header().Range(func(k, v string) bool { return true })
			r.Header().Get("b")
			r.Header().Len()
		}, want: map[string]int{abi.FuncGetHeaderMapPairs: 1}},
		{name: "set an absent header after a miss", run: func(r sdk.Request) {
			if _, ok := r.Header().Lookup("x-new"); !ok {
				r.Header().Set("x-new", "1")
			}
		}, want: map[string]int{abi.FuncGetHeaderMapValue: 1, abi.FuncAddHeaderMapValue: 1}},
		{name: "set an unknown header", run: func(r sdk.Request) { r.Header().Set("a", "2") },
			want: map[string]int{abi.FuncRemoveHeaderMapValue: 1, abi.FuncAddHeaderMapValue: 1}},
		{name: "set a pseudo-header", run: func(r sdk.Request) { r.Header().Set(":path", "/x") },
			want: map[string]int{abi.FuncReplaceHeaderMapValue: 1}},
		{name: "set a single cached header", run: func(r sdk.Request) {
			r.Header().Len()
			r.Header().Set("a", "3")
		}, want: map[string]int{abi.FuncGetHeaderMapPairs: 1, abi.FuncReplaceHeaderMapValue: 1}},
		{name: "delete then set", run: func(r sdk.Request) {
			r.Header().Del("a")
			r.Header().Set("a", "x")
		}, want: map[string]int{abi.FuncRemoveHeaderMapValue: 1, abi.FuncAddHeaderMapValue: 1}},
		{name: "miss, add, then set replaces both", run: func(r sdk.Request) {
			r.Header().Lookup("z")
			r.Header().Add("z", "1")
			r.Header().Set("z", "2")
		}, want: map[string]int{abi.FuncGetHeaderMapValue: 1, abi.FuncAddHeaderMapValue: 2, abi.FuncRemoveHeaderMapValue: 1}},
		{name: "respond", run: func(r sdk.Request) { r.Respond(204, nil, nil) },
			want: map[string]int{abi.FuncSendLocalResponse: 1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			step = tc.name
			h := start(t, &funcs{reqHeaders: func(r sdk.Request) sdk.Action { tc.run(r); return sdk.Continue }})
			s := h.NewStream()
			h.ResetHostCalls()
			s.SendRequestHeaders(sdktest.Get("/", "a", "1"), true)
			got := h.HostCalls()
			if len(got) != len(tc.want) {
				t.Fatalf("%s: host calls %v; want %v", step, got, tc.want)
			}
			for k, v := range tc.want {
				if got[k] != v {
					t.Errorf("%s: host calls %v; want %v", step, got, tc.want)
				}
			}
			if tc.name == "set an absent header after a miss" && s.RequestHeader("x-new") != "1" {
				t.Errorf("x-new not set: %v", s.RequestHeaders())
			}
			if tc.name == "miss, add, then set replaces both" {
				if n := len(s.RequestHeaders()); n != 6 || s.RequestHeader("z") != "2" {
					t.Errorf("headers %v; want one z: 2", s.RequestHeaders())
				}
			}
		})
	}
}
