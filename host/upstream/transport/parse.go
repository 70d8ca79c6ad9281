package transport

import (
	"bytes"
	"fmt"
	"net/http"
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

// field locates one header field in a head buffer.
type field struct{ ks, ke, vs, ve int32 }

// parsedHead is a parsed status line and header section.
type parsedHead struct {
	minor  int // HTTP/1.minor
	code   int
	ss, se int // offsets of the status text, "200 OK"
	fields []field
}

func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrMalformedResponse}, args...)...)
}

// findHeadEnd looks for the blank line ending a head in b, starting at from.
// It returns the offset just past it, or -1 and the offset to resume at
// when more bytes arrive.
func findHeadEnd(b []byte, from int) (end, resume int) {
	i := from
	for {
		j := bytes.IndexByte(b[i:], '\n')
		if j < 0 {
			return -1, len(b)
		}
		k := i + j
		if k+1 >= len(b) {
			return -1, k
		}
		switch b[k+1] {
		case '\n':
			return k + 2, 0
		case '\r':
			if k+2 >= len(b) {
				return -1, k
			}
			if b[k+2] == '\n' {
				return k + 3, 0
			}
		}
		i = k + 1
	}
}

// nextLine returns the line starting at pos without its line ending, and
// the offset of the next line. b must hold a '\n' at or after pos.
func nextLine(b []byte, pos int) (line []byte, start, next int) {
	j := pos + bytes.IndexByte(b[pos:], '\n')
	end := j
	if end > pos && b[end-1] == '\r' {
		end--
	}
	return b[pos:end], pos, j + 1
}

// parseHead parses the head b, which findHeadEnd delimited. fs is scratch
// space for the fields.
func parseHead(b []byte, fs []field) (parsedHead, error) {
	var h parsedHead
	line, _, pos := nextLine(b, 0)
	// "HTTP/1.x SP 3DIGIT [SP reason]"
	if len(line) < 12 || string(line[:7]) != "HTTP/1." || line[8] != ' ' {
		return h, malformed("status line %q", clip(line))
	}
	switch line[7] {
	case '0', '1':
		h.minor = int(line[7] - '0')
	default:
		return h, malformed("unsupported version in status line %q", clip(line))
	}
	for _, c := range line[9:12] {
		if c < '0' || c > '9' {
			return h, malformed("status code in %q", clip(line))
		}
		h.code = h.code*10 + int(c-'0')
	}
	if h.code < 100 {
		return h, malformed("status code %d", h.code)
	}
	if len(line) > 12 {
		if line[12] != ' ' {
			return h, malformed("status code in %q", clip(line))
		}
		for _, c := range line[13:] {
			if !validValueByte(c) {
				return h, malformed("control byte in reason phrase")
			}
		}
	}
	h.ss, h.se = 9, len(line)
	var err error
	h.fields, err = parseFields(b, pos, fs[:0], false)
	return h, err
}

// parseFields parses the header (or trailer) lines of b from pos up to and
// including the blank line that ends them, appending to fs. Names are
// canonicalized in place. strict requires CRLF line endings, as the chunked
// coding does.
func parseFields(b []byte, pos int, fs []field, strict bool) ([]field, error) {
	for {
		if pos >= len(b) {
			return fs, malformed("header section not terminated")
		}
		line, start, next := nextLine(b, pos)
		if strict && (next-start-len(line) != 2) {
			return fs, malformed("trailer line ends with bare LF")
		}
		if len(line) == 0 {
			return fs, nil
		}
		if line[0] == ' ' || line[0] == '\t' {
			return fs, malformed("obsolete line folding")
		}
		colon := bytes.IndexByte(line, ':')
		if colon <= 0 {
			return fs, malformed("header line %q", clip(line))
		}
		name := line[:colon]
		if !canonicalToken(name) {
			return fs, malformed("header name %q", clip(name))
		}
		vs, ve := colon+1, len(line)
		for vs < ve && (line[vs] == ' ' || line[vs] == '\t') {
			vs++
		}
		for ve > vs && (line[ve-1] == ' ' || line[ve-1] == '\t') {
			ve--
		}
		for _, c := range line[vs:ve] {
			if !valueByte[c] {
				return fs, malformed("control byte in value of header %q", clip(name))
			}
		}
		fs = append(fs, field{
			ks: int32(start), ke: int32(start + colon),
			vs: int32(start + vs), ve: int32(start + ve),
		})
		pos = next
	}
}

// canonicalToken checks that name is a token and rewrites it in place to
// the form of http.CanonicalHeaderKey: upper case at the start and after
// each '-', lower case elsewhere. On false, name may be partly rewritten.
func canonicalToken(name []byte) bool {
	upper := true
	for i, c := range name {
		if !tchar[c] {
			return false
		}
		if upper && 'a' <= c && c <= 'z' {
			name[i] = c - ('a' - 'A')
		} else if !upper && 'A' <= c && c <= 'Z' {
			name[i] = c + ('a' - 'A')
		}
		upper = c == '-'
	}
	return true
}

// valueByte is validValueByte as a table, for the parser's inner loop.
var valueByte = func() (t [256]bool) {
	for c := range 256 {
		t[c] = validValueByte(byte(c))
	}
	return t
}()

// buildHeader turns the fields of head text s into an http.Header: one map,
// one backing array for the value slices, and substrings of s.
func buildHeader(s string, fs []field) http.Header {
	h := make(http.Header, len(fs))
	if len(fs) == 0 {
		return h
	}
	strs := make([]string, len(fs))
	for i, f := range fs {
		k := s[f.ks:f.ke]
		v := s[f.vs:f.ve]
		if vv, ok := h[k]; ok {
			h[k] = append(vv, v)
			continue
		}
		strs[i] = v
		h[k] = strs[i : i+1 : i+1]
	}
	return h
}

// clip shortens b for an error message.
func clip(b []byte) string {
	const max = 64
	if len(b) > max {
		return string(b[:max]) + "..."
	}
	return string(b)
}
