package transport

import (
	"fmt"

	"github.com/sluice-proxy/sluice/host/internal/h1wire"
)

// The response head parser. It works on a complete head held in one byte
// slice (usually the bufio.Reader's own buffer), canonicalizes header names
// in place, and records offsets, so that the caller turns the whole head into
// one string and every name and value into a substring of it: one
// allocation for all the text of a response head.
//
// It accepts a subset of what net/http's ReadResponse accepts (a fuzz target
// checks this): HTTP/1.0 and HTTP/1.1 only, a three-digit status of at least
// 100, header names that are tokens with no space before the colon, values
// free of control bytes, no obsolete line folding. Lines may end in CRLF or
// in a bare LF (RFC 9112 §2.2 lets a recipient accept that; the proxy
// re-serializes every field anyway).

// parsedHead is a parsed status line and header section.
type parsedHead struct {
	minor  int // HTTP/1.minor
	code   int
	ss, se int // offsets of the status text, "200 OK"
	fields []h1wire.Field
}

func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrMalformedResponse}, args...)...)
}

// parseHead parses the head b, which findHeadEnd delimited. fs is scratch
// space for the fields.
func parseHead(b []byte, fs []h1wire.Field) (parsedHead, error) {
	var h parsedHead
	line, _, pos := h1wire.NextLine(b, 0)
	// "HTTP/1.x SP 3DIGIT [SP reason]"
	if len(line) < 12 || string(line[:7]) != "HTTP/1." || line[8] != ' ' {
		return h, malformed("status line %q", h1wire.Clip(line))
	}
	switch line[7] {
	case '0', '1':
		h.minor = int(line[7] - '0')
	default:
		return h, malformed("unsupported version in status line %q", h1wire.Clip(line))
	}
	for _, c := range line[9:12] {
		if c < '0' || c > '9' {
			return h, malformed("status code in %q", h1wire.Clip(line))
		}
		h.code = h.code*10 + int(c-'0')
	}
	if h.code < 100 {
		return h, malformed("status code %d", h.code)
	}
	if len(line) > 12 {
		if line[12] != ' ' {
			return h, malformed("status code in %q", h1wire.Clip(line))
		}
		for _, c := range line[13:] {
			if !h1wire.ValidValueByte(c) {
				return h, malformed("control byte in reason phrase")
			}
		}
	}
	h.ss, h.se = 9, len(line)
	var err error
	h.fields, err = parseFields(b, pos, fs[:0], false)
	return h, err
}

// parseFields is h1wire.ParseFields with its errors marked as a malformed
// response.
func parseFields(b []byte, pos int, fs []h1wire.Field, strict bool) ([]h1wire.Field, error) {
	fs, err := h1wire.ParseFields(b, pos, fs, strict)
	if err != nil {
		err = malformed("%v", err)
	}
	return fs, err
}
