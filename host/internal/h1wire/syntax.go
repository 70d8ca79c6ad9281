package h1wire

import (
	"bytes"
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// Error is a syntax error in a head. Callers wrap it with their own kind
// (a malformed response, a bad request).
type Error string

func (e Error) Error() string { return string(e) }

func errorf(format string, args ...any) error {
	return Error(fmt.Sprintf(format, args...))
}

// Field locates one header field in a head buffer.
type Field struct{ KS, KE, VS, VE int32 }

// FindHeadEnd looks for the blank line ending a head in b, starting at from.
// It returns the offset just past it, or -1 and the offset to resume at
// when more bytes arrive.
func FindHeadEnd(b []byte, from int) (end, resume int) {
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

// NextLine returns the line starting at pos without its line ending, and
// the offset of the next line. b must hold a '\n' at or after pos.
func NextLine(b []byte, pos int) (line []byte, start, next int) {
	j := pos + bytes.IndexByte(b[pos:], '\n')
	end := j
	if end > pos && b[end-1] == '\r' {
		end--
	}
	return b[pos:end], pos, j + 1
}

// ParseFields parses the header (or trailer) lines of b from pos up to and
// including the blank line that ends them, appending to fs. Names are
// canonicalized in place. strict requires CRLF line endings, as the chunked
// coding does; otherwise a bare LF is accepted (RFC 9112 §2.2 lets a
// recipient do so, and the proxy re-serializes every field anyway).
//
// Names must be tokens with no space before the colon, values free of
// control bytes; obsolete line folding is refused.
func ParseFields(b []byte, pos int, fs []Field, strict bool) ([]Field, error) {
	for {
		if pos >= len(b) {
			return fs, Error("header section not terminated")
		}
		line, start, next := NextLine(b, pos)
		if strict && (next-start-len(line) != 2) {
			return fs, Error("trailer line ends with bare LF")
		}
		if len(line) == 0 {
			return fs, nil
		}
		if line[0] == ' ' || line[0] == '\t' {
			return fs, Error("obsolete line folding")
		}
		colon := bytes.IndexByte(line, ':')
		if colon <= 0 {
			return fs, errorf("header line %q", Clip(line))
		}
		name := line[:colon]
		if !CanonicalToken(name) {
			return fs, errorf("header name %q", Clip(name))
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
				return fs, errorf("control byte in value of header %q", Clip(name))
			}
		}
		fs = append(fs, Field{
			KS: int32(start), KE: int32(start + colon),
			VS: int32(start + vs), VE: int32(start + ve),
		})
		pos = next
	}
}

// CanonicalToken checks that name is a token and rewrites it in place to
// the form of http.CanonicalHeaderKey: upper case at the start and after
// each '-', lower case elsewhere. On false, name may be partly rewritten.
func CanonicalToken(name []byte) bool {
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

// BuildHeader turns the fields of head text s into an http.Header: one map,
// one backing array for the value slices, and substrings of s.
func BuildHeader(s string, fs []Field) http.Header {
	h := make(http.Header, len(fs))
	if len(fs) == 0 {
		return h
	}
	strs := make([]string, len(fs))
	for i, f := range fs {
		k := s[f.KS:f.KE]
		v := s[f.VS:f.VE]
		if vv, ok := h[k]; ok {
			h[k] = append(vv, v)
			continue
		}
		strs[i] = v
		h[k] = strs[i : i+1 : i+1]
	}
	return h
}

// ParseContentLength checks the values of a Content-Length field: all
// equal (a list of identical values is allowed, RFC 9110 §8.6), digits
// only, and within int64.
func ParseContentLength(vv []string) (int64, error) {
	first := vv[0]
	for _, v := range vv[1:] {
		if v != first {
			return 0, errorf("conflicting Content-Length values %q", vv)
		}
	}
	if first == "" {
		return 0, Error("empty Content-Length")
	}
	for i := 0; i < len(first); i++ {
		if first[i] < '0' || first[i] > '9' {
			return 0, errorf("Content-Length %q", first)
		}
	}
	n, err := strconv.ParseInt(first, 10, 64)
	if err != nil {
		return 0, errorf("Content-Length %q", first)
	}
	return n, nil
}

// Clip shortens b for an error message.
func Clip(b []byte) string {
	const max = 64
	if len(b) > max {
		return string(b[:max]) + "..."
	}
	return string(b)
}

// AnnouncedTrailers reads the Trailer header of a chunked message into
// the keys of a trailer map, as net/http does; framing fields may not be
// trailers.
func AnnouncedTrailers(vv []string) (http.Header, error) {
	var t http.Header
	for _, v := range vv {
		for v != "" {
			var k string
			if i := strings.IndexByte(v, ','); i >= 0 {
				k, v = v[:i], v[i+1:]
			} else {
				k, v = v, ""
			}
			if k = TrimOWS(k); k == "" {
				continue
			}
			k = http.CanonicalHeaderKey(k)
			switch k {
			case "Transfer-Encoding", "Trailer", "Content-Length":
				return nil, errorf("bad trailer key %q", k)
			}
			if t == nil {
				t = make(http.Header)
			}
			t[k] = nil
		}
	}
	return t, nil
}
