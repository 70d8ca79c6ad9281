package main

import (
	"strings"
	"testing"

	"github.com/sluice-proxy/sluice/sdk"
	"github.com/sluice-proxy/sluice/sdk/sdktest"
)

func TestPing(t *testing.T) {
	tests := []struct {
		name     string
		config   string
		path     string
		wantPong bool
	}{
		{name: "matching path", config: `{"path":"/ping"}`, path: "/ping", wantPong: true},
		{name: "query ignored", config: `{"path":"/ping"}`, path: "/ping?x=1", wantPong: true},
		{name: "other path", config: `{"path":"/ping"}`, path: "/pingx", wantPong: false},
		{name: "prefix is not a match", config: `{"path":"/ping"}`, path: "/ping/x", wantPong: false},
		{name: "empty path answers nothing", config: `{}`, path: "/", wantPong: false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := sdktest.Start(t, tc.config)
			s := h.NewStream()
			a := s.SendRequestHeaders(sdktest.Get(tc.path), true)
			lr := s.LocalResponse()
			if !tc.wantPong {
				if a != sdk.Continue || lr != nil {
					t.Fatalf("action %v, local response %+v; want Continue and none", a, lr)
				}
				return
			}
			if a != sdk.Pause || lr == nil || lr.Status != 200 || string(lr.Body) != "pong" {
				t.Fatalf("action %v, local response %+v; want Pause and 200 pong", a, lr)
			}
			if ct := lr.Header("content-type"); !strings.HasPrefix(ct, "text/plain") {
				t.Errorf("content-type %q", ct)
			}
		})
	}
}

func TestPingBadConfig(t *testing.T) {
	tests := []struct{ name, config, want string }{
		{name: "unknown key", config: `{"pth":"/ping"}`, want: `unknown key "pth" (did you mean "path"?)`},
		{name: "wrong type", config: `{"path":1}`, want: `key "path": want a string`},
		{name: "relative path", config: `{"path":"ping"}`, want: `key "path": must start with /`},
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
