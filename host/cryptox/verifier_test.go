package cryptox

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io/fs"
	"strings"
	"testing"

	"github.com/sluice-proxy/sluice/abi/cryptoabi"
)

// encode lays out FuncVerify's arguments by hand, so that the tests can
// send what AppendVerify would refuse.
func encode(alg cryptoabi.Alg, key, sig, data []byte) []byte {
	b := []byte{byte(alg)}
	b = binary.LittleEndian.AppendUint16(b, uint16(len(key)))
	b = append(b, key...)
	b = binary.LittleEndian.AppendUint16(b, uint16(len(sig)))
	return append(append(b, sig...), data...)
}

// call verifies through both doors, Verify and the foreign function, and
// checks that they agree.
func call(t *testing.T, v *Verifier, alg cryptoabi.Alg, key, data, sig []byte) (bool, error) {
	t.Helper()
	ok, err := v.Verify(alg, key, data, sig)
	res, err2 := v.VerifyCall("p", encode(alg, key, sig, data))
	switch {
	case (err == nil) != (err2 == nil):
		t.Fatalf("Verify: %v; VerifyCall: %v; want both to fail or neither", err, err2)
	case err2 == nil && (len(res) != 1 || (res[0] == cryptoabi.Valid) != ok || res[0] != cryptoabi.Valid && res[0] != cryptoabi.Invalid):
		t.Fatalf("Verify = %v; VerifyCall result % x; want the same verdict as one byte", ok, res)
	}
	return ok, err
}

// Every algorithm, with keys made here: a signature holds only for its
// key, data and algorithm.
func TestVerify(t *testing.T) {
	keys(t, cryptoabi.HS256)
	data := []byte("eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9")
	for _, alg := range allAlgs {
		t.Run(alg.String(), func(t *testing.T) {
			good, other := keys(t, alg)
			sig := good.sign(t, alg, data)
			// A sibling: the same key kind, another algorithm.
			sibling := map[cryptoabi.Alg]cryptoabi.Alg{
				cryptoabi.HS256: cryptoabi.HS384, cryptoabi.HS384: cryptoabi.HS512, cryptoabi.HS512: cryptoabi.HS256,
				cryptoabi.RS256: cryptoabi.PS256, cryptoabi.RS384: cryptoabi.RS256, cryptoabi.RS512: cryptoabi.PS512,
				cryptoabi.PS256: cryptoabi.RS256, cryptoabi.PS384: cryptoabi.PS512, cryptoabi.PS512: cryptoabi.RS512,
			}[alg]
			tests := []struct {
				name           string
				alg            cryptoabi.Alg
				key, data, sig []byte
				want           bool
			}{
				{name: "valid", alg: alg, key: good.form, data: data, sig: sig, want: true},
				{name: "valid, key again (cached)", alg: alg, key: good.form, data: data, sig: sig, want: true},
				{name: "wrong key", alg: alg, key: other.form, data: data, sig: sig},
				{name: "tampered data", alg: alg, key: good.form, data: flip(data, 20), sig: sig},
				{name: "data cut short", alg: alg, key: good.form, data: data[:len(data)-1], sig: sig},
				{name: "no data", alg: alg, key: good.form, sig: sig},
				{name: "tampered signature", alg: alg, key: good.form, data: data, sig: flip(sig, 5)},
				{name: "signature's last byte", alg: alg, key: good.form, data: data, sig: flip(sig, len(sig)-1)},
				{name: "signature cut short", alg: alg, key: good.form, data: data, sig: sig[:len(sig)-1]},
				{name: "signature too long", alg: alg, key: good.form, data: data, sig: append(bytes.Clone(sig), 0)},
				{name: "no signature", alg: alg, key: good.form, data: data},
				{name: "other key's signature", alg: alg, key: good.form, data: data, sig: other.sign(t, alg, data)},
			}
			if sibling != 0 {
				tests = append(tests, struct {
					name           string
					alg            cryptoabi.Alg
					key, data, sig []byte
					want           bool
				}{name: "checked as " + sibling.String(), alg: sibling, key: good.form, data: data, sig: sig})
			}
			v := New(Options{})
			for _, tc := range tests {
				t.Run(tc.name, func(t *testing.T) {
					got, err := call(t, v, tc.alg, tc.key, tc.data, tc.sig)
					if err != nil || got != tc.want {
						t.Errorf("verify = %v, %v; want %v", got, err, tc.want)
					}
				})
			}
		})
	}
}

// Arguments that are not what the algorithm takes are BAD_ARGUMENT
// (fs.ErrInvalid), and the message says what is wrong without key bytes.
func TestVerifyBadArgument(t *testing.T) {
	rs, _ := keys(t, cryptoabi.RS256)
	es256, _ := keys(t, cryptoabi.ES256)
	es384, _ := keys(t, cryptoabi.ES384)
	ed, _ := keys(t, cryptoabi.EdDSA)
	offCurve := bytes.Clone(es256.form)
	offCurve[len(offCurve)-1] ^= 1
	modulus := func(bytesLen int, first byte) []byte {
		n := bytes.Repeat([]byte{0x5b}, bytesLen)
		n[0] = first
		return n
	}
	rsaRaw := func(e uint32, n []byte) []byte { return append(binary.BigEndian.AppendUint32(nil, e), n...) }
	data := []byte("h.p")
	tests := []struct {
		name      string
		alg       cryptoabi.Alg
		key, data []byte
		sig       []byte
		want      string
	}{
		{name: "no algorithm", alg: 0, key: []byte("k"), want: "unknown algorithm"},
		{name: "unknown algorithm", alg: cryptoabi.EdDSA + 1, key: []byte("k"), want: "unknown algorithm"},
		{name: "empty secret", alg: cryptoabi.HS256, key: nil, want: "key of 0 bytes"},
		{name: "key over MaxKey", alg: cryptoabi.HS256, key: make([]byte, cryptoabi.MaxKey+1), want: "key of 8193 bytes"},
		{name: "data over MaxData", alg: cryptoabi.HS256, key: []byte("k"), data: make([]byte, cryptoabi.MaxData+1), want: "bytes of data"},
		{name: "signature over MaxSignature", alg: cryptoabi.RS256, key: rs.form, sig: make([]byte, cryptoabi.MaxSignature+1), want: "signature of 1025 bytes"},
		{name: "RS256 with an EC key", alg: cryptoabi.RS256, key: es256.form, want: "not an RSA key"},
		{name: "PS256 with an Ed25519 key", alg: cryptoabi.PS256, key: ed.form, want: "not an RSA key"},
		{name: "RSA 1023 bits", alg: cryptoabi.RS256, key: rsaRaw(65537, modulus(128, 0x7f)), want: "not an RSA key"},
		{name: "RSA 8193 bits", alg: cryptoabi.RS256, key: rsaRaw(65537, modulus(1025, 0x01)), want: "not an RSA key"},
		{name: "RSA even exponent", alg: cryptoabi.RS256, key: rsaRaw(65536, modulus(256, 0xc5)), want: "not an RSA key"},
		{name: "RSA exponent 2^31+1", alg: cryptoabi.RS256, key: rsaRaw(1<<31+1, modulus(256, 0xc5)), want: "not an RSA key"},
		{name: "RSA even modulus", alg: cryptoabi.RS256, key: rsaRaw(65537, append(modulus(255, 0xc5), 0x02)), want: "not an RSA key"},
		{name: "ES256 with an RSA key", alg: cryptoabi.ES256, key: rs.form, want: "want the 65-byte uncompressed point"},
		{name: "ES256 with a P-384 key", alg: cryptoabi.ES256, key: es384.form, want: "want the 65-byte"},
		{name: "ES384 with a P-256 key", alg: cryptoabi.ES384, key: es256.form, want: "want the 97-byte"},
		{name: "ES256 point off the curve", alg: cryptoabi.ES256, key: offCurve, want: "not a point of the curve"},
		{name: "ES256 compressed point", alg: cryptoabi.ES256, key: append([]byte{2}, es256.form[1:33]...), want: "EC key of 33 bytes"},
		{name: "EdDSA with 31 bytes", alg: cryptoabi.EdDSA, key: ed.form[:31], want: "Ed25519 key of 31 bytes"},
		{name: "EdDSA with an EC key", alg: cryptoabi.EdDSA, key: es256.form, want: "Ed25519 key of 65 bytes"},
	}
	v := New(Options{})
	// The EC keys are cached first, so that the cross-curve cases meet a
	// cached key of another curve.
	for _, k := range []struct {
		alg cryptoabi.Alg
		key []byte
	}{{cryptoabi.ES256, es256.form}, {cryptoabi.ES384, es384.form}, {cryptoabi.EdDSA, ed.form}} {
		if _, err := v.Verify(k.alg, k.key, data, nil); err != nil {
			t.Fatalf("caching the %s key: %v", k.alg, err)
		}
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := tc.data
			if d == nil {
				d = data
			}
			got, err := call(t, v, tc.alg, tc.key, d, tc.sig)
			if got || !errors.Is(err, fs.ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("verify = %v, %v; want fs.ErrInvalid with %q", got, err, tc.want)
			}
		})
	}
	t.Run("undecodable arguments", func(t *testing.T) {
		for _, args := range [][]byte{nil, {1}, {1, 5, 0, 'k'}, {1, 1, 0, 'k', 9, 0, 's'}} {
			if res, err := v.VerifyCall("p", args); res != nil || !errors.Is(err, fs.ErrInvalid) {
				t.Errorf("VerifyCall(% x) = % x, %v; want fs.ErrInvalid", args, res, err)
			}
		}
	})
	t.Run("messages carry no key material", func(t *testing.T) {
		secret := "hunter2-the-secret"
		_, err := v.Verify(cryptoabi.RS256, []byte(secret), data, nil)
		if err == nil || strings.Contains(err.Error(), secret) || strings.Contains(err.Error(), "hunter2") {
			t.Errorf("error %v; want one that does not quote the key", err)
		}
	})
}

func TestFunctions(t *testing.T) {
	v := New(Options{})
	fns := v.Functions()
	hs, _ := keys(t, cryptoabi.HS256)
	data := []byte("a.b")
	args, err := cryptoabi.AppendVerify(nil, cryptoabi.VerifyArgs{Alg: cryptoabi.HS256, Key: hs.form, Signature: hs.sign(t, cryptoabi.HS256, data), Data: data})
	if err != nil {
		t.Fatal(err)
	}
	fn := fns[cryptoabi.FuncVerify]
	if len(fns) != 1 || fn == nil {
		t.Fatalf("Functions() has %d entries; want %s only", len(fns), cryptoabi.FuncVerify)
	}
	if res, err := fn("plugin", args); err != nil || !bytes.Equal(res, []byte{cryptoabi.Valid}) {
		t.Errorf("%s = % x, %v; want Valid", cryptoabi.FuncVerify, res, err)
	}
}

// FuzzVerifyCall: no argument bytes panic the host; every refusal is
// BAD_ARGUMENT, every answer one byte.
func FuzzVerifyCall(f *testing.F) {
	keys(f, cryptoabi.HS256)
	data := []byte("h.p")
	for _, alg := range allAlgs {
		k, _ := keys(f, alg)
		f.Add(encode(alg, k.form, k.sign(f, alg, data), data))
	}
	f.Add([]byte{})
	f.Add(encode(cryptoabi.ES256, []byte{4}, nil, nil))
	f.Add(encode(cryptoabi.RS256, []byte{0, 1, 0, 1, 0xff}, []byte{1}, nil))
	v := New(Options{MaxKeys: 8})
	f.Fuzz(func(t *testing.T, args []byte) {
		res, err := v.VerifyCall("fuzz", args)
		switch {
		case err != nil && !errors.Is(err, fs.ErrInvalid):
			t.Fatalf("error %v; want fs.ErrInvalid", err)
		case err == nil && (len(res) != 1 || res[0] != cryptoabi.Valid && res[0] != cryptoabi.Invalid):
			t.Fatalf("result % x; want Valid or Invalid", res)
		}
	})
}
