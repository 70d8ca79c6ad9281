// Command compression is the sluice plugin for Pingap's "compression"
// category: it compresses responses with zstd, br or gzip, as the client's
// Accept-Encoding allows, and decompresses responses whose encoding the
// client does not accept.
//
// Parameters:
//
//	gzip_level     gzip level 1-9; 0 (default) leaves gzip off
//	br_level       brotli level 1-11; 0 leaves br off
//	zstd_level     zstd level 1-22; 0 leaves zstd off
//	min_length     responses whose Content-Length is below this size (bytes,
//	               or "1kb") are sent as they are; default 0. A body of
//	               unknown length is compressed.
//	decompression  true: a response in an encoding the client does not
//	               accept (gzip, br, zstd, deflate) is decompressed, and
//	               compressed again in one it accepts if one is enabled
//	mode           Pingap's "" or "upstream"; accepted, with no effect: the
//	               plugin acts where the location lists it
//
// At least one level or decompression must be set.
//
// Choice: the enabled encoding with the highest q-value in
// Accept-Encoding ("*" counts for encodings not listed, q=0 refuses);
// ties go to zstd, then br, then gzip (Pingap's priority).
//
// A response is compressed when it has a body, its status is not 1xx, 204,
// 206 or 304, it has no Content-Encoding (other than identity), its
// Content-Type is text/*, JSON, JavaScript, XML, SVG, WASM or a font, its
// Cache-Control has no no-transform, and it announces no trailers. Every
// response of such a type gets Vary: Accept-Encoding, compressed or not.
// A compressed response loses Content-Length (the body streams, chunk by
// chunk, without being buffered whole) and Accept-Ranges; a strong ETag
// becomes weak. Event streams are flushed after each chunk.
//
// The byte work is done by the host (sdk.Codec, the sluice.codec.*
// foreign functions): a Go plugin compressing inside Wasm is several times
// slower. The access log gets {:compression} (the encoding) and
// {:compression_ratio} (original/compressed size).
package main

import (
	"strconv"
	"strings"

	"github.com/sluice-proxy/sluice/sdk"
)

func main() {}

func init() { sdk.Register(newPlugin) }

// encoding is a content-coding the plugin may produce, in priority order.
type encoding uint8

const (
	none encoding = iota
	zstd
	br
	gzip
)

var tokens = [...]string{none: "", zstd: "zstd", br: "br", gzip: "gzip"}

type plugin struct {
	levels     [4]int // by encoding; 0 disabled
	minLength  int64
	decompress bool
}

func newPlugin(cfg []byte) (sdk.Plugin, error) {
	c, err := sdk.ParseConfig(cfg)
	if err != nil {
		return nil, err
	}
	p := &plugin{
		minLength:  c.Size("min_length", 0),
		decompress: c.Bool("decompression", false),
	}
	for _, l := range []struct {
		key     string
		enc     encoding
		lo, max int
	}{{"gzip_level", gzip, 1, 9}, {"br_level", br, 1, 11}, {"zstd_level", zstd, 1, 22}} {
		n := c.Int(l.key, 0)
		if n != 0 && (n < l.lo || n > l.max) {
			c.Invalid(l.key, "must be 0 (off) or "+strconv.Itoa(l.lo)+"-"+strconv.Itoa(l.max))
			continue
		}
		p.levels[l.enc] = n
	}
	switch m := c.String("mode", ""); m {
	case "", "upstream":
	default:
		c.Invalid("mode", `must be "" or "upstream", got `+strconv.Quote(m))
	}
	if p.levels == [4]int{} && !p.decompress {
		c.Invalid("gzip_level", "set gzip_level, br_level or zstd_level (or decompression): nothing to do")
	}
	if err := c.Err(); err != nil {
		return nil, err
	}
	if !sdk.CodecAvailable() {
		return nil, &sdk.ConfigError{Problems: []string{"the host does not provide the sluice.codec foreign functions"}}
	}
	return p, nil
}

// stream is the plugin's state for one request.
type stream struct {
	p  *plugin
	ae string // the request's Accept-Encoding

	dec      *sdk.Codec // decompresses the upstream's encoding, or nil
	enc      *sdk.Codec // compresses, or nil
	token    string     // the encoding produced
	flush    bool       // flush each chunk (event streams)
	in, out  int64      // bytes of the original body and of what was sent
	buf      []byte     // the decompressor's output of one chunk
	finished bool
}

// NewStream implements sdk.StreamFactory.
func (p *plugin) NewStream(sdk.Request) any { return &stream{p: p} }

// OnRequestHeaders implements sdk.RequestHeadersHandler.
func (s *stream) OnRequestHeaders(r sdk.Request) sdk.Action {
	// Several Accept-Encoding lines are one list.
	if vs := r.Header().Values("accept-encoding"); len(vs) > 0 {
		s.ae = strings.Join(vs, ",")
	}
	return sdk.Continue
}

// OnResponseHeaders implements sdk.ResponseHeadersHandler: it decides
// what to do with the body.
func (s *stream) OnResponseHeaders(r sdk.Request) sdk.Action {
	h := r.ResponseHeader()
	// One host call for the whole map: the lookups below are served from
	// it (the SDK keeps it in step with the changes).
	h.Len()
	if r.EndOfStream() || !hasBody(r.Status()) || h.Get("trailer") != "" ||
		hasToken(h.Get("cache-control"), "no-transform") {
		return sdk.Continue
	}
	ct := h.Get("content-type")
	if !compressible(ct) {
		return sdk.Continue
	}
	addVary(h)
	if cl, ok := h.Lookup("content-length"); ok {
		if n, err := strconv.ParseInt(cl, 10, 64); err == nil && n < s.p.minLength {
			return sdk.Continue
		}
	}
	choice := choose(s.ae, &s.p.levels)
	if ce := strings.ToLower(strings.TrimSpace(h.Get("content-encoding"))); ce != "" && ce != "identity" {
		// Already encoded: pass it on if the client takes it (or we may
		// not touch it), else decode it (and encode it again).
		if !s.p.decompress || accepts(s.ae, ce) || strings.IndexByte(ce, ',') >= 0 {
			return sdk.Continue
		}
		d, err := sdk.NewDecompressor(ce)
		if err != nil {
			return sdk.Continue // an encoding we do not know: leave it
		}
		// Sessions open now, while the response can still go out as it
		// is if the host refuses one.
		if err := d.Open(); err != nil {
			sdk.Warn("compression: " + err.Error())
			return sdk.Continue
		}
		s.dec = d
	}
	if choice != none {
		e, err := sdk.NewCompressor(tokens[choice], s.p.levels[choice])
		if err == nil {
			err = e.Open()
		}
		if err != nil {
			sdk.Warn("compression: " + err.Error())
			if s.dec != nil {
				s.dec.Close()
				s.dec = nil
			}
			return sdk.Continue
		}
		s.enc, s.token = e, tokens[choice]
		h.Set("content-encoding", s.token)
		r.SetProperty("sluice.ctx.compression", []byte(s.token))
	}
	if s.enc == nil && s.dec == nil {
		return sdk.Continue
	}
	if s.dec != nil && s.enc == nil {
		h.Del("content-encoding") // now plain
	}
	h.Del("content-length")
	h.Del("accept-ranges")
	if etag := h.Get("etag"); etag != "" && !strings.HasPrefix(etag, "W/") {
		h.Set("etag", "W/"+etag)
	}
	s.flush = strings.HasPrefix(ct, "text/event-stream")
	return sdk.Continue
}

// OnResponseBody implements sdk.ResponseBodyHandler: each chunk is
// replaced by its (de)compressed form as it passes.
func (s *stream) OnResponseBody(r sdk.Request, size int, eos bool) sdk.Action {
	if (s.enc == nil && s.dec == nil) || s.finished || size == 0 && !eos {
		return sdk.Continue
	}
	body := r.ResponseBody()
	var chunk []byte
	if size > 0 {
		b, err := body.Bytes()
		if err != nil {
			return s.fail(r, err)
		}
		chunk = b
	}
	if s.dec != nil {
		plain, err := s.decode(chunk, eos)
		if err != nil {
			return s.fail(r, err)
		}
		chunk = plain
	}
	s.in += int64(len(chunk))
	if s.enc != nil {
		out, _, err := s.enc.Write(chunk, s.flush, eos)
		if err != nil {
			return s.fail(r, err)
		}
		chunk = out
	}
	s.out += int64(len(chunk))
	if eos {
		s.finished = true
		s.report(r)
	}
	return replace(body, chunk, s, r)
}

func replace(body sdk.Body, data []byte, s *stream, r sdk.Request) sdk.Action {
	if err := body.Replace(data); err != nil {
		return s.fail(r, err)
	}
	return sdk.Continue
}

// decode runs a chunk through the decompressor, collecting all its output.
func (s *stream) decode(chunk []byte, eos bool) ([]byte, error) {
	out, more, err := s.dec.Write(chunk, false, eos)
	if err != nil {
		return nil, err
	}
	if !more {
		return out, nil
	}
	s.buf = append(s.buf[:0], out...)
	for more {
		// The host bounds each piece; a chunk that expands beyond reason
		// is a decompression bomb.
		if len(s.buf) > maxExpansion {
			return nil, errBomb
		}
		out, more, err = s.dec.Write(nil, false, eos)
		if err != nil {
			return nil, err
		}
		s.buf = append(s.buf, out...)
	}
	return s.buf, nil
}

// maxExpansion bounds what one body chunk may decompress to.
const maxExpansion = 64 << 20

type bombError struct{}

func (bombError) Error() string { return "a body chunk decompresses to more than 64 MiB" }

var errBomb error = bombError{}

// fail ends a response that cannot be finished: its headers promised an
// encoding, so the client must not take what it got for a whole body.
func (s *stream) fail(r sdk.Request, err error) sdk.Action {
	sdk.Error("compression: " + err.Error())
	s.close()
	s.finished = true
	r.Reset()
	return sdk.Continue
}

func (s *stream) close() {
	if s.enc != nil {
		s.enc.Close()
	}
	if s.dec != nil {
		s.dec.Close()
	}
}

// report puts the ratio in the access log.
func (s *stream) report(r sdk.Request) {
	if s.enc == nil || s.out == 0 {
		return
	}
	ratio := strconv.FormatFloat(float64(s.in)/float64(s.out), 'f', 2, 64)
	r.SetProperty("sluice.ctx.compression_ratio", []byte(ratio))
}

// OnDone implements sdk.DoneHandler: a response that broke off leaves
// sessions on the host, dropped here.
func (s *stream) OnDone(sdk.Request) {
	if !s.finished {
		s.close()
	}
}

func hasBody(status int) bool {
	return status >= 200 && status != 204 && status != 206 && status != 304
}

// compressible reports whether a Content-Type is worth compressing.
func compressible(ct string) bool {
	if i := strings.IndexByte(ct, ';'); i >= 0 {
		ct = ct[:i]
	}
	ct = strings.ToLower(strings.TrimSpace(ct))
	if strings.HasPrefix(ct, "text/") || strings.HasSuffix(ct, "+json") || strings.HasSuffix(ct, "+xml") {
		return true
	}
	switch ct {
	case "application/json", "application/javascript", "application/x-javascript", "application/ecmascript",
		"application/xml", "application/wasm", "application/x-www-form-urlencoded", "application/graphql-response+json",
		"application/x-ndjson", "application/vnd.ms-fontobject", "application/x-font-ttf", "application/x-sh",
		"image/svg+xml", "image/x-icon", "image/vnd.microsoft.icon", "image/bmp",
		"font/ttf", "font/otf", "font/eot":
		return true
	}
	return false
}

// addVary adds Accept-Encoding to Vary unless it is there (or Vary is *).
func addVary(h sdk.Header) {
	for _, v := range h.Values("vary") {
		if hasToken(v, "accept-encoding") || strings.TrimSpace(v) == "*" {
			return
		}
	}
	h.Add("vary", "Accept-Encoding")
}

// hasToken reports whether a comma-separated header value lists token
// (case-insensitive, parameters ignored).
func hasToken(v, token string) bool {
	for v != "" {
		var item string
		item, v, _ = strings.Cut(v, ",")
		if i := strings.IndexAny(item, ";="); i >= 0 {
			item = item[:i]
		}
		if strings.EqualFold(strings.TrimSpace(item), token) {
			return true
		}
	}
	return false
}

// codings iterates over the codings of an Accept-Encoding value.
type codings struct{ rest string }

// next returns the next coding, lower-cased, with its q-value (1 when
// absent, 0 when malformed); ok is false at the end.
func (c *codings) next() (token string, q float64, ok bool) {
	for c.rest != "" {
		var item string
		item, c.rest, _ = strings.Cut(c.rest, ",")
		tok, params, _ := strings.Cut(item, ";")
		tok = strings.TrimSpace(tok)
		if tok == "" {
			continue
		}
		q = 1
		for params != "" {
			var p string
			p, params, _ = strings.Cut(params, ";")
			k, v, _ := strings.Cut(p, "=")
			if strings.EqualFold(strings.TrimSpace(k), "q") {
				f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
				if err != nil || f < 0 || f > 1 {
					f = 0
				}
				q = f
			}
		}
		tok = lowerASCII(tok)
		if tok == "x-gzip" {
			tok = "gzip"
		}
		return tok, q, true
	}
	return "", 0, false
}

// choose returns the enabled encoding the client prefers: the highest
// q-value, ties to the earlier in zstd, br, gzip.
func choose(ae string, levels *[4]int) encoding {
	if ae == "" {
		return none
	}
	var q [4]float64
	var listed [4]bool
	star := -1.0
	for it := (codings{ae}); ; {
		tok, v, ok := it.next()
		if !ok {
			break
		}
		if tok == "*" {
			star = v
			continue
		}
		// A coding listed twice counts once, at its first place, as in
		// accepts.
		for e := zstd; e <= gzip; e++ {
			if tokens[e] == tok && !listed[e] {
				q[e], listed[e] = v, true
			}
		}
	}
	best, bestQ := none, 0.0
	for e := zstd; e <= gzip; e++ {
		if levels[e] == 0 {
			continue
		}
		v := q[e]
		if !listed[e] && star > 0 {
			v = star
		}
		if v > bestQ {
			best, bestQ = e, v
		}
	}
	return best
}

// accepts reports whether the client accepts a content-coding.
func accepts(ae, coding string) bool {
	if coding == "x-gzip" {
		coding = "gzip"
	}
	star := 0.0
	for it := (codings{ae}); ; {
		tok, v, ok := it.next()
		if !ok {
			break
		}
		switch tok {
		case coding:
			return v > 0
		case "*":
			star = v
		}
	}
	return star > 0
}

func lowerASCII(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'A' && c <= 'Z' {
			return strings.ToLower(s)
		}
	}
	return s
}
