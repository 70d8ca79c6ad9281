package e2e

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sluice-proxy/sluice/host/cryptox"
	"github.com/sluice-proxy/sluice/host/wasm"
)

// cryptoConf puts the jwt plugin with each kind of key in front of a real
// backend; the binary offers sluice.crypto.verify, so the plugin hands the
// signature checks to the host.
const cryptoConf = `
[basic]
plugin_dir = "{{.plugins}}"
wasm_vms = 1
log_level = "debug"

[servers.main]
addr = "{{.addr}}"
locations = ["hs", "rs", "ps", "es"]

[upstreams.app]
addrs = ["{{.app}}"]

[locations.hs]
path = "/hs/"
upstream = "app"
plugins = ["hs"]

[locations.rs]
path = "/rs/"
upstream = "app"
plugins = ["rs"]

[locations.ps]
path = "/ps/"
upstream = "app"
plugins = ["ps"]

[locations.es]
path = "/es/"
upstream = "app"
plugins = ["es"]

[plugins.hs]
category = "jwt"
header = "Authorization"
algorithm = "HS512"
secret = "{{.secret}}"

[plugins.rs]
category = "jwt"
header = "Authorization"
algorithm = "RS256"
public_key = """{{.rsaPEM}}"""

[plugins.ps]
category = "jwt"
header = "Authorization"
algorithm = "PS384"
public_key = """{{.rsaPEM}}"""

[plugins.es]
category = "jwt"
header = "Authorization"
algorithm = "ES384"
public_key = """{{.ecPEM}}"""
`

func publicPEM(t testing.TB, pub any) string {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

// The jwt plugin through the real binary, with signatures checked by the
// host: every kind of key lets its valid tokens through and refuses forged
// ones, and the plugin says the host verifies.
func TestCryptoJWTThroughBinary(t *testing.T) {
	needPlugins(t)
	if _, err := os.Stat(filepath.Join(pluginDir, "jwt.wasm")); err != nil {
		t.Skip("plugins/jwt.wasm not built: run `make plugins`")
	}
	authKeys(t)
	ecKey := ecRotated2 // P-384
	secret := []byte("e2e crypto secret")
	app := backend(t, func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("app " + r.URL.Path)) })
	addr := freePort(t)
	conf := filepath.Join(t.TempDir(), "sluice.toml")
	writeConf(t, conf, cryptoConf, map[string]string{
		"plugins": pluginDir, "addr": addr, "app": app, "secret": string(secret),
		"rsaPEM": publicPEM(t, &rsaGood.PublicKey), "ecPEM": publicPEM(t, &ecKey.PublicKey),
	})
	p := start(t, conf, addr)
	p.waitLog("jwt: signatures are verified by the host", 4) // one per plugin: one VM each
	if strings.Contains(p.Log(), "verified in the module") {
		t.Errorf("a plugin verifies in the module although the host offers the verifier:\n%s", p.Log())
	}
	claims := func(i int) map[string]any {
		return map[string]any{"sub": "alice", "exp": time.Now().Add(time.Hour).Unix(), "n": i}
	}
	get := func(path, tok string) (int, string) {
		req, _ := http.NewRequest("GET", "http://"+addr+path, nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		return resp.StatusCode, string(b)
	}
	tamper := func(tok string) string { // one bit of the signature's first byte
		i := strings.LastIndexByte(tok, '.') + 1
		c := tok[i]
		repl := byte('A')
		if c == 'A' {
			repl = 'B'
		}
		return tok[:i] + string(repl) + tok[i+1:]
	}
	tests := []struct {
		loc, alg string
		key, bad any
	}{
		{"hs", "HS512", secret, []byte("another secret")},
		{"rs", "RS256", rsaGood, rsaWrong},
		{"ps", "PS384", rsaGood, rsaWrong},
		{"es", "ES384", ecKey, mustEC(t, elliptic.P384())},
	}
	for _, tc := range tests {
		t.Run(tc.alg, func(t *testing.T) {
			path := "/" + tc.loc + "/x"
			for i := range 3 { // new tokens: each is verified
				if st, body := get(path, jwtToken(t, tc.alg, "", tc.key, claims(i))); st != 200 || body != "app "+path {
					t.Errorf("valid token %d: %d %q; want 200 from the app", i, st, body)
				}
			}
			good := jwtToken(t, tc.alg, "", tc.key, claims(9))
			parts := strings.Split(good, ".")
			parts[1] = rawURL64([]byte(`{"sub":"mallory"}`))
			cases := []struct{ name, tok string }{
				{"other key", jwtToken(t, tc.alg, "", tc.bad, claims(1))},
				{"tampered signature", tamper(good)},
				{"tampered claims", strings.Join(parts, ".")},
			}
			for _, c := range cases {
				if st, body := get(path, c.tok); st != 401 || body != "Jwt authorization is invalid" {
					t.Errorf("%s: %d %q; want 401 invalid", c.name, st, body)
				}
			}
		})
	}
}

func mustEC(t testing.TB, c elliptic.Curve) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(c, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// BenchmarkAuthPluginsNativeCrypto is BenchmarkAuthPlugins's jwt cases
// with the host's signature verifier (host/cryptox) registered, as the
// binary has it: the plugin hands the checks of new tokens to the host. Run
// next to BenchmarkAuthPlugins (whose runtime has no verifier, so the
// plugin checks in the module), it gives both columns of the README table:
//
//	make plugins && go test -run '^$' -bench AuthPlugins -benchtime 1000x ./host/e2e
func BenchmarkAuthPluginsNativeCrypto(b *testing.B) {
	if pluginDir == "" {
		b.Skip("plugins/*.wasm not built: run `make plugins`")
	}
	path := filepath.Join(pluginDir, "jwt.wasm")
	if _, err := os.Stat(path); err != nil {
		b.Skipf("%s not built", path)
	}
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		b.Fatal(err)
	}
	ecKey := mustEC(b, elliptic.P256())
	const secret = "bench secret"
	rsParams := map[string]any{"header": "Authorization", "algorithm": "RS256", "public_key": publicPEM(b, &rsaKey.PublicKey)}
	cases := []struct {
		name   string
		params map[string]any
		values func(n int) []string
	}{
		{"jwt-HS256-new", map[string]any{"header": "Authorization", "secret": secret},
			func(n int) []string { return benchTokens(b, "HS256", []byte(secret), n, true) }},
		{"jwt-RS256-new", rsParams, func(n int) []string { return benchTokens(b, "RS256", rsaKey, n, true) }},
		{"jwt-RS256-again", rsParams, func(n int) []string { return benchTokens(b, "RS256", rsaKey, n, false) }},
		{"jwt-ES256-new", map[string]any{"header": "Authorization", "algorithm": "ES256", "public_key": publicPEM(b, &ecKey.PublicKey)},
			func(n int) []string { return benchTokens(b, "ES256", ecKey, n, true) }},
	}
	foreign := map[string]wasm.ForeignFunc{}
	for name, fn := range cryptox.New(cryptox.Options{}).Functions() {
		foreign[name] = wasm.ErrorFunc(fn)
	}
	for _, budget := range []struct {
		name    string
		timeout time.Duration
	}{{"budget-on", 0}, {"budget-off", -1}} {
		for _, bc := range cases {
			b.Run(budget.name+"/"+bc.name, func(b *testing.B) {
				benchPluginRequests(b, wasm.Options{CallTimeout: budget.timeout, ForeignFunctions: foreign}, path, bc.params, "authorization", bc.values)
			})
		}
	}
}
