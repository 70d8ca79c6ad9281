package accesslog

import (
	"strings"
	"testing"
	"time"
)

func TestParseSpec(t *testing.T) {
	tests := []struct {
		name, in string
		want     Spec
		err      string
	}{
		{name: "preset", in: "combined", want: Spec{Format: "combined", Buffer: DefaultBuffer}},
		{name: "template", in: "{method} {uri}", want: Spec{Format: "{method} {uri}", Buffer: DefaultBuffer}},
		{name: "path and preset", in: "/var/log/a.log tiny", want: Spec{Path: "/var/log/a.log", Format: "tiny", Buffer: DefaultBuffer}},
		{name: "path and template", in: "/var/log/a.log {when} {path}", want: Spec{Path: "/var/log/a.log", Format: "{when} {path}", Buffer: DefaultBuffer}},
		{name: "first word of a template stays", in: "GET {uri}", want: Spec{Format: "GET {uri}", Buffer: DefaultBuffer}},
		{name: "options", in: "logs/a.log?rolling=hourly&channel_buffer=10&flush_timeout=2s&format=json  {status}",
			want: Spec{Path: "logs/a.log", Rolling: Hourly, FlushTimeout: 2 * time.Second, JSON: true, Format: "{status}", Buffer: 10}},
		{name: "stdout json", in: "?format=json combined", want: Spec{Format: "combined", JSON: true, Buffer: DefaultBuffer}},
		{name: "stdout by name", in: "stdout?format=text combined", want: Spec{Format: "combined", Buffer: DefaultBuffer}},
		{name: "daily", in: "/a.log?rolling=DAILY tiny", want: Spec{Path: "/a.log", Rolling: Daily, Format: "tiny", Buffer: DefaultBuffer}},
		{name: "empty", in: " ", err: "empty"},
		{name: "unknown option", in: "/a.log?rolling=daily&compress=1 tiny", err: `unknown option "compress"`},
		{name: "bad rolling", in: "/a.log?rolling=weekly tiny", err: "want never, minutely, hourly or daily"},
		{name: "stdout cannot rotate", in: "?rolling=daily tiny", err: "standard output cannot rotate"},
		{name: "bad buffer", in: "/a.log?channel_buffer=0 tiny", err: "channel_buffer"},
		{name: "bad flush", in: "/a.log?flush_timeout=soon tiny", err: "flush_timeout"},
		{name: "bad format", in: "/a.log?format=xml tiny", err: "want text or json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseSpec(tt.in)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("ParseSpec(%q) error = %v; want %q", tt.in, err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseSpec(%q): %v", tt.in, err)
			}
			if got != tt.want {
				t.Errorf("ParseSpec(%q) = %+v; want %+v", tt.in, got, tt.want)
			}
		})
	}
}
