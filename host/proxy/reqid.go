package proxy

import (
	"crypto/rand"
	"encoding/binary"
	"sync/atomic"
)

// Request ids are a random per-process prefix followed by a counter: unique
// within a process, very likely unique across processes, ordered, and one
// atomic add to make instead of a call to crypto/rand per request. The
// request_id plugin makes ids for upstreams and clients; this one names the
// request in error bodies and the process log.
var (
	idPrefix uint32
	idSeq    atomic.Uint64
)

func init() {
	var b [4]byte
	_, _ = rand.Read(b[:])
	idPrefix = binary.LittleEndian.Uint32(b[:])
}

const hexDigits = "0123456789abcdef"

// newRequestID returns 20 hex digits: 8 of prefix and 12 of counter.
func newRequestID() string {
	var b [20]byte
	p := idPrefix
	for i := 7; i >= 0; i-- {
		b[i] = hexDigits[p&0xf]
		p >>= 4
	}
	n := idSeq.Add(1)
	for i := 19; i >= 8; i-- {
		b[i] = hexDigits[n&0xf]
		n >>= 4
	}
	return string(b[:])
}
