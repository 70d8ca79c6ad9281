package abi

import (
	"bytes"
	"encoding/hex"
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestEncodeMap(t *testing.T) {
	tests := []struct {
		name  string
		pairs [][2]string
		hex   string
	}{
		{"empty", nil, "00000000"},
		{"spec example", [][2]string{{"a", "1"}, {"b", "22"}},
			"02000000" + "01000000" + "01000000" + "01000000" + "02000000" + "6100" + "3100" + "6200" + "323200"},
		{"empty value", [][2]string{{"x", ""}}, "01000000" + "01000000" + "00000000" + "7800" + "00"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := EncodeMap(tt.pairs)
			if h := hex.EncodeToString(got); h != tt.hex {
				t.Fatalf("EncodeMap = %s; want %s", h, tt.hex)
			}
			if len(got) != EncodedMapSize(tt.pairs) {
				t.Fatalf("EncodedMapSize = %d; encoded %d bytes", EncodedMapSize(tt.pairs), len(got))
			}
			back, err := DecodeMap(got)
			if err != nil {
				t.Fatalf("DecodeMap: %v", err)
			}
			if len(back) != len(tt.pairs) || len(back) > 0 && !reflect.DeepEqual(back, tt.pairs) {
				t.Fatalf("round trip = %q; want %q", back, tt.pairs)
			}
		})
	}
}

func TestDecodeMapErrors(t *testing.T) {
	valid := EncodeMap([][2]string{{"k", "v"}, {"key2", "value2"}})
	tooMany := make([]byte, 4+8*1025)
	tooMany[0], tooMany[1] = 0x01, 0x04 // 1025
	tests := []struct {
		name string
		in   []byte
		want error // nil: decodes to no pairs
	}{
		{"nil is empty", nil, nil},
		{"single NUL is empty", []byte{0}, nil},
		{"zero count is empty", []byte{0, 0, 0, 0}, nil},
		{"short count", []byte{1, 0}, ErrMapTruncated},
		{"count without sizes", []byte{1, 0, 0, 0}, ErrMapTruncated},
		{"too many pairs", tooMany, ErrMapTooManyPairs},
		{"too large", make([]byte, MaxMapBytes+1), ErrMapTooLarge},
		{"huge key length", []byte{1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0}, ErrMapTruncated},
		{"data cut", valid[:len(valid)-1], ErrMapTruncated},
		{"trailing byte", append(bytes.Clone(valid), 0), ErrMapTrailing},
		{"missing key NUL", bytes.Replace(bytes.Clone(valid), []byte("k\x00v"), []byte("kXv"), 1), ErrMapNoNUL},
		{"missing value NUL", bytes.Replace(bytes.Clone(valid), []byte("value2\x00"), []byte("value2X"), 1), ErrMapNoNUL},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pairs, err := DecodeMap(tt.in)
			if tt.want == nil {
				if err != nil || len(pairs) != 0 {
					t.Fatalf("DecodeMap = %q, %v; want empty, nil", pairs, err)
				}
				return
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("DecodeMap error = %v; want %v", err, tt.want)
			}
			if _, err := MapCount(tt.in); !errors.Is(err, tt.want) {
				t.Fatalf("MapCount error = %v; want %v", err, tt.want)
			}
		})
	}
}

func TestRangeMapStops(t *testing.T) {
	b := EncodeMap([][2]string{{"a", "1"}, {"b", "2"}, {"c", "3"}})
	var seen []string
	err := RangeMap(b, func(k, v []byte) bool {
		seen = append(seen, string(k)+"="+string(v))
		return len(seen) < 2
	})
	if err != nil || strings.Join(seen, ",") != "a=1,b=2" {
		t.Fatalf("RangeMap saw %q, %v; want a=1,b=2", seen, err)
	}
	if n := testing.AllocsPerRun(100, func() { _ = RangeMap(b, func(k, v []byte) bool { return true }) }); n != 0 {
		t.Fatalf("RangeMap allocates %v times; want 0", n)
	}
}

func FuzzDecodeMap(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{0})
	f.Add(EncodeMap([][2]string{{"a", "1"}, {"b", "22"}}))
	f.Add(EncodeMap([][2]string{{":path", "/"}, {"", ""}}))
	f.Add([]byte{1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 1, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		pairs, err := DecodeMap(b)
		if err != nil {
			return
		}
		if len(pairs) > MaxMapPairs {
			t.Fatalf("decoded %d pairs; limit %d", len(pairs), MaxMapPairs)
		}
		// What decodes must re-encode to the same bytes, except for the
		// alternative spellings of the empty map.
		again := EncodeMap(pairs)
		if len(pairs) == 0 {
			return
		}
		if !bytes.Equal(again, b) {
			t.Fatalf("re-encoding %q gave %x; input %x", pairs, again, b)
		}
		n, err := MapCount(b)
		if err != nil || n != len(pairs) {
			t.Fatalf("MapCount = %d, %v; want %d", n, err, len(pairs))
		}
	})
}
