package main

import (
	"bytes"
	"encoding/base64"
	"errors"
	"math/big"
	"reflect"
	"strings"
	"testing"

	"github.com/sluice-proxy/sluice/abi"
	"github.com/sluice-proxy/sluice/sdk"
	"github.com/sluice-proxy/sluice/sdk/sdktest"
)

// startWay configures the plugin on a host with a signature verifier
// (native) or without one; cv is the verifier, nil without.
func startWay(t *testing.T, config string, native bool, opts ...sdktest.Option) (*sdktest.Host, *sdktest.CryptoVerifier) {
	t.Helper()
	opts = append(opts, sdktest.WithNow(now))
	var cv *sdktest.CryptoVerifier
	if native {
		cv = sdktest.NewCryptoVerifier()
		opts = append(opts, cv.Option())
	}
	return sdktest.Start(t, config, opts...), cv
}

var ways = []struct {
	name   string
	native bool
}{{"in the module", false}, {"by the host", true}}

// Every algorithm decides the same by the host and in the module, and the
// host is asked once per signature, never without a verifier.
func TestJWTVerifyBothWays(t *testing.T) {
	for _, alg := range allAlgs {
		good, wrong := signers(t, alg)
		tok := good.token(t, valid(), nil)
		parts := strings.Split(tok, ".")
		sig, err := base64.RawURLEncoding.DecodeString(parts[2])
		if err != nil {
			t.Fatal(err)
		}
		tamperedClaims := parts[0] + "." + b64u(mustJSON(map[string]any{"sub": "mallory"})) + "." + parts[2]
		tamperedSig := parts[0] + "." + parts[1] + "." + b64u(flipByte(sig, len(sig)/2))
		shortSig := parts[0] + "." + parts[1] + "." + b64u(sig[:len(sig)-1])
		noSig := parts[0] + "." + parts[1] + "."
		tests := []struct {
			name, tok, want string // want "" passes
		}{
			{name: "valid", tok: tok},
			{name: "wrong key", tok: wrong.token(t, valid(), nil), want: "Jwt authorization is invalid"},
			{name: "tampered claims", tok: tamperedClaims, want: "Jwt authorization is invalid"},
			{name: "tampered signature", tok: tamperedSig, want: "Jwt authorization is invalid"},
			{name: "signature cut short", tok: shortSig, want: "Jwt authorization is invalid"},
			{name: "no signature", tok: noSig, want: "Jwt authorization is invalid"},
			{name: "expired", tok: good.token(t, map[string]any{"exp": now.Unix() - 1}, nil), want: "Jwt authorization is expired"},
		}
		for _, way := range ways {
			t.Run(alg+"/"+way.name, func(t *testing.T) {
				h, cv := startWay(t, configFor(t, alg, good), way.native)
				for _, tc := range tests {
					h.ResetHostCalls()
					lr, _ := decide(t, h, bearerReq(tc.tok))
					switch {
					case tc.want == "" && lr != nil:
						t.Errorf("%s: refused with %d %q; want passed on", tc.name, lr.Status, lr.Body)
					case tc.want != "" && (lr == nil || lr.Status != 401 || string(lr.Body) != tc.want):
						t.Errorf("%s: response %+v; want 401 %q", tc.name, lr, tc.want)
					}
					foreign := h.HostCalls()[abi.FuncCallForeignFunction]
					if want := btoi(way.native); foreign != want {
						t.Errorf("%s: %d foreign calls; want %d", tc.name, foreign, want)
					}
				}
				if way.native && cv.Calls() != len(tests) {
					t.Errorf("%d verifications by the host; want %d, one per token", cv.Calls(), len(tests))
				}
			})
		}
	}
}

func flipByte(b []byte, i int) []byte {
	c := bytes.Clone(b)
	c[i] ^= 0x20
	return c
}

// Key sets decide the same both ways; a token without a kid is tried with
// each candidate key, by the host too.
func TestJWKSVerifyBothWays(t *testing.T) {
	rs, rsWrong := signers(t, "RS256")
	es, _ := signers(t, "ES384")
	set := jwksJSON(rsWrong.jwk("old", ""), rs.jwk("rsa", "RS256"), es.jwk("ec", ""))
	tests := []struct {
		name, tok, want string
		hostChecks      int // signatures the host checks for it
	}{
		{name: "RS256 with its kid", tok: rs.token(t, hour(), map[string]any{"kid": "rsa"}), hostChecks: 1},
		{name: "RS256 without kid: the old key first", tok: rs.token(t, hour(), nil), hostChecks: 2},
		{name: "ES384 with its kid", tok: es.token(t, hour(), map[string]any{"kid": "ec"}), hostChecks: 1},
		{name: "ES384 without kid: the one EC key", tok: es.token(t, hour(), nil), hostChecks: 1},
		{name: "RS256 signed by the old key, with the new kid", tok: rsWrong.token(t, hour(), map[string]any{"kid": "rsa"}),
			want: "Jwt authorization is invalid", hostChecks: 1},
	}
	for _, way := range ways {
		t.Run(way.name, func(t *testing.T) {
			var cv *sdktest.CryptoVerifier
			var h *sdktest.Host
			if way.native {
				cv = sdktest.NewCryptoVerifier()
				var fetch *sdktest.Call
				h, fetch = startJWKSWith(t, jwksConfig, cv.Option())
				answer(fetch, 200, set)
			} else {
				var fetch *sdktest.Call
				h, fetch = startJWKSWith(t, jwksConfig)
				answer(fetch, 200, set)
			}
			for _, tc := range tests {
				before := 0
				if cv != nil {
					before = cv.Calls()
				}
				lr, _ := decide(t, h, bearerReq(tc.tok))
				switch {
				case tc.want == "" && lr != nil:
					t.Errorf("%s: refused %d %q; want passed on", tc.name, lr.Status, lr.Body)
				case tc.want != "" && (lr == nil || string(lr.Body) != tc.want):
					t.Errorf("%s: response %+v; want 401 %q", tc.name, lr, tc.want)
				}
				if cv != nil && cv.Calls()-before != tc.hostChecks {
					t.Errorf("%s: %d checks by the host; want %d", tc.name, cv.Calls()-before, tc.hostChecks)
				}
			}
		})
	}
}

// startJWKSWith is startJWKS with more host options.
func startJWKSWith(t *testing.T, config string, opts ...sdktest.Option) (*sdktest.Host, *sdktest.Call) {
	t.Helper()
	h := sdktest.Start(t, config, append(opts, sdktest.WithNow(now))...)
	calls := h.HTTPCalls()
	if len(calls) != 1 {
		t.Fatalf("%d fetches when configured; want 1", len(calls))
	}
	return h, calls[0]
}

// A host that fails a call gives no verdict: the module checks the
// signature itself, so a valid token still passes and a forged one is
// still refused; the host is asked again next time.
func TestJWTHostFailureFallsBack(t *testing.T) {
	for _, alg := range []string{"HS256", "RS256", "ES256"} {
		t.Run(alg, func(t *testing.T) {
			good, wrong := signers(t, alg)
			h, cv := startWay(t, configFor(t, alg, good), true)
			cv.Fail(abi.StatusInternalFailure)
			if lr, _ := decide(t, h, bearerReq(good.token(t, valid(), nil))); lr != nil {
				t.Errorf("valid token refused %+v while the host fails", lr)
			}
			if lr, _ := decide(t, h, bearerReq(wrong.token(t, valid(), nil))); lr == nil {
				t.Error("token of another key passed while the host fails")
			}
			if cv.Calls() != 2 {
				t.Errorf("%d calls to the host; want 2, one per token", cv.Calls())
			}
			cv.Fail(abi.StatusOK)
			if lr, _ := decide(t, h, bearerReq(good.token(t, map[string]any{"sub": "again"}, nil))); lr != nil || cv.Calls() != 3 {
				t.Errorf("after the host recovers: response %+v, %d calls; want passed on by the host's check", lr, cv.Calls())
			}
		})
	}
}

// A host that says it has a verifier when asked, and then that it has
// none, is not asked again.
func TestJWTVerifierGone(t *testing.T) {
	calls := 0
	gone := sdktest.WithForeignFunction("sluice.crypto.verify", func(args []byte) ([]byte, error) {
		if len(args) == 0 { // the probe when configured
			return nil, &sdktest.ForeignError{Status: abi.StatusBadArgument}
		}
		calls++
		return nil, &sdktest.ForeignError{Status: abi.StatusNotFound}
	})
	rs, _ := signers(t, "RS256")
	h, _ := startWay(t, configFor(t, "RS256", rs), false, gone)
	for i := range 3 {
		if lr, _ := decide(t, h, bearerReq(rs.token(t, map[string]any{"n": i}, nil))); lr != nil {
			t.Fatalf("token %d refused %+v", i, lr)
		}
	}
	if calls != 1 {
		t.Errorf("%d calls to a host without the verifier; want 1", calls)
	}
}

// With the host's verifier, a new token costs one more crossing than the
// module's check, and a cached one none.
func TestJWTHostCallsNative(t *testing.T) {
	rs, _ := signers(t, "RS256")
	h, _ := startWay(t, configFor(t, "RS256", rs), true)
	tok := rs.token(t, valid(), nil)
	for _, round := range []struct {
		name string
		want map[string]int
	}{
		{"verified", map[string]int{"proxy_get_header_map_value": 1, "proxy_get_current_time_nanoseconds": 1, "proxy_call_foreign_function": 1}},
		{"cached", map[string]int{"proxy_get_header_map_value": 1, "proxy_get_current_time_nanoseconds": 1}},
	} {
		s := h.NewStream()
		h.ResetHostCalls()
		if a := s.SendRequestHeaders(bearerReq(tok), true); a != sdk.Continue {
			t.Fatalf("%s: refused %+v", round.name, s.LocalResponse())
		}
		if got := h.HostCalls(); !reflect.DeepEqual(got, round.want) {
			t.Errorf("%s: host calls %v; want %v", round.name, got, round.want)
		}
	}
}

// The plugin says which way it verifies, at debug level.
func TestJWTSaysWhichWay(t *testing.T) {
	hs, _ := signers(t, "HS256")
	for _, way := range ways {
		t.Run(way.name, func(t *testing.T) {
			h, _ := startWay(t, configFor(t, "HS256", hs), way.native)
			want := map[bool]string{true: "verified by the host", false: "verified in the module"}[way.native]
			if !contains(h.LogMessages(sdk.LevelDebug), want) {
				t.Errorf("debug log %q; want a line with %q", h.LogMessages(sdk.LevelDebug), want)
			}
		})
	}
}

// Keys get their native form once, when parsed; an RSA key the host would
// refuse (here over 8192 bits) has none, and is checked in the module.
func TestKeyNativeForm(t *testing.T) {
	rs, _ := signers(t, "RS256")
	es, _ := signers(t, "ES512")
	huge := new(big.Int).Lsh(big.NewInt(1), 8199)
	huge.Add(huge, big.NewInt(1))
	tests := []struct {
		name   string
		parse  func() (*key, error)
		native bool
	}{
		{"PEM RSA", func() (*key, error) { return parsePublicKey(rs.publicPEM(t)) }, true},
		{"PEM P-521", func() (*key, error) { return parsePublicKey(es.publicPEM(t)) }, true},
		{"JWK RSA", func() (*key, error) { return firstJWK(rs.jwk("a", "")) }, true},
		{"JWK P-521", func() (*key, error) { return firstJWK(es.jwk("a", "")) }, true},
		{"JWK RSA of 8200 bits", func() (*key, error) {
			return firstJWK(map[string]any{"kty": "RSA", "n": b64u(huge.Bytes()), "e": "AQAB"})
		}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			k, err := tc.parse()
			if err != nil {
				t.Fatal(err)
			}
			if (k.native != nil) != tc.native {
				t.Fatalf("native form %d bytes; want one: %v", len(k.native), tc.native)
			}
			if k.ec != nil {
				pt, err := k.ec.Bytes()
				if err != nil || !bytes.Equal(pt, k.native) {
					t.Errorf("native form is not the key's point")
				}
			}
		})
	}
}

func firstJWK(jwk map[string]any) (*key, error) {
	keys, err := parseJWKS(jwksJSON(jwk))
	if err != nil {
		return nil, err
	}
	if len(keys) != 1 {
		return nil, errors.New("want one key")
	}
	return keys[0], nil
}
