package sdk

import (
	"testing"

	"github.com/sluice-proxy/sluice/abi"
)

type onlyReqHeaders struct{}

func (onlyReqHeaders) OnRequestHeaders(Request) Action { return Continue }

type respBodyAndLog struct{}

func (respBodyAndLog) OnResponseBody(Request, int, bool) Action { return Continue }
func (respBodyAndLog) OnLog(Request)                            {}

type perStream struct{}

func (perStream) NewStream(Request) any { return nil }

func TestCallbacksOf(t *testing.T) {
	tests := []struct {
		name   string
		plugin any
		want   abi.StreamCallbacks
	}{
		{"no handlers: no stream contexts at all", struct{}{}, 0},
		{"request headers only", onlyReqHeaders{}, abi.StreamRequestHeaders},
		{"a body handler brings its headers callback", respBodyAndLog{}, abi.StreamResponseHeaders | abi.StreamResponseBody | abi.StreamLog},
		{"per-stream handlers: everything", perStream{}, abi.StreamAll},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := callbacksOf(tc.plugin); got != tc.want {
				t.Errorf("callbacksOf = %08b; want %08b", got, tc.want)
			}
		})
	}
}
