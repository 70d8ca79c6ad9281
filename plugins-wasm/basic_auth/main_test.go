package main

import (
	"crypto/sha256"
	"encoding/base64"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/sluice-proxy/sluice/sdk"
	"github.com/sluice-proxy/sluice/sdk/sdktest"
)

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

var (
	alice  = b64("alice:wonderland")
	bob    = b64("bob:builder:with:colons")
	config = `{"authorizations":["` + alice + `","` + bob + `"]}`
)

func TestBasicAuth(t *testing.T) {
	tests := []struct {
		name     string
		config   string
		auth     []string // Authorization header values sent
		want     int      // 0: passed on
		wantBody string
		wantAuth string // Authorization the upstream gets, when passed on
	}{
		{name: "first user", config: config, auth: []string{"Basic " + alice}, wantAuth: "Basic " + alice},
		{name: "second user", config: config, auth: []string{"Basic " + bob}, wantAuth: "Basic " + bob},
		{name: "scheme is case-insensitive", config: config, auth: []string{"basic  " + alice}, wantAuth: "basic  " + alice},
		{name: "hide_credentials", config: `{"hide_credentials":true,"authorizations":["` + alice + `"]}`,
			auth: []string{"Basic " + alice}, wantAuth: ""},
		{name: "missing", config: config, want: 401, wantBody: "Authorization is missing"},
		{name: "empty", config: config, auth: []string{""}, want: 401, wantBody: "Authorization is missing"},
		{name: "wrong password", config: config, auth: []string{"Basic " + b64("alice:wonderlant")}, want: 401, wantBody: "Invalid user or password"},
		{name: "password of another user", config: config, auth: []string{"Basic " + b64("alice:builder:with:colons")}, want: 401, wantBody: "Invalid user or password"},
		{name: "prefix of a password", config: config, auth: []string{"Basic " + b64("alice:wonder")}, want: 401, wantBody: "Invalid user or password"},
		{name: "other scheme", config: config, auth: []string{"Bearer " + alice}, want: 401, wantBody: "Invalid user or password"},
		{name: "no credentials after the scheme", config: config, auth: []string{"Basic"}, want: 401, wantBody: "Invalid user or password"},
		{name: "broken base64", config: config, auth: []string{"Basic " + alice[:len(alice)-1] + "*"}, want: 401, wantBody: "Invalid user or password"},
		{name: "too long", config: config, auth: []string{"Basic " + b64("alice:"+strings.Repeat("x", 600))}, want: 401, wantBody: "Invalid user or password"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := sdktest.Start(t, tc.config)
			s := h.NewStream()
			var extra []string
			for _, a := range tc.auth {
				extra = append(extra, "Authorization", a)
			}
			a := s.SendRequestHeaders(sdktest.Get("/private", extra...), true)
			lr := s.LocalResponse()
			if tc.want == 0 {
				if a != sdk.Continue || lr != nil {
					t.Fatalf("action %v, response %+v; want the request passed on", a, lr)
				}
				if got := s.RequestHeader("authorization"); got != tc.wantAuth {
					t.Errorf("upstream Authorization = %q; want %q", got, tc.wantAuth)
				}
				return
			}
			if lr == nil || lr.Status != tc.want || string(lr.Body) != tc.wantBody {
				t.Fatalf("response %+v; want %d %q", lr, tc.want, tc.wantBody)
			}
			if got, want := lr.Header("www-authenticate"), `Basic realm="Access to the staging site"`; got != want {
				t.Errorf("WWW-Authenticate = %q; want %q", got, want)
			}
		})
	}
}

func TestBasicAuthRealm(t *testing.T) {
	h := sdktest.Start(t, `{"realm":"staff only","authorizations":["`+alice+`"]}`)
	s := h.NewStream()
	s.SendRequestHeaders(sdktest.Get("/"), true)
	if lr := s.LocalResponse(); lr == nil || lr.Header("www-authenticate") != `Basic realm="staff only"` {
		t.Fatalf("response %+v; want the configured realm", lr)
	}
}

func TestBasicAuthDelay(t *testing.T) {
	h := sdktest.Start(t, `{"delay":"1s","step":"request","authorizations":["`+alice+`"]}`)

	bad := h.NewStream()
	if a := bad.SendRequestHeaders(sdktest.Get("/", "authorization", "Basic "+b64("alice:guess")), true); a != sdk.Pause || bad.LocalResponse() != nil {
		t.Fatalf("failed attempt: action %v, response %+v; want Pause and no answer yet", a, bad.LocalResponse())
	}
	missing := h.NewStream()
	missing.SendRequestHeaders(sdktest.Get("/"), true)
	if lr := missing.LocalResponse(); lr == nil || lr.Status != 401 {
		t.Fatalf("missing credentials: response %+v; want 401 at once (no delay without an attempt)", lr)
	}
	good := h.NewStream()
	if a := good.SendRequestHeaders(sdktest.Get("/", "authorization", "Basic "+alice), true); a != sdk.Continue {
		t.Fatalf("good credentials: action %v; want Continue at once", a)
	}
	gone := h.NewStream()
	gone.SendRequestHeaders(sdktest.Get("/", "authorization", "Basic "+b64("alice:again")), true)
	gone.Complete() // the client gave up while waiting

	h.Advance(950 * time.Millisecond)
	if bad.LocalResponse() != nil {
		t.Fatal("failed attempt answered before the delay")
	}
	h.Advance(100 * time.Millisecond)
	if lr := bad.LocalResponse(); lr == nil || lr.Status != 401 || string(lr.Body) != "Invalid user or password" {
		t.Fatalf("after the delay: response %+v; want 401", lr)
	}
	if h.TickPeriod() != 0 {
		t.Errorf("tick period %v with nothing waiting; want 0", h.TickPeriod())
	}
	if msgs := h.LogMessages(sdk.LevelWarn); len(msgs) != 0 {
		t.Errorf("logged %q; a client that went away is not an error", msgs)
	}
}

func TestBasicAuthNeverLogsSecrets(t *testing.T) {
	h := sdktest.Start(t, config, sdktest.WithLogLevel(sdk.LevelTrace))
	for _, a := range []string{"Basic " + alice, "Basic " + b64("alice:guess"), "Basic %%%"} {
		s := h.NewStream()
		s.SendRequestHeaders(sdktest.Get("/", "authorization", a), true)
		s.Complete()
	}
	for _, l := range h.Logs() {
		for _, secret := range []string{"wonderland", "guess", alice} {
			if strings.Contains(l.Message, secret) {
				t.Errorf("log %q contains a secret", l.Message)
			}
		}
	}
}

func TestBasicAuthBadConfig(t *testing.T) {
	secret := b64("nocolonpassword")
	tests := []struct{ name, config, want string }{
		{name: "no authorizations", config: `{}`, want: `key "authorizations": required`},
		{name: "empty authorizations", config: `{"authorizations":[]}`, want: `key "authorizations": must not be empty`},
		{name: "authorizations type", config: `{"authorizations":"` + alice + `"}`, want: `key "authorizations": want an array of strings`},
		{name: "not base64", config: `{"authorizations":["` + alice + `","a:b"]}`, want: `key "authorizations[1]": is not the base64 of "user:password"`},
		{name: "no colon", config: `{"authorizations":["` + secret + `"]}`, want: `key "authorizations[0]": is not the base64`},
		{name: "too long", config: `{"authorizations":["` + b64("u:"+strings.Repeat("p", 600)) + `"]}`, want: `key "authorizations[0]": is longer than 512 bytes`},
		{name: "delay", config: `{"delay":"soon","authorizations":["` + alice + `"]}`, want: `key "delay": invalid duration "soon"`},
		{name: "negative delay", config: `{"delay":"-1s","authorizations":["` + alice + `"]}`, want: `key "delay": invalid duration`},
		{name: "hide_credentials", config: `{"hide_credentials":"yes","authorizations":["` + alice + `"]}`, want: `key "hide_credentials": want true or false`},
		{name: "realm", config: `{"realm":"a\"b","authorizations":["` + alice + `"]}`, want: `key "realm": must be printable text`},
		{name: "step", config: `{"step":"response","authorizations":["` + alice + `"]}`, want: `key "step": basic_auth runs at the request step, not "response"`},
		{name: "unknown", config: `{"authorization":["` + alice + `"]}`, want: `unknown key "authorization" (did you mean "authorizations"?)`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := sdktest.New(t).Configure(tc.config)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Configure(%s) = %v; want %q", tc.config, err, tc.want)
			}
			if strings.Contains(err.Error(), secret) || strings.Contains(err.Error(), "wonderland") {
				t.Errorf("error %q shows a credential", err)
			}
		})
	}
}

func TestBasicAuthValidAllocs(t *testing.T) {
	p := &basicAuth{}
	for _, a := range []string{alice, bob} {
		d, _ := base64.StdEncoding.DecodeString(a)
		p.digests = append(p.digests, sha256.Sum256(d))
	}
	header := "Basic " + bob
	n := testing.AllocsPerRun(100, func() {
		if !p.valid(header) {
			t.Fatal("bob refused")
		}
	})
	if n != 0 {
		t.Errorf("valid allocates %v times per request; want 0", n)
	}
}

// A request that passes costs one crossing of the Wasm boundary: reading
// the Authorization header.
func TestBasicAuthHostCalls(t *testing.T) {
	h := sdktest.Start(t, config)
	s := h.NewStream()
	h.ResetHostCalls()
	s.SendRequestHeaders(sdktest.Get("/", "authorization", "Basic "+alice), true)
	if got, want := h.HostCalls(), map[string]int{"proxy_get_header_map_value": 1}; !reflect.DeepEqual(got, want) {
		t.Errorf("host calls %v; want %v", got, want)
	}
}
