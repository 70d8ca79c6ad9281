package cryptox

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"sync"
	"testing"

	"github.com/sluice-proxy/sluice/abi/cryptoabi"
)

// ecKeys makes n P-256 key forms, with a signature of data by each.
func ecKeys(t testing.TB, n int, data []byte) (forms, sigs [][]byte) {
	t.Helper()
	for range n {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		pt, err := k.PublicKey.Bytes()
		if err != nil {
			t.Fatal(err)
		}
		tk := &testKey{ec: k, form: pt}
		forms, sigs = append(forms, pt), append(sigs, tk.sign(t, cryptoabi.ES256, data))
	}
	return forms, sigs
}

func TestKeyCache(t *testing.T) {
	data := []byte("h.p")
	forms, sigs := ecKeys(t, 4, data)
	type step struct {
		key        int
		wantParsed uint64 // parses so far
	}
	tests := []struct {
		name     string
		maxKeys  int
		steps    []step
		wantKept int
	}{
		{name: "a key is parsed once", maxKeys: 3, steps: []step{{0, 1}, {0, 1}, {0, 1}}, wantKept: 1},
		{name: "each key once while they fit", maxKeys: 3, steps: []step{{0, 1}, {1, 2}, {2, 3}, {0, 3}, {1, 3}, {2, 3}}, wantKept: 3},
		{name: "the least recently used goes", maxKeys: 2,
			// 0, 1, then 0 is used again: 1 is the one 2 pushes out.
			steps: []step{{0, 1}, {1, 2}, {0, 2}, {2, 3}, {0, 3}, {1, 4}}, wantKept: 2},
		{name: "a cycle longer than the cache parses every time", maxKeys: 2, steps: []step{{0, 1}, {1, 2}, {2, 3}, {0, 4}, {1, 5}}, wantKept: 2},
		{name: "no cache", maxKeys: -1, steps: []step{{0, 1}, {0, 2}, {1, 3}}, wantKept: 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v := New(Options{MaxKeys: tc.maxKeys})
			for i, s := range tc.steps {
				ok, err := v.Verify(cryptoabi.ES256, forms[s.key], data, sigs[s.key])
				if !ok || err != nil {
					t.Fatalf("step %d: verify = %v, %v; want true", i, ok, err)
				}
				if got := v.keys.parsed.Load(); got != s.wantParsed {
					t.Fatalf("step %d (key %d): %d parses so far; want %d", i, s.key, got, s.wantParsed)
				}
			}
			if got := v.keys.len(); got != tc.wantKept {
				t.Errorf("%d keys kept; want %d", got, tc.wantKept)
			}
		})
	}
	t.Run("refused keys are not kept", func(t *testing.T) {
		v := New(Options{})
		bad := append([]byte(nil), forms[0]...)
		bad[10] ^= 1
		for range 2 {
			if _, err := v.Verify(cryptoabi.ES256, bad, data, sigs[0]); err == nil {
				t.Fatal("a point off the curve was accepted")
			}
		}
		if v.keys.len() != 0 || v.keys.parsed.Load() != 2 {
			t.Errorf("%d keys kept, %d parses; want 0 kept and a parse per call", v.keys.len(), v.keys.parsed.Load())
		}
	})
	t.Run("secrets are not kept", func(t *testing.T) {
		v := New(Options{})
		hs, _ := keys(t, cryptoabi.HS256)
		if ok, err := v.Verify(cryptoabi.HS256, hs.form, data, hs.sign(t, cryptoabi.HS256, data)); !ok || err != nil {
			t.Fatalf("verify = %v, %v", ok, err)
		}
		if v.keys.len() != 0 {
			t.Errorf("%d keys kept after an HMAC check; want 0", v.keys.len())
		}
	})
	t.Run("RS and PS share a key", func(t *testing.T) {
		v := New(Options{})
		rs, _ := keys(t, cryptoabi.RS256)
		for _, alg := range []cryptoabi.Alg{cryptoabi.RS256, cryptoabi.PS384} {
			if ok, err := v.Verify(alg, rs.form, data, rs.sign(t, alg, data)); !ok || err != nil {
				t.Fatalf("%s: verify = %v, %v", alg, ok, err)
			}
		}
		if v.keys.len() != 1 || v.keys.parsed.Load() != 1 {
			t.Errorf("%d keys kept, %d parses; want 1 and 1", v.keys.len(), v.keys.parsed.Load())
		}
	})
}

// Many goroutines (the VMs) verify with a small cache at once: every
// answer is right, and the cache stays within its bound. Run with -race.
func TestVerifyConcurrent(t *testing.T) {
	data := []byte("h.p")
	forms, sigs := ecKeys(t, 5, data)
	rs, _ := keys(t, cryptoabi.RS256)
	rsSig := rs.sign(t, cryptoabi.RS256, data)
	v := New(Options{MaxKeys: 3})
	var wg sync.WaitGroup
	errs := make(chan string, 64)
	for g := range 8 {
		wg.Go(func() {
			for i := range 40 {
				k := (g + i) % len(forms)
				if ok, err := v.Verify(cryptoabi.ES256, forms[k], data, sigs[k]); !ok || err != nil {
					errs <- "ES256 key " + string(rune('0'+k)) + " refused"
					return
				}
				if ok, _ := v.Verify(cryptoabi.ES256, forms[k], data, sigs[(k+1)%len(sigs)]); ok {
					errs <- "another key's signature passed"
					return
				}
				if i%8 == 0 {
					if ok, err := v.Verify(cryptoabi.RS256, rs.form, data, rsSig); !ok || err != nil {
						errs <- "RS256 refused"
						return
					}
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	if n := v.keys.len(); n > 3 {
		t.Errorf("%d keys kept; want at most 3", n)
	}
}
