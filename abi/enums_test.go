package abi

import (
	"strings"
	"testing"
)

func TestEnumStrings(t *testing.T) {
	tests := []struct {
		name string
		got  string
		want string
	}{
		{"status ok", StatusOK.String(), "OK"},
		{"status unimplemented", StatusUnimplemented.String(), "UNIMPLEMENTED"},
		{"status unknown", Status(99).String(), "Status(99)"},
		{"action pause", ActionPause.String(), "Pause"},
		{"action unknown", Action(7).String(), "Action(7)"},
		{"buffer config", BufferPluginConfiguration.String(), "PluginConfiguration"},
		{"buffer call data", BufferForeignFunctionArguments.String(), "CallData"},
		{"map call trailers", MapHTTPCallResponseTrailers.String(), "HttpCallResponseTrailers"},
		{"map unknown", MapType(8).String(), "MapType(8)"},
		{"log critical", LogCritical.String(), "critical"},
		{"stream upstream", StreamUpstream.String(), "Upstream"},
		{"peer remote", PeerRemote.String(), "Remote"},
		{"metric histogram", MetricHistogram.String(), "histogram"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.got != tt.want {
				t.Fatalf("got %q; want %q", tt.got, tt.want)
			}
		})
	}
}

func TestValid(t *testing.T) {
	tests := []struct {
		name string
		ok   bool
		want bool
	}{
		{"buffer 8", BufferType(8).Valid(), true},
		{"buffer 9", BufferType(9).Valid(), false},
		{"map 7", MapType(7).Valid(), true},
		{"map 8", MapType(8).Valid(), false},
		{"log 5", LogLevel(5).Valid(), true},
		{"log 6", LogLevel(6).Valid(), false},
		{"metric 2", MetricType(2).Valid(), true},
		{"metric 3", MetricType(3).Valid(), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.ok != tt.want {
				t.Fatalf("Valid = %v; want %v", tt.ok, tt.want)
			}
		})
	}
}

func TestSignatures(t *testing.T) {
	tests := []struct {
		name string
		list []Func
		fn   string
		want string
	}{
		{"log", HostFunctions, FuncLog, "(i32, i32, i32) -> i32"},
		{"done", HostFunctions, FuncDone, "() -> i32"},
		{"increment metric", HostFunctions, FuncIncrementMetric, "(i32, i64) -> i32"},
		{"record metric", HostFunctions, FuncRecordMetric, "(i32, i64) -> i32"},
		{"send local response", HostFunctions, FuncSendLocalResponse, "(i32, i32, i32, i32, i32, i32, i32, i32) -> i32"},
		{"http call", HostFunctions, FuncHTTPCall, "(i32, i32, i32, i32, i32, i32, i32, i32, i32, i32) -> i32"},
		{"request headers", Callbacks, CallbackOnRequestHeaders, "(i32, i32, i32) -> i32"},
		{"context create", Callbacks, CallbackOnContextCreate, "(i32, i32) -> ()"},
		{"http call response", Callbacks, CallbackOnHTTPCallResponse, "(i32, i32, i32, i32, i32) -> ()"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, ok := Lookup(tt.list, tt.fn)
			if !ok {
				t.Fatalf("%s not declared", tt.fn)
			}
			if got := f.Signature.String(); got != tt.want {
				t.Fatalf("%s signature %s; want %s", tt.fn, got, tt.want)
			}
			if len(f.ParamNames) != len(f.Params) {
				t.Fatalf("%s has %d names for %d params", tt.fn, len(f.ParamNames), len(f.Params))
			}
		})
	}
	seen := map[string]bool{}
	for _, f := range append(append([]Func{}, HostFunctions...), Callbacks...) {
		if seen[f.Name] {
			t.Errorf("%s declared twice", f.Name)
		}
		seen[f.Name] = true
		if !strings.HasPrefix(f.Name, "proxy_") && f.Name != FuncMalloc && !strings.HasPrefix(f.Name, "sluice_") {
			t.Errorf("%s: unexpected name", f.Name)
		}
	}
}

func TestPath(t *testing.T) {
	tests := []struct {
		name     string
		segments []string
		joined   string
	}{
		{"two", []string{"request", "path"}, "request\x00path"},
		{"one", []string{"plugin_name"}, "plugin_name"},
		{"none", nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := JoinPath(tt.segments...); got != tt.joined {
				t.Fatalf("JoinPath = %q; want %q", got, tt.joined)
			}
			if got := SplitPath(tt.joined); strings.Join(got, "|") != strings.Join(tt.segments, "|") || len(got) != len(tt.segments) {
				t.Fatalf("SplitPath = %q; want %q", got, tt.segments)
			}
		})
	}
}
