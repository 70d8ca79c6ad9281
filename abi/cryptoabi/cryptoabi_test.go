package cryptoabi

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"
)

func TestAlgNames(t *testing.T) {
	for a := Alg(1); a <= maxAlg; a++ {
		back, ok := ParseAlg(a.String())
		if !ok || back != a {
			t.Errorf("ParseAlg(%q) = %v, %v; want %v", a.String(), back, ok, a)
		}
		if a.Family() == 0 {
			t.Errorf("%s has no family", a)
		}
	}
	for _, name := range []string{"", "none", "HS257", "hs256", "RS256 ", "EdDSA2"} {
		if a, ok := ParseAlg(name); ok {
			t.Errorf("ParseAlg(%q) = %v; want refused", name, a)
		}
	}
	if Alg(0).String() != "" || (maxAlg+1).String() != "" || Alg(0).Family() != 0 || (maxAlg+1).Family() != 0 {
		t.Error("values outside the algorithms have names or families")
	}
}

func TestAlgProperties(t *testing.T) {
	tests := []struct {
		alg                   Alg
		family                Family
		hashBits, coord, ecKS int
		pss                   bool
	}{
		{HS256, FamilyHMAC, 256, 0, 0, false},
		{HS512, FamilyHMAC, 512, 0, 0, false},
		{RS384, FamilyRSA, 384, 0, 0, false},
		{PS256, FamilyRSA, 256, 0, 0, true},
		{PS512, FamilyRSA, 512, 0, 0, true},
		{ES256, FamilyECDSA, 256, 32, 65, false},
		{ES384, FamilyECDSA, 384, 48, 97, false},
		{ES512, FamilyECDSA, 512, 66, 133, false},
		{EdDSA, FamilyEdDSA, 0, 0, 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.alg.String(), func(t *testing.T) {
			a := tc.alg
			if a.Family() != tc.family || a.HashBits() != tc.hashBits || a.CoordSize() != tc.coord || a.ECKeySize() != tc.ecKS || a.PSS() != tc.pss {
				t.Errorf("family %c, hash %d, coord %d, EC key %d, PSS %v; want %c, %d, %d, %d, %v",
					a.Family(), a.HashBits(), a.CoordSize(), a.ECKeySize(), a.PSS(), tc.family, tc.hashBits, tc.coord, tc.ecKS, tc.pss)
			}
		})
	}
}

func TestVerifyRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		args VerifyArgs
	}{
		{"HS256", VerifyArgs{Alg: HS256, Key: []byte("k"), Signature: bytes.Repeat([]byte{7}, 32), Data: []byte("a.b")}},
		{"no signature, no data", VerifyArgs{Alg: ES256, Key: []byte{4}}},
		{"largest", VerifyArgs{Alg: RS512, Key: make([]byte, MaxKey), Signature: make([]byte, MaxSignature), Data: make([]byte, MaxData)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, err := AppendVerify([]byte("prefix"), tc.args)
			if err != nil {
				t.Fatal(err)
			}
			if string(b[:6]) != "prefix" || len(b)-6 != VerifySize(tc.args) {
				t.Fatalf("appended %d bytes; want %d after the prefix", len(b)-6, VerifySize(tc.args))
			}
			got, err := DecodeVerify(b[6:])
			if err != nil || got.Alg != tc.args.Alg || !bytes.Equal(got.Key, tc.args.Key) || !bytes.Equal(got.Signature, tc.args.Signature) ||
				!bytes.Equal(got.Data, tc.args.Data) {
				t.Errorf("DecodeVerify = %v, %v; want the arguments back", got.Alg, err)
			}
		})
	}
}

// The worked example of the package doc.
func TestVerifyLayout(t *testing.T) {
	mac := bytes.Repeat([]byte{0xee}, 32)
	b, err := AppendVerify(nil, VerifyArgs{Alg: HS256, Key: []byte("k"), Signature: mac, Data: []byte("a.b")})
	if err != nil {
		t.Fatal(err)
	}
	want := append(append([]byte{0x01, 0x01, 0x00, 'k', 0x20, 0x00}, mac...), "a.b"...)
	if !bytes.Equal(b, want) {
		t.Errorf("encoded % x; want % x", b, want)
	}
}

func TestVerifyRefused(t *testing.T) {
	ok := VerifyArgs{Alg: HS256, Key: []byte("k"), Signature: []byte("s"), Data: []byte("d")}
	with := func(f func(a *VerifyArgs)) VerifyArgs { a := ok; f(&a); return a }
	tests := []struct {
		name string
		args VerifyArgs
		want error
	}{
		{"no algorithm", with(func(a *VerifyArgs) { a.Alg = 0 }), ErrAlg},
		{"unknown algorithm", with(func(a *VerifyArgs) { a.Alg = maxAlg + 1 }), ErrAlg},
		{"empty key", with(func(a *VerifyArgs) { a.Key = nil }), ErrKeySize},
		{"key too long", with(func(a *VerifyArgs) { a.Key = make([]byte, MaxKey+1) }), ErrKeySize},
		{"signature too long", with(func(a *VerifyArgs) { a.Signature = make([]byte, MaxSignature+1) }), ErrSignatureSize},
		{"data too long", with(func(a *VerifyArgs) { a.Data = make([]byte, MaxData+1) }), ErrDataSize},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if b, err := AppendVerify(nil, tc.args); !errors.Is(err, tc.want) || len(b) != 0 {
				t.Errorf("AppendVerify = %d bytes, %v; want nothing, %v", len(b), err, tc.want)
			}
			// The same arguments encoded by hand are refused by the decoder.
			b := []byte{byte(tc.args.Alg)}
			b = binary.LittleEndian.AppendUint16(b, uint16(len(tc.args.Key)))
			b = append(b, tc.args.Key...)
			b = binary.LittleEndian.AppendUint16(b, uint16(len(tc.args.Signature)))
			b = append(append(b, tc.args.Signature...), tc.args.Data...)
			if _, err := DecodeVerify(b); !errors.Is(err, tc.want) {
				t.Errorf("DecodeVerify: %v; want %v", err, tc.want)
			}
		})
	}
}

func TestVerifyShort(t *testing.T) {
	full, err := AppendVerify(nil, VerifyArgs{Alg: HS256, Key: []byte("key"), Signature: []byte("sig")})
	if err != nil {
		t.Fatal(err)
	}
	// Every prefix that cuts a header or a counted field is short; only
	// the data (the rest) may be cut anywhere.
	for n := range len(full) {
		if _, err := DecodeVerify(full[:n]); !errors.Is(err, ErrShort) {
			t.Errorf("DecodeVerify of %d of %d bytes: %v; want ErrShort", n, len(full), err)
		}
	}
}

func TestRSAKey(t *testing.T) {
	n2048 := append([]byte{0xc5}, bytes.Repeat([]byte{0x5b}, 255)...) // 2048 bits, odd
	tests := []struct {
		name string
		n    []byte
		e    int
		ok   bool
	}{
		{name: "2048 bits, 65537", n: n2048, e: 65537, ok: true},
		{name: "leading zeros dropped", n: append([]byte{0, 0}, n2048...), e: 3, ok: true},
		{name: "1024 bits", n: append([]byte{0x80}, bytes.Repeat([]byte{1}, 127)...), e: 65537, ok: true},
		{name: "8192 bits", n: append([]byte{0xff}, bytes.Repeat([]byte{1}, 1023)...), e: 65537, ok: true},
		{name: "1023 bits", n: append([]byte{0x7f}, bytes.Repeat([]byte{1}, 127)...), e: 65537},
		{name: "8193 bits", n: append([]byte{1}, bytes.Repeat([]byte{1}, 1024)...), e: 65537},
		{name: "even modulus", n: append(bytes.Clone(n2048[:255]), 2), e: 65537},
		{name: "no modulus", n: nil, e: 65537},
		{name: "even exponent", n: n2048, e: 65536},
		{name: "exponent 1", n: n2048, e: 1},
		{name: "exponent 2^31+1", n: n2048, e: 1<<31 + 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			key, err := AppendRSAKey(nil, tc.n, tc.e)
			if (err == nil) != tc.ok {
				t.Fatalf("AppendRSAKey: %v; want ok %v", err, tc.ok)
			}
			if !tc.ok {
				return
			}
			n, e, err := DecodeRSAKey(key)
			if err != nil || e != tc.e || !bytes.Equal(n, trimZeros(tc.n)) {
				t.Errorf("DecodeRSAKey = %d-byte n, e %d, %v; want the key back", len(n), e, err)
			}
		})
	}
	t.Run("decoder applies the checks", func(t *testing.T) {
		bad := [][]byte{
			nil,
			{0, 1, 0, 1},                            // no modulus
			append([]byte{0x80, 0, 0, 1}, n2048...), // e ≥ 2^31
			append([]byte{0, 1, 0, 0}, n2048...),    // e even
			append([]byte{0, 1, 0, 1}, n2048[:100]...), // short modulus
		}
		for i, k := range bad {
			if _, _, err := DecodeRSAKey(k); !errors.Is(err, ErrRSAKey) {
				t.Errorf("key %d: %v; want ErrRSAKey", i, err)
			}
		}
	})
}

// FuzzDecodeVerify: no input panics the decoder, and what it accepts
// re-encodes to the same bytes.
func FuzzDecodeVerify(f *testing.F) {
	seed, _ := AppendVerify(nil, VerifyArgs{Alg: RS256, Key: []byte{0, 1, 0, 1, 0xc5}, Signature: []byte("sig"), Data: []byte("h.p")})
	f.Add(seed)
	f.Add([]byte{})
	f.Add([]byte{1, 0xff, 0xff})
	f.Add([]byte{13, 1, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		a, err := DecodeVerify(b)
		if err != nil {
			return
		}
		back, err := AppendVerify(nil, a)
		if err != nil {
			t.Fatalf("decoded arguments do not encode: %v", err)
		}
		if !bytes.Equal(back, b) {
			t.Fatalf("re-encoded % x; want % x", back, b)
		}
		if a.Alg.Family() == FamilyRSA {
			DecodeRSAKey(a.Key)
		}
	})
}
