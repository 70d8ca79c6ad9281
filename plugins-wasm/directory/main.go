// Command directory is the sluice plugin for Pingap's "directory" category:
// it serves static files from a root directory.
//
// Parameters:
//
//	path        the root directory (required); sluice grants the plugin this
//	            directory and nothing else (see host/files)
//	index       the file served for a directory, default "index.html"
//	autoindex   true: a directory without an index file gets an HTML listing
//	chunk_size  bytes read from the host per call, default "1mib", between
//	            4kb and 4mib
//	max_age     Cache-Control max-age for files other than HTML, e.g. "1h"
//	private     true: Cache-Control says private instead of public
//	charset     added to text types' Content-Type, e.g. "utf-8"
//	download    true: Content-Disposition: attachment
//	headers     extra response headers, "Name: value" lines
//	follow_symlinks  accepted for Pingap configs; true is the only value:
//	            links inside the root are followed, links out of it never
//
// Requests: GET and HEAD (others get 405). The path is percent-decoded
// once; a "." or ".." segment (also encoded, as %2e%2e) is 403, as is a
// path that leads out of the root through a symbolic link. A directory
// without a trailing slash is redirected (301) to have one.
//
// Responses carry a weak ETag (W/"size-mtime", hex) and Last-Modified, and
// honour If-None-Match, If-Modified-Since (304), and a single byte Range
// (206, or 416 when it cannot be satisfied; If-Range is checked). A
// multi-range request gets the whole file.
//
// Bodies are local responses, read from the host in chunk_size pieces;
// sluice does not stream local responses yet, so a response body above 32
// MiB is refused with 500 (ranges of a large file are served).
package main

import (
	"errors"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/sluice-proxy/sluice/sdk"
)

func main() {}

func init() { sdk.Register(newPlugin) }

// maxBody bounds a response body the plugin reads itself, on a host that
// does not stream files: such local responses are held whole in the
// plugin's and the host's memory.
const maxBody = 32 << 20

// respondFile is the property that makes sluice stream a file range as the
// body of the plugin's local response ("PATH\x00OFFSET\x00LENGTH").
const respondFile = "sluice.respond_file"

type plugin struct {
	index     string
	autoindex bool
	chunk     int
	maxAge    time.Duration
	private   bool
	charset   string
	download  bool
	headers   [][2]string
}

func newPlugin(cfg []byte) (sdk.Plugin, error) {
	c, err := sdk.ParseConfig(cfg)
	if err != nil {
		return nil, err
	}
	root := c.String("path", "")
	p := &plugin{
		index:     c.String("index", "index.html"),
		autoindex: c.Bool("autoindex", false),
		chunk:     int(c.Size("chunk_size", 1<<20)),
		maxAge:    c.Duration("max_age", 0),
		private:   c.Bool("private", false),
		charset:   c.String("charset", ""),
		download:  c.Bool("download", false),
		headers:   c.HeaderLines("headers"),
	}
	if root == "" {
		c.Invalid("path", "required: the directory to serve")
	}
	if p.index != "" && (strings.Contains(p.index, "/") || p.index == "." || p.index == "..") {
		c.Invalid("index", "must be a file name, got "+strconv.Quote(p.index))
	}
	if p.chunk < 4000 || p.chunk > sdk.MaxFileRead {
		c.Invalid("chunk_size", "must be between 4kb and 4mib")
	}
	if p.maxAge < 0 {
		c.Invalid("max_age", "must not be negative")
	}
	if p.charset != "" && !sdk.IsToken(p.charset) {
		c.Invalid("charset", "not a charset name: "+strconv.Quote(p.charset))
	}
	if !c.Bool("follow_symlinks", true) {
		c.Invalid("follow_symlinks", "false is not supported: links inside the root are followed, links out of it refused")
	}
	if err := c.Err(); err != nil {
		return nil, err
	}
	if !sdk.FilesAvailable() {
		return nil, &sdk.ConfigError{Problems: []string{"the host does not provide the sluice.files foreign functions"}}
	}
	fi, err := sdk.StatFile("")
	if err != nil || !fi.Dir {
		msg := "not a directory"
		if err != nil {
			msg = "cannot be read (" + err.Error() + ")"
		}
		return nil, &sdk.ConfigError{Problems: []string{`key "path": ` + strconv.Quote(root) + " " + msg}}
	}
	return p, nil
}

// OnRequestHeaders implements sdk.RequestHeadersHandler: every request is
// answered here.
func (p *plugin) OnRequestHeaders(r sdk.Request) sdk.Action {
	status, hdrs, body := p.serve(r)
	if err := r.Respond(status, hdrs, body); err != nil {
		sdk.Error("directory: " + err.Error())
	}
	return sdk.Pause
}

func text(status int, msg string) (int, [][2]string, []byte) {
	return status, [][2]string{{"content-type", "text/plain; charset=utf-8"}}, []byte(msg + "\n")
}

// serve answers one request.
func (p *plugin) serve(r sdk.Request) (int, [][2]string, []byte) {
	method := r.Method()
	if method != "GET" && method != "HEAD" {
		st, h, b := text(405, "method not allowed")
		return st, append(h, [2]string{"allow", "GET, HEAD"}), b
	}
	raw := r.Path()
	if i := strings.IndexByte(raw, '?'); i >= 0 {
		raw = raw[:i]
	}
	rel, slash, err := relPath(raw)
	if err != nil {
		if errors.Is(err, errTraversal) {
			return text(403, "forbidden")
		}
		return text(400, "bad path")
	}
	fi, err := sdk.StatFile(rel)
	if err != nil {
		return p.statError(rel, err)
	}
	if fi.Dir {
		if !slash {
			// One leading slash: "//host/dir" must not become a
			// redirect to another site.
			loc := "/" + strings.TrimLeft(raw, "/") + "/"
			if q := r.Path()[len(raw):]; q != "" {
				loc += q
			}
			return 301, [][2]string{{"location", loc}, {"content-type", "text/html; charset=utf-8"}},
				[]byte("<a href=\"" + htmlEscape(loc) + "\">moved</a>\n")
		}
		if p.index != "" {
			ir := join(rel, p.index)
			if ifi, err := sdk.StatFile(ir); err == nil && ifi.Regular {
				return p.file(r, ir, ifi)
			}
		}
		if p.autoindex {
			return p.listing(r, raw, rel)
		}
		return text(403, "forbidden")
	}
	if !fi.Regular || slash {
		return text(404, "not found")
	}
	return p.file(r, rel, fi)
}

func (p *plugin) statError(rel string, err error) (int, [][2]string, []byte) {
	switch {
	case errors.Is(err, sdk.ErrNotFound):
		return text(404, "not found")
	case errors.Is(err, sdk.ErrBadArgument):
		return text(403, "forbidden")
	}
	sdk.Error("directory: " + rel + ": " + err.Error())
	return text(500, "internal error")
}

var errTraversal = errors.New("path traversal")

// relPath turns a request path into a path under the root, and reports
// whether it ended with a slash. "." and ".." segments are refused, also
// when percent-encoded, rather than resolved: a client has no business
// sending them.
func relPath(raw string) (string, bool, error) {
	p, err := url.PathUnescape(raw)
	if err != nil || strings.IndexByte(p, 0) >= 0 || strings.IndexByte(p, '\\') >= 0 {
		if err == nil {
			err = errTraversal
		}
		return "", false, err
	}
	slash := strings.HasSuffix(p, "/")
	var b strings.Builder
	for seg := range strings.SplitSeq(p, "/") {
		switch seg {
		case "":
			continue
		case ".", "..":
			return "", false, errTraversal
		}
		if b.Len() > 0 {
			b.WriteByte('/')
		}
		b.WriteString(seg)
	}
	return b.String(), slash, nil
}

func join(dir, name string) string {
	if dir == "" {
		return name
	}
	return dir + "/" + name
}

// file answers with a file or a range of it.
func (p *plugin) file(r sdk.Request, rel string, fi sdk.FileInfo) (int, [][2]string, []byte) {
	etag := `W/"` + strconv.FormatInt(fi.Size, 16) + "-" + strconv.FormatInt(fi.ModTime.Unix(), 16) + `"`
	mtime := fi.ModTime.UTC().Truncate(time.Second)
	ct := contentType(rel)
	if p.charset != "" && (strings.HasPrefix(ct, "text/") || ct == "application/javascript" || ct == "application/json") {
		ct += "; charset=" + p.charset
	}
	h := make([][2]string, 0, 8+len(p.headers))
	h = append(h, [2]string{"content-type", ct}, [2]string{"etag", etag},
		[2]string{"last-modified", mtime.Format(httpTime)}, [2]string{"accept-ranges", "bytes"})
	if p.maxAge > 0 && !strings.HasPrefix(ct, "text/html") {
		cc := "public"
		if p.private {
			cc = "private"
		}
		h = append(h, [2]string{"cache-control", cc + ", max-age=" + strconv.FormatInt(int64(p.maxAge/time.Second), 10)})
	} else if p.private {
		h = append(h, [2]string{"cache-control", "private"})
	}
	if p.download {
		name := rel[strings.LastIndexByte(rel, '/')+1:]
		h = append(h, [2]string{"content-disposition", `attachment; filename="` + quoteName(name) + `"`})
	}
	h = append(h, p.headers...)

	req := r.Header()
	if notModified(req.Get("if-none-match"), req.Get("if-modified-since"), etag, mtime) {
		return 304, h, nil
	}
	start, n := int64(0), fi.Size
	status := 200
	if rg := req.Get("range"); rg != "" && ifRange(req.Get("if-range"), etag, mtime) {
		s, l, ok, satisfiable := parseRange(rg, fi.Size)
		switch {
		case !satisfiable:
			st, hh, b := text(416, "range not satisfiable")
			return st, append(hh, [2]string{"content-range", "bytes */" + strconv.FormatInt(fi.Size, 10)}), b
		case ok:
			start, n, status = s, l, 206
			h = append(h, [2]string{"content-range", "bytes " + strconv.FormatInt(s, 10) + "-" +
				strconv.FormatInt(s+l-1, 10) + "/" + strconv.FormatInt(fi.Size, 10)})
		}
	}
	// sluice streams the range from the file itself (sluice.respond_file):
	// the body never passes through the plugin, whatever its size.
	if err := r.SetProperty(respondFile, []byte(rel+"\x00"+strconv.FormatInt(start, 10)+"\x00"+strconv.FormatInt(n, 10))); err == nil {
		return status, append(h, [2]string{"content-length", strconv.FormatInt(n, 10)}), nil
	}
	// A host that does not stream files: the body goes through the plugin.
	if n > maxBody {
		sdk.Error("directory: " + rel + " is " + strconv.FormatInt(n, 10) + " bytes, over the 32 MiB a local response may carry; ask for ranges")
		return text(500, "file too large to send whole; use Range requests")
	}
	body, err := p.read(rel, start, n)
	if err != nil {
		return p.statError(rel, err)
	}
	// HEAD: sluice sends the headers of the body without the body.
	return status, h, body
}

// read reads n bytes of rel from start, chunk_size bytes per host call.
func (p *plugin) read(rel string, start, n int64) ([]byte, error) {
	body := make([]byte, 0, n)
	for int64(len(body)) < n {
		want := min(int64(p.chunk), n-int64(len(body)))
		b, err := sdk.ReadFile(rel, start+int64(len(body)), int(want))
		if err != nil {
			return nil, err
		}
		if len(b) == 0 {
			return nil, errors.New("file shrank while it was read")
		}
		body = append(body, b...)
	}
	return body, nil
}

const httpTime = "Mon, 02 Jan 2006 15:04:05 GMT"

// notModified applies If-None-Match (weak comparison, "*") or, without it,
// If-Modified-Since.
func notModified(inm, ims, etag string, mtime time.Time) bool {
	if inm != "" {
		for inm != "" {
			var t string
			t, inm, _ = strings.Cut(inm, ",")
			t = strings.TrimSpace(t)
			if t == "*" || strings.TrimPrefix(t, "W/") == strings.TrimPrefix(etag, "W/") {
				return true
			}
		}
		return false
	}
	if ims == "" {
		return false
	}
	t, err := time.Parse(httpTime, ims)
	return err == nil && !mtime.After(t)
}

// ifRange reports whether a Range applies: no If-Range, or one that
// matches. A weak ETag never matches (RFC 9110 13.1.5), so only a date can.
func ifRange(v, etag string, mtime time.Time) bool {
	if v == "" {
		return true
	}
	if strings.HasPrefix(v, `"`) || strings.HasPrefix(v, "W/") {
		return false
	}
	t, err := time.Parse(httpTime, v)
	return err == nil && mtime.Equal(t)
}

// parseRange parses a single byte range of a file of size bytes. ok is
// false for a header to ignore (malformed, another unit, several ranges);
// satisfiable is false when it asks for nothing inside the file.
func parseRange(v string, size int64) (start, n int64, ok, satisfiable bool) {
	spec, found := strings.CutPrefix(strings.TrimSpace(v), "bytes=")
	if !found || strings.IndexByte(spec, ',') >= 0 {
		return 0, 0, false, true
	}
	a, b, found := strings.Cut(strings.TrimSpace(spec), "-")
	if !found {
		return 0, 0, false, true
	}
	if a == "" { // suffix: the last b bytes
		l, err := strconv.ParseInt(b, 10, 64)
		if err != nil || l < 0 {
			return 0, 0, false, true
		}
		if l == 0 || size == 0 {
			return 0, 0, false, false
		}
		l = min(l, size)
		return size - l, l, true, true
	}
	s, err := strconv.ParseInt(a, 10, 64)
	if err != nil || s < 0 {
		return 0, 0, false, true
	}
	end := size - 1
	if b != "" {
		e, err := strconv.ParseInt(b, 10, 64)
		if err != nil || e < s {
			return 0, 0, false, true
		}
		end = min(e, size-1)
	}
	if s >= size {
		return 0, 0, false, false
	}
	return s, end - s + 1, true, true
}

// listing answers with an HTML index of a directory.
func (p *plugin) listing(r sdk.Request, raw, rel string) (int, [][2]string, []byte) {
	ents, err := sdk.ListDir(rel)
	if err != nil {
		return p.statError(rel, err)
	}
	title := htmlEscape(raw)
	b := make([]byte, 0, 256+len(ents)*128)
	b = append(b, "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Index of "...)
	b = append(b, title...)
	b = append(b, "</title></head><body><h1>Index of "...)
	b = append(b, title...)
	b = append(b, "</h1><table>\n"...)
	if rel != "" {
		b = append(b, "<tr><td><a href=\"../\">../</a></td><td></td><td></td></tr>\n"...)
	}
	for _, e := range ents {
		if !e.Dir && !e.Regular {
			continue
		}
		name := e.Name
		size := strconv.FormatInt(e.Size, 10)
		if e.Dir {
			name += "/"
			size = "-"
		}
		b = append(b, "<tr><td><a href=\""...)
		b = append(b, htmlEscape(url.PathEscape(e.Name))...)
		if e.Dir {
			b = append(b, '/')
		}
		b = append(b, "\">"...)
		b = append(b, htmlEscape(name)...)
		b = append(b, "</a></td><td>"...)
		b = append(b, e.ModTime.UTC().Format("2006-01-02 15:04")...)
		b = append(b, "</td><td>"...)
		b = append(b, size...)
		b = append(b, "</td></tr>\n"...)
	}
	b = append(b, "</table></body></html>\n"...)
	h := [][2]string{{"content-type", "text/html; charset=utf-8"}, {"cache-control", "no-cache"}}
	return 200, append(h, p.headers...), b
}

func htmlEscape(s string) string {
	if !strings.ContainsAny(s, `<>&"'`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '<':
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		case '&':
			b.WriteString("&amp;")
		case '"':
			b.WriteString("&#34;")
		case '\'':
			b.WriteString("&#39;")
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// quoteName makes a file name safe inside a quoted header parameter.
func quoteName(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '"' || c == '\\' || c < 0x20 || c == 0x7f {
			b.WriteByte('_')
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// contentType returns the media type of a file by its extension.
func contentType(name string) string {
	i := strings.LastIndexByte(name, '.')
	if i < 0 || strings.IndexByte(name[i:], '/') >= 0 {
		return "application/octet-stream"
	}
	if t, ok := mimeTypes[strings.ToLower(name[i+1:])]; ok {
		return t
	}
	return "application/octet-stream"
}

var mimeTypes = map[string]string{
	"html": "text/html", "htm": "text/html", "css": "text/css", "js": "application/javascript",
	"mjs": "application/javascript", "json": "application/json", "map": "application/json",
	"txt": "text/plain", "md": "text/markdown", "csv": "text/csv", "xml": "application/xml",
	"svg": "image/svg+xml", "png": "image/png", "jpg": "image/jpeg", "jpeg": "image/jpeg",
	"gif": "image/gif", "webp": "image/webp", "avif": "image/avif", "ico": "image/x-icon",
	"bmp": "image/bmp", "woff": "font/woff", "woff2": "font/woff2", "ttf": "font/ttf", "otf": "font/otf",
	"wasm": "application/wasm", "pdf": "application/pdf", "zip": "application/zip",
	"gz": "application/gzip", "tar": "application/x-tar", "mp4": "video/mp4", "webm": "video/webm",
	"mp3": "audio/mpeg", "ogg": "audio/ogg", "wav": "audio/wav", "webmanifest": "application/manifest+json",
	"yaml": "application/yaml", "yml": "application/yaml", "toml": "application/toml",
}
