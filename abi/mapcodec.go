package abi

import (
	"encoding/binary"
	"errors"
	"strconv"
	"strings"
)

// Limits of a serialized map, as Envoy's parser enforces them. A host and an
// SDK refuse to decode anything larger.
const (
	// MaxMapBytes is the largest serialized map accepted, 1 MiB.
	MaxMapBytes = 1 << 20
	// MaxMapPairs is the largest number of pairs accepted.
	MaxMapPairs = 1024
)

// Errors of DecodeMap and RangeMap. The returned error wraps one of them.
var (
	ErrMapTooLarge     = errors.New("abi: serialized map larger than 1 MiB")
	ErrMapTooManyPairs = errors.New("abi: serialized map has more than 1024 pairs")
	ErrMapTruncated    = errors.New("abi: serialized map is truncated")
	ErrMapNoNUL        = errors.New("abi: serialized map entry lacks its NUL terminator")
	ErrMapTrailing     = errors.New("abi: serialized map has trailing bytes")
)

// EncodedMapSize returns the size of the serialized form of pairs:
// 4 + Σ(8 + len(key) + 1 + len(value) + 1).
func EncodedMapSize(pairs [][2]string) int {
	n := 4
	for _, p := range pairs {
		n += 8 + len(p[0]) + len(p[1]) + 2
	}
	return n
}

// AppendMap appends the serialized form of pairs to dst and returns the
// extended slice. The layout (all integers u32 little-endian):
//
//	count N
//	key_len_1 value_len_1 ... key_len_N value_len_N
//	key_1 0x00 value_1 0x00 ... key_N 0x00 value_N 0x00
//
// For example {"a": "1", "b": "22"} is
//
//	02000000 01000000 01000000 01000000 02000000 61 00 31 00 62 00 32 32 00
//
// An empty map is the 4-byte count 0. Keys are written as given; callers
// lower-case them. AppendMap does not enforce MaxMapBytes or MaxMapPairs.
func AppendMap(dst []byte, pairs [][2]string) []byte {
	dst = binary.LittleEndian.AppendUint32(dst, uint32(len(pairs)))
	for _, p := range pairs {
		dst = binary.LittleEndian.AppendUint32(dst, uint32(len(p[0])))
		dst = binary.LittleEndian.AppendUint32(dst, uint32(len(p[1])))
	}
	for _, p := range pairs {
		dst = append(dst, p[0]...)
		dst = append(dst, 0)
		dst = append(dst, p[1]...)
		dst = append(dst, 0)
	}
	return dst
}

// EncodeMap returns the serialized form of pairs (see AppendMap).
func EncodeMap(pairs [][2]string) []byte {
	return AppendMap(make([]byte, 0, EncodedMapSize(pairs)), pairs)
}

// RangeMap checks a serialized map entirely, then calls fn for each pair in
// order until fn returns false. key and value alias b: copy them to keep
// them. Empty input, a single 0x00 byte and a zero count are all the empty
// map. RangeMap does not allocate.
func RangeMap(b []byte, fn func(key, value []byte) bool) error {
	n, err := checkMap(b)
	if err != nil || n == 0 {
		return err
	}
	sizes := b[4 : 4+8*n]
	data := b[4+8*n:]
	for i := 0; i < n; i++ {
		kl := int(binary.LittleEndian.Uint32(sizes[8*i:]))
		vl := int(binary.LittleEndian.Uint32(sizes[8*i+4:]))
		key := data[:kl:kl]
		value := data[kl+1 : kl+1+vl : kl+1+vl]
		data = data[kl+vl+2:]
		if !fn(key, value) {
			return nil
		}
	}
	return nil
}

// DecodeMap parses a serialized map (see AppendMap and RangeMap).
func DecodeMap(b []byte) ([][2]string, error) {
	n, err := checkMap(b)
	if err != nil || n == 0 {
		return nil, err
	}
	pairs := make([][2]string, 0, n)
	err = RangeMap(b, func(k, v []byte) bool {
		pairs = append(pairs, [2]string{string(k), string(v)})
		return true
	})
	return pairs, err
}

// MapCount returns the number of pairs of a serialized map after checking
// it, as RangeMap does.
func MapCount(b []byte) (int, error) { return checkMap(b) }

// checkMap validates the whole layout of a serialized map and returns its
// pair count. All arithmetic is done in int (64 bits on every platform sluice
// builds for, wasm included), after bounding each term, so that a hostile
// count or length cannot overflow.
func checkMap(b []byte) (int, error) {
	if len(b) > MaxMapBytes {
		return 0, mapErr(ErrMapTooLarge, " (", itoa(len(b)), " bytes)")
	}
	if len(b) == 0 || len(b) == 1 && b[0] == 0 {
		return 0, nil
	}
	if len(b) < 4 {
		return 0, mapErr(ErrMapTruncated, ": ", itoa(len(b)), " bytes, want at least 4")
	}
	n := int(binary.LittleEndian.Uint32(b))
	if n > MaxMapPairs {
		return 0, mapErr(ErrMapTooManyPairs, " (", itoa(int(n)), ")")
	}
	if len(b) < 4+8*n {
		return 0, mapErr(ErrMapTruncated, ": ", itoa(int(n)), " pairs need ", itoa(8*int(n)), " bytes of sizes, have ", itoa(len(b)-4))
	}
	want := 4 + 8*n
	for i := 0; i < n; i++ {
		kl := int(binary.LittleEndian.Uint32(b[4+8*i:]))
		vl := int(binary.LittleEndian.Uint32(b[8+8*i:]))
		if kl > MaxMapBytes || vl > MaxMapBytes {
			return 0, mapErr(ErrMapTruncated, ": pair ", itoa(int(i)), " declares ", itoa(int(kl)), "+", itoa(int(vl)), " bytes")
		}
		want += kl + vl + 2
		if want > len(b) {
			return 0, mapErr(ErrMapTruncated, ": pair ", itoa(int(i)), " ends at byte ", itoa(int(want)), " of ", itoa(len(b)))
		}
	}
	if want != len(b) {
		return 0, mapErr(ErrMapTrailing, ": ", itoa(len(b)-int(want)), " bytes after the last pair")
	}
	off := 4 + 8*n
	for i := 0; i < n; i++ {
		kl := int(binary.LittleEndian.Uint32(b[4+8*i:]))
		vl := int(binary.LittleEndian.Uint32(b[8+8*i:]))
		if b[off+kl] != 0 || b[off+kl+1+vl] != 0 {
			return 0, mapErr(ErrMapNoNUL, ": pair ", itoa(int(i)))
		}
		off += kl + vl + 2
	}
	return n, nil
}

// mapErr wraps a codec sentinel with details. The codec is linked into every
// plugin, so it avoids fmt, which would add about 500 KB to each .wasm.
func mapErr(sentinel error, parts ...string) error {
	return &detailError{sentinel: sentinel, msg: sentinel.Error() + strings.Join(parts, "")}
}

type detailError struct {
	sentinel error
	msg      string
}

func (e *detailError) Error() string { return e.msg }
func (e *detailError) Unwrap() error { return e.sentinel }

func itoa(n int) string { return strconv.Itoa(n) }
