package main

import (
	"crypto/hmac"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"strings"
	"testing"
	"time"

	"github.com/sluice-proxy/sluice/sdk"
	"github.com/sluice-proxy/sluice/sdk/sdktest"
)

var now = time.Unix(1_700_000_000, 0)

// valid are claims valid at now.
func valid() map[string]any {
	return map[string]any{"sub": "alice", "exp": now.Unix() + 60, "nbf": now.Unix() - 60}
}

// decide sends a request with headers and returns the local response (nil
// if the request was passed on) and the action.
func decide(t *testing.T, h *sdktest.Host, headers [][2]string) (*sdktest.LocalResponse, sdk.Action) {
	t.Helper()
	s := h.NewStream()
	a := s.SendRequestHeaders(headers, true)
	lr := s.LocalResponse()
	if lr == nil && a != sdk.Continue {
		t.Fatalf("action %v without a response; want Continue", a)
	}
	return lr, a
}

func bearerReq(tok string) [][2]string { return sdktest.Get("/api", "authorization", "Bearer "+tok) }

// configFor returns the config verifying tokens of alg made by good.
func configFor(t *testing.T, alg string, good signer) string {
	if alg[0] == 'H' {
		return `{"header":"Authorization","secret":` + quote(string(good.secret)) + `,"algorithm":"` + alg + `"}`
	}
	return `{"header":"Authorization","public_key":` + quote(good.publicPEM(t)) + `,"algorithm":"` + alg + `"}`
}

// Issue 4: every algorithm, with keys made here; expired and not yet
// valid tokens; a wrong key.
func TestJWTAlgorithms(t *testing.T) {
	for _, alg := range allAlgs {
		t.Run(alg, func(t *testing.T) {
			good, wrong := signers(t, alg)
			tampered := good.token(t, valid(), nil)
			parts := strings.Split(tampered, ".")
			parts[1] = b64u(mustJSON(map[string]any{"sub": "mallory", "exp": now.Unix() + 60}))
			tests := []struct {
				name, tok string
				want      string // "" passes
			}{
				{name: "valid", tok: good.token(t, valid(), nil)},
				{name: "no time claims", tok: good.token(t, map[string]any{"sub": "a"}, nil)},
				{name: "wrong key", tok: wrong.token(t, valid(), nil), want: "Jwt authorization is invalid"},
				{name: "tampered claims", tok: strings.Join(parts, "."), want: "Jwt authorization is invalid"},
				{name: "expired", tok: good.token(t, map[string]any{"exp": now.Unix() - 1}, nil), want: "Jwt authorization is expired"},
				{name: "expires this second", tok: good.token(t, map[string]any{"exp": now.Unix()}, nil), want: "Jwt authorization is expired"},
				{name: "not yet valid", tok: good.token(t, map[string]any{"nbf": now.Unix() + 1}, nil), want: "Jwt authorization is not yet valid"},
				{name: "valid from this second", tok: good.token(t, map[string]any{"nbf": now.Unix()}, nil)},
			}
			h := sdktest.Start(t, configFor(t, alg, good), sdktest.WithNow(now))
			for _, tc := range tests {
				lr, _ := decide(t, h, bearerReq(tc.tok))
				switch {
				case tc.want == "" && lr != nil:
					t.Errorf("%s: refused with %d %q; want passed on", tc.name, lr.Status, lr.Body)
				case tc.want != "" && (lr == nil || lr.Status != 401 || string(lr.Body) != tc.want):
					t.Errorf("%s: response %+v; want 401 %q", tc.name, lr, tc.want)
				case tc.want != "" && lr.Header("www-authenticate") != "Bearer":
					t.Errorf("%s: WWW-Authenticate %q; want Bearer", tc.name, lr.Header("www-authenticate"))
				}
			}
		})
	}
}

// Issue 4: "alg": "none" and algorithms other than the configured one are
// refused; in particular a public key is never used as an HMAC secret.
func TestJWTAlgorithmConfusion(t *testing.T) {
	rs, _ := signers(t, "RS256")
	pemText := rs.publicPEM(t)
	hs, _ := signers(t, "HS256")
	none := b64u([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + b64u(mustJSON(valid())) + "."
	noneSigned := none + b64u([]byte("x"))
	asHMAC := signer{alg: "HS256", secret: []byte(pemText)}
	tests := []struct {
		name, config, tok string
	}{
		{name: "none with a secret", config: `{"header":"Authorization","secret":"s"}`, tok: none},
		{name: "none with a signature", config: `{"header":"Authorization","secret":"s"}`, tok: noneSigned},
		{name: "none with a public key", config: `{"header":"Authorization","algorithm":"RS256","public_key":` + quote(pemText) + `}`, tok: none},
		{name: "public key as HMAC secret", config: `{"header":"Authorization","algorithm":"RS256","public_key":` + quote(pemText) + `}`,
			tok: asHMAC.token(t, valid(), nil)},
		{name: "HS512 when HS256 is configured", config: `{"header":"Authorization","secret":` + quote(string(hmacSecret)) + `}`,
			tok: signer{alg: "HS512", secret: hmacSecret}.token(t, valid(), nil)},
		{name: "PS256 when RS256 is configured", config: `{"header":"Authorization","algorithm":"RS256","public_key":` + quote(pemText) + `}`,
			tok: signer{alg: "PS256", rsa: rs.rsa}.token(t, valid(), nil)},
		{name: "unknown alg", config: `{"header":"Authorization","secret":"s"}`,
			tok: b64u([]byte(`{"alg":"HS257"}`)) + "." + b64u(mustJSON(valid())) + "." + b64u([]byte("sig"))},
		{name: "crit header", config: `{"header":"Authorization","secret":` + quote(string(hmacSecret)) + `}`,
			tok: hs.token(t, valid(), map[string]any{"crit": []string{"exp"}})},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := sdktest.Start(t, tc.config, sdktest.WithNow(now))
			if lr, _ := decide(t, h, bearerReq(tc.tok)); lr == nil || lr.Status != 401 || string(lr.Body) != "Jwt authorization is invalid" {
				t.Fatalf("response %+v; want 401 invalid", lr)
			}
		})
	}
}

func TestJWTSources(t *testing.T) {
	hs, _ := signers(t, "HS256")
	tok := hs.token(t, valid(), nil)
	bad := "x.y.z"
	secret := `"secret":` + quote(string(hmacSecret))
	tests := []struct {
		name, config string
		req          [][2]string
		want         string // "" passes
	}{
		{name: "header with Bearer", config: `{"header":"Authorization",` + secret + `}`, req: bearerReq(tok)},
		{name: "header, lower-case bearer", config: `{"header":"Authorization",` + secret + `}`, req: sdktest.Get("/", "authorization", "bearer "+tok)},
		{name: "header without Bearer", config: `{"header":"X-Token",` + secret + `}`, req: sdktest.Get("/", "x-token", tok)},
		{name: "header missing", config: `{"header":"Authorization",` + secret + `}`, req: sdktest.Get("/"), want: "Jwt authorization is missing"},
		{name: "Bearer alone", config: `{"header":"Authorization",` + secret + `}`, req: sdktest.Get("/", "authorization", "Bearer "), want: "Jwt authorization is format is invalid"},
		{name: "cookie", config: `{"cookie":"jwt",` + secret + `}`, req: sdktest.Get("/", "cookie", "a=1; jwt="+tok)},
		{name: "cookie missing", config: `{"cookie":"jwt",` + secret + `}`, req: sdktest.Get("/", "cookie", "a=1"), want: "Jwt authorization is missing"},
		{name: "query", config: `{"query":"token",` + secret + `}`, req: sdktest.Get("/a?b=1&token=" + tok)},
		{name: "query missing", config: `{"query":"token",` + secret + `}`, req: sdktest.Get("/a?b=1"), want: "Jwt authorization is missing"},
		{name: "header before cookie", config: `{"header":"Authorization","cookie":"jwt",` + secret + `}`,
			req: sdktest.Get("/", "authorization", "Bearer "+bad, "cookie", "jwt="+tok), want: "Jwt authorization format is invalid"},
		{name: "cookie when no header", config: `{"header":"Authorization","cookie":"jwt",` + secret + `}`,
			req: sdktest.Get("/", "cookie", "jwt="+tok)},
		{name: "cookie before query", config: `{"query":"token","cookie":"jwt",` + secret + `}`,
			req: sdktest.Get("/?token="+tok, "cookie", "jwt="+bad), want: "Jwt authorization format is invalid"},
		{name: "query when no cookie", config: `{"query":"token","cookie":"jwt","header":"Authorization",` + secret + `}`,
			req: sdktest.Get("/?token=" + tok)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := sdktest.Start(t, tc.config, sdktest.WithNow(now))
			lr, _ := decide(t, h, tc.req)
			want := strings.Replace(tc.want, "is format", "format", 1)
			switch {
			case want == "" && lr != nil:
				t.Errorf("refused with %d %q; want passed on", lr.Status, lr.Body)
			case want != "" && (lr == nil || string(lr.Body) != want):
				t.Errorf("response %+v; want 401 %q", lr, want)
			}
		})
	}
}

func TestJWTMalformed(t *testing.T) {
	hs, _ := signers(t, "HS256")
	good := hs.token(t, valid(), nil)
	parts := strings.Split(good, ".")
	signed := func(header, payload string) string {
		input := header + "." + payload
		return input + "." + b64u(hs.sign(t, []byte(input)))
	}
	hdr := b64u([]byte(`{"alg":"HS256"}`))
	tests := []struct{ name, tok, want string }{
		{name: "two parts", tok: parts[0] + "." + parts[1], want: "Jwt authorization format is invalid"},
		{name: "four parts", tok: good + ".x", want: "Jwt authorization format is invalid"},
		{name: "header not base64url", tok: "e30=." + parts[1] + "." + parts[2], want: "Jwt authorization format is invalid"},
		{name: "header not JSON", tok: b64u([]byte("alg")) + "." + parts[1] + "." + parts[2], want: "Jwt authorization format is invalid"},
		{name: "header not an object", tok: b64u([]byte(`["HS256"]`)) + "." + parts[1] + "." + parts[2], want: "Jwt authorization format is invalid"},
		{name: "empty payload", tok: parts[0] + ".." + parts[2], want: "Jwt authorization format is invalid"},
		{name: "signature not base64url", tok: parts[0] + "." + parts[1] + ".a+b", want: "Jwt authorization format is invalid"},
		{name: "payload not JSON", tok: signed(hdr, b64u([]byte("sub"))), want: "Jwt authorization format is invalid"},
		{name: "payload not an object", tok: signed(hdr, b64u([]byte(`[1]`))), want: "Jwt authorization format is invalid"},
		{name: "exp not a number", tok: signed(hdr, b64u([]byte(`{"exp":"tomorrow"}`))), want: "Jwt authorization is invalid"},
		{name: "nbf not a number", tok: signed(hdr, b64u([]byte(`{"nbf":true}`))), want: "Jwt authorization is invalid"},
		{name: "fractional exp ahead", tok: signed(hdr, b64u([]byte(`{"exp":1700000000.5}`)))},
	}
	h := sdktest.Start(t, `{"header":"Authorization","secret":`+quote(string(hmacSecret))+`}`, sdktest.WithNow(now))
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			lr, _ := decide(t, h, bearerReq(tc.tok))
			switch {
			case tc.want == "" && lr != nil:
				t.Errorf("refused with %d %q; want passed on", lr.Status, lr.Body)
			case tc.want != "" && (lr == nil || string(lr.Body) != tc.want):
				t.Errorf("response %+v; want 401 %q", lr, tc.want)
			}
		})
	}
}

func TestJWTDelay(t *testing.T) {
	hs, wrong := signers(t, "HS256")
	h := sdktest.Start(t, `{"header":"Authorization","delay":"200ms","secret":`+quote(string(hmacSecret))+`}`, sdktest.WithNow(now))
	s := h.NewStream()
	if a := s.SendRequestHeaders(bearerReq(wrong.token(t, valid(), nil)), true); a != sdk.Pause || s.LocalResponse() != nil {
		t.Fatalf("wrong key: action %v, response %+v; want Pause, no answer yet", a, s.LocalResponse())
	}
	expired := h.NewStream()
	expired.SendRequestHeaders(bearerReq(hs.token(t, map[string]any{"exp": now.Unix() - 5}, nil)), true)
	if lr, _ := decide(t, h, sdktest.Get("/")); lr == nil || string(lr.Body) != "Jwt authorization is missing" {
		t.Fatalf("missing token: response %+v; want 401 at once", lr)
	}
	if lr, _ := decide(t, h, bearerReq(hs.token(t, valid(), nil))); lr != nil {
		t.Fatalf("valid token: refused %+v; want passed on at once", lr)
	}
	h.Advance(150 * time.Millisecond)
	if s.LocalResponse() != nil || expired.LocalResponse() != nil {
		t.Fatal("answered before the delay")
	}
	h.Advance(60 * time.Millisecond)
	if lr := s.LocalResponse(); lr == nil || string(lr.Body) != "Jwt authorization is invalid" {
		t.Errorf("after the delay: response %+v; want 401 invalid", lr)
	}
	if lr := expired.LocalResponse(); lr == nil || string(lr.Body) != "Jwt authorization is expired" {
		t.Errorf("after the delay: response %+v; want 401 expired", lr)
	}
}

// PKCS #1 "RSA PUBLIC KEY" PEM is accepted too.
func TestJWTPKCS1PublicKey(t *testing.T) {
	rs, _ := signers(t, "RS384")
	p := string(pem.EncodeToMemory(&pem.Block{Type: "RSA PUBLIC KEY", Bytes: x509.MarshalPKCS1PublicKey(&rs.rsa.PublicKey)}))
	h := sdktest.Start(t, `{"header":"Authorization","algorithm":"RS384","public_key":`+quote(p)+`}`, sdktest.WithNow(now))
	if lr, _ := decide(t, h, bearerReq(rs.token(t, valid(), nil))); lr != nil {
		t.Fatalf("refused %+v; want passed on", lr)
	}
}

// mint runs a login through auth_path and returns the response headers and
// body the client gets.
func mint(t *testing.T, h *sdktest.Host, status int, contentType string, body string) ([][2]string, string) {
	t.Helper()
	s := h.NewStream()
	if a := s.SendRequestHeaders(sdktest.Request("POST", "/login?next=/", "example.com"), false); a != sdk.Continue || s.LocalResponse() != nil {
		t.Fatalf("auth_path request: action %v, response %+v; want passed on without a token", a, s.LocalResponse())
	}
	resp := sdktest.Response(status, "content-type", contentType, "content-length", "99")
	if a := s.SendResponseHeaders(resp, false); a != sdk.Continue {
		t.Fatalf("response headers: action %v; want Continue", a)
	}
	half := len(body) / 2
	s.SendResponseBody([]byte(body[:half]), false)
	s.SendResponseBody([]byte(body[half:]), true)
	headers := s.ResponseHeaders()
	out := string(s.ResponseBody())
	s.Complete()
	return headers, out
}

// Issue 4: auth_path minting as Pingap does, restricted to 2xx JSON
// objects.
func TestJWTAuthPath(t *testing.T) {
	for _, alg := range []string{"HS256", "HS384", "HS512"} {
		t.Run(alg, func(t *testing.T) {
			h := sdktest.Start(t, `{"header":"Authorization","auth_path":"/login","algorithm":"`+alg+`","secret":`+quote(string(hmacSecret))+`}`,
				sdktest.WithNow(now))
			claims := `{"sub":"alice","exp":` + itoa(int(now.Unix()+60)) + `}`
			headers, body := mint(t, h, 200, "application/json; charset=utf-8", " "+claims+"\n")
			for _, kv := range headers {
				if kv[0] == "content-length" {
					t.Errorf("content-length %q kept on a replaced body", kv[1])
				}
			}
			var out struct{ Token string }
			if err := json.Unmarshal([]byte(body), &out); err != nil || out.Token == "" {
				t.Fatalf("body %q; want {\"token\": ...}", body)
			}
			parts := strings.Split(out.Token, ".")
			if len(parts) != 3 {
				t.Fatalf("token %q; want three parts", out.Token)
			}
			hdr, _ := base64.RawURLEncoding.DecodeString(parts[0])
			payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
			if string(hdr) != `{"alg":"`+alg+`","typ":"JWT"}` || string(payload) != claims {
				t.Errorf("token header %s, payload %s; want alg %s and the upstream's claims %s", hdr, payload, alg, claims)
			}
			m := hmac.New(hashOf(alg).New, hmacSecret)
			m.Write([]byte(parts[0] + "." + parts[1]))
			if b64u(m.Sum(nil)) != parts[2] {
				t.Error("signature does not verify with the secret")
			}
			if lr, _ := decide(t, h, bearerReq(out.Token)); lr != nil {
				t.Errorf("minted token refused: %+v", lr)
			}
		})
	}
	t.Run("not minted", func(t *testing.T) {
		h := sdktest.Start(t, `{"header":"Authorization","auth_path":"/login","secret":"s"}`, sdktest.WithNow(now))
		tests := []struct {
			name, ct, body string
			status         int
			warn           bool
		}{
			{name: "401 passes unchanged", status: 401, ct: "application/json", body: `{"error":"bad password"}`},
			{name: "not JSON", status: 200, ct: "text/html", body: `<p>hi</p>`},
			{name: "JSON but not an object", status: 200, ct: "application/json", body: `["a"]`, warn: true},
		}
		for _, tc := range tests {
			_, body := mint(t, h, tc.status, tc.ct, tc.body)
			if body != tc.body {
				t.Errorf("%s: body %q; want it unchanged", tc.name, body)
			}
			if got := contains(h.LogMessages(sdk.LevelWarn), "not a JSON object"); got != tc.warn {
				t.Errorf("%s: warning logged %v; want %v", tc.name, got, tc.warn)
			}
		}
	})
}

func TestJWTNeverLogsSecrets(t *testing.T) {
	hs, wrong := signers(t, "HS256")
	h := sdktest.Start(t, `{"header":"Authorization","auth_path":"/login","secret":`+quote(string(hmacSecret))+`}`, sdktest.WithNow(now))
	toks := []string{hs.token(t, valid(), nil), wrong.token(t, valid(), nil), "garbage.x.y"}
	for _, tok := range toks {
		decide(t, h, bearerReq(tok))
	}
	mint(t, h, 200, "application/json", `["not","claims"]`)
	for _, l := range h.Logs() {
		for _, s := range append(toks, string(hmacSecret)) {
			if strings.Contains(l.Message, s) {
				t.Errorf("log %q contains a secret or token", l.Message)
			}
		}
	}
}

func TestJWTBadConfig(t *testing.T) {
	rs, _ := signers(t, "RS256")
	es, _ := signers(t, "ES256")
	rsPEM, esPEM := quote(rs.publicPEM(t)), quote(es.publicPEM(t))
	ed := "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAGb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE=\n-----END PUBLIC KEY-----\n"
	tests := []struct{ name, config, want string }{
		{name: "no source", config: `{"secret":"s"}`, want: `key "header": set header, cookie or query`},
		{name: "bad header", config: `{"header":"a b","secret":"s"}`, want: `key "header": "a b" is not a valid header name`},
		{name: "no key", config: `{"header":"Authorization"}`, want: `key "secret": set secret, public_key or jwks_url`},
		{name: "two keys", config: `{"header":"Authorization","secret":"s","jwks_url":"http://idp/keys"}`, want: `key "secret": set only one of`},
		{name: "unknown algorithm", config: `{"header":"Authorization","secret":"s","algorithm":"none"}`, want: `key "algorithm": want one of HS256`},
		{name: "RS with a secret", config: `{"header":"Authorization","secret":"s","algorithm":"RS256"}`, want: `key "algorithm": RS256 needs public_key or jwks_url`},
		{name: "HS with a public key", config: `{"header":"Authorization","public_key":` + rsPEM + `,"algorithm":"HS256"}`, want: `key "algorithm": HS256 does not fit`},
		{name: "ES with an RSA key", config: `{"header":"Authorization","public_key":` + rsPEM + `,"algorithm":"ES256"}`, want: `key "algorithm": ES256 does not fit`},
		{name: "ES384 with a P-256 key", config: `{"header":"Authorization","public_key":` + esPEM + `,"algorithm":"ES384"}`, want: `key "algorithm": ES384 does not fit`},
		{name: "public key without algorithm", config: `{"header":"Authorization","public_key":` + rsPEM + `}`, want: `key "algorithm": required with public_key`},
		{name: "not PEM", config: `{"header":"Authorization","public_key":"abc","algorithm":"RS256"}`, want: `key "public_key": not a usable PEM public key: no PEM block`},
		{name: "ed25519", config: `{"header":"Authorization","public_key":` + quote(ed) + `,"algorithm":"RS256"}`, want: `key "public_key": not a usable PEM public key: unsupported key type`},
		{name: "private key", config: `{"header":"Authorization","public_key":"-----BEGIN PRIVATE KEY-----\nAA==\n-----END PRIVATE KEY-----\n","algorithm":"RS256"}`,
			want: `PEM block is a PRIVATE KEY, want a PUBLIC KEY`},
		{name: "jwks_url scheme", config: `{"header":"Authorization","jwks_url":"idp/keys"}`, want: `key "jwks_url": want an http:// or https:// URL`},
		{name: "jwks_url host", config: `{"header":"Authorization","jwks_url":"http:///keys"}`, want: `key "jwks_url": want a host`},
		{name: "jwks with HS", config: `{"header":"Authorization","jwks_url":"http://idp/keys","algorithm":"HS256"}`, want: `key "algorithm": HS256 needs secret`},
		{name: "jwks_ttl", config: `{"header":"Authorization","jwks_url":"http://idp/keys","jwks_ttl":"0s"}`, want: `key "jwks_ttl": must be more than 0`},
		{name: "jwks_cooldown", config: `{"header":"Authorization","jwks_url":"http://idp/keys","jwks_cooldown":"-1s"}`, want: `key "jwks_cooldown": invalid duration "-1s"`},
		{name: "jwks_ttl without jwks_url", config: `{"header":"Authorization","secret":"s","jwks_ttl":"1h"}`, want: `key "jwks_ttl": only goes with jwks_url`},
		{name: "jwks_upstream without jwks_url", config: `{"header":"Authorization","secret":"s","jwks_upstream":"idp"}`, want: `key "jwks_upstream": only goes with jwks_url`},
		{name: "jwks_cooldown without jwks_url", config: `{"header":"Authorization","secret":"s","jwks_cooldown":"1s"}`, want: `key "jwks_cooldown": only goes with jwks_url`},
		{name: "auth_path slash", config: `{"header":"Authorization","secret":"s","auth_path":"login"}`, want: `key "auth_path": must start with /`},
		{name: "auth_path without secret", config: `{"header":"Authorization","public_key":` + rsPEM + `,"algorithm":"RS256","auth_path":"/login"}`, want: `key "auth_path": minting tokens needs secret`},
		{name: "delay", config: `{"header":"Authorization","secret":"s","delay":"-1s"}`, want: `key "delay": invalid duration "-1s"`},
		{name: "step", config: `{"header":"Authorization","secret":"s","step":"response"}`, want: `key "step": jwt runs at the request step`},
		{name: "unknown", config: `{"header":"Authorization","secret":"s","jwks":"x"}`, want: `unknown key "jwks"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := sdktest.New(t).Configure(tc.config)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Configure = %v; want %q", err, tc.want)
			}
		})
	}
}

func TestSignMatchesVerify(t *testing.T) {
	tok := sign(algs["HS256"], []byte("k"), []byte(`{"a":1}`))
	parsed, why := parseToken(tok)
	if why != nil || !parsed.verifyHMAC([]byte("k")) || parsed.verifyHMAC([]byte("K")) {
		t.Fatalf("parseToken(sign(...)) = %v, %s; want a token verifying with its secret only", parsed, why)
	}
}
