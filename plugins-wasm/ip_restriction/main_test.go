package main

import (
	"strings"
	"testing"

	"github.com/sluice-proxy/sluice/sdk"
	"github.com/sluice-proxy/sluice/sdk/sdktest"
)

func TestIPRestriction(t *testing.T) {
	const list = `"ip_list":["192.168.1.1"," 10.0.0.0/8 ","2001:db8::/32","::ffff:172.16.0.0/108","fe80::1"]`
	tests := []struct {
		name   string
		config string
		ip     string // sluice.client_ip; "" leaves only source.address
		source string
		status int // 0: passes
		body   string
	}{
		{name: "allow: listed address", config: `{` + list + `}`, ip: "192.168.1.1"},
		{name: "allow: in a range", config: `{` + list + `}`, ip: "10.200.3.4"},
		{name: "allow: v6 range", config: `{` + list + `}`, ip: "2001:db8:1::5"},
		{name: "allow: mapped v4 client matches a v4 entry", config: `{` + list + `}`, ip: "::ffff:192.168.1.1"},
		{name: "allow: v4 client matches a mapped range", config: `{` + list + `}`, ip: "172.16.9.9"},
		{name: "allow: zone ignored", config: `{` + list + `}`, ip: "fe80::1%eth0"},
		{name: "allow: unlisted refused", config: `{` + list + `}`, ip: "192.168.1.2", status: 403, body: "Request is forbidden"},
		{name: "explicit allow, any case", config: `{"type":"Allow",` + list + `}`, ip: "11.0.0.1", status: 403, body: "Request is forbidden"},
		{name: "deny: listed refused with message", config: `{"type":"deny","message":"go away",` + list + `}`, ip: "10.1.1.1", status: 403, body: "go away"},
		{name: "deny: unlisted passes", config: `{"type":"DENY",` + list + `}`, ip: "8.8.8.8"},
		{name: "unparsable client ip", config: `{"type":"deny",` + list + `}`, ip: "invalid IP", status: 400, body: "Invalid client ip"},
		{name: "fallback to the peer address", config: `{` + list + `}`, source: "10.9.9.9:5555"},
		{name: "fallback to a v6 peer", config: `{` + list + `}`, source: "[2001:db8::9]:443"},
		{name: "fallback refused", config: `{` + list + `}`, source: "9.9.9.9:5555", status: 403, body: "Request is forbidden"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := sdktest.Start(t, tc.config)
			s := h.NewStream()
			if tc.ip != "" {
				s.SetProperty("sluice.client_ip", []byte(tc.ip))
			}
			if tc.source != "" {
				s.SetProperty("source.address", []byte(tc.source))
			}
			a := s.SendRequestHeaders(sdktest.Get("/"), true)
			lr := s.LocalResponse()
			if tc.status == 0 {
				if a != sdk.Continue || lr != nil {
					t.Fatalf("action %v, response %+v; want to pass", a, lr)
				}
				return
			}
			if a != sdk.Pause || lr == nil || lr.Status != tc.status || string(lr.Body) != tc.body {
				t.Fatalf("action %v, response %+v; want %d %q", a, lr, tc.status, tc.body)
			}
		})
	}
}

func TestIPRestrictionBadConfig(t *testing.T) {
	tests := []struct{ name, config, want string }{
		{"ip_list required", `{}`, `key "ip_list": required`},
		{"ip_list empty", `{"ip_list":[]}`, `key "ip_list": must list at least one`},
		{"bad address", `{"ip_list":["1.2.3.4","1.2.3"]}`, `key "ip_list[1]": "1.2.3" is not an IP address`},
		{"bad range", `{"ip_list":["10.0.0.0/33"]}`, `key "ip_list[0]": "10.0.0.0/33" is not a CIDR range`},
		{"bad type", `{"ip_list":["1.2.3.4"],"type":"block"}`, `key "type": want "allow" or "deny", got "block"`},
		{"wrong list type", `{"ip_list":"1.2.3.4"}`, `key "ip_list": want an array of strings`},
		{"unknown key", `{"ip_list":["1.2.3.4"],"ip_lists":[]}`, `unknown key "ip_lists"`},
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
