package main

import (
	"strings"
	"testing"
	"time"

	"github.com/sluice-proxy/sluice/sdk"
	"github.com/sluice-proxy/sluice/sdk/sdktest"
)

func TestMock(t *testing.T) {
	tests := []struct {
		name       string
		config     string
		path       string
		wantStatus int // 0: not answered
		wantBody   string
		wantHeader [2]string
	}{
		{name: "defaults answer everything", config: `{}`, path: "/any", wantStatus: 200},
		{name: "path match", config: `{"path":"/m","status":503,"data":"down"}`, path: "/m?q", wantStatus: 503, wantBody: "down"},
		{name: "path mismatch", config: `{"path":"/m"}`, path: "/n", wantStatus: 0},
		{name: "headers", config: `{"headers":["Content-Type: application/json","X-Mock: 1"],"data":"{}"}`, path: "/",
			wantStatus: 200, wantBody: "{}", wantHeader: [2]string{"content-type", "application/json"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := sdktest.Start(t, tc.config)
			s := h.NewStream()
			a := s.SendRequestHeaders(sdktest.Get(tc.path), true)
			lr := s.LocalResponse()
			if tc.wantStatus == 0 {
				if a != sdk.Continue || lr != nil {
					t.Fatalf("action %v, response %+v; want Continue, none", a, lr)
				}
				return
			}
			if a != sdk.Pause || lr == nil || lr.Status != tc.wantStatus || string(lr.Body) != tc.wantBody {
				t.Fatalf("action %v, response %+v; want Pause, %d %q", a, lr, tc.wantStatus, tc.wantBody)
			}
			if tc.wantHeader[0] != "" && lr.Header(tc.wantHeader[0]) != tc.wantHeader[1] {
				t.Errorf("header %s = %q; want %q", tc.wantHeader[0], lr.Header(tc.wantHeader[0]), tc.wantHeader[1])
			}
		})
	}
}

func TestMockDelay(t *testing.T) {
	h := sdktest.Start(t, `{"delay":"1s","data":"late"}`)
	first := h.NewStream()
	if a := first.SendRequestHeaders(sdktest.Get("/"), true); a != sdk.Pause || first.LocalResponse() != nil {
		t.Fatalf("delayed request: action %v, response %+v; want Pause and no answer yet", a, first.LocalResponse())
	}
	if h.TickPeriod() != 50*time.Millisecond {
		t.Fatalf("tick period %v; want 50ms", h.TickPeriod())
	}
	h.Advance(500 * time.Millisecond)
	second := h.NewStream()
	second.SendRequestHeaders(sdktest.Get("/"), true)
	gone := h.NewStream()
	gone.SendRequestHeaders(sdktest.Get("/"), true)
	gone.Complete() // the client left while waiting
	h.Advance(500 * time.Millisecond)
	if lr := first.LocalResponse(); lr == nil || string(lr.Body) != "late" {
		t.Fatalf("after 1s: first response %+v", lr)
	}
	if second.LocalResponse() != nil {
		t.Fatal("second request answered before its delay")
	}
	h.Advance(500 * time.Millisecond)
	if second.LocalResponse() == nil {
		t.Fatal("second request not answered after its delay")
	}
	if h.TickPeriod() != 0 {
		t.Errorf("tick period %v after the last answer; want 0 (timer stopped)", h.TickPeriod())
	}
	if msgs := h.LogMessages(sdk.LevelWarn); len(msgs) != 0 {
		t.Errorf("logged %v; a request that went away is not an error", msgs)
	}
}

func TestMockBadConfig(t *testing.T) {
	tests := []struct{ name, config, want string }{
		{name: "status range", config: `{"status":42}`, want: `key "status": must be between 100 and 999`},
		{name: "status type", config: `{"status":"200"}`, want: `key "status": want an integer`},
		{name: "delay", config: `{"delay":"soon"}`, want: `key "delay": invalid duration "soon"`},
		{name: "header line", config: `{"headers":["nocolon"]}`, want: `key "headers[0]"`},
		{name: "path", config: `{"path":"x"}`, want: `key "path": must start with /`},
		{name: "unknown", config: `{"body":"x"}`, want: `unknown key "body"`},
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
