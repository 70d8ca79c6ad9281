package e2e

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluice-proxy/sluice/abi"
	"github.com/sluice-proxy/sluice/host/config"
	"github.com/sluice-proxy/sluice/host/wasm"
	"github.com/sluice-proxy/sluice/host/wasm/wasmtest"
)

// authConf serves the authentication plugins of issue 4 on one server,
// with two VMs per module, in front of a real application backend, a real
// forward-auth service and a real identity provider serving a JWKS, each an
// upstream of the config. The proxy trusts 127.0.0.1, so tests pick their
// client IP with X-Forwarded-For.
const authConf = `
[basic]
plugin_dir = "{{.plugins}}"
wasm_vms = 2
trusted_proxies = ["127.0.0.1"]
log_level = "debug"

[servers.main]
addr = "{{.addr}}"
locations = ["basic", "key", "keyq", "combined", "forward", "forward2", "jwt", "rs", "jwks", "noop"]

[upstreams.app]
addrs = ["{{.app}}"]

[upstreams.auth]
addrs = ["{{.auth}}"]

[upstreams.idp]
addrs = ["{{.idp}}"]

[locations.basic]
path = "/basic/"
upstream = "app"
plugins = ["basic"]

[locations.key]
path = "/key/"
upstream = "app"
plugins = ["key"]

[locations.keyq]
path = "/keyq/"
upstream = "app"
plugins = ["keyq"]

[locations.combined]
path = "/combined/"
upstream = "app"
plugins = ["combined"]

[locations.forward]
path = "/forward/"
upstream = "app"
plugins = ["forward"]

[locations.forward2]
path = "/forward2/"
upstream = "app"
plugins = ["forward2"]

[locations.jwt]
path = "/jwt/"
upstream = "app"
plugins = ["jwt"]

[locations.rs]
path = "/rs/"
upstream = "app"
plugins = ["rs"]

[locations.jwks]
path = "/jwks/"
upstream = "app"
plugins = ["jwks"]

[locations.noop]
path = "/noop/"
upstream = "app"
plugins = ["noop"]

[plugins.basic]
category = "basic_auth"
authorizations = ["{{.alice}}", "{{.bob}}"]
hide_credentials = true
delay = "300ms"
realm = "e2e"

[plugins.key]
category = "key_auth"
header = "X-Api-Key"
keys = ["{{.apiKey}}", "another-key"]
step = "proxy_upstream"

[plugins.keyq]
category = "key_auth"
query = "api_key"
keys = ["{{.apiKey}}"]
hide_credentials = true
delay = "200ms"

[plugins.combined]
category = "combined_auth"

[[plugins.combined.authorizations]]
app_id = "shop"
secret = "{{.appSecret}}"
deviation = 60

[[plugins.combined.authorizations]]
app_id = "office"
secret = "{{.appSecret}}"
deviation = 60
ip_list = ["10.1.0.0/16", "192.0.2.7"]

[plugins.forward]
category = "forward_auth"
auth_url = "http://auth/verify?from=sluice"
add_headers = ["X-User", "X-Roles"]
timeout = "500ms"

[plugins.forward2]
category = "forward_auth"
auth_url = "http://127.0.0.1:1/check"
upstream = "auth"
request_headers = ["Cookie"]

[plugins.jwt]
category = "jwt"
header = "Authorization"
cookie = "jwt"
query = "token"
secret = "{{.jwtSecret}}"
algorithm = "HS384"
auth_path = "/jwt/login"
delay = "250ms"

[plugins.rs]
category = "jwt"
header = "Authorization"
algorithm = "RS256"
public_key = '''
{{.rsPEM}}'''

[plugins.jwks]
category = "jwt"
header = "Authorization"
jwks_url = "http://idp/.well-known/jwks.json"
jwks_ttl = "3s"
jwks_cooldown = "200ms"

[plugins.noop]
category = "noop"
`

// authResult is what a client got.
type authResult struct {
	status int
	header http.Header
	body   string
}

// authEnv is a running sluice with authConf and its backends.
type authEnv struct {
	p      *proc
	base   string
	client *http.Client

	mu       sync.Mutex
	lastAuth http.Header // the last request the forward-auth service saw
	authURI  string

	jwks    atomic.Pointer[[]byte] // what the identity provider serves
	fetches atomic.Int32
}

// Secrets of authConf; the test checks that none of them reaches the log.
const (
	alicePass = "wonderland-e2e"
	apiKey    = "k-e2e-4f9a"
	appSecret = "app-secret-e2e"
	jwtSecret = "jwt-secret-e2e-0123456789"
)

var (
	authKeysOnce          sync.Once
	rsaGood, rsaWrong     *rsa.PrivateKey
	ecRotated, ecRotated2 *ecdsa.PrivateKey
)

func authKeys(t *testing.T) {
	t.Helper()
	authKeysOnce.Do(func() {
		var err error
		if rsaGood, err = rsa.GenerateKey(rand.Reader, 2048); err == nil {
			rsaWrong, err = rsa.GenerateKey(rand.Reader, 2048)
		}
		if err == nil {
			ecRotated, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		}
		if err == nil {
			ecRotated2, err = ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
		}
		if err != nil {
			panic(err)
		}
	})
}

func startAuth(t *testing.T) *authEnv {
	t.Helper()
	needPlugins(t)
	for _, name := range []string{"basic_auth", "key_auth", "combined_auth", "forward_auth", "jwt", "noop"} {
		if _, err := os.Stat(filepath.Join(pluginDir, name+".wasm")); err != nil {
			t.Skipf("plugins/%s.wasm not built: run `make plugins`", name)
		}
	}
	authKeys(t)
	e := &authEnv{}
	app := backend(t, func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Seen-Uri", r.URL.RequestURI())
		h.Set("X-Seen-Authorization", r.Header.Get("Authorization"))
		h.Set("X-Seen-Api-Key", r.Header.Get("X-Api-Key"))
		h.Set("X-Seen-User", strings.Join(r.Header.Values("X-User"), ","))
		h.Set("X-Seen-Roles", strings.Join(r.Header.Values("X-Roles"), ","))
		if r.URL.Path == "/jwt/login" {
			h.Set("Content-Type", "application/json")
			fmt.Fprintf(w, `{"sub":"alice","exp":%d}`, time.Now().Unix()+60)
			return
		}
		io.WriteString(w, "app "+r.URL.Path)
	})
	auth := backend(t, func(w http.ResponseWriter, r *http.Request) {
		e.mu.Lock()
		e.lastAuth, e.authURI = r.Header.Clone(), r.URL.RequestURI()
		e.mu.Unlock()
		c, _ := r.Cookie("session")
		switch {
		case c != nil && c.Value == "good":
			w.Header().Add("X-User", "alice")
			w.Header().Add("X-Roles", "admin")
			w.Header().Add("X-Roles", "dev")
			w.Header().Set("X-Not-Copied", "1")
		case c != nil && c.Value == "slow":
			select {
			case <-time.After(2 * time.Second):
			case <-r.Context().Done():
			}
		default:
			http.SetCookie(w, &http.Cookie{Name: "next", Value: r.Header.Get("X-Forwarded-Uri")})
			w.Header().Set("Location", "/login")
			w.WriteHeader(http.StatusFound)
			io.WriteString(w, "please log in")
		}
	})
	idp := backend(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/.well-known/jwks.json" {
			http.NotFound(w, r)
			return
		}
		e.fetches.Add(1)
		w.Header().Set("Content-Type", "application/json")
		w.Write(*e.jwks.Load())
	})
	first := jwksOf(jwkOf("rs-1", &rsaGood.PublicKey))
	e.jwks.Store(&first)

	der, err := x509.MarshalPKIXPublicKey(&rsaGood.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	addr := freePort(t)
	conf := filepath.Join(t.TempDir(), "sluice.toml")
	writeConf(t, conf, authConf, map[string]any{
		"addr": addr, "plugins": pluginDir, "app": app, "auth": auth, "idp": idp,
		"alice": basicCred("alice:" + alicePass), "bob": basicCred("bob:builder"), "apiKey": apiKey,
		"appSecret": appSecret, "jwtSecret": jwtSecret,
		"rsPEM": strings.TrimSpace(string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))),
	})
	e.p = start(t, conf, addr)
	e.base = "http://" + addr
	e.client = &http.Client{
		Transport:     &http.Transport{MaxIdleConnsPerHost: 16},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	t.Cleanup(e.client.CloseIdleConnections)
	return e
}

func basicCred(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

func rawURL64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func jwkOf(kid string, pub crypto.PublicKey) map[string]any {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		return map[string]any{"kty": "RSA", "kid": kid, "use": "sig", "n": rawURL64(k.N.Bytes()), "e": rawURL64(big.NewInt(int64(k.E)).Bytes())}
	case *ecdsa.PublicKey:
		pt, err := k.Bytes()
		if err != nil {
			panic(err)
		}
		size := (len(pt) - 1) / 2
		return map[string]any{"kty": "EC", "kid": kid, "crv": k.Curve.Params().Name, "x": rawURL64(pt[1 : 1+size]), "y": rawURL64(pt[1+size:])}
	}
	panic("unknown key type")
}

func jwksOf(keys ...map[string]any) []byte {
	b, err := json.Marshal(map[string]any{"keys": keys})
	if err != nil {
		panic(err)
	}
	return b
}

// jwtToken signs claims as a compact JWS: alg is HS, RS, PS or ES with 256,
// 384 or 512, or "none" with a nil key; kid goes in the header if not "".
// The key's type decides how it signs (a secret []byte or a private key),
// so a test can sign with the wrong kind on purpose.
func jwtToken(t testing.TB, alg, kid string, key any, claims map[string]any) string {
	t.Helper()
	hdr := map[string]any{"alg": alg, "typ": "JWT"}
	if kid != "" {
		hdr["kid"] = kid
	}
	hb, _ := json.Marshal(hdr)
	cb, _ := json.Marshal(claims)
	input := rawURL64(hb) + "." + rawURL64(cb)
	hash := crypto.SHA256
	switch {
	case strings.HasSuffix(alg, "384"):
		hash = crypto.SHA384
	case strings.HasSuffix(alg, "512"):
		hash = crypto.SHA512
	}
	digest := func() []byte {
		d := hash.New()
		d.Write([]byte(input))
		return d.Sum(nil)
	}
	var sig []byte
	var err error
	switch k := key.(type) {
	case nil:
	case []byte:
		m := hmac.New(hash.New, k)
		m.Write([]byte(input))
		sig = m.Sum(nil)
	case *rsa.PrivateKey:
		if strings.HasPrefix(alg, "PS") {
			sig, err = rsa.SignPSS(rand.Reader, k, hash, digest(), &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
		} else {
			sig, err = rsa.SignPKCS1v15(rand.Reader, k, hash, digest())
		}
	case *ecdsa.PrivateKey:
		var r, s *big.Int
		if r, s, err = ecdsa.Sign(rand.Reader, k, digest()); err == nil {
			size := (k.Curve.Params().BitSize + 7) / 8
			sig = make([]byte, 2*size)
			r.FillBytes(sig[:size])
			s.FillBytes(sig[size:])
		}
	default:
		t.Fatalf("jwtToken: no way to sign with a %T", key)
	}
	if err != nil {
		t.Fatal(err)
	}
	return input + "." + rawURL64(sig)
}

func claimsFor(d time.Duration) map[string]any {
	return map[string]any{"sub": "alice", "exp": time.Now().Add(d).Unix()}
}

// do sends a request with headers ("Name", "value" pairs) and returns the
// result and how long it took.
func (e *authEnv) do(t *testing.T, method, path string, headers ...string) (authResult, time.Duration) {
	t.Helper()
	req, err := http.NewRequest(method, e.base+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Add(headers[i], headers[i+1])
	}
	start := time.Now()
	resp, err := e.client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return authResult{resp.StatusCode, resp.Header, string(b)}, time.Since(start)
}

// authExpect checks a result's status and, if not "", that the body is want.
func authExpect(t *testing.T, what string, r authResult, status int, body string) {
	t.Helper()
	if r.status != status || body != "" && r.body != body {
		t.Errorf("%s: %d %q; want %d %q", what, r.status, r.body, status, body)
	}
}

// Issue 4: the authentication plugins through the real binary, with real
// upstreams.
func TestAuthPlugins(t *testing.T) {
	e := startAuth(t)

	t.Run("basic_auth", func(t *testing.T) {
		r, _ := e.do(t, "GET", "/basic/x", "Authorization", "Basic "+basicCred("alice:"+alicePass))
		authExpect(t, "alice", r, 200, "app /basic/x")
		if got := r.header.Get("X-Seen-Authorization"); got != "" {
			t.Errorf("upstream saw Authorization %q; hide_credentials should remove it", got)
		}
		r, _ = e.do(t, "GET", "/basic/x", "Authorization", "Basic "+basicCred("bob:builder"))
		authExpect(t, "bob", r, 200, "")
		r, took := e.do(t, "GET", "/basic/x")
		authExpect(t, "missing", r, 401, "Authorization is missing")
		if got := r.header.Get("WWW-Authenticate"); got != `Basic realm="e2e"` {
			t.Errorf("WWW-Authenticate %q; want the configured realm", got)
		}
		if took >= 300*time.Millisecond {
			t.Errorf("missing credentials took %v; the delay is for failed attempts only", took)
		}

		// A failed attempt waits for the delay without holding up the
		// VM: good requests sent meanwhile are answered at once.
		var wg sync.WaitGroup
		var bad authResult
		var badTook time.Duration
		wg.Go(func() { bad, badTook = e.do(t, "GET", "/basic/x", "Authorization", "Basic "+basicCred("alice:guess")) })
		time.Sleep(50 * time.Millisecond)
		for i := range 4 {
			r, took := e.do(t, "GET", "/basic/x", "Authorization", "Basic "+basicCred("alice:"+alicePass))
			if r.status != 200 || took >= 200*time.Millisecond {
				t.Errorf("good request %d during a delayed failure: %d after %v; want 200 at once", i, r.status, took)
			}
		}
		wg.Wait()
		authExpect(t, "wrong password", bad, 401, "Invalid user or password")
		if badTook < 300*time.Millisecond {
			t.Errorf("wrong password answered after %v; want the 300ms delay", badTook)
		}
	})

	t.Run("key_auth", func(t *testing.T) {
		r, _ := e.do(t, "GET", "/key/a", "X-Api-Key", apiKey)
		authExpect(t, "header key", r, 200, "app /key/a")
		if got := r.header.Get("X-Seen-Api-Key"); got != apiKey {
			t.Errorf("upstream saw X-Api-Key %q; without hide_credentials it stays", got)
		}
		r, _ = e.do(t, "GET", "/key/a", "X-Api-Key", "another-key")
		authExpect(t, "second key", r, 200, "")
		r, _ = e.do(t, "GET", "/key/a")
		authExpect(t, "no key", r, 401, "Key missing")
		r, took := e.do(t, "GET", "/key/a", "X-Api-Key", "k-e2e-4f9b")
		authExpect(t, "wrong key", r, 401, "Key auth fail")
		if took >= 200*time.Millisecond {
			t.Errorf("wrong key without a delay took %v", took)
		}

		r, _ = e.do(t, "GET", "/keyq/a?x=1&api_key="+apiKey+"&y=2")
		authExpect(t, "query key", r, 200, "app /keyq/a")
		if got := r.header.Get("X-Seen-Uri"); got != "/keyq/a?x=1&y=2" {
			t.Errorf("upstream saw %q; hide_credentials should remove api_key", got)
		}
		r, took = e.do(t, "GET", "/keyq/a?api_key=nope")
		authExpect(t, "wrong query key", r, 401, "Key auth fail")
		if took < 200*time.Millisecond {
			t.Errorf("wrong key answered after %v; want the 200ms delay", took)
		}
	})

	t.Run("combined_auth", func(t *testing.T) {
		signed := func(app string, ts int64) string {
			sum := sha256.Sum256([]byte(appSecret + ":" + strconv.FormatInt(ts, 10)))
			return "/combined/x?app_id=" + app + "&ts=" + strconv.FormatInt(ts, 10) + "&digest=" + hex.EncodeToString(sum[:])
		}
		now := time.Now().Unix()
		tests := []struct {
			name, path, xff string
			status          int
			body            string
		}{
			{name: "signed", path: signed("shop", now), status: 200, body: "app /combined/x"},
			{name: "no app id", path: "/combined/x", status: 401, body: "app id is empty"},
			{name: "unknown app", path: signed("nobody", now), status: 401, body: "app id is invalid"},
			{name: "old", path: signed("shop", now-120), status: 401, body: "timestamp deviation is invalid"},
			{name: "digest of another time", path: strings.Replace(signed("shop", now), "ts="+strconv.FormatInt(now, 10), "ts="+strconv.FormatInt(now-1, 10), 1),
				status: 401, body: "digest is invalid"},
			{name: "allowed range", path: signed("office", now), xff: "10.1.2.3", status: 200},
			{name: "allowed address", path: signed("office", now), xff: "192.0.2.7", status: 200},
			{name: "other address", path: signed("office", now), xff: "10.2.0.1", status: 401, body: "ip is invalid"},
			{name: "the peer", path: signed("office", now), status: 401, body: "ip is invalid"},
		}
		for _, tc := range tests {
			var h []string
			if tc.xff != "" {
				h = []string{"X-Forwarded-For", tc.xff}
			}
			r, _ := e.do(t, "GET", tc.path, h...)
			authExpect(t, tc.name, r, tc.status, tc.body)
			if tc.status == 401 && r.header.Get("Cache-Control") != "no-store" {
				t.Errorf("%s: Cache-Control %q; want no-store", tc.name, r.header.Get("Cache-Control"))
			}
		}
	})

	t.Run("forward_auth", func(t *testing.T) {
		r, _ := e.do(t, "POST", "/forward/cart?id=7", "Cookie", "session=good", "X-User", "forged", "X-Forwarded-For", "10.9.8.7")
		authExpect(t, "allowed", r, 200, "app /forward/cart")
		if u, roles := r.header.Get("X-Seen-User"), r.header.Get("X-Seen-Roles"); u != "alice" || roles != "admin,dev" {
			t.Errorf("upstream saw X-User %q, X-Roles %q; want alice, admin,dev from the auth service", u, roles)
		}
		e.mu.Lock()
		seen, uri := e.lastAuth, e.authURI
		e.mu.Unlock()
		for k, want := range map[string]string{
			"X-Forwarded-Method": "POST", "X-Forwarded-Uri": "/forward/cart?id=7", "X-Forwarded-Proto": "http",
			"X-Forwarded-For": "10.9.8.7", "Cookie": "session=good",
		} {
			if got := seen.Get(k); got != want {
				t.Errorf("auth service saw %s %q; want %q", k, got, want)
			}
		}
		if host := seen.Get("X-Forwarded-Host"); !strings.HasPrefix(host, "127.0.0.1:") {
			t.Errorf("auth service saw X-Forwarded-Host %q; want the request's host", host)
		}
		if uri != "/verify?from=sluice" {
			t.Errorf("auth service got %q; want /verify?from=sluice", uri)
		}

		r, _ = e.do(t, "GET", "/forward/account", "Cookie", "session=bad")
		authExpect(t, "refused: the answer is relayed", r, 302, "please log in")
		if r.header.Get("Location") != "/login" || !strings.Contains(r.header.Get("Set-Cookie"), "next=/forward/account") {
			t.Errorf("relayed headers %v; want the service's Location and Set-Cookie", r.header)
		}

		r, took := e.do(t, "GET", "/forward/x", "Cookie", "session=slow")
		authExpect(t, "timeout", r, 502, "Auth service unavailable")
		if took > 1500*time.Millisecond {
			t.Errorf("timed out after %v; want about the 500ms timeout", took)
		}

		r, _ = e.do(t, "GET", "/forward2/x", "Cookie", "session=good", "Authorization", "Bearer not-forwarded")
		authExpect(t, "upstream parameter", r, 200, "app /forward2/x")
		e.mu.Lock()
		seen, uri = e.lastAuth, e.authURI
		e.mu.Unlock()
		if uri != "/check" || seen.Get("Authorization") != "" || seen.Get("Cookie") != "session=good" {
			t.Errorf("auth service got %q with Authorization %q, Cookie %q; want /check with the Cookie only",
				uri, seen.Get("Authorization"), seen.Get("Cookie"))
		}
		if r.header.Get("X-Seen-User") != "" {
			t.Errorf("X-User reached the upstream without add_headers")
		}
	})

	t.Run("jwt", func(t *testing.T) {
		secret := []byte(jwtSecret)
		good := jwtToken(t, "HS384", "", secret, claimsFor(time.Minute))
		tests := []struct {
			name    string
			path    string
			headers []string
			status  int
			body    string
		}{
			{name: "header", path: "/jwt/a", headers: []string{"Authorization", "Bearer " + good}, status: 200, body: "app /jwt/a"},
			{name: "cookie", path: "/jwt/a", headers: []string{"Cookie", "jwt=" + good}, status: 200},
			{name: "query", path: "/jwt/a?token=" + good, status: 200},
			{name: "missing", path: "/jwt/a", status: 401, body: "Jwt authorization is missing"},
			{name: "expired", path: "/jwt/a", headers: []string{"Authorization", "Bearer " + jwtToken(t, "HS384", "", secret, claimsFor(-time.Minute))},
				status: 401, body: "Jwt authorization is expired"},
			{name: "not yet valid", path: "/jwt/a", headers: []string{"Authorization", "Bearer " + jwtToken(t, "HS384", "", secret,
				map[string]any{"nbf": time.Now().Add(time.Hour).Unix()})}, status: 401, body: "Jwt authorization is not yet valid"},
			{name: "HS256 is not the configured algorithm", path: "/jwt/a", headers: []string{"Authorization", "Bearer " +
				jwtToken(t, "HS256", "", secret, claimsFor(time.Minute))}, status: 401, body: "Jwt authorization is invalid"},
			{name: "alg none", path: "/jwt/a", headers: []string{"Authorization", "Bearer " + jwtToken(t, "none", "", nil, claimsFor(time.Minute))},
				status: 401, body: "Jwt authorization is invalid"},
		}
		for _, tc := range tests {
			r, took := e.do(t, "GET", tc.path, tc.headers...)
			authExpect(t, tc.name, r, tc.status, tc.body)
			if tc.status == 401 && len(tc.headers) > 0 && took < 250*time.Millisecond {
				t.Errorf("%s: refused after %v; want the 250ms delay", tc.name, took)
			}
		}

		// auth_path: the login answer becomes a token that then passes.
		r, _ := e.do(t, "POST", "/jwt/login")
		var out struct{ Token string }
		if err := json.Unmarshal([]byte(r.body), &out); r.status != 200 || err != nil || out.Token == "" {
			t.Fatalf("login: %d %q; want {\"token\": ...}", r.status, r.body)
		}
		if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
			t.Errorf("login Content-Type %q; want JSON", ct)
		}
		r, _ = e.do(t, "GET", "/jwt/a", "Authorization", "Bearer "+out.Token)
		authExpect(t, "minted token", r, 200, "")

		rs := jwtToken(t, "RS256", "", rsaGood, claimsFor(time.Minute))
		r, _ = e.do(t, "GET", "/rs/a", "Authorization", rs)
		authExpect(t, "RS256 public_key", r, 200, "app /rs/a")
		r, _ = e.do(t, "GET", "/rs/a", "Authorization", jwtToken(t, "RS256", "", rsaWrong, claimsFor(time.Minute)))
		authExpect(t, "RS256 wrong key", r, 401, "Jwt authorization is invalid")
		pubPEM := []byte(publicPEM(t, &rsaGood.PublicKey))
		r, _ = e.do(t, "GET", "/rs/a", "Authorization", jwtToken(t, "HS256", "", pubPEM, claimsFor(time.Minute)))
		authExpect(t, "public key as an HMAC secret", r, 401, "Jwt authorization is invalid")
	})

	t.Run("jwks with key rotation", func(t *testing.T) {
		// Both VMs fetched the set when configured.
		authWait(t, "the key set fetched when configured", func() bool { return e.fetches.Load() >= 2 })
		time.Sleep(250 * time.Millisecond) // past the cooldown
		tok1 := jwtToken(t, "RS256", "rs-1", rsaGood, claimsFor(time.Hour))
		for i := range 4 { // every VM
			r, _ := e.do(t, "GET", "/jwks/a", "Authorization", "Bearer "+tok1)
			authExpect(t, "key rs-1, request "+strconv.Itoa(i), r, 200, "app /jwks/a")
		}

		// Rotation: the provider replaces rs-1 with ec-2. A token with the
		// new kid makes each VM fetch the set again.
		before := e.fetches.Load()
		rotated := jwksOf(jwkOf("ec-2", &ecRotated.PublicKey))
		e.jwks.Store(&rotated)
		tok2 := jwtToken(t, "ES256", "ec-2", ecRotated, claimsFor(time.Hour))
		for i := range 4 {
			r, _ := e.do(t, "GET", "/jwks/a", "Authorization", "Bearer "+tok2)
			authExpect(t, "rotated key ec-2, request "+strconv.Itoa(i), r, 200, "")
		}
		if got := e.fetches.Load() - before; got < 1 || got > 2 {
			t.Errorf("%d fetches for the rotation; want one per VM at most (2)", got)
		}
		for i := range 4 {
			r, _ := e.do(t, "GET", "/jwks/a", "Authorization", "Bearer "+tok1)
			authExpect(t, "retired key rs-1, request "+strconv.Itoa(i), r, 401, "Jwt authorization is invalid")
		}

		// TTL: the provider retires ec-2 without a new kid showing up.
		// Until jwks_ttl has passed the cached ec-2 still passes; after it
		// the set is fetched again and ec-2 is refused.
		before = e.fetches.Load()
		third := jwksOf(jwkOf("ec-3", &ecRotated2.PublicKey))
		e.jwks.Store(&third)
		r, _ := e.do(t, "GET", "/jwks/a", "Authorization", "Bearer "+tok2)
		authExpect(t, "ec-2 within the TTL", r, 200, "")
		if e.fetches.Load() != before {
			t.Errorf("fetched within the TTL")
		}
		time.Sleep(3 * time.Second)
		for i := range 4 {
			r, _ := e.do(t, "GET", "/jwks/a", "Authorization", "Bearer "+tok2)
			authExpect(t, "ec-2 after the TTL, request "+strconv.Itoa(i), r, 401, "Jwt authorization is invalid")
		}
		if got := e.fetches.Load() - before; got < 1 {
			t.Errorf("no fetch after the TTL")
		}
		r, _ = e.do(t, "GET", "/jwks/a", "Authorization", "Bearer "+jwtToken(t, "ES384", "ec-3", ecRotated2, claimsFor(time.Hour)))
		authExpect(t, "ec-3 after the TTL", r, 200, "")
	})

	t.Run("no secret in the log", func(t *testing.T) {
		log := e.p.Log()
		for _, s := range []string{alicePass, basicCred("alice:" + alicePass), apiKey, appSecret, jwtSecret, "guess"} {
			if strings.Contains(log, s) {
				t.Errorf("the log contains the secret %q", s)
			}
		}
	})
}

// authWait polls cond for up to 10s.
func authWait(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Issue 4: bad parameters of the authentication plugins fail `sluice
// validate`, naming the plugin and the key, and never showing a secret.
func TestAuthValidate(t *testing.T) {
	needPlugins(t)
	conf := filepath.Join(t.TempDir(), "bad.toml")
	writeConf(t, conf, `
[basic]
plugin_dir = "{{.plugins}}"
wasm_vms = 1

[servers.main]
addr = "127.0.0.1:0"
locations = ["all"]

[upstreams.idp]
addrs = ["127.0.0.1:1"]

# Upstreams that exist (sluice validate checks plugins' upstream references
# first, see TestAuthValidateUpstreams) but cannot be reached.
[upstreams.auth]
addrs = ["127.0.0.1:1"]

[upstreams.nowhere]
addrs = ["127.0.0.1:1"]

[locations.all]
plugins = ["basic", "key", "combined", "forward", "jwt", "jwks"]

[plugins.basic]
category = "basic_auth"
authorizations = ["bm90LWEtcGFpcg=="]

[plugins.key]
category = "key_auth"
keys = ["s3cr3t-key"]

[plugins.combined]
category = "combined_auth"
[[plugins.combined.authorizations]]
app_id = "a"
secret = "s3cr3t-app"
deviation = 0

[plugins.forward]
category = "forward_auth"
auth_url = "ftp://auth/verify"

[plugins.jwt]
category = "jwt"
header = "Authorization"
secret = "s3cr3t-jwt"
algorithm = "RS256"

[plugins.jwks]
category = "jwt"
header = "Authorization"
jwks_url = "http://nowhere/keys.json"
`, map[string]any{"plugins": pluginDir})
	out := validateRefuses(t, conf,
		`plugin "basic" (`, `key "authorizations[0]": is not the base64 of "user:password"`,
		`plugin "key" (`, `key "header": set header or query`,
		`plugin "combined" (`, `key "authorizations[0].deviation": required`,
		`plugin "forward" (`, `key "auth_url": want an http:// or https:// URL`,
		`plugin "jwt" (`, `key "algorithm": RS256 needs public_key or jwks_url`,
	)
	for _, secret := range []string{"bm90LWEtcGFpcg==", "not-a-pair", "s3cr3t-key", "s3cr3t-app", "s3cr3t-jwt"} {
		if strings.Contains(out, secret) {
			t.Errorf("validate output shows the secret %q:\n%s", secret, out)
		}
	}
	if strings.Contains(out, "no plugins are loaded") {
		t.Errorf("validate repeats the plugin failure for every location:\n%s", out)
	}
}

// Plugins' upstream references are checked with the config, before any
// plugin runs, and named like a location's upstream.
func TestAuthValidateUpstreams(t *testing.T) {
	needPlugins(t)
	conf := filepath.Join(t.TempDir(), "bad.toml")
	writeConf(t, conf, `
[basic]
plugin_dir = "{{.plugins}}"

[servers.main]
addr = "127.0.0.1:0"
locations = ["all"]

[upstreams.idp]
addrs = ["127.0.0.1:1"]

[locations.all]
plugins = ["forward", "jwks"]

[plugins.forward]
category = "forward_auth"
auth_url = "http://ipd/verify"

[plugins.jwks]
category = "jwt"
header = "Authorization"
jwks_url = "http://nowhere/keys.json"
`, map[string]any{"plugins": pluginDir})
	validateRefuses(t, conf,
		`plugins.forward.auth_url: unknown upstream "ipd" (did you mean "idp"?)`,
		`plugins.jwks.jwks_url: unknown upstream "nowhere"`,
	)
}

// BenchmarkAuthPlugins measures what a request costs in each
// authentication plugin, next to the no-op plugin: the whole plugin
// lifecycle of one request (stream context created, request headers,
// response headers, done) in the built .wasm modules, on one VM, with
// credentials that pass. The difference with "noop" is the plugin's own
// work. jwt runs with a new token every request ("new": the signature is
// verified) and with the same token again ("again": the plugin's cache of
// verified tokens answers). Each runs with the callback budget on (as
// shipped, wasm_call_timeout) and off (wasm_call_timeout < 0), since the
// budget taxes the loops of signature checks. p50-ns/req is the median.
//
//	make plugins && go test -run '^$' -bench AuthPlugins -benchtime 1000x ./host/e2e
func BenchmarkAuthPlugins(b *testing.B) {
	if pluginDir == "" {
		b.Skip("plugins/*.wasm not built: run `make plugins`")
	}
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		b.Fatal(err)
	}
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	same := func(v string) func(int) []string {
		return func(n int) []string { return slices.Repeat([]string{v}, n) }
	}
	cases := []struct {
		name, module string
		params       map[string]any
		header       string // the credential's header
		values       func(n int) []string
	}{
		{"noop", "noop", nil, "x-nothing", same("1")},
		{"basic_auth", "basic_auth", map[string]any{"authorizations": []any{basicCred("alice:" + alicePass), basicCred("bob:builder")}},
			"authorization", same("Basic " + basicCred("bob:builder"))},
		{"key_auth", "key_auth", map[string]any{"header": "X-Api-Key", "keys": []any{apiKey}}, "x-api-key", same(apiKey)},
		{"jwt-HS256-new", "jwt", map[string]any{"header": "Authorization", "secret": jwtSecret}, "authorization",
			func(n int) []string { return benchTokens(b, "HS256", []byte(jwtSecret), n, true) }},
		{"jwt-RS256-new", "jwt", map[string]any{"header": "Authorization", "algorithm": "RS256", "public_key": publicPEM(b, &rsaKey.PublicKey)},
			"authorization", func(n int) []string { return benchTokens(b, "RS256", rsaKey, n, true) }},
		{"jwt-RS256-again", "jwt", map[string]any{"header": "Authorization", "algorithm": "RS256", "public_key": publicPEM(b, &rsaKey.PublicKey)},
			"authorization", func(n int) []string { return benchTokens(b, "RS256", rsaKey, n, false) }},
		{"jwt-ES256-new", "jwt", map[string]any{"header": "Authorization", "algorithm": "ES256", "public_key": publicPEM(b, &ecKey.PublicKey)},
			"authorization", func(n int) []string { return benchTokens(b, "ES256", ecKey, n, true) }},
	}
	for _, budget := range []struct {
		name    string
		timeout time.Duration
	}{{"budget-on", 0}, {"budget-off", -1}} {
		for _, bc := range cases {
			b.Run(budget.name+"/"+bc.name, func(b *testing.B) {
				path := filepath.Join(pluginDir, bc.module+".wasm")
				if _, err := os.Stat(path); err != nil {
					b.Skipf("%s not built", path)
				}
				benchPluginRequests(b, wasm.Options{CallTimeout: budget.timeout}, path, bc.params, bc.header, bc.values)
			})
		}
	}
}

// benchTokens returns n bearer tokens of alg signed with key, valid for an
// hour: all different when fresh (each a new signature to check), else all
// the same.
func benchTokens(b *testing.B, alg string, key any, n int, fresh bool) []string {
	exp := time.Now().Add(time.Hour).Unix()
	out := make([]string, n)
	for i := range out {
		if i > 0 && !fresh {
			out[i] = out[0]
			continue
		}
		out[i] = "Bearer " + jwtToken(b, alg, "", key, map[string]any{"sub": "alice", "exp": exp, "jti": strconv.Itoa(i)})
	}
	return out
}

// benchPluginRequests measures requests through the module at path alone,
// configured with params, on one VM of a runtime with o: the plugin's whole
// lifecycle of a request (stream context created, request headers,
// response headers, done), the request carrying values(b.N+1)[i] in header.
// The last value is a warm-up that must pass. It reports the median and
// 99th percentile as p50-ns/req and p99-ns/req.
func benchPluginRequests(b *testing.B, o wasm.Options, path string, params map[string]any, header string, values func(n int) []string) {
	ctx := context.Background()
	chain := benchChain(b, o, path, params, "")
	vals := values(b.N + 1)
	s := wasmtest.NewStream("GET", "/api/orders?id=7", "example.com", [2]string{"user-agent", "bench"})
	s.Map(abi.MapHTTPResponseHeaders).Set(":status", "200")
	req := s.Map(abi.MapHTTPRequestHeaders)
	once := func(v string) wasm.Result {
		req.Set(header, v)
		f := chain.NewFilter(s)
		r := f.OnRequestHeaders(ctx, true)
		f.OnResponseHeaders(ctx, true)
		f.Done()
		return r
	}
	if r := once(vals[b.N]); r.Outcome != wasm.Continue {
		b.Fatalf("the request does not pass: %+v", r)
	}
	lat := make([]time.Duration, 0, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		start := time.Now()
		once(vals[i])
		lat = append(lat, time.Since(start))
	}
	b.StopTimer()
	reportLatency(b, lat)
}

// benchChain returns the chain of the module at path alone, configured with
// params and data dir dataDir, on one VM of a runtime with o; both close
// when b ends.
func benchChain(b *testing.B, o wasm.Options, path string, params map[string]any, dataDir string) *wasm.Chain {
	ctx := context.Background()
	o.VMs, o.CacheDir, o.NoWatch, o.Logger = 1, wasm.NoCacheDir, true, slog.New(slog.DiscardHandler)
	rt, err := wasm.NewRuntime(ctx, o)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { rt.Close(ctx) })
	set, err := rt.Load(ctx, map[string]*config.Plugin{"p": {Wasm: path, Params: params}}, dataDir)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(set.Close)
	chain, err := set.Chain([]string{"p"})
	if err != nil {
		b.Fatal(err)
	}
	return chain
}

// reportLatency reports the median and 99th percentile of lat as
// p50-ns/req and p99-ns/req.
func reportLatency(b *testing.B, lat []time.Duration) {
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Nanoseconds()), "p50-ns/req")
	b.ReportMetric(float64(lat[len(lat)*99/100].Nanoseconds()), "p99-ns/req")
}
