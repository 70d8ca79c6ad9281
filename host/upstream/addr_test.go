package upstream

import (
	"net"
	"strconv"
	"strings"
	"testing"
)

func TestParseAddr(t *testing.T) {
	for _, tc := range []struct {
		name, in, port string
		want           addrEntry
		err            string
	}{
		{name: "ip and port", in: "10.0.0.1:8080", port: "80", want: addrEntry{"10.0.0.1", "8080", 1}},
		{name: "weight", in: "10.0.0.1:8080 5", port: "80", want: addrEntry{"10.0.0.1", "8080", 5}},
		{name: "default port", in: "10.0.0.1", port: "80", want: addrEntry{"10.0.0.1", "80", 1}},
		{name: "default tls port", in: "api.internal 3", port: "443", want: addrEntry{"api.internal", "443", 3}},
		{name: "extra spaces", in: "  10.0.0.1:81 \t 2 ", port: "80", want: addrEntry{"10.0.0.1", "81", 2}},
		{name: "bracketed v6 with port", in: "[2001:db8::1]:8443", port: "80", want: addrEntry{"2001:db8::1", "8443", 1}},
		{name: "bracketed v6 without port", in: "[2001:db8::1]", port: "80", want: addrEntry{"2001:db8::1", "80", 1}},
		{name: "bare v6", in: "::1 4", port: "80", want: addrEntry{"::1", "80", 4}},
		{name: "host name with port", in: "svc_a.local:9000", port: "80", want: addrEntry{"svc_a.local", "9000", 1}},
		{name: "empty", in: "  ", err: "want \"host:port [weight]\""},
		{name: "three fields", in: "a:1 2 3", err: "want \"host:port [weight]\""},
		{name: "zero weight", in: "a:1 0", err: "weight"},
		{name: "negative weight", in: "a:1 -1", err: "weight"},
		{name: "huge weight", in: "a:1 10001", err: "weight"},
		{name: "text weight", in: "a:1 heavy", err: "weight"},
		{name: "port zero", in: "a:0", err: "port"},
		{name: "port too big", in: "a:65536", err: "port"},
		{name: "named port", in: "a:http", err: "port"},
		{name: "empty host", in: ":80", err: "empty host"},
		{name: "url", in: "http://a", err: ""},
		{name: "slash", in: "a/b:80", err: "invalid character"},
		{name: "unspecified", in: "0.0.0.0:80", err: "unspecified"},
		{name: "multicast", in: "224.0.0.1:80", err: "multicast"},
		{name: "broadcast", in: "255.255.255.255", err: "broadcast"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseAddr(tc.in, tc.port)
			if tc.err != "" || tc.want == (addrEntry{}) {
				if err == nil {
					t.Fatalf("parseAddr(%q) = %+v; want an error", tc.in, got)
				}
				if !strings.Contains(err.Error(), tc.err) || !strings.Contains(err.Error(), strconv.Quote(tc.in)) {
					t.Fatalf("err = %v; want it to quote the address and contain %q", err, tc.err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("parseAddr(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
			}
		})
	}
}

func FuzzParseAddr(f *testing.F) {
	for _, s := range []string{"10.0.0.1:8080 5", "a.b", "[::1]:1", "::1 2", "x:0", "a:1 2 3", "[fe80::1%eth0]:80"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		e, err := parseAddr(s, "80")
		if err != nil {
			return
		}
		if e.weight < 1 || e.weight > maxWeight {
			t.Fatalf("%q: weight %d", s, e.weight)
		}
		p, err := strconv.Atoi(e.port)
		if err != nil || p < 1 || p > 65535 {
			t.Fatalf("%q: port %q", s, e.port)
		}
		// What was accepted must make a dialable address that reads back.
		hp := net.JoinHostPort(e.host, e.port)
		h, port, err := net.SplitHostPort(hp)
		if err != nil || h != e.host || port != e.port {
			t.Fatalf("%q: %q does not split back: %v", s, hp, err)
		}
	})
}
