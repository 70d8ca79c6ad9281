package main

import (
	"encoding/binary"
	"errors"
	"unsafe"
)

// The meta of an entry is this plugin's own encoding (the host stores it
// as bytes). Little-endian:
//
//	[0]      metaVersion
//	[1]      kind: kindResponse or kindVary
//
// a response:
//
//	[2:4]    status (u16)
//	[4:12]   when it was stored (unix ms)
//	[12:20]  fresh until (unix ms)
//	[20:24]  its age when stored, seconds (u32)
//	[24:28]  stale-if-error, seconds (u32)
//	[28:30]  header count n (u16)
//	then n times: name length (u16), name, value length (u32), value
//
// a Vary marker, stored under the key's variant "" when responses vary:
//
//	[2:4]    count n (u16)
//	then n times: name length (u16), lower-case header name
//
// A meta of another version reads as a miss, and is replaced.
const (
	metaVersion  = 1
	kindResponse = 0
	kindVary     = 1
)

var errMeta = errors.New("cache: entry meta of an unknown format")

// stored is a decoded response entry.
type stored struct {
	status     int
	storedAt   int64 // unix ms
	freshUntil int64 // unix ms
	initialAge uint32
	sie        uint32
	headers    [][2]string
	body       []byte
}

// header returns the first value of the stored header name.
func (s *stored) header(name string) string {
	for _, h := range s.headers {
		if h[0] == name {
			return h[1]
		}
	}
	return ""
}

func appendResponseMeta(dst []byte, s *stored) []byte {
	dst = append(dst, metaVersion, kindResponse)
	dst = binary.LittleEndian.AppendUint16(dst, uint16(s.status))
	dst = binary.LittleEndian.AppendUint64(dst, uint64(s.storedAt))
	dst = binary.LittleEndian.AppendUint64(dst, uint64(s.freshUntil))
	dst = binary.LittleEndian.AppendUint32(dst, s.initialAge)
	dst = binary.LittleEndian.AppendUint32(dst, s.sie)
	dst = binary.LittleEndian.AppendUint16(dst, uint16(len(s.headers)))
	for _, h := range s.headers {
		dst = binary.LittleEndian.AppendUint16(dst, uint16(len(h[0])))
		dst = append(dst, h[0]...)
		dst = binary.LittleEndian.AppendUint32(dst, uint32(len(h[1])))
		dst = append(dst, h[1]...)
	}
	return dst
}

func appendVaryMeta(dst []byte, names []string) []byte {
	dst = append(dst, metaVersion, kindVary)
	dst = binary.LittleEndian.AppendUint16(dst, uint16(len(names)))
	for _, n := range names {
		dst = binary.LittleEndian.AppendUint16(dst, uint16(len(n)))
		dst = append(dst, n...)
	}
	return dst
}

// metaKind returns the kind of a meta, or an error for one this plugin
// does not read.
func metaKind(m []byte) (byte, error) {
	if len(m) < 2 || m[0] != metaVersion || m[1] > kindVary {
		return 0, errMeta
	}
	return m[1], nil
}

// str returns b as a string without copying: metas and bodies come from
// the host in fresh memory that nothing writes again.
func str(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}

// decodeResponse reads a response meta; the strings share m's memory.
// The headers have room for spare more.
func decodeResponse(m, body []byte, spare int) (*stored, error) {
	if k, err := metaKind(m); err != nil || k != kindResponse || len(m) < 30 {
		return nil, errMeta
	}
	s := &stored{
		status:     int(binary.LittleEndian.Uint16(m[2:])),
		storedAt:   int64(binary.LittleEndian.Uint64(m[4:])),
		freshUntil: int64(binary.LittleEndian.Uint64(m[12:])),
		initialAge: binary.LittleEndian.Uint32(m[20:]),
		sie:        binary.LittleEndian.Uint32(m[24:]),
		body:       body,
	}
	n := int(binary.LittleEndian.Uint16(m[28:]))
	m = m[30:]
	s.headers = make([][2]string, 0, n+spare)
	for range n {
		if len(m) < 2 {
			return nil, errMeta
		}
		nl := int(binary.LittleEndian.Uint16(m))
		if len(m) < 2+nl+4 {
			return nil, errMeta
		}
		name := str(m[2 : 2+nl])
		vl := int(binary.LittleEndian.Uint32(m[2+nl:]))
		m = m[6+nl:]
		if vl > len(m) {
			return nil, errMeta
		}
		s.headers = append(s.headers, [2]string{name, str(m[:vl])})
		m = m[vl:]
	}
	if len(m) != 0 {
		return nil, errMeta
	}
	return s, nil
}

// decodeVary reads a Vary marker's header names.
func decodeVary(m []byte) ([]string, error) {
	if k, err := metaKind(m); err != nil || k != kindVary || len(m) < 4 {
		return nil, errMeta
	}
	n := int(binary.LittleEndian.Uint16(m[2:]))
	m = m[4:]
	names := make([]string, 0, n)
	for range n {
		if len(m) < 2 {
			return nil, errMeta
		}
		l := int(binary.LittleEndian.Uint16(m))
		if len(m) < 2+l {
			return nil, errMeta
		}
		names = append(names, str(m[2:2+l]))
		m = m[2+l:]
	}
	if len(m) != 0 || len(names) == 0 {
		return nil, errMeta
	}
	return names, nil
}
