package main

import (
	"strings"
	"testing"

	"github.com/sluice-proxy/sluice/sdk"
	"github.com/sluice-proxy/sluice/sdk/sdktest"
)

func TestUARestriction(t *testing.T) {
	const list = `"ua_list":["go-http-client/1.1","(Twitterspider)/(\\d+)\\.(\\d+)","(?i)^curl/"]`
	tests := []struct {
		name, config, ua string
		refused          bool
	}{
		{name: "deny: literal", config: `{"type":"deny",` + list + `}`, ua: "go-http-client/1.1", refused: true},
		{name: "deny: regex", config: `{"type":"deny",` + list + `}`, ua: "Mozilla/5.0 (compatible; Twitterspider/1.1)", refused: true},
		{name: "deny: flags stay in their pattern", config: `{"type":"deny",` + list + `}`, ua: "CURL/8.0", refused: true},
		{name: "deny: case matters without (?i)", config: `{"type":"deny",` + list + `}`, ua: "Go-Http-Client/1.1"},
		{name: "deny: anchored pattern", config: `{"type":"deny",` + list + `}`, ua: "not curl/8"},
		{name: "deny: other passes", config: `{"type":"Deny",` + list + `}`, ua: "pingap/1.0"},
		{name: "deny: no user agent passes", config: `{"type":"deny",` + list + `}`},
		{name: "allow: matching passes", config: `{` + list + `}`, ua: "curl/8.4.0"},
		{name: "allow: other refused", config: `{"type":"allow",` + list + `}`, ua: "pingap/1.0", refused: true},
		{name: "allow: no user agent refused", config: `{` + list + `}`, refused: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := sdktest.Start(t, tc.config)
			s := h.NewStream()
			var extra []string
			if tc.ua != "" {
				extra = []string{"user-agent", tc.ua}
			}
			a := s.SendRequestHeaders(sdktest.Get("/", extra...), true)
			lr := s.LocalResponse()
			if !tc.refused {
				if a != sdk.Continue || lr != nil {
					t.Fatalf("action %v, response %+v; want to pass", a, lr)
				}
				return
			}
			if a != sdk.Pause || lr == nil || lr.Status != 403 || string(lr.Body) != "Request is forbidden" {
				t.Fatalf("action %v, response %+v; want 403", a, lr)
			}
		})
	}
}

func TestMessage(t *testing.T) {
	h := sdktest.Start(t, `{"ua_list":["bot"],"type":"deny","message":"no bots"}`)
	s := h.NewStream()
	s.SendRequestHeaders(sdktest.Get("/", "user-agent", "somebot/1"), true)
	if lr := s.LocalResponse(); lr == nil || lr.Status != 403 || string(lr.Body) != "no bots" {
		t.Fatalf("response %+v", lr)
	}
}

func TestUARestrictionBadConfig(t *testing.T) {
	tests := []struct{ name, config, want string }{
		{"list required", `{}`, `key "ua_list": required`},
		{"list empty", `{"ua_list":[]}`, `key "ua_list": must list at least one pattern`},
		{"bad regex names the entry", `{"ua_list":["ok","(unclosed"]}`, `key "ua_list[1]": error parsing regexp: missing closing )`},
		{"perl lookahead", `{"ua_list":["a(?=b)"]}`, `key "ua_list[0]": error parsing regexp`},
		{"type", `{"ua_list":["a"],"type":"block"}`, `key "type": want "allow" or "deny", got "block"`},
		{"unknown", `{"ua_list":["a"],"ua":"x"}`, `unknown key "ua"`},
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
