package wasm_test

import (
	"context"
	"testing"
	"time"

	"github.com/sluice-proxy/sluice/host/config"
	"github.com/sluice-proxy/sluice/host/wasm"
	"github.com/sluice-proxy/sluice/host/wasm/wasmtest"
)

// A trusted module runs without the time budget: the same loop that gets
// its VM stopped when guarded runs to the end when trusted.
func TestTrustedModules(t *testing.T) {
	spin := guest(t, "spin")
	tests := []struct {
		name    string
		trusted []string
		want    wasm.Outcome
	}{
		{"guarded: the budget stops the loop", nil, wasm.Fail},
		{"trusted: the loop runs to the end", []string{"spin"}, wasm.Continue},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rt := newRuntime(t, nil, wasm.Options{CallTimeout: 100 * time.Millisecond, VMs: 1, TrustedModules: tc.trusted})
			set := load(t, rt, map[string]*config.Plugin{"spin": plug(spin, nil)})
			f := chain(t, set, "spin").NewFilter(wasmtest.NewStream("GET", "/", "example.com"))
			defer f.Done()
			if got := f.OnRequestHeaders(context.Background(), true); got.Outcome != tc.want {
				t.Errorf("outcome %v (%v); want %v", got.Outcome, got.Err, tc.want)
			}
		})
	}
}
