package main

import (
	"strings"
	"testing"

	"github.com/sluice-proxy/sluice/sdk"
	"github.com/sluice-proxy/sluice/sdk/sdktest"
)

func TestNoop(t *testing.T) {
	h := sdktest.Start(t, `{}`)
	s := h.NewStream()
	steps := []struct {
		name string
		run  func() sdk.Action
	}{
		{"request headers", func() sdk.Action { return s.SendRequestHeaders(sdktest.Request("POST", "/", "x"), false) }},
		{"request body", func() sdk.Action { return s.SendRequestBody([]byte("abc"), true) }},
		{"response headers", func() sdk.Action { return s.SendResponseHeaders(sdktest.Response(200), false) }},
		{"response body", func() sdk.Action { return s.SendResponseBody([]byte("def"), true) }},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			if a := st.run(); a != sdk.Continue {
				t.Fatalf("action %v; want Continue", a)
			}
		})
	}
	s.Complete()
	if string(s.RequestBody()) != "abc" || string(s.ResponseBody()) != "def" || len(h.Logs()) != 0 {
		t.Errorf("noop changed something: bodies %q %q, logs %v", s.RequestBody(), s.ResponseBody(), h.Logs())
	}
}

func TestNoopRefusesParameters(t *testing.T) {
	err := sdktest.New(t).Configure(`{"path":"/x"}`)
	if err == nil || !strings.Contains(err.Error(), `unknown key "path"`) {
		t.Fatalf("Configure = %v; want unknown key \"path\"", err)
	}
}
