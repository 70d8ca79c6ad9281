package sdktest_test

import (
	"testing"

	"github.com/sluice-proxy/sluice/sdk"
	"github.com/sluice-proxy/sluice/sdk/sdktest"
)

type setsUpstream struct{}

func (setsUpstream) OnRequestHeaders(r sdk.Request) sdk.Action {
	if err := r.SetProperty("sluice.upstream", []byte("canary")); err != nil {
		panic(err)
	}
	return sdk.Continue
}

func TestStreamProperty(t *testing.T) {
	sdk.Register(func([]byte) (sdk.Plugin, error) { return setsUpstream{}, nil })
	t.Cleanup(func() { sdk.Register(nil) }) // this test binary registers no plugin otherwise
	h := sdktest.Start(t, `{}`)
	s := h.NewStream()
	s.SetProperty("source.address", []byte("10.0.0.1:5"))
	if _, ok := s.Property("sluice.upstream"); ok {
		t.Fatal("property set before the plugin ran")
	}
	s.SendRequestHeaders(sdktest.Get("/"), true)
	tests := []struct{ path, want string }{
		{"sluice.upstream", "canary"},
		{"source.address", "10.0.0.1:5"},
	}
	for _, tc := range tests {
		t.Run(tc.path, func(t *testing.T) {
			if v, ok := s.Property(tc.path); !ok || string(v) != tc.want {
				t.Errorf("Property(%q) = %q, %v; want %q", tc.path, v, ok, tc.want)
			}
		})
	}
}
