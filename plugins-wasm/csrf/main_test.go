package main

import (
	"crypto/sha256"
	"encoding/base64"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sluice-proxy/sluice/sdk"
	"github.com/sluice-proxy/sluice/sdk/sdktest"
)

const secret = "WjrXUG47wu"

var t0 = time.Unix(1_700_000_000, 0)

// pingapToken builds a token the way Pingap does, independently of the
// plugin: ID.hex(ts).base64(sha256(ID.hex(ts) + key)).
func pingapToken(id string, ts int64, key string) string {
	prefix := id + "." + strconv.FormatInt(ts, 16)
	sum := sha256.Sum256([]byte(prefix + key))
	return prefix + "." + base64.StdEncoding.EncodeToString(sum[:])
}

var tokenShape = regexp.MustCompile(`^[A-Za-z0-9_-]{12}\.[0-9a-f]+\.[A-Za-z0-9+/]{43}=$`)

func TestIssue(t *testing.T) {
	tests := []struct {
		name, config, method, path string
		cookie, maxAge             string
	}{
		{name: "default name, no ttl", config: `{"token_path":"/csrf-token","key":"` + secret + `"}`,
			method: "GET", path: "/csrf-token", cookie: "x-csrf-token"},
		{name: "ttl sets max-age", config: `{"token_path":"/csrf-token","key":"` + secret + `","ttl":"1h"}`,
			method: "GET", path: "/csrf-token?x=1", cookie: "x-csrf-token", maxAge: "3600"},
		{name: "custom name, any method", config: `{"token_path":"/t","key":"` + secret + `","name":"X-Token"}`,
			method: "POST", path: "/t", cookie: "X-Token"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := sdktest.Start(t, tc.config, sdktest.WithNow(t0))
			s := h.NewStream()
			if a := s.SendRequestHeaders(sdktest.Request(tc.method, tc.path, "example.com"), true); a != sdk.Pause {
				t.Fatalf("action %v; want Pause", a)
			}
			lr := s.LocalResponse()
			if lr == nil || lr.Status != 204 || lr.Header("cache-control") != "no-store" || len(lr.Body) != 0 {
				t.Fatalf("response %+v; want 204, no-store, no body", lr)
			}
			parts := strings.Split(lr.Header("set-cookie"), "; ")
			name, token, _ := strings.Cut(parts[0], "=")
			if name != tc.cookie || !tokenShape.MatchString(token) || len(token) != 66 {
				t.Fatalf("set-cookie %q; want %s=<66-char token>", lr.Header("set-cookie"), tc.cookie)
			}
			want := []string{"Path=/"}
			if tc.maxAge != "" {
				want = append(want, "Max-Age="+tc.maxAge)
			}
			if strings.Join(parts[1:], "; ") != strings.Join(want, "; ") {
				t.Errorf("cookie attributes %q; want %q", parts[1:], want)
			}
			id, _, _ := strings.Cut(token, ".")
			if again := pingapToken(id, t0.Unix(), secret); token != again {
				t.Errorf("token %q; Pingap's formula gives %q", token, again)
			}
		})
	}
}

func TestTokensAreRandom(t *testing.T) {
	h := sdktest.Start(t, `{"token_path":"/t","key":"k"}`)
	seen := map[string]bool{}
	for range 50 {
		s := h.NewStream()
		s.SendRequestHeaders(sdktest.Get("/t"), true)
		c := s.LocalResponse().Header("set-cookie")
		if seen[c] {
			t.Fatalf("token issued twice: %s", c)
		}
		seen[c] = true
	}
}

func TestCheck(t *testing.T) {
	good := pingapToken("abcdefghijkl", t0.Unix()-100, secret)
	tests := []struct {
		name, config, method string
		header, cookie       string // "" leaves it out
		at                   time.Time
		refused              bool
	}{
		{name: "GET passes without a token", method: "GET"},
		{name: "HEAD passes", method: "HEAD"},
		{name: "OPTIONS passes", method: "OPTIONS"},
		{name: "POST without a token", method: "POST", refused: true},
		{name: "POST with a valid token", method: "POST", header: good, cookie: good},
		{name: "DELETE with a valid token", method: "DELETE", header: good, cookie: good},
		{name: "header only", method: "POST", header: good, refused: true},
		{name: "cookie only", method: "PUT", cookie: good, refused: true},
		{name: "header and cookie differ", method: "POST", header: good,
			cookie: pingapToken("abcdefghijkm", t0.Unix()-100, secret), refused: true},
		{name: "signed with another key", method: "POST",
			header: pingapToken("abcdefghijkl", t0.Unix(), "other"), cookie: pingapToken("abcdefghijkl", t0.Unix(), "other"), refused: true},
		{name: "tampered timestamp", method: "POST",
			header: strings.Replace(good, ".", ".1", 1), cookie: strings.Replace(good, ".", ".1", 1), refused: true},
		{name: "extra part", method: "POST", header: good + ".1", cookie: good + ".1", refused: true},
		{name: "not a token", method: "PATCH", header: "abc", cookie: "abc", refused: true},
		{name: "within ttl", config: `"ttl":"2m",`, method: "POST", header: good, cookie: good},
		{name: "expired", config: `"ttl":"1m",`, method: "POST", header: good, cookie: good, refused: true},
		{name: "no ttl: old tokens live", method: "POST", header: good, cookie: good, at: t0.Add(1000 * time.Hour)},
		{name: "custom name", config: `"name":"X-Token",`, method: "POST", header: good, cookie: good},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			at := tc.at
			if at.IsZero() {
				at = t0
			}
			h := sdktest.Start(t, `{`+tc.config+`"token_path":"/csrf-token","key":"`+secret+`"}`, sdktest.WithNow(at))
			name := "x-csrf-token"
			if strings.Contains(tc.config, "X-Token") {
				name = "X-Token"
			}
			var extra []string
			if tc.header != "" {
				extra = append(extra, name, tc.header)
			}
			if tc.cookie != "" {
				extra = append(extra, "cookie", "session=1; "+name+"="+tc.cookie)
			}
			s := h.NewStream()
			a := s.SendRequestHeaders(sdktest.Request(tc.method, "/api/x", "example.com", extra...), true)
			lr := s.LocalResponse()
			if !tc.refused {
				if a != sdk.Continue || lr != nil {
					t.Fatalf("action %v, response %+v; want to pass", a, lr)
				}
				return
			}
			if a != sdk.Pause || lr == nil || lr.Status != 401 || string(lr.Body) != "Csrf token is empty or invalid" {
				t.Fatalf("action %v, response %+v; want 401", a, lr)
			}
		})
	}
}

// A token the plugin issued is accepted back, and the secret is never
// logged.
func TestRoundTrip(t *testing.T) {
	h := sdktest.Start(t, `{"token_path":"/csrf-token","key":"`+secret+`","ttl":"10m"}`, sdktest.WithNow(t0))
	s := h.NewStream()
	s.SendRequestHeaders(sdktest.Get("/csrf-token"), true)
	_, token, _ := strings.Cut(strings.Split(s.LocalResponse().Header("set-cookie"), ";")[0], "=")
	h.SetNow(t0.Add(9 * time.Minute))
	s = h.NewStream()
	if a := s.SendRequestHeaders(sdktest.Request("POST", "/x", "example.com", "x-csrf-token", token, "cookie", "x-csrf-token="+token), true); a != sdk.Continue {
		t.Fatalf("own token refused: %+v", s.LocalResponse())
	}
	h.SetNow(t0.Add(11 * time.Minute))
	s = h.NewStream()
	if a := s.SendRequestHeaders(sdktest.Request("POST", "/x", "example.com", "x-csrf-token", token, "cookie", "x-csrf-token="+token), true); a != sdk.Pause {
		t.Fatal("expired own token accepted")
	}
	for _, l := range h.Logs() {
		if strings.Contains(l.Message, secret) {
			t.Errorf("the key was logged: %q", l.Message)
		}
	}
}

func TestCSRFBadConfig(t *testing.T) {
	tests := []struct{ name, config, want string }{
		{"token_path required", `{"key":"k"}`, `key "token_path": required`},
		{"token_path relative", `{"key":"k","token_path":"t"}`, `key "token_path": must start with /`},
		{"key required", `{"token_path":"/t"}`, `key "key": required`},
		{"bad name", `{"token_path":"/t","key":"k","name":"x token"}`, `key "name": "x token" is not a valid header and cookie name`},
		{"bad ttl", `{"token_path":"/t","key":"k","ttl":"1a"}`, `key "ttl": invalid duration`},
		{"sub-second ttl", `{"token_path":"/t","key":"k","ttl":"500ms"}`, `key "ttl": must be at least 1s`},
		{"unknown", `{"token_path":"/t","key":"k","secret":"x"}`, `unknown key "secret"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := sdktest.New(t).Configure(tc.config)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Configure(%s) = %v; want %q", tc.config, err, tc.want)
			}
			if strings.Contains(err.Error(), `"k"`) {
				t.Errorf("error shows the key: %v", err)
			}
		})
	}
}
