package config

import (
	"strings"
	"testing"
	"time"
)

func TestParseUpstreamAddr(t *testing.T) {
	tests := []struct {
		name, in string
		want     UpstreamAddr
		hostPort string // HostPort(80)
		err      string
	}{
		{name: "ip and port", in: "127.0.0.1:8080", want: UpstreamAddr{Host: "127.0.0.1", Port: 8080, Weight: 1}, hostPort: "127.0.0.1:8080"},
		{name: "weight", in: "10.0.0.2:80 5", want: UpstreamAddr{Host: "10.0.0.2", Port: 80, Weight: 5}, hostPort: "10.0.0.2:80"},
		{name: "tabs around weight", in: " 10.0.0.2:80\t3 ", want: UpstreamAddr{Host: "10.0.0.2", Port: 80, Weight: 3}, hostPort: "10.0.0.2:80"},
		{name: "no port", in: "10.0.0.3", want: UpstreamAddr{Host: "10.0.0.3", Weight: 1}, hostPort: "10.0.0.3:80"},
		{name: "host name", in: "api.internal:9000", want: UpstreamAddr{Host: "api.internal", Port: 9000, Weight: 1}, hostPort: "api.internal:9000"},
		{name: "host name with underscore", in: "_svc.local", want: UpstreamAddr{Host: "_svc.local", Weight: 1}, hostPort: "_svc.local:80"},
		{name: "bracketed ipv6", in: "[::1]:8080 2", want: UpstreamAddr{Host: "::1", Port: 8080, Weight: 2}, hostPort: "[::1]:8080"},
		{name: "bracketed ipv6 without port", in: "[2001:db8::1]", want: UpstreamAddr{Host: "2001:db8::1", Weight: 1}, hostPort: "[2001:db8::1]:80"},
		{name: "empty", in: " ", err: "want \"host:port [weight]\""},
		{name: "three fields", in: "a:1 2 3", err: "want \"host:port [weight]\""},
		{name: "zero weight", in: "a:1 0", err: "weight \"0\" is not a positive integer"},
		{name: "negative weight", in: "a:1 -2", err: "not a positive integer"},
		{name: "text weight", in: "a:1 heavy", err: "not a positive integer"},
		{name: "port zero", in: "a:0", err: "port \"0\" is not a number from 1 to 65535"},
		{name: "port too big", in: "a:70000", err: "from 1 to 65535"},
		{name: "port text", in: "a:http", err: "from 1 to 65535"},
		{name: "empty port", in: "a:", err: "empty port"},
		{name: "bare ipv6", in: "::1", err: "needs brackets"},
		{name: "unclosed bracket", in: "[::1:80", err: "missing ']'"},
		{name: "ipv4 in brackets", in: "[127.0.0.1]:80", err: "not an IPv6 address"},
		{name: "junk after bracket", in: "[::1]80", err: "want a port after"},
		{name: "unspecified", in: "0.0.0.0:80", err: "unspecified address"},
		{name: "multicast", in: "224.0.0.1:80", err: "multicast"},
		{name: "broadcast", in: "255.255.255.255:80", err: "broadcast"},
		{name: "link-local", in: "169.254.1.1:80", err: "link-local"},
		{name: "link-local v6", in: "[fe80::1]:80", err: "link-local"},
		{name: "space splits host and weight", in: "exa mple", err: `weight "mple" is not a positive integer`},
		{name: "bad host chars", in: "a/b:80", err: "neither an IP address nor a host name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseUpstreamAddr(tt.in)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("ParseUpstreamAddr(%q) = %+v, %v; want error containing %q", tt.in, got, err, tt.err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("ParseUpstreamAddr(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
			}
			if hp := got.HostPort(80); hp != tt.hostPort {
				t.Fatalf("HostPort(80) = %q; want %q", hp, tt.hostPort)
			}
		})
	}
}

func TestParseHealthCheck(t *testing.T) {
	def := HealthCheck{Scheme: "tcp", Path: "/", ConnectionTimeout: 3 * time.Second, ReadTimeout: 3 * time.Second, CheckFrequency: 10 * time.Second, Success: 1, Failure: 2}
	with := func(f func(h *HealthCheck)) HealthCheck {
		h := def
		f(&h)
		return h
	}
	tests := []struct {
		name, in string
		want     HealthCheck
		err      string
	}{
		{name: "empty is a tcp check flipping on one failure", in: "", want: with(func(h *HealthCheck) { h.Failure = 1 })},
		{name: "tcp", in: "tcp://upstream", want: with(func(h *HealthCheck) { h.Host = "upstream" })},
		{name: "http with path", in: "http://api/ping", want: with(func(h *HealthCheck) { h.Scheme, h.Host, h.Path = "http", "api", "/ping" })},
		{name: "upper-case scheme", in: "HTTPS://api:8443/", want: with(func(h *HealthCheck) { h.Scheme, h.Host = "https", "api:8443" })},
		{name: "every option", in: "http://api/hc?connection_timeout=1s&read_timeout=2s&check_frequency=5s&success=2&failure=3&reuse&parallel=true",
			want: with(func(h *HealthCheck) {
				h.Scheme, h.Host, h.Path = "http", "api", "/hc"
				h.ConnectionTimeout, h.ReadTimeout, h.CheckFrequency = time.Second, 2*time.Second, 5*time.Second
				h.Success, h.Failure, h.Reuse, h.Parallel = 2, 3, true, true
			})},
		{name: "flag set to false", in: "tcp://a?reuse=false", want: with(func(h *HealthCheck) { h.Host = "a" })},
		{name: "grpc", in: "grpc://a?tls&service=health", want: with(func(h *HealthCheck) { h.Scheme, h.Host, h.TLS, h.Service = "grpc", "a", true, "health" })},
		{name: "http keeps other parameters", in: "http://a/p?token=x&b=1", want: with(func(h *HealthCheck) { h.Scheme, h.Host, h.Path, h.Query = "http", "a", "/p", "b=1&token=x" })},
		{name: "no scheme", in: "api/ping", err: "want a scheme"},
		{name: "unknown scheme", in: "udp://a", err: `scheme "udp" is not tcp, http, https or grpc`},
		{name: "no host", in: "http:///ping", err: "want a host"},
		{name: "tcp with path", in: "tcp://a/x", err: "a tcp check has no path"},
		{name: "typo in option", in: "http://a/?check_frequncy=5s", err: `unknown option "check_frequncy" (did you mean "check_frequency"?)`},
		{name: "unknown option on tcp", in: "tcp://a?token=1", err: `unknown option "token"`},
		{name: "bad duration", in: "tcp://a?check_frequency=often", err: `option check_frequency="often": want a positive duration`},
		{name: "zero duration", in: "tcp://a?read_timeout=0s", err: "want a positive duration"},
		{name: "zero success", in: "tcp://a?success=0", err: "want a positive integer"},
		{name: "text failure", in: "tcp://a?failure=many", err: "want a positive integer"},
		{name: "bad flag", in: "tcp://a?reuse=sometimes", err: "want true, false or no value"},
		{name: "bad escape", in: "http://a/?x=%zz", err: "invalid health check URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseHealthCheck(tt.in)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("ParseHealthCheck(%q) = %+v, %v; want error containing %q", tt.in, got, err, tt.err)
				}
				return
			}
			if err != nil || *got != tt.want {
				t.Fatalf("ParseHealthCheck(%q) =\n %+v, %v; want\n %+v", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestParseAlgo(t *testing.T) {
	tests := []struct {
		in   string
		want Algo
		err  string
	}{
		{in: "", want: Algo{Name: "round_robin"}},
		{in: "round_robin", want: Algo{Name: "round_robin"}},
		{in: "least_conn", want: Algo{Name: "least_conn"}},
		{in: "random", want: Algo{Name: "random"}},
		{in: "hash", want: Algo{Name: "hash", HashBy: "path"}},
		{in: "hash:path", want: Algo{Name: "hash", HashBy: "path"}},
		{in: "hash:url", want: Algo{Name: "hash", HashBy: "url"}},
		{in: "hash:ip", want: Algo{Name: "hash", HashBy: "ip"}},
		{in: "hash:header:X-User", want: Algo{Name: "hash", HashBy: "header", Key: "X-User"}},
		{in: "hash:cookie:sid", want: Algo{Name: "hash", HashBy: "cookie", Key: "sid"}},
		{in: "hash:query:user id", err: `"user id" is not a valid query name`},
		{in: "hash:query:uid", want: Algo{Name: "hash", HashBy: "query", Key: "uid"}},
		{in: "hash:header:", err: `"" is not a valid header name`},
		{in: "hash:header:a b", err: "not a valid header name"},
		{in: "hash:cookie:a;b", err: "not a valid cookie name"},
		{in: "hash:body", err: "invalid algo"},
		{in: "roundrobin", err: `(did you mean "round_robin"?)`},
		{in: "Round_Robin", err: "invalid algo"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseAlgo(tt.in)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("ParseAlgo(%q) = %+v, %v; want error containing %q", tt.in, got, err, tt.err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("ParseAlgo(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestParseHeader(t *testing.T) {
	tests := []struct {
		name, in    string
		name2, val  string
		errContains string
	}{
		{name: "plain", in: "X-Env: prod", name2: "X-Env", val: "prod"},
		{name: "variable", in: "X-Real-IP:$remote_addr", name2: "X-Real-IP", val: "$remote_addr"},
		{name: "colon in value", in: "X-Url: http://a:1/", name2: "X-Url", val: "http://a:1/"},
		{name: "empty value", in: "X-Empty:", name2: "X-Empty", val: ""},
		{name: "tab in value", in: "X-T: a\tb", name2: "X-T", val: "a\tb"},
		{name: "no colon", in: "X-Env prod", errContains: `want "Name: value"`},
		{name: "empty name", in: ": v", errContains: `"" is not a valid header name`},
		{name: "space in name", in: "X Env: v", errContains: "not a valid header name"},
		{name: "newline in value", in: "X-A: a\r\nX-B: b", errContains: "control characters"},
		{name: "NUL in value", in: "X-A: a\x00", errContains: "control characters"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, v, err := ParseHeader(tt.in)
			if tt.errContains != "" {
				if err == nil || !strings.Contains(err.Error(), tt.errContains) {
					t.Fatalf("ParseHeader(%q) = %q, %q, %v; want error containing %q", tt.in, n, v, err, tt.errContains)
				}
				return
			}
			if err != nil || n != tt.name2 || v != tt.val {
				t.Fatalf("ParseHeader(%q) = %q, %q, %v; want %q, %q", tt.in, n, v, err, tt.name2, tt.val)
			}
		})
	}
}

func TestNearest(t *testing.T) {
	keys := []string{"upstream", "path", "host", "plugins", "proxy_set_headers", "proxy_add_headers", "max_processing"}
	tests := []struct {
		name, word, want string
	}{
		{name: "transposition", word: "upsteram", want: "upstream"},
		{name: "missing letter", word: "max_procesing", want: "max_processing"},
		{name: "case", word: "Path", want: "path"},
		{name: "extra letter", word: "plugin", want: "plugins"},
		{name: "ties go to the first listed", word: "proxy_xxx_headers", want: "proxy_set_headers"},
		{name: "too far", word: "weight", want: ""},
		{name: "short words allow one edit", word: "hots", want: "host"},
		{name: "short words refuse two", word: "hxsx", want: ""},
		{name: "empty", word: "", want: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := nearest(tt.word, keys); got != tt.want {
				t.Fatalf("nearest(%q) = %q; want %q", tt.word, got, tt.want)
			}
		})
	}
}

func TestOSADistance(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"", "", 0}, {"a", "", 1}, {"", "abc", 3}, {"kitten", "sitting", 3},
		{"ab", "ba", 1}, {"upsteram", "upstream", 1}, {"ca", "abc", 3}, {"same", "same", 0},
	}
	for _, tt := range tests {
		t.Run(tt.a+"_"+tt.b, func(t *testing.T) {
			if got := osaDistance(tt.a, tt.b); got != tt.want {
				t.Fatalf("osaDistance(%q, %q) = %d; want %d", tt.a, tt.b, got, tt.want)
			}
			if got := osaDistance(tt.b, tt.a); got != tt.want {
				t.Fatalf("osaDistance(%q, %q) = %d; want %d (symmetry)", tt.b, tt.a, got, tt.want)
			}
		})
	}
}

// FuzzParseHealthCheck checks that the URL parser never panics and that what
// it accepts is usable: a known scheme, positive intervals and thresholds.
func FuzzParseHealthCheck(f *testing.F) {
	for _, s := range []string{"", "tcp://a", "http://a/p?check_frequency=5s&reuse", "grpc://a?tls&service=x", "https://a:1/?success=2&x=y"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		h, err := ParseHealthCheck(s)
		if err != nil {
			return
		}
		switch h.Scheme {
		case "tcp", "http", "https", "grpc":
		default:
			t.Fatalf("ParseHealthCheck(%q).Scheme = %q", s, h.Scheme)
		}
		if h.ConnectionTimeout <= 0 || h.ReadTimeout <= 0 || h.CheckFrequency <= 0 || h.Success < 1 || h.Failure < 1 {
			t.Fatalf("ParseHealthCheck(%q) = %+v: non-positive interval or threshold", s, h)
		}
	})
}
