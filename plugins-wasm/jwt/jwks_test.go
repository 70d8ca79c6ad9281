package main

import (
	"strings"
	"testing"
	"time"

	"github.com/sluice-proxy/sluice/sdk"
	"github.com/sluice-proxy/sluice/sdk/sdktest"
)

// startJWKS configures the plugin with a key set and returns the host and
// the fetch it made while being configured.
func startJWKS(t *testing.T, config string) (*sdktest.Host, *sdktest.Call) {
	t.Helper()
	h := sdktest.Start(t, config, sdktest.WithNow(now))
	calls := h.HTTPCalls()
	if len(calls) != 1 {
		t.Fatalf("%d fetches when configured; want 1", len(calls))
	}
	return h, calls[0]
}

func answer(c *sdktest.Call, status int, body []byte) {
	c.Respond(sdktest.Response(status, "content-type", "application/json"), body, nil)
}

// onlyFetch returns the one fetch waiting, failing if there is not exactly
// one.
func onlyFetch(t *testing.T, h *sdktest.Host) *sdktest.Call {
	t.Helper()
	calls := h.HTTPCalls()
	if len(calls) != 1 {
		t.Fatalf("%d fetches waiting; want 1", len(calls))
	}
	return calls[0]
}

func noFetch(t *testing.T, h *sdktest.Host) {
	t.Helper()
	if calls := h.HTTPCalls(); len(calls) != 0 {
		t.Fatalf("%d fetches waiting; want none", len(calls))
	}
}

const jwksConfig = `{"header":"Authorization","jwks_url":"https://idp:8443/.well-known/jwks.json?v=1","jwks_ttl":"1m","jwks_cooldown":"5s"}`

// Issue 4: every asymmetric algorithm through a key set.
func TestJWKSAlgorithms(t *testing.T) {
	for _, alg := range allAlgs[3:] {
		t.Run(alg, func(t *testing.T) {
			good, wrong := signers(t, alg)
			h, fetch := startJWKS(t, jwksConfig)
			if fetch.Upstream != "idp" || fetch.Header(":path") != "/.well-known/jwks.json?v=1" ||
				fetch.Header(":authority") != "idp:8443" || fetch.Header(":method") != "GET" || fetch.Header(":scheme") != "https" {
				t.Fatalf("fetch to %q with %q; want upstream idp, GET /.well-known/jwks.json?v=1, Host idp:8443", fetch.Upstream, fetch.Headers)
			}
			answer(fetch, 200, jwksJSON(wrong.jwk("old", ""), good.jwk("k1", alg)))
			tests := []struct{ name, tok, want string }{
				{name: "kid", tok: good.token(t, valid(), map[string]any{"kid": "k1"})},
				{name: "no kid: every key is tried", tok: good.token(t, valid(), nil)},
				{name: "kid of another key", tok: good.token(t, valid(), map[string]any{"kid": "old"}), want: "Jwt authorization is invalid"},
				{name: "wrong key", tok: wrong.token(t, valid(), map[string]any{"kid": "k1"}), want: "Jwt authorization is invalid"},
				{name: "expired", tok: good.token(t, map[string]any{"exp": now.Unix() - 1}, map[string]any{"kid": "k1"}), want: "Jwt authorization is expired"},
			}
			for _, tc := range tests {
				lr, _ := decide(t, h, bearerReq(tc.tok))
				switch {
				case tc.want == "" && lr != nil:
					t.Errorf("%s: refused %d %q; want passed on", tc.name, lr.Status, lr.Body)
				case tc.want != "" && (lr == nil || string(lr.Body) != tc.want):
					t.Errorf("%s: response %+v; want 401 %q", tc.name, lr, tc.want)
				}
			}
			// An HMAC token never passes with a key set, even with a kid.
			hs := signer{alg: "HS256", secret: []byte("k1")}
			if lr, _ := decide(t, h, bearerReq(hs.token(t, valid(), map[string]any{"kid": "k1"}))); lr == nil {
				t.Error("HS256 token passed with a key set")
			}
		})
	}
}

// hour are claims valid for an hour from now.
func hour() map[string]any { return map[string]any{"sub": "alice", "exp": now.Unix() + 3600} }

// Issue 4: key rotation: a token with an unknown kid makes the plugin
// fetch the set again (at most once per cooldown), and so does the TTL.
func TestJWKSRotation(t *testing.T) {
	k1, _ := signers(t, "RS256")
	k2, _ := signers(t, "ES256")
	h, fetch := startJWKS(t, jwksConfig)

	// A request before the first answer waits for it.
	early := h.NewStream()
	if a := early.SendRequestHeaders(bearerReq(k1.token(t, hour(), map[string]any{"kid": "k1"})), true); a != sdk.Pause {
		t.Fatalf("request before the keys: action %v; want Pause", a)
	}
	answer(fetch, 200, jwksJSON(k1.jwk("k1", "RS256")))
	if early.LocalResponse() != nil || early.Resumed(0) != 1 {
		t.Fatalf("early request: response %+v, resumed %d; want resumed", early.LocalResponse(), early.Resumed(0))
	}

	// Within the cooldown an unknown kid is refused without a fetch.
	tok2 := k2.token(t, hour(), map[string]any{"kid": "k2"})
	if lr, _ := decide(t, h, bearerReq(tok2)); lr == nil || lr.Status != 401 {
		t.Fatalf("unknown kid in the cooldown: response %+v; want 401", lr)
	}
	noFetch(t, h)

	// After it, the unknown kid fetches the set again; the request waits.
	h.Advance(5 * time.Second)
	rotated := h.NewStream()
	if a := rotated.SendRequestHeaders(bearerReq(tok2), true); a != sdk.Pause {
		t.Fatalf("unknown kid: action %v; want Pause for a fetch", a)
	}
	other := h.NewStream() // a second one joins the same fetch
	other.SendRequestHeaders(bearerReq(tok2), true)
	known := h.NewStream() // a known kid does not wait
	if a := known.SendRequestHeaders(bearerReq(k1.token(t, hour(), map[string]any{"kid": "k1"})), true); a != sdk.Continue {
		t.Fatalf("known kid during a fetch: action %v; want Continue", a)
	}
	answer(onlyFetch(t, h), 200, jwksJSON(k2.jwk("k2", "")))
	for _, s := range []*sdktest.Stream{rotated, other} {
		if s.LocalResponse() != nil || s.Resumed(0) != 1 {
			t.Fatalf("rotated key: response %+v, resumed %d; want resumed", s.LocalResponse(), s.Resumed(0))
		}
	}
	// k1 left the set.
	if lr, _ := decide(t, h, bearerReq(k1.token(t, hour(), map[string]any{"kid": "k1"}))); lr == nil {
		t.Fatal("a key that left the set still passes")
	}
	noFetch(t, h) // in the cooldown again

	// After the TTL the set is fetched again before deciding.
	h.Advance(time.Minute)
	late := h.NewStream()
	if a := late.SendRequestHeaders(bearerReq(tok2), true); a != sdk.Pause {
		t.Fatalf("after the TTL: action %v; want Pause for a fetch", a)
	}
	// A failed fetch keeps the keys there were.
	onlyFetch(t, h).Fail()
	if late.LocalResponse() != nil || late.Resumed(0) != 1 {
		t.Fatalf("after a failed fetch: response %+v; want passed on with the old keys", late.LocalResponse())
	}
	if !contains(h.LogMessages(sdk.LevelWarn), "keeping the keys there were") {
		t.Errorf("warnings %q; want the failed fetch reported", h.LogMessages(sdk.LevelWarn))
	}
	// ... and the next fetch waits for the cooldown.
	if lr, _ := decide(t, h, bearerReq(tok2)); lr != nil {
		t.Fatalf("stale keys in the cooldown: refused %+v", lr)
	}
	noFetch(t, h)
}

func TestJWKSUnavailable(t *testing.T) {
	k1, _ := signers(t, "RS256")
	h, fetch := startJWKS(t, `{"header":"Authorization","jwks_url":"http://idp/keys","jwks_cooldown":"1s"}`)
	waiting := h.NewStream()
	waiting.SendRequestHeaders(bearerReq(k1.token(t, valid(), nil)), true)
	answer(fetch, 500, []byte("oops"))
	if lr := waiting.LocalResponse(); lr == nil || lr.Status != 503 || string(lr.Body) != "Jwt signing keys are unavailable" {
		t.Fatalf("no keys ever: response %+v; want 503", lr)
	}
	if !contains(h.LogMessages(sdk.LevelWarn), "status 500") {
		t.Errorf("warnings %q; want the status reported", h.LogMessages(sdk.LevelWarn))
	}
	h.Advance(time.Second)
	s := h.NewStream()
	s.SendRequestHeaders(bearerReq(k1.token(t, valid(), nil)), true)
	answer(onlyFetch(t, h), 200, []byte(`{"keys":[]}`))
	if lr := s.LocalResponse(); lr == nil || lr.Status != 503 {
		t.Fatalf("empty key set: response %+v; want 503", lr)
	}
	if !contains(h.LogMessages(sdk.LevelWarn), "no RSA or EC signing key") {
		t.Errorf("warnings %q; want the empty set reported", h.LogMessages(sdk.LevelWarn))
	}
}

func TestJWKSUpstream(t *testing.T) {
	h := sdktest.Start(t, `{"header":"Authorization","jwks_url":"http://10.1.2.3:8080/keys","jwks_upstream":"idp"}`, sdktest.WithUpstreams("idp"))
	c := onlyFetch(t, h)
	if c.Upstream != "idp" || c.Header(":authority") != "10.1.2.3:8080" || c.Header(":path") != "/keys" {
		t.Errorf("fetch to %q with %q; want upstream idp, Host 10.1.2.3:8080, /keys", c.Upstream, c.Headers)
	}
}

// Issue 4: a key set from an upstream that is not configured fails the
// configuration, at load.
func TestJWKSUnknownUpstream(t *testing.T) {
	err := sdktest.New(t, sdktest.WithUpstreams("idp")).Configure(`{"header":"Authorization","jwks_url":"http://keys.example/jwks.json"}`)
	if err == nil || !strings.Contains(err.Error(), `key "jwks_url": cannot fetch from upstream "keys.example" (is there an [upstreams.keys.example]?)`) {
		t.Fatalf("Configure = %v; want the unknown upstream named", err)
	}
}

// With algorithm set, a key set only verifies that algorithm.
func TestJWKSAlgorithm(t *testing.T) {
	rs, _ := signers(t, "RS256")
	ps := signer{alg: "PS256", rsa: rs.rsa}
	h, fetch := startJWKS(t, `{"header":"Authorization","jwks_url":"http://idp/keys","algorithm":"PS256"}`)
	answer(fetch, 200, jwksJSON(rs.jwk("k", "")))
	if lr, _ := decide(t, h, bearerReq(ps.token(t, valid(), nil))); lr != nil {
		t.Errorf("PS256 refused %+v; want passed on", lr)
	}
	if lr, _ := decide(t, h, bearerReq(rs.token(t, valid(), nil))); lr == nil {
		t.Error("RS256 passed; only PS256 is configured")
	}
}

func TestParseJWKS(t *testing.T) {
	rs, _ := signers(t, "RS256")
	es, _ := signers(t, "ES384")
	enc := rs.jwk("enc", "")
	enc["use"] = "enc"
	oct := map[string]any{"kty": "oct", "k": "c2VjcmV0", "kid": "hmac"}
	mismatched := rs.jwk("es-on-rsa", "ES256")
	unknownAlg := es.jwk("eddsa", "EdDSA")
	badE := rs.jwk("bad-e", "")
	badE["e"] = "AA"
	shortX := es.jwk("short", "")
	shortX["x"] = "AAAA"
	tests := []struct {
		name     string
		doc      string
		wantKids []string
		wantErr  string
	}{
		{name: "usable keys only", doc: string(jwksJSON(enc, oct, mismatched, unknownAlg, rs.jwk("r", "RS256"), es.jwk("e", ""))), wantKids: []string{"r", "e"}},
		{name: "not JSON", doc: `keys`, wantErr: "invalid JSON"},
		{name: "no keys array", doc: `{"keys":{}}`, wantErr: `want an object with a "keys" array`},
		{name: "key not an object", doc: `{"keys":[1]}`, wantErr: "keys[0]: want an object"},
		{name: "bad RSA exponent", doc: string(jwksJSON(badE)), wantErr: "keys[0]: bad RSA exponent"},
		{name: "RSA without n", doc: `{"keys":[{"kty":"RSA","e":"AQAB"}]}`, wantErr: `keys[0]: missing "n"`},
		{name: "n not base64url", doc: `{"keys":[{"kty":"RSA","n":"a+b","e":"AQAB"}]}`, wantErr: `"n" is not base64url`},
		{name: "EC coordinates", doc: string(jwksJSON(shortX)), wantErr: "keys[0]: coordinates of the wrong size"},
		{name: "EC curve", doc: `{"keys":[{"kty":"EC","crv":"P-192","x":"AA","y":"AA"}]}`, wantErr: `unsupported "crv"`},
		{name: "EC point off the curve", doc: `{"keys":[{"kty":"EC","crv":"P-256","x":"` + b64u(make([]byte, 32)) + `","y":"` + b64u(make([]byte, 32)) + `"}]}`, wantErr: "keys[0]"},
		{name: "nothing usable", doc: string(jwksJSON(enc, oct)), wantErr: "no RSA or EC signing key"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			keys, err := parseJWKS([]byte(tc.doc))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("parseJWKS = %v; want error %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var kids []string
			for _, k := range keys {
				kids = append(kids, k.kid)
			}
			if strings.Join(kids, ",") != strings.Join(tc.wantKids, ",") {
				t.Errorf("kids %q; want %q", kids, tc.wantKids)
			}
		})
	}
}

// FuzzParseJWKS checks that no key set makes the parser panic, and that
// what it returns can verify something.
func FuzzParseJWKS(f *testing.F) {
	rs, _ := signers(f, "RS256")
	es, _ := signers(f, "ES256")
	f.Add(string(jwksJSON(rs.jwk("a", "RS256"), es.jwk("b", ""))))
	f.Add(`{"keys":[{"kty":"EC","crv":"P-256","x":"AA","y":"AA"}]}`)
	f.Add(`{"keys":[{"kty":"RSA","n":"AQAB","e":"AQAB"}]}`)
	f.Add(`{"keys":[]}`)
	f.Fuzz(func(t *testing.T, doc string) {
		keys, err := parseJWKS([]byte(doc))
		if err != nil {
			return
		}
		for _, k := range keys {
			if (k.rsa == nil) == (k.ec == nil) {
				t.Fatalf("key %+v has not exactly one of RSA and EC", k)
			}
		}
	})
}

// FuzzParsePublicKey checks the DER reader on arbitrary PEM contents.
func FuzzParsePublicKey(f *testing.F) {
	rs, _ := signers(f, "RS256")
	es, _ := signers(f, "ES512")
	f.Add(rs.publicPEM(f))
	f.Add(es.publicPEM(f))
	f.Add("-----BEGIN RSA PUBLIC KEY-----\nMAA=\n-----END RSA PUBLIC KEY-----\n")
	f.Fuzz(func(t *testing.T, text string) {
		k, err := parsePublicKey(text)
		if err == nil && (k.rsa == nil) == (k.ec == nil) {
			t.Fatalf("key %+v has not exactly one of RSA and EC", k)
		}
	})
}

// FuzzParseToken checks that no token makes the parser panic and that a
// token it accepts keeps the signed part intact.
func FuzzParseToken(f *testing.F) {
	hs, _ := signers(f, "HS256")
	f.Add(hs.token(f, valid(), nil))
	f.Add("a.b.c")
	f.Add("eyJhbGciOiJub25lIn0.e30.")
	f.Add("..")
	f.Fuzz(func(t *testing.T, s string) {
		tok, why := parseToken(s)
		if why != nil {
			return
		}
		if !strings.HasPrefix(s, tok.signed+".") || tok.alg == nil {
			t.Fatalf("parseToken(%q) = %+v; signed part not a prefix", s, tok)
		}
		tok.checkClaims(now) // must not panic either
		if tok.raw != s {
			t.Fatalf("raw %q; want %q", tok.raw, s)
		}
	})
}
