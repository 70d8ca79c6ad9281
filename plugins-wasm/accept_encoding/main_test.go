package main

import (
	"strings"
	"testing"

	"github.com/sluice-proxy/sluice/sdk"
	"github.com/sluice-proxy/sluice/sdk/sdktest"
)

func TestAcceptEncoding(t *testing.T) {
	tests := []struct {
		name, config string
		headers      []string
		want         []string // Accept-Encoding values after the plugin
	}{
		{name: "only one: first configured the client accepts", config: `{"encodings":"zstd, br, gzip","only_one_encoding":true}`,
			headers: []string{"accept-encoding", "gzip, zstd"}, want: []string{"zstd"}},
		{name: "reordered to the configured order", config: `{"encodings":"zstd, br, gzip"}`,
			headers: []string{"accept-encoding", "gzip, br, zstd"}, want: []string{"zstd, br, gzip"}},
		{name: "subset", config: `{"encodings":"zstd,br,gzip"}`,
			headers: []string{"accept-encoding", "gzip, deflate, br"}, want: []string{"br, gzip"}},
		{name: "none acceptable removes the header", config: `{"encodings":"zstd, br, gzip"}`,
			headers: []string{"accept-encoding", "snappy"}, want: nil},
		{name: "q=0 refuses", config: `{"encodings":"zstd, br, gzip"}`,
			headers: []string{"accept-encoding", "br;q=0, gzip;q=0.5, zstd; q=0.000"}, want: []string{"gzip"}},
		{name: "Q and spaces", config: `{"encodings":"br, gzip"}`,
			headers: []string{"accept-encoding", "br ; Q=0 , gzip ; q=1.0"}, want: []string{"gzip"}},
		{name: "malformed q refuses", config: `{"encodings":"br, gzip"}`,
			headers: []string{"accept-encoding", "br;q=2, gzip;q=0.5x"}, want: nil},
		{name: "star accepts what is not listed", config: `{"encodings":"zstd, br, gzip"}`,
			headers: []string{"accept-encoding", "*, br;q=0"}, want: []string{"zstd, gzip"}},
		{name: "star with q=0 accepts nothing else", config: `{"encodings":"zstd, gzip"}`,
			headers: []string{"accept-encoding", "gzip, *;q=0"}, want: []string{"gzip"}},
		{name: "whole tokens only", config: `{"encodings":"gzip"}`,
			headers: []string{"accept-encoding", "x-gzip, gzipx"}, want: nil},
		{name: "case-insensitive", config: `{"encodings":"gzip, br"}`,
			headers: []string{"accept-encoding", "GZIP, Br"}, want: []string{"gzip, br"}},
		{name: "several header lines are one list", config: `{"encodings":"zstd, br, gzip"}`,
			headers: []string{"accept-encoding", "gzip", "accept-encoding", "zstd"}, want: []string{"zstd, gzip"}},
		{name: "already so: unchanged", config: `{"encodings":"br, gzip"}`,
			headers: []string{"accept-encoding", "br, gzip"}, want: []string{"br, gzip"}},
		{name: "no header: left alone", config: `{"encodings":"br, gzip"}`, want: nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := sdktest.Start(t, tc.config)
			s := h.NewStream()
			if a := s.SendRequestHeaders(sdktest.Get("/", tc.headers...), true); a != sdk.Continue {
				t.Fatalf("action %v", a)
			}
			var got []string
			for _, kv := range s.RequestHeaders() {
				if kv[0] == "accept-encoding" {
					got = append(got, kv[1])
				}
			}
			if strings.Join(got, "|") != strings.Join(tc.want, "|") || len(got) != len(tc.want) {
				t.Errorf("accept-encoding %q; want %q", got, tc.want)
			}
		})
	}
}

func TestParseQ(t *testing.T) {
	tests := []struct {
		in    string
		q     int
		valid bool
	}{
		{"0", 0, true}, {"1", 1000, true}, {"0.5", 500, true}, {"0.123", 123, true},
		{"1.000", 1000, true}, {"0.", 0, true}, {"1.001", 0, false}, {"0.1234", 0, false},
		{"2", 0, false}, {"", 0, false}, {".5", 0, false}, {"0,5", 0, false}, {"0.a", 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			q, ok := parseQ(tc.in)
			if q != tc.q || ok != tc.valid {
				t.Errorf("parseQ(%q) = %d, %v; want %d, %v", tc.in, q, ok, tc.q, tc.valid)
			}
		})
	}
}

// FuzzAccepts checks the parser never panics and agrees with itself: a
// coding the header lists first with no parameters is accepted, and one
// it lists first with q=0 is not.
func FuzzAccepts(f *testing.F) {
	for _, s := range []string{"gzip, br;q=0", "*;q=0.5", ";;,,=", "br;q=1.0;x=y", "gzip;q=0.0001"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, header string) {
		for _, e := range []string{"gzip", "br", "zstd"} {
			accepts([]string{header}, e)
		}
		if !accepts([]string{"gzip, " + header}, "gzip") {
			t.Fatalf("gzip listed first, not accepted in %q", "gzip, "+header)
		}
		if accepts([]string{"gzip;q=0, " + header}, "gzip") {
			t.Fatalf("gzip;q=0 listed first, accepted in %q", "gzip;q=0, "+header)
		}
	})
}

func TestAcceptEncodingBadConfig(t *testing.T) {
	tests := []struct{ name, config, want string }{
		{"required", `{}`, `key "encodings": required`},
		{"empty", `{"encodings":" , "}`, `key "encodings": required`},
		{"not a token", `{"encodings":"gzip, b r"}`, `key "encodings": "b r" is not a content coding`},
		{"star", `{"encodings":"*"}`, `key "encodings": "*" is not a content coding`},
		{"twice", `{"encodings":"gzip, GZIP"}`, `key "encodings": "GZIP" is listed twice`},
		{"array", `{"encodings":["gzip"]}`, `key "encodings": want a string`},
		{"unknown", `{"encodings":"gzip","only_one":true}`, `unknown key "only_one"`},
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
