package route

import (
	"fmt"
	"net/textproto"
	"slices"
	"strings"
)

// Builtin names a request variable that the proxy knows and a Template
// asks its Source for.
type Builtin uint8

// The built-in variables, as Pingap names them.
const (
	// Host is the request's host, without port ($host).
	Host Builtin = iota + 1
	// Scheme is "https" on TLS connections, else "http" ($scheme).
	Scheme
	// Hostname is the name of the machine the proxy runs on ($hostname).
	Hostname
	// RemoteAddr is the client IP ($remote_addr).
	RemoteAddr
	// RemotePort is the client's TCP port ($remote_port).
	RemotePort
	// ServerAddr is the local IP the request arrived on ($server_addr).
	ServerAddr
	// ServerPort is the local port the request arrived on ($server_port).
	ServerPort
	// UpstreamAddr is the address of the chosen backend, once there is one
	// ($upstream_addr).
	UpstreamAddr
	// ProxyAddXForwardedFor is the request's X-Forwarded-For with the client
	// IP appended after ", ", or the client IP alone
	// ($proxy_add_x_forwarded_for).
	ProxyAddXForwardedFor
)

// builtinNames are the variable names (without "$") of the built-ins,
// indexed by Builtin.
var builtinNames = [...]string{
	Host:                  "host",
	Scheme:                "scheme",
	Hostname:              "hostname",
	RemoteAddr:            "remote_addr",
	RemotePort:            "remote_port",
	ServerAddr:            "server_addr",
	ServerPort:            "server_port",
	UpstreamAddr:          "upstream_addr",
	ProxyAddXForwardedFor: "proxy_add_x_forwarded_for",
}

// lookupBuiltin returns the built-in called name. It runs only while
// parsing.
func lookupBuiltin(name string) (Builtin, bool) {
	for b, n := range builtinNames {
		if n != "" && n == name {
			return Builtin(b), true
		}
	}
	return 0, false
}

// String returns the variable as written in a config, e.g. "$host".
func (b Builtin) String() string {
	if int(b) < len(builtinNames) && builtinNames[b] != "" {
		return "$" + builtinNames[b]
	}
	return fmt.Sprintf("Builtin(%d)", uint8(b))
}

// Source gives a Template the values that only the running request knows.
// host/proxy implements it over the request being proxied. Each method
// appends the value to dst and returns the extended slice; a value that
// does not exist (no such header, no backend chosen yet) appends nothing.
type Source interface {
	// AppendBuiltin appends the value of a built-in variable.
	AppendBuiltin(dst []byte, b Builtin) []byte
	// AppendHeader appends the request header name, given in canonical
	// form; several values are joined with ", ".
	AppendHeader(dst []byte, name string) []byte
	// AppendCtx appends the request context value key (Pingap's ":key"
	// variables, the access log's {:key} keys such as "upstream_addr").
	AppendCtx(dst []byte, key string) []byte
}

// partKind says what a piece of a Template stands for. Every piece is
// classified when the template is parsed, so expanding it compares no
// names.
type partKind uint8

const (
	partLiteral partKind = iota // text, including resolved environment variables
	partBuiltin                 // a Builtin, from the Source
	partHeader                  // $http_NAME, a request header, from the Source
	partCtx                     // :key, a context value, from the Source
	partCapture                 // a named regex group, from Vars
)

type part struct {
	kind partKind
	b    Builtin
	s    string // literal text, canonical header name, context key or capture name
}

// Template is a compiled header value with variables, such as
// "$remote_addr" or "prefix-${host}-$http_x_user_id". The zero value is the
// empty string. A Template is immutable and safe for concurrent use.
type Template struct {
	src   string
	parts []part
}

// ParseTemplate compiles a header value. A variable is written $name or
// ${name}, where name is letters, digits and underscores (for $http_NAME
// also hyphens); ${name} ends it explicitly, as in "${host}-x". Each name is
// classified once, here, in this order:
//
//  1. a built-in: host, scheme, hostname, remote_addr, remote_port,
//     server_addr, server_port, upstream_addr, proxy_add_x_forwarded_for;
//  2. http_NAME: the request header NAME, underscores read as hyphens
//     ($http_x_user_id is X-User-Id);
//  3. one of captures: the named regex group of that name;
//  4. an environment variable known to lookupEnv: its value, fixed now;
//  5. anything else is kept as written, as Pingap keeps what it cannot
//     resolve.
//
// A context value is the whole value ":key" (Pingap's form) or ${:key}
// inside text. "$$" is a literal "$". lookupEnv may be nil, which resolves
// no environment variables. Values with control characters (other than
// tab) and unterminated "${" are errors, since they would make an invalid
// header on every request.
func ParseTemplate(s string, captures []string, lookupEnv func(string) (string, bool)) (Template, error) {
	if i := strings.IndexFunc(s, isCtl); i >= 0 {
		return Template{}, fmt.Errorf("value %q: control character %q at offset %d", s, s[i], i)
	}
	t := Template{src: s}
	if key, ok := strings.CutPrefix(s, ":"); ok && isCtxKey(key) {
		t.parts = []part{{kind: partCtx, s: key}}
		return t, nil
	}
	p := templateParser{captures: captures, lookupEnv: lookupEnv}
	rest := s
	for rest != "" {
		i := strings.IndexByte(rest, '$')
		if i < 0 {
			p.literal(rest)
			break
		}
		p.literal(rest[:i])
		rest = rest[i:]
		switch {
		case strings.HasPrefix(rest, "$$"):
			p.literal("$")
			rest = rest[2:]
		case strings.HasPrefix(rest, "${"):
			end := strings.IndexByte(rest, '}')
			if end < 0 {
				return Template{}, fmt.Errorf("value %q: unterminated \"${\" (want ${name})", s)
			}
			name := rest[2:end]
			if key, ok := strings.CutPrefix(name, ":"); ok && isCtxKey(key) {
				p.parts = append(p.parts, part{kind: partCtx, s: key})
			} else if name == "" || !isVarName(name, strings.HasPrefix(name, "http_")) {
				return Template{}, fmt.Errorf("value %q: invalid variable %q (want letters, digits and underscores)", s, rest[:end+1])
			} else if err := p.variable(name, rest[:end+1]); err != nil {
				return Template{}, fmt.Errorf("value %q: %w", s, err)
			}
			rest = rest[end+1:]
		default:
			n := varNameLen(rest[1:])
			if n == 0 {
				p.literal("$")
				rest = rest[1:]
				continue
			}
			if err := p.variable(rest[1:1+n], rest[:1+n]); err != nil {
				return Template{}, fmt.Errorf("value %q: %w", s, err)
			}
			rest = rest[1+n:]
		}
	}
	t.parts = p.parts
	return t, nil
}

// templateParser accumulates the parts of a template, merging adjacent
// text.
type templateParser struct {
	captures  []string
	lookupEnv func(string) (string, bool)
	parts     []part
}

func (p *templateParser) literal(s string) {
	if s == "" {
		return
	}
	if n := len(p.parts); n > 0 && p.parts[n-1].kind == partLiteral {
		p.parts[n-1].s += s
		return
	}
	p.parts = append(p.parts, part{kind: partLiteral, s: s})
}

// variable classifies name; written is how it appeared, kept when the name
// resolves to nothing.
func (p *templateParser) variable(name, written string) error {
	if b, ok := lookupBuiltin(name); ok {
		p.parts = append(p.parts, part{kind: partBuiltin, b: b})
		return nil
	}
	if h, ok := strings.CutPrefix(name, "http_"); ok && h != "" {
		h = strings.ReplaceAll(h, "_", "-")
		p.parts = append(p.parts, part{kind: partHeader, s: textproto.CanonicalMIMEHeaderKey(h)})
		return nil
	}
	if slices.Contains(p.captures, name) {
		p.parts = append(p.parts, part{kind: partCapture, s: name})
		return nil
	}
	if p.lookupEnv != nil {
		if v, ok := p.lookupEnv(name); ok {
			if i := strings.IndexFunc(v, isCtl); i >= 0 {
				return fmt.Errorf("environment variable %s has control character %q at offset %d", name, v[i], i)
			}
			p.literal(v)
			return nil
		}
	}
	p.literal(written)
	return nil
}

// Append expands the template for one request onto dst: text as is,
// built-ins, headers and context values from src, captures from v (an
// unset capture expands to nothing). It allocates only if dst must grow.
func (t Template) Append(dst []byte, src Source, v Vars) []byte {
	for i := range t.parts {
		p := &t.parts[i]
		switch p.kind {
		case partLiteral:
			dst = append(dst, p.s...)
		case partBuiltin:
			dst = src.AppendBuiltin(dst, p.b)
		case partHeader:
			dst = src.AppendHeader(dst, p.s)
		case partCtx:
			dst = src.AppendCtx(dst, p.s)
		case partCapture:
			if val, ok := v.Get(p.s); ok {
				dst = append(dst, val...)
			}
		}
	}
	return dst
}

// Static returns the value of a template without request variables (only
// text and resolved environment variables), so that a caller can set it
// without expanding it per request.
func (t Template) Static() (string, bool) {
	switch {
	case len(t.parts) == 0:
		return "", true
	case len(t.parts) == 1 && t.parts[0].kind == partLiteral:
		return t.parts[0].s, true
	}
	return "", false
}

// String returns the template as it was written.
func (t Template) String() string { return t.src }

// HeaderRule is one compiled proxy_set_headers or proxy_add_headers entry:
// a canonical header name and its value.
type HeaderRule struct {
	// Name is the header name in canonical form ("X-Real-Ip").
	Name string
	// Value is the header value, expanded per request.
	Value Template
}

// ParseHeaderRule compiles a "Name: value" entry; the value is a template
// (see ParseTemplate) and may be empty.
func ParseHeaderRule(s string, captures []string, lookupEnv func(string) (string, bool)) (HeaderRule, error) {
	name, value, ok := strings.Cut(s, ":")
	if !ok {
		return HeaderRule{}, fmt.Errorf("header %q: want \"Name: value\"", s)
	}
	name, value = strings.TrimSpace(name), strings.TrimSpace(value)
	if !validHeaderName(name) {
		return HeaderRule{}, fmt.Errorf("header %q: %q is not a valid header name", s, name)
	}
	t, err := ParseTemplate(value, captures, lookupEnv)
	if err != nil {
		return HeaderRule{}, fmt.Errorf("header %q: %w", s, err)
	}
	return HeaderRule{Name: textproto.CanonicalMIMEHeaderKey(name), Value: t}, nil
}

// isCtl reports whether r may not appear in a header value: control
// characters other than horizontal tab, and DEL.
func isCtl(r rune) bool { return (r < 0x20 && r != '\t') || r == 0x7f }

func isNameByte(c byte) bool {
	return c == '_' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}

// varNameLen returns the length of the variable name at the start of s:
// the longest run of letters, digits and underscores, extended by hyphens
// for http_ names, where header names need them.
func varNameLen(s string) int {
	n := 0
	for n < len(s) && isNameByte(s[n]) {
		n++
	}
	if strings.HasPrefix(s[:n], "http_") {
		for n < len(s) && (isNameByte(s[n]) || s[n] == '-') {
			n++
		}
	}
	return n
}

// isVarName reports whether s is all name bytes (and hyphens, if
// hyphens is set).
func isVarName(s string, hyphens bool) bool {
	for i := 0; i < len(s); i++ {
		if !isNameByte(s[i]) && (!hyphens || s[i] != '-') {
			return false
		}
	}
	return true
}

// isCtxKey reports whether s is a context key: letters, digits and
// underscores.
func isCtxKey(s string) bool { return s != "" && isVarName(s, false) }
