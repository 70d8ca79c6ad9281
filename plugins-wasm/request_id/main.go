// Command request_id is the sluice plugin for Pingap's "request_id"
// category: every request gets an id, kept from the client when it sent
// one, set on the request to the upstream and echoed on the response.
//
// Parameters:
//
//	algorithm    "uuid" (default: a UUID version 7, time-ordered) or
//	             "nanoid" (URL-safe random characters).
//	size         length of a nanoid, 1 to 128; default 8.
//	header_name  the header that carries the id; default "X-Request-Id".
package main

import (
	"math/rand/v2"
	"strconv"

	"github.com/sluice-proxy/sluice/sdk"
)

func main() {}

func init() { sdk.Register(newRequestID) }

type requestID struct {
	nanoid bool
	size   int
	header string
}

func newRequestID(cfg []byte) (sdk.Plugin, error) {
	c, err := sdk.ParseConfig(cfg)
	if err != nil {
		return nil, err
	}
	p := &requestID{
		size:   c.Int("size", 8),
		header: c.String("header_name", "X-Request-Id"),
	}
	switch alg := c.String("algorithm", "uuid"); alg {
	case "uuid", "":
	case "nanoid":
		p.nanoid = true
	default:
		c.Invalid("algorithm", "want \"uuid\" or \"nanoid\", got "+strconv.Quote(alg))
	}
	if p.size < 1 || p.size > 128 {
		c.Invalid("size", "must be between 1 and 128")
	}
	if !sdk.IsToken(p.header) {
		c.Invalid("header_name", strconv.Quote(p.header)+" is not a valid header name")
	}
	return p, c.Err()
}

// stream remembers the id between the request and the response.
type stream struct {
	p  *requestID
	id string
}

// NewStream gives each request a place for its id.
func (p *requestID) NewStream(sdk.Request) any { return &stream{p: p} }

// OnRequestHeaders keeps the client's id or sets a new one on the request.
func (s *stream) OnRequestHeaders(r sdk.Request) sdk.Action {
	h := r.Header()
	if id := h.Get(s.p.header); id != "" {
		s.id = id
		return sdk.Continue
	}
	if s.p.nanoid {
		s.id = nanoid(s.p.size)
	} else {
		s.id = uuid7(sdk.Now().UnixMilli())
	}
	if err := h.Set(s.p.header, s.id); err != nil {
		sdk.Error("request_id: " + err.Error())
	}
	return sdk.Continue
}

// OnResponseHeaders echoes the id on the response.
func (s *stream) OnResponseHeaders(r sdk.Request) sdk.Action {
	if s.id != "" {
		if err := r.ResponseHeader().Set(s.p.header, s.id); err != nil {
			sdk.Error("request_id: " + err.Error())
		}
	}
	return sdk.Continue
}

const hexDigits = "0123456789abcdef"

// uuid7 formats a UUID version 7 (RFC 9562 §5.7): 48 bits of Unix
// milliseconds, the version, 74 random bits and the variant. The random
// bits come from the Go runtime's ChaCha8 generator, seeded from the host's
// random source when the VM starts.
func uuid7(unixMilli int64) string {
	var u [16]byte
	ms := uint64(unixMilli)
	for i := 0; i < 6; i++ {
		u[i] = byte(ms >> (40 - 8*i))
	}
	r1, r2 := rand.Uint64(), rand.Uint64()
	u[6] = 0x70 | byte(r1)&0x0f
	u[7] = byte(r1 >> 8)
	u[8] = 0x80 | byte(r2)&0x3f
	for i := 9; i < 16; i++ {
		u[i] = byte(r2 >> (8 * (i - 8)))
	}
	var out [36]byte
	j := 0
	for i, b := range u {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			out[j] = '-'
			j++
		}
		out[j], out[j+1] = hexDigits[b>>4], hexDigits[b&0x0f]
		j += 2
	}
	return string(out[:])
}

// nanoidAlphabet is the nanoid URL-safe alphabet: 64 symbols, so each takes
// exactly 6 random bits and none is favoured.
const nanoidAlphabet = "useandom-26T198340PX75pxJACKVERYMINDBUSHWOLF_GQZbfghjklqvwyzrict"

func nanoid(size int) string {
	out := make([]byte, size)
	var bits uint64
	left := 0
	for i := range out {
		if left == 0 {
			bits, left = rand.Uint64(), 10
		}
		out[i] = nanoidAlphabet[bits&63]
		bits >>= 6
		left--
	}
	return string(out)
}
