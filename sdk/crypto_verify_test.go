package sdk_test

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"errors"
	"math/big"
	"testing"

	"github.com/sluice-proxy/sluice/abi"
	"github.com/sluice-proxy/sluice/abi/cryptoabi"
	"github.com/sluice-proxy/sluice/sdk"
	"github.com/sluice-proxy/sluice/sdk/sdktest"
)

// verifyCase is a signature made here, with its key in VerifySignature's
// form.
type verifyCase struct {
	alg      string
	key, sig []byte
}

func verifyCases(t *testing.T, data []byte) []verifyCase {
	t.Helper()
	rk, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	ek, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	edPub, edKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	mac := hmac.New(sha256.New, []byte("secret"))
	mac.Write(data)
	d256 := sha256.Sum256(data)
	d384 := sha512.Sum384(data)
	rs, err := rsa.SignPKCS1v15(rand.Reader, rk, crypto.SHA256, d256[:])
	if err != nil {
		t.Fatal(err)
	}
	ps, err := rsa.SignPSS(rand.Reader, rk, crypto.SHA384, d384[:], &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
	if err != nil {
		t.Fatal(err)
	}
	r, s, err := ecdsa.Sign(rand.Reader, ek, d384[:])
	if err != nil {
		t.Fatal(err)
	}
	es := make([]byte, 96)
	r.FillBytes(es[:48])
	s.FillBytes(es[48:])
	pt, err := ek.PublicKey.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	rsaKey := sdk.RSAVerifyKey(rk.N.Bytes(), rk.E)
	if rsaKey == nil {
		t.Fatal("RSAVerifyKey refused a 2048-bit key")
	}
	return []verifyCase{
		{"HS256", []byte("secret"), mac.Sum(nil)},
		{"RS256", rsaKey, rs},
		{"PS384", rsaKey, ps},
		{"ES384", pt, es},
		{"EdDSA", edPub, ed25519.Sign(edKey, data)},
	}
}

func TestVerifySignature(t *testing.T) {
	data := []byte("header.payload")
	cases := verifyCases(t, data)
	cv := sdktest.NewCryptoVerifier()
	start(t, &funcs{}, cv.Option())
	if !sdk.VerifierAvailable() {
		t.Fatal("VerifierAvailable = false with the verifier installed")
	}
	for _, c := range cases {
		t.Run(c.alg, func(t *testing.T) {
			tampered := bytes.Clone(c.sig)
			tampered[3] ^= 1
			tests := []struct {
				name      string
				data, sig []byte
				want      bool
			}{
				{"valid", data, c.sig, true},
				{"tampered data", []byte("header.payloaD"), c.sig, false},
				{"tampered signature", data, tampered, false},
				{"no signature", data, nil, false},
			}
			for _, tc := range tests {
				before := cv.Calls()
				got, err := sdk.VerifySignature(c.alg, c.key, tc.data, tc.sig)
				if err != nil || got != tc.want {
					t.Errorf("%s: VerifySignature = %v, %v; want %v", tc.name, got, err, tc.want)
				}
				if cv.Calls() != before+1 {
					t.Errorf("%s: %d host calls; want 1", tc.name, cv.Calls()-before)
				}
			}
		})
	}
	t.Run("refused", func(t *testing.T) {
		rsaKey := cases[1].key
		tests := []struct {
			name, alg string
			key, sig  []byte
			data      []byte
			hostCall  bool
		}{
			{name: "unknown algorithm", alg: "none", key: []byte("k")},
			{name: "lower-case algorithm", alg: "rs256", key: rsaKey},
			{name: "empty key", alg: "HS256"},
			{name: "key too long", alg: "HS256", key: make([]byte, sdk.MaxVerifyKey+1)},
			{name: "data too long", alg: "HS256", key: []byte("k"), data: make([]byte, cryptoabi.MaxData+1)},
			{name: "EC key for RS256", alg: "RS256", key: cases[3].key, hostCall: true},
			{name: "RSA key for ES384", alg: "ES384", key: rsaKey, hostCall: true},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				before := cv.Calls()
				got, err := sdk.VerifySignature(tc.alg, tc.key, tc.data, tc.sig)
				if got || !errors.Is(err, sdk.ErrBadArgument) {
					t.Errorf("VerifySignature = %v, %v; want ErrBadArgument", got, err)
				}
				if called := cv.Calls() != before; called != tc.hostCall {
					t.Errorf("host called: %v; want %v", called, tc.hostCall)
				}
			})
		}
	})
	t.Run("a signature longer than any is false without a host call", func(t *testing.T) {
		before := cv.Calls()
		if got, err := sdk.VerifySignature("RS256", cases[1].key, data, make([]byte, cryptoabi.MaxSignature+1)); got || err != nil {
			t.Errorf("VerifySignature = %v, %v; want false, nil", got, err)
		}
		if cv.Calls() != before {
			t.Error("the host was called")
		}
	})
	t.Run("host failure", func(t *testing.T) {
		cv.Fail(abi.StatusInternalFailure)
		defer cv.Fail(abi.StatusOK)
		got, err := sdk.VerifySignature(cases[1].alg, cases[1].key, data, cases[1].sig)
		var se *sdk.StatusError
		if got || !errors.As(err, &se) || se.Status != abi.StatusInternalFailure {
			t.Errorf("VerifySignature = %v, %v; want false and INTERNAL_FAILURE", got, err)
		}
	})
}

// A host whose answer is not one of the two verdicts never makes a
// signature pass.
func TestVerifySignatureOddAnswers(t *testing.T) {
	tests := []struct {
		name   string
		answer []byte
	}{
		{"empty", nil},
		{"unknown verdict", []byte{2}},
		{"two bytes", []byte{cryptoabi.Valid, cryptoabi.Valid}},
		{"all ones", []byte{0xff}},
	}
	for _, tc := range tests {
		answer := tc.answer
		t.Run(tc.name, func(t *testing.T) {
			start(t, &funcs{}, sdktest.WithForeignFunction(cryptoabi.FuncVerify, func([]byte) ([]byte, error) { return answer, nil }))
			if got, err := sdk.VerifySignature("HS256", []byte("k"), []byte("d"), []byte("s")); got || err == nil {
				t.Errorf("answer % x: VerifySignature = %v, %v; want false and an error", answer, got, err)
			}
		})
	}
}

func TestVerifySignatureWithoutHost(t *testing.T) {
	start(t, &funcs{})
	if sdk.VerifierAvailable() {
		t.Error("VerifierAvailable = true on a host without the function")
	}
	got, err := sdk.VerifySignature("HS256", []byte("k"), []byte("d"), make([]byte, 32))
	if got || !errors.Is(err, sdk.ErrUnimplemented) {
		t.Errorf("VerifySignature = %v, %v; want ErrUnimplemented", got, err)
	}
}

func TestRSAVerifyKey(t *testing.T) {
	odd := func(bits uint) []byte { // 2^(bits-1) + 1: odd, of that many bits
		n := new(big.Int).Lsh(big.NewInt(1), bits-1)
		return n.Add(n, big.NewInt(1)).Bytes()
	}
	tests := []struct {
		name string
		n    []byte
		e    int
		ok   bool
	}{
		{"2048 bits", odd(2048), 65537, true},
		{"1024 bits", odd(1024), 3, true},
		{"512 bits", odd(512), 65537, false},
		{"even exponent", odd(2048), 4, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			k := sdk.RSAVerifyKey(tc.n, tc.e)
			if (k != nil) != tc.ok {
				t.Fatalf("RSAVerifyKey = %d bytes; want a key: %v", len(k), tc.ok)
			}
			if k == nil {
				return
			}
			n, e, err := cryptoabi.DecodeRSAKey(k)
			if err != nil || e != tc.e || !bytes.Equal(n, tc.n) {
				t.Errorf("DecodeRSAKey = %d-byte n, %d, %v; want the key back", len(n), e, err)
			}
		})
	}
}
