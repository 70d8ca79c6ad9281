package wasm_test

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluice-proxy/sluice/abi"
	"github.com/sluice-proxy/sluice/host/config"
	"github.com/sluice-proxy/sluice/host/wasm"
	"github.com/sluice-proxy/sluice/host/wasm/wasmtest"
)

func newReq(path string) *wasmtest.Stream {
	return wasmtest.NewStream("GET", path, "example.com")
}

// TestChainOrder checks Envoy's callback order across a chain: request
// callbacks in location order, response callbacks in reverse, then
// proxy_on_log for each, then proxy_on_done and proxy_on_delete for each.
func TestChainOrder(t *testing.T) {
	l := newLogs()
	rt := newRuntime(t, l, wasm.Options{VMs: 1})
	order := guest(t, "order")
	set := load(t, rt, map[string]*config.Plugin{"a": plug(order, nil), "b": plug(order, nil), "c": plug(order, nil)})
	s := newReq("/")
	f := chain(t, set, "a", "b", "c").NewFilter(s)
	ctx := context.Background()
	f.OnRequestHeaders(ctx, true)
	s.Map(abi.MapHTTPResponseHeaders).Set(":status", "200")
	f.OnResponseHeaders(ctx, true)
	f.Done()

	if got := s.Map(abi.MapHTTPRequestHeaders).Values("x-order"); !reflect.DeepEqual(got, []string{"a", "b", "c"}) {
		t.Errorf("request x-order = %q; want [a b c]", got)
	}
	if got := s.Map(abi.MapHTTPResponseHeaders).Values("x-order"); !reflect.DeepEqual(got, []string{"c", "b", "a"}) {
		t.Errorf("response x-order = %q; want [c b a]", got)
	}
	want := []string{
		"proxy_on_request_headers:a", "proxy_on_request_headers:b", "proxy_on_request_headers:c",
		"proxy_on_response_headers:c", "proxy_on_response_headers:b", "proxy_on_response_headers:a",
		"proxy_on_log:a", "proxy_on_log:b", "proxy_on_log:c",
		"proxy_on_done:a", "proxy_on_delete:a", "proxy_on_done:b", "proxy_on_delete:b", "proxy_on_done:c", "proxy_on_delete:c",
	}
	if got := l.messages(""); !reflect.DeepEqual(got, want) {
		t.Errorf("callbacks:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestLocalResponse checks that a local response stops the request chain
// (c is never entered), passes through the response callbacks of the
// plugins already entered (local itself, then a), and comes back with its
// final headers.
func TestLocalResponse(t *testing.T) {
	l := newLogs()
	rt := newRuntime(t, l, wasm.Options{VMs: 1})
	set := load(t, rt, map[string]*config.Plugin{
		"a": plug(guest(t, "order"), nil), "local": plug(guest(t, "local"), nil), "c": plug(guest(t, "order"), nil),
	})
	s := newReq("/")
	f := chain(t, set, "a", "local", "c").NewFilter(s)
	r := f.OnRequestHeaders(context.Background(), true)
	f.Done()
	if r.Outcome != wasm.Respond || r.Plugin != "local" || r.Response == nil {
		t.Fatalf("OnRequestHeaders = %+v; want Respond from local", r)
	}
	lr := r.Response
	wantHeaders := [][2]string{{"x-local", "yes"}, {"x-upper", "v"}, {"content-type", "text/plain"}, {"x-seen-by-local", "1"}, {"x-order", "a"}}
	tests := []struct {
		name      string
		got, want any
	}{
		{"status", lr.Status, 418},
		{"body", string(lr.Body), "short and stout"},
		{"details", lr.Details, "I_am_a_teapot"},
		{"headers", lr.Headers, wantHeaders},
		{"stream :status", first(s, abi.MapHTTPResponseHeaders, ":status"), "418"},
		{"c never entered", len(l.messages("c")), 0},
		{"a saw request and response", l.messages("a"), []string{
			"proxy_on_request_headers:a", "proxy_on_response_headers:a", "proxy_on_log:a", "proxy_on_done:a", "proxy_on_delete:a"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !reflect.DeepEqual(tt.got, tt.want) {
				t.Fatalf("got %v; want %v", tt.got, tt.want)
			}
		})
	}
}

func first(s *wasmtest.Stream, m abi.MapType, k string) string {
	v, _ := s.Map(m).Get(k)
	return v
}

// TestHTTPCallout pauses requests on an http callout and resumes them from
// proxy_on_http_call_response (delivered to the root context, which sets
// the stream as effective context): 2xx continues with a header taken from
// the answer, 403 answers locally, a failed call answers 503 after
// proxy_get_status reported (11, "reset").
func TestHTTPCallout(t *testing.T) {
	type answer struct {
		status int
		err    error
	}
	tests := []struct {
		name       string
		answer     answer
		outcome    wasm.Outcome
		status     int
		user       string
		wantLogged []string
	}{
		{"allowed", answer{200, nil}, wasm.Continue, 0, "alice",
			[]string{"call_headers=2", "call_body_size=2", "call_trailers=1", "call_body:ok", "call_trailer:tt", "call_status:200"}},
		{"denied", answer{403, nil}, wasm.Respond, 403, "", []string{"call_status:403"}},
		{"unreachable", answer{0, errors.New("connection refused")}, wasm.Respond, 503, "",
			[]string{"call_headers=0", "call_body_size=0", "call_trailers=0", "status_code=11", "status_message:reset"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := newLogs()
			caller := &fakeCaller{upstreams: map[string]bool{"auth": true}, answer: func(string, [][2]string, []byte) (int, [][2]string, []byte, [][2]string, error) {
				time.Sleep(5 * time.Millisecond) // the request really waits
				return tt.answer.status, [][2]string{{"X-User", "alice"}}, []byte("ok"), [][2]string{{"x-t", "tt"}}, tt.answer.err
			}}
			rt := newRuntime(t, l, wasm.Options{VMs: 1, HTTPCaller: caller})
			set := load(t, rt, map[string]*config.Plugin{"auth": plug(guest(t, "callout"), nil)})
			s := newReq("/x")
			f := chain(t, set, "auth").NewFilter(s)
			r := f.OnRequestHeaders(context.Background(), true)
			f.Done()
			if r.Outcome != tt.outcome || tt.status != 0 && (r.Response == nil || r.Response.Status != tt.status) {
				t.Fatalf("OnRequestHeaders = %+v (response %+v); want %v %d", r, r.Response, tt.outcome, tt.status)
			}
			if got := first(s, abi.MapHTTPRequestHeaders, "x-user"); got != tt.user {
				t.Errorf("x-user = %q; want %q", got, tt.user)
			}
			logged := strings.Join(l.messages("auth"), "\n")
			for _, w := range tt.wantLogged {
				if !strings.Contains(logged, w) {
					t.Errorf("plugin log lacks %q:\n%s", w, logged)
				}
			}
			want := `auth [[":method" "POST"] [":path" "/check"] [":authority" "auth.local"] ["x-from" "callout"]] "payload" [["x-trailer" "t"]] 5s`
			if len(caller.calls) != 1 || caller.calls[0] != want {
				t.Errorf("calls = %q; want [%s]", caller.calls, want)
			}
		})
	}
}

// TestHTTPCalloutConcurrent holds many requests on callouts at once, spread
// over two VMs, each resumed by its own answer.
func TestHTTPCalloutConcurrent(t *testing.T) {
	release := make(chan struct{})
	caller := &fakeCaller{upstreams: map[string]bool{"auth": true}, answer: func(string, [][2]string, []byte) (int, [][2]string, []byte, [][2]string, error) {
		<-release
		return 200, [][2]string{{"x-user", "u"}}, nil, nil, nil
	}}
	rt := newRuntime(t, nil, wasm.Options{VMs: 2, HTTPCaller: caller})
	set := load(t, rt, map[string]*config.Plugin{"auth": plug(guest(t, "callout"), nil)})
	c := chain(t, set, "auth")
	const n = 40
	var wg sync.WaitGroup
	results := make(chan wasm.Result, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := newReq("/")
			f := c.NewFilter(s)
			r := f.OnRequestHeaders(context.Background(), true)
			if first(s, abi.MapHTTPRequestHeaders, "x-user") != "u" {
				r = wasm.Result{Outcome: wasm.Fail, Err: errors.New("x-user not set")}
			}
			f.Done()
			results <- r
		}()
	}
	waitFor(t, "all callouts started", func() bool {
		caller.mu.Lock()
		defer caller.mu.Unlock()
		return len(caller.calls) == n
	})
	close(release)
	wg.Wait()
	close(results)
	for r := range results {
		if r.Outcome != wasm.Continue {
			t.Fatalf("a request ended with %+v", r)
		}
	}
}

// TestClientGoneWhilePaused unblocks a paused request when its context
// ends.
func TestClientGoneWhilePaused(t *testing.T) {
	caller := &fakeCaller{upstreams: map[string]bool{"auth": true}, answer: func(string, [][2]string, []byte) (int, [][2]string, []byte, [][2]string, error) {
		time.Sleep(100 * time.Millisecond)
		return 200, nil, nil, nil, nil
	}}
	rt := newRuntime(t, nil, wasm.Options{VMs: 1, HTTPCaller: caller})
	set := load(t, rt, map[string]*config.Plugin{"auth": plug(guest(t, "callout"), nil)})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	f := chain(t, set, "auth").NewFilter(newReq("/"))
	r := f.OnRequestHeaders(ctx, true)
	f.Done()
	if r.Outcome != wasm.Fail || !errors.Is(r.Err, context.DeadlineExceeded) || r.Plugin != "auth" {
		t.Fatalf("OnRequestHeaders = %+v; want Fail from auth with the context's error", r)
	}
}

// TestBodyBuffering checks Envoy's buffering: Pause on a chunk keeps it,
// the next call sees the whole body so far, Continue at the end releases
// the modified body; over the limit the request gets 413 and the response
// 500.
func TestBodyBuffering(t *testing.T) {
	l := newLogs()
	rt := newRuntime(t, l, wasm.Options{VMs: 1, BodyLimit: 16})
	set := load(t, rt, map[string]*config.Plugin{"buf": plug(guest(t, "buffer"), nil), "a": plug(guest(t, "order"), nil)})
	c := chain(t, set, "a", "buf")
	ctx := context.Background()

	t.Run("request and response", func(t *testing.T) {
		l.reset()
		s := wasmtest.NewStream("POST", "/", "h", [2]string{"content-length", "6"})
		f := c.NewFilter(s)
		f.OnRequestHeaders(ctx, false)
		if _, ok := s.Map(abi.MapHTTPRequestHeaders).Get("content-length"); ok {
			t.Error("content-length kept; the plugin removed it")
		}
		var got []string
		for i, chunk := range []string{"ab", "cd", "ef"} {
			out, r := f.OnRequestBody(ctx, []byte(chunk), i == 2)
			if r.Outcome != wasm.Continue {
				t.Fatalf("chunk %d: %+v", i, r)
			}
			got = append(got, string(out))
		}
		if want := []string{"", "", "[abcdef]"}; !reflect.DeepEqual(got, want) {
			t.Errorf("forwarded %q; want %q", got, want)
		}
		s.Map(abi.MapHTTPResponseHeaders).Set(":status", "200")
		f.OnResponseHeaders(ctx, false)
		out1, _ := f.OnResponseBody(ctx, []byte("xy"), false)
		out2, _ := f.OnResponseBody(ctx, []byte("z"), true)
		f.Done()
		if string(out1) != "" || string(out2) != "{xyz}" {
			t.Errorf("response forwarded %q then %q; want nothing then {xyz}", out1, out2)
		}
		logged := strings.Join(l.messages("buf"), ",")
		if want := "proxy_on_request_body_size=2,proxy_on_request_body_size=4,proxy_on_request_body_size=6,proxy_on_response_body_size=2,proxy_on_response_body_size=3"; logged != want {
			t.Errorf("sizes seen %s; want %s", logged, want)
		}
	})
	t.Run("trailers release a held body", func(t *testing.T) {
		l.reset()
		f := c.NewFilter(wasmtest.NewStream("POST", "/", "h"))
		f.OnRequestHeaders(ctx, false)
		f.OnRequestBody(ctx, []byte("ab"), false)
		out, r := f.OnRequestTrailers(ctx)
		f.Done()
		if r.Outcome != wasm.Continue || string(out) != "ab" {
			t.Fatalf("OnRequestTrailers = %q, %+v; want the held ab", out, r)
		}
		if !strings.Contains(strings.Join(l.messages("buf"), ","), "request_trailers=0") {
			t.Errorf("trailers callback not run: %q", l.messages("buf"))
		}
	})
	for _, tt := range []struct {
		name   string
		status int
		resp   bool
	}{{"request over the limit", 413, false}, {"response over the limit", 500, true}} {
		t.Run(tt.name, func(t *testing.T) {
			s := wasmtest.NewStream("POST", "/", "h")
			f := c.NewFilter(s)
			f.OnRequestHeaders(ctx, false)
			var r wasm.Result
			if tt.resp {
				f.OnRequestBody(ctx, []byte("ok"), true)
				s.Map(abi.MapHTTPResponseHeaders).Set(":status", "200")
				f.OnResponseHeaders(ctx, false)
				_, r = f.OnResponseBody(ctx, make([]byte, 10), false)
				if r.Outcome == wasm.Continue {
					_, r = f.OnResponseBody(ctx, make([]byte, 10), false)
				}
			} else {
				_, r = f.OnRequestBody(ctx, make([]byte, 10), false)
				if r.Outcome == wasm.Continue {
					_, r = f.OnRequestBody(ctx, make([]byte, 10), false)
				}
			}
			f.Done()
			if r.Outcome != wasm.Respond || r.Response.Status != tt.status {
				t.Fatalf("result %+v; want Respond %d", r, tt.status)
			}
		})
	}
}

// TestEmptyChain checks that a chain of zero plugins costs nothing.
func TestEmptyChain(t *testing.T) {
	rt := newRuntime(t, nil, wasm.Options{})
	set := load(t, rt, nil)
	c := chain(t, set)
	s := newReq("/")
	ctx := context.Background()
	chunk := []byte("x")
	allocs := testing.AllocsPerRun(100, func() {
		f := c.NewFilter(s)
		f.OnRequestHeaders(ctx, false)
		f.OnRequestBody(ctx, chunk, true)
		f.OnResponseHeaders(ctx, false)
		if out, _ := f.OnResponseBody(ctx, chunk, true); &out[0] != &chunk[0] {
			t.Fatal("body copied")
		}
		f.Done()
	})
	if allocs != 0 {
		t.Fatalf("empty chain allocates %v times per request; want 0", allocs)
	}
}

// TestChainUnknownPlugin reports every unknown name.
func TestChainUnknownPlugin(t *testing.T) {
	rt := newRuntime(t, nil, wasm.Options{})
	set := load(t, rt, map[string]*config.Plugin{"a": plug(guest(t, "noop"), nil)})
	_, err := set.Chain([]string{"a", "x", "y"})
	if err == nil || !strings.Contains(err.Error(), `"x"`) || !strings.Contains(err.Error(), `"y"`) {
		t.Fatalf("Chain error = %v; want both unknown names", err)
	}
}

// TestCloseStream checks that proxy_close_stream makes the filter return
// Reset, naming the plugin, and stops the chain.
func TestCloseStream(t *testing.T) {
	rt := newRuntime(t, nil, wasm.Options{VMs: 1})
	set := load(t, rt, map[string]*config.Plugin{"m": plug(guest(t, "misbehave"), nil), "o": plug(guest(t, "order"), nil)})
	s := newReq("/c")
	f := chain(t, set, "m", "o").NewFilter(s)
	r := f.OnRequestHeaders(context.Background(), true)
	f.Done()
	if r.Outcome != wasm.Reset || r.Plugin != "m" {
		t.Fatalf("OnRequestHeaders = %+v; want Reset from m", r)
	}
	if v := first(s, abi.MapHTTPRequestHeaders, "x-order"); v != "" {
		t.Fatalf("the chain went on after a reset: x-order %q", v)
	}
}
