package h1wire

import (
	"bufio"
	"errors"
	"io"
)

// ErrTooLarge reports a head or trailer section over its size budget.
var ErrTooLarge = errors.New("header section too large")

// ReadHead returns the next head from br, delimited by its blank line.
// Usually it is a slice of br's buffer, valid until the consumed bytes are
// discarded; a head larger than the buffer is copied out instead and
// consumed is 0. It returns io.EOF when br ends before the first byte,
// io.ErrUnexpectedEOF when it ends inside the head, and ErrTooLarge past
// budget bytes.
func ReadHead(br *bufio.Reader, budget int) (b []byte, consumed int, err error) {
	resume := 0
	for {
		n := br.Buffered()
		if n > 0 {
			buf, _ := br.Peek(n)
			end, r := FindHeadEnd(buf, resume)
			if end > 0 {
				if end > budget {
					return nil, 0, ErrTooLarge
				}
				return buf[:end], end, nil
			}
			resume = r
			if n > budget {
				return nil, 0, ErrTooLarge
			}
			if n >= br.Size() {
				b, err := ReadBlock(br, budget, false)
				return b, 0, err
			}
		}
		if _, err := br.Peek(n + 1); err != nil {
			if err == io.EOF && n > 0 {
				err = io.ErrUnexpectedEOF
			}
			return nil, 0, err
		}
	}
}

// ReadBlock reads lines from br into a new slice up to and including the
// blank line that ends them: a head that does not fit the buffer, or a
// trailer section (trailer is true: the block may be just the blank line).
func ReadBlock(br *bufio.Reader, budget int, trailer bool) ([]byte, error) {
	var out []byte
	if !trailer {
		out = make([]byte, 0, 2*br.Size())
	}
	lineStart := 0
	for {
		frag, err := br.ReadSlice('\n')
		if len(out)+len(frag) > budget {
			return nil, ErrTooLarge
		}
		out = append(out, frag...)
		if err == bufio.ErrBufferFull {
			continue
		}
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return nil, err
		}
		if n := len(out) - lineStart; (lineStart > 0 || trailer) && (n == 1 || n == 2 && out[lineStart] == '\r') {
			return out, nil
		}
		lineStart = len(out)
	}
}
