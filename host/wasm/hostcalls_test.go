package wasm_test

import (
	"context"
	"reflect"
	"strings"
	"testing"

	"github.com/sluice-proxy/sluice/abi"
	"github.com/sluice-proxy/sluice/host/config"
	"github.com/sluice-proxy/sluice/host/wasm"
	"github.com/sluice-proxy/sluice/host/wasm/wasmtest"
)

// TestHostFunctions runs testdata/wasm/hostcalls.wat, which calls every
// host function with good and bad arguments and logs "check=status" (or
// "tag:bytes" for what a call returned), through one whole request, and
// compares every line with Envoy's behaviour. Statuses: 0 OK, 1 NOT_FOUND,
// 2 BAD_ARGUMENT, 3 SERIALIZATION_FAILURE, 6 INVALID_MEMORY_ACCESS,
// 7 EMPTY, 8 CAS_MISMATCH, 12 UNIMPLEMENTED.
func TestHostFunctions(t *testing.T) {
	l := newLogs()
	rt := newRuntime(t, l, wasm.Options{VMs: 1, HTTPCaller: &fakeCaller{upstreams: map[string]bool{"backend": true}}})
	set := load(t, rt, map[string]*config.Plugin{"hc": plug(guest(t, "hostcalls"), map[string]any{"greeting": "hi"})})
	s := wasmtest.NewStream("GET", "/path?q=1", "example.com", [2]string{"x-dup", "1"}, [2]string{"x-dup", "2"}, [2]string{"x-remove", "r"})
	s.Attrs["xds.route_name"] = wasm.StringValue("r1")
	f := chain(t, set, "hc").NewFilter(s)
	ctx := context.Background()
	if r := f.OnRequestHeaders(ctx, false); r.Outcome != wasm.Continue {
		t.Fatalf("OnRequestHeaders = %+v; want Continue", r)
	}
	out, r := f.OnRequestBody(ctx, []byte("hello"), true)
	if r.Outcome != wasm.Continue || string(out) != "<hello>" {
		t.Fatalf("OnRequestBody = %q, %+v; want <hello>, Continue", out, r)
	}
	s.Map(abi.MapHTTPResponseHeaders).Set(":status", "200")
	if r := f.OnResponseHeaders(ctx, true); r.Outcome != wasm.Continue {
		t.Fatalf("OnResponseHeaders = %+v; want Continue", r)
	}
	f.Done()

	var got []string
	binary := map[string]string{}
	for _, m := range l.messages("hc") {
		if tag, rest, ok := strings.Cut(m, ":"); ok && (tag == "pairs" || tag == "resp pairs") {
			binary[tag] = rest
			continue
		}
		got = append(got, m)
	}
	want := strings.Split(strings.TrimSpace(expectedHostcalls), "\n")
	for i := 0; i < max(len(got), len(want)); i++ {
		var g, w string
		if i < len(got) {
			g = got[i]
		}
		if i < len(want) {
			w = strings.TrimSpace(want[i])
		}
		if g != w {
			t.Errorf("line %d: got %q; want %q", i+1, g, w)
		}
	}

	tests := []struct {
		name string
		tag  string
		want [][2]string
	}{
		{"request pairs after add, replace, remove", "pairs", [][2]string{
			{":method", "GET"}, {":path", "/path?q=1"}, {":authority", "example.com"}, {":scheme", "http"},
			{"x-dup", "replaced"}, {"x-dup", "2"}, {"x-added", "yes"}}},
		{"response pairs after set pairs", "resp pairs", [][2]string{{":status", "201"}, {"x-only", "1"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pairs, err := abi.DecodeMap([]byte(binary[tt.tag]))
			if err != nil || !reflect.DeepEqual(pairs, tt.want) {
				t.Fatalf("%s = %q, %v; want %q", tt.tag, pairs, err, tt.want)
			}
		})
	}
	if v, _ := s.Map(abi.MapHTTPRequestTrailers).Get("x-trailer"); v != "t" {
		t.Errorf("trailer added at the end of the body = %q; want t", v)
	}
	if v, _ := s.Map(abi.MapHTTPResponseHeaders).Get("x-resp"); v != "" {
		t.Errorf("x-resp survived set_header_map_pairs: %q", v)
	}
}

// expectedHostcalls is what hostcalls.wat logs for the request above, in
// order (one VM; the "pairs" lines are checked apart).
const expectedHostcalls = `
hello from stdout
configure_size=17
config_get=0
config:{"greeting":"hi"}
config_status=0
config_len=17
vm_config_get=0
vm_config_len=0
config_set=2
num_headers=7
eos=0
plain log line
log_ok=0
log_bad_level=2
log_oob=6
log_level=0
log_level_oob=6
time=0
time_positive=1
path_get=0
path:/path?q=1
upper_key_get=0
x-dup first:1
missing_get=1
bad_map_get=2
resp_map_get_in_request=2
resp_pairs_in_request=0
resp_pairs_len=0
bad_map_pairs=2
get_oob_key=6
get_oob_return=6
add=0
add_bad_key=2
add_bad_value=2
replace=0
remove=0
remove_absent=0
add_resp_in_request=2
set_trailers_in_request=2
pairs=0
size=0
size_value=85
size_bad_map=2
body_in_headers=1
bad_buffer=2
config_outside_configure=1
call_body_outside_callback=1
prop_plugin_name=0
plugin_name:hc
prop_vm_id=0
plugin_vm_id:hostcalls
prop_path=0
request.path:/path?q=1
prop_url_path=0
request.url_path:/path
prop_header=0
request.headers.x-dup:replaced,2
prop_source=0
source.address:192.0.2.1:4711
prop_port=0
prop_port_len=8
prop_port_value=4711
prop_legacy_route=0
route_name:r1
prop_unknown=1
prop_code_in_request=1
prop_set=0
prop_get_set=0
my.prop:stored
prop_oob=6
counter_define=0
counter_inc=0
counter_inc_zero=2
counter_inc_negative=2
counter_record=0
counter_get=0
counter_value=5
metric_bad_type=2
gauge_define=0
gauge_inc_negative=0
gauge_record=0
gauge_get=0
gauge_value=7
hist_define=0
hist_record=0
hist_get=2
hist_inc=2
metric_unknown=1
metric_unknown_record=1
shared_set=0
shared_get=0
shared k:v1
shared_set_stale=8
shared_set_cas=0
shared_get_again=0
shared k again:v3
shared_cas_changed=1
shared_absent=1
shared_create_other=0
shared_create_token=8
shared_fresh=1
shared_fresh_create=0
shared_fresh_again=8
queue_register=0
queue_resolve=0
queue_resolve_same=1
queue_resolve_absent=1
queue_dequeue_empty=7
queue_enqueue=0
queue_dequeue=0
dequeued:item-1
queue_enqueue_unknown=1
queue_dequeue_unknown=1
compress=0
uncompress=0
uncompressed:hello hello hello
uncompress_garbage=3
foreign_unknown=1
foreign_discard=0
effective_unknown=2
done_not_pending=1
continue_upstream=12
continue_bad=2
close_bad=2
tick_off=0
status=0
status_code=0
http_call_no_path=2
http_call_negative_timeout=2
http_call_unknown_upstream=2
local_bad_status=2
local_oob=6
body_size=5
body_eos=1
body_get=0
body:hello
body_get_window=0
body[1:3]:el
body_get_past_end=0
body_get_past_end_len=0
body_prepend=0
body_append=0
body_set_middle=2
body_status=0
body_status_len=7
response_body_in_request=1
headers_in_body=2
trailer_add_at_eos=0
resp_status_get=0
:status:200
resp_add=0
req_get_in_response=2
resp_prop_code=0
resp_prop_code_value=200
resp_set_pairs=0
resp_pairs=0
log_req_get=0
log_req_add=2
log_req_trailers=1
log_resp_get=0
done=2
delete=2
`
