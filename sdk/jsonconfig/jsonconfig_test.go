package jsonconfig_test

import (
	"strings"
	"testing"

	"github.com/sluice-proxy/sluice/sdk"
	"github.com/sluice-proxy/sluice/sdk/jsonconfig"
	"github.com/sluice-proxy/sluice/sdk/sdktest"
)

type config struct {
	Path    string   `json:"path"`
	Status  int      `json:"status"`
	Headers []string `json:"headers"`
	Nested  struct {
		On bool `json:"on"`
	} `json:"nested"`
}

func TestDecode(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    config
		wantErr string
	}{
		{name: "empty", in: "", want: config{Status: 200}},
		{name: "values", in: `{"path":"/p","status":404,"headers":["a: b"],"nested":{"on":true}}`,
			want: config{Path: "/p", Status: 404, Headers: []string{"a: b"}, Nested: struct {
				On bool `json:"on"`
			}{On: true}}},
		{name: "unknown key", in: `{"pth":"/p"}`, wantErr: `unknown key "pth"`},
		{name: "wrong type", in: `{"status":"x"}`, wantErr: `key "status": want int, got string`},
		{name: "nested wrong type", in: `{"nested":{"on":1}}`, wantErr: `key "nested.on": want bool, got number`},
		{name: "not an object", in: `[1]`, wantErr: `want a JSON object, got array`},
		{name: "syntax", in: `{"a":`, wantErr: `configuration: `},
		{name: "trailing data", in: `{} {}`, wantErr: `unexpected data after the JSON object`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := config{Status: 200}
			err := jsonconfig.Decode([]byte(tc.in), &got)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("Decode(%s) = %v; want %q", tc.in, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Path != tc.want.Path || got.Status != tc.want.Status || strings.Join(got.Headers, ",") != strings.Join(tc.want.Headers, ",") || got.Nested != tc.want.Nested {
				t.Errorf("Decode(%s) = %+v; want %+v", tc.in, got, tc.want)
			}
		})
	}
}

type echo struct{ cfg *config }

func (e *echo) OnRequestHeaders(r sdk.Request) sdk.Action {
	r.Respond(e.cfg.Status, nil, []byte(e.cfg.Path))
	return sdk.Pause
}

func TestRegister(t *testing.T) {
	jsonconfig.Register(func(c *config) (sdk.Plugin, error) { return &echo{cfg: c}, nil })
	t.Run("configured", func(t *testing.T) {
		h := sdktest.Start(t, `{"path":"/x","status":201}`)
		s := h.NewStream()
		s.SendRequestHeaders(sdktest.Get("/"), true)
		if lr := s.LocalResponse(); lr == nil || lr.Status != 201 || string(lr.Body) != "/x" {
			t.Fatalf("local response %+v", lr)
		}
	})
	t.Run("refused", func(t *testing.T) {
		err := sdktest.New(t).Configure(`{"stauts":1}`)
		if err == nil || !strings.Contains(err.Error(), `unknown key "stauts"`) {
			t.Fatalf("Configure = %v", err)
		}
	})
}
