package wasmtest

import (
	"testing"

	"github.com/sluice-proxy/sluice/host/wasm"
)

func TestStreamConforms(t *testing.T) {
	CheckStream(t, func() wasm.Stream {
		return NewStream("GET", "/check?x=1", "example.com", [2]string{"X-Dup", "1"}, [2]string{"x-dup", "2"})
	})
}
