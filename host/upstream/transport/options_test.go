package transport

import (
	"crypto/tls"
	"strings"
	"testing"
	"time"
)

func TestOptionsResolve(t *testing.T) {
	for _, tc := range []struct {
		name    string
		in      Options
		check   func(settings) string
		wantErr []string
	}{
		{name: "zero value gets defaults", in: Options{}, check: func(s settings) string {
			if s.connect != DefaultConnectTimeout || s.total != DefaultConnectTimeout+10*time.Second || s.read != DefaultReadTimeout ||
				s.write != DefaultWriteTimeout || s.idle != DefaultIdleTimeout || s.maxIdle != DefaultMaxIdlePerHost ||
				s.maxHeader != DefaultMaxResponseHeaderBytes || s.expectContinue != DefaultExpectContinueTimeout || s.dialer == nil {
				return "defaults not applied"
			}
			return ""
		}},
		{name: "negative disables", in: Options{ReadTimeout: -1, WriteTimeout: -1, ConnectTimeout: -1, TotalConnectTimeout: -1, ExpectContinueTimeout: -1}, check: func(s settings) string {
			if s.read != 0 || s.write != 0 || s.connect != 0 || s.total != 0 || s.expectContinue != 0 {
				return "limits not disabled"
			}
			return ""
		}},
		{name: "total bounds connect", in: Options{ConnectTimeout: 5 * time.Second, TotalConnectTimeout: time.Second}, check: func(s settings) string {
			if s.connect != time.Second || s.total != time.Second {
				return "connect not clamped to total"
			}
			return ""
		}},
		{name: "negative pool disables keep-alive", in: Options{MaxIdlePerHost: -1}, check: func(s settings) string {
			if s.maxIdle != 0 {
				return "keep-alive still on"
			}
			return ""
		}},
		{name: "negative idle timeout disables keep-alive", in: Options{IdleTimeout: -1}, check: func(s settings) string {
			if s.maxIdle != 0 {
				return "keep-alive still on"
			}
			return ""
		}},
		{name: "TLS is cloned", in: Options{TLS: &tls.Config{ServerName: "x"}}, check: func(s settings) string {
			if s.tls == nil || s.tls.ServerName != "x" {
				return "TLS lost"
			}
			return ""
		}},
		{name: "every problem reported", in: Options{SNIFromRequest: true, Protocol: 9, MaxResponseHeaderBytes: 10, Socket: SocketOptions{RecvBuffer: -1, UserTimeout: -1}},
			wantErr: []string{"sni from request needs TLS", "unknown protocol 9", "max response header bytes 10", "receive buffer -1", "user timeout -1ns"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := tc.in.resolve()
			if len(tc.wantErr) > 0 {
				if err == nil {
					t.Fatal("no error")
				}
				for _, w := range tc.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q lacks %q", err, w)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if msg := tc.check(s); msg != "" {
				t.Error(msg)
			}
		})
	}
}

func TestTLSConfigNotModified(t *testing.T) {
	cfg := &tls.Config{ServerName: "x"}
	for _, p := range []Protocol{H1, H2, H2H1} {
		tp, err := New(Options{TLS: cfg, Protocol: p})
		if err != nil {
			t.Fatal(err)
		}
		tp.Close()
	}
	if cfg.NextProtos != nil {
		t.Errorf("the caller's tls.Config was modified: NextProtos %q", cfg.NextProtos)
	}
}

func TestParseProtocol(t *testing.T) {
	for _, tc := range []struct {
		in      string
		want    Protocol
		wantErr bool
	}{
		{"", H1, false}, {"h1", H1, false}, {"h2", H2, false}, {"h2h1", H2H1, false}, {"h3", H1, true},
	} {
		got, err := ParseProtocol(tc.in)
		if got != tc.want || (err != nil) != tc.wantErr {
			t.Errorf("ParseProtocol(%q) = %v, %v; want %v, error %v", tc.in, got, err, tc.want, tc.wantErr)
		}
		if err == nil && tc.in != "" && got.String() != tc.in {
			t.Errorf("%v.String() = %q; want %q", got, got.String(), tc.in)
		}
	}
}

func TestErrorMessage(t *testing.T) {
	e := &Error{Op: OpRead, Addr: "10.0.0.1:80", Timeout: true, Err: ErrClosedBeforeResponse}
	if got, want := e.Error(), "upstream read 10.0.0.1:80 (timeout): upstream closed connection before response"; got != want {
		t.Errorf("Error() = %q; want %q", got, want)
	}
}
