package accesslog

import (
	"fmt"
	"net/textproto"
	"os"
	"strings"
	"time"

	"github.com/sluice-proxy/sluice/host/internal/reqinfo"
)

// Presets are Pingap's named formats, exactly as Pingap defines them
// (common's stray trailing quote included: a Pingap user's log parser
// expects it).
var Presets = map[string]string{
	"tiny":     `{method} {uri} {status} {size_human} - {latency}ms`,
	"short":    `{remote} {method} {uri} {proto} {status} {size_human} - {latency}ms`,
	"common":   `{remote} "{method} {uri} {proto}" {status} {size_human}"`,
	"combined": `{remote} "{method} {uri} {proto}" {status} {size_human} "{referer}" "{user_agent}"`,
}

// Options are the seams of Compile. The zero value uses the process's
// environment, host name and local time zone.
type Options struct {
	// Location is the time zone of {when}. Nil means time.Local.
	Location *time.Location
	// LookupEnv resolves {$NAME} placeholders, once, at compile time. Nil
	// means os.LookupEnv.
	LookupEnv func(string) (string, bool)
	// Hostname is the value of {$hostname}. Empty means os.Hostname().
	Hostname string
}

// Template is a compiled access-log format. It is immutable and safe for
// concurrent use.
type Template struct {
	format string
	parts  []part
	loc    *time.Location
}

type part struct {
	kind  kind
	ctx   ctxKey
	human bool
	// text is the literal text, the canonical header name, the cookie
	// name, the Values key or the resolved environment value.
	text string
	// key names the value in JSON output.
	key string
	// unset marks an environment variable that is not set.
	unset bool
}

// Compile parses format, a preset name or a template of {placeholders},
// into a Template. Every placeholder is checked here: an unknown one is an
// error naming it and the nearest known name. Text that is not a
// placeholder (including braces that do not form one, as in Pingap) is
// copied as is. A control character in the format is refused, since it
// would break the one-line-per-request shape of the log.
func Compile(format string, o Options) (*Template, error) {
	if p, ok := Presets[format]; ok {
		format = p
	}
	if strings.TrimSpace(format) == "" {
		return nil, fmt.Errorf("access log format is empty")
	}
	for i := 0; i < len(format); i++ {
		if c := format[i]; c < 0x20 || c == 0x7f {
			return nil, fmt.Errorf("access log format %q: control character %q at offset %d", format, c, i)
		}
	}
	if o.Location == nil {
		o.Location = time.Local
	}
	if o.LookupEnv == nil {
		o.LookupEnv = os.LookupEnv
	}
	if o.Hostname == "" {
		o.Hostname, _ = os.Hostname()
	}
	t := &Template{format: format, loc: o.Location}
	lit := 0 // start of pending literal text
	for i := 0; i < len(format); {
		if format[i] != '{' {
			i++
			continue
		}
		n := 0
		for i+1+n < len(format) && isTagByte(format[i+1+n]) {
			n++
		}
		end := i + 1 + n
		if n == 0 || end >= len(format) || format[end] != '}' {
			i++
			continue
		}
		if lit < i {
			t.parts = append(t.parts, part{kind: kLiteral, text: format[lit:i]})
		}
		p, err := parsePlaceholder(format[i+1:end], o)
		if err != nil {
			return nil, fmt.Errorf("access log format %q: %w", format, err)
		}
		t.parts = append(t.parts, p)
		i = end + 1
		lit = i
	}
	if lit < len(format) {
		t.parts = append(t.parts, part{kind: kLiteral, text: format[lit:]})
	}
	return t, nil
}

// String returns the format the template was compiled from, presets
// expanded.
func (t *Template) String() string { return t.format }

// isTagByte reports whether c may appear in a placeholder name: letters,
// digits, and the prefixes and separators of header, cookie, context and
// environment placeholders (Pingap's set).
func isTagByte(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	switch c {
	case '_', '-', '<', '>', '~', ':', '$':
		return true
	}
	return false
}

func parsePlaceholder(name string, o Options) (part, error) {
	if k, ok := fixed[name]; ok {
		return part{kind: k, key: name}, nil
	}
	prefix, rest := name[0], name[1:]
	switch prefix {
	case '~', '>', '<', '$', ':':
		if rest == "" {
			return part{}, fmt.Errorf("placeholder {%s} has no name after %q", name, prefix)
		}
	}
	switch prefix {
	case '~':
		return part{kind: kCookie, text: rest, key: "cookie_" + rest}, nil
	case '>':
		return part{kind: kReqHeader, text: textproto.CanonicalMIMEHeaderKey(rest), key: "req_" + strings.ToLower(rest)}, nil
	case '<':
		return part{kind: kRespHeader, text: textproto.CanonicalMIMEHeaderKey(rest), key: "resp_" + strings.ToLower(rest)}, nil
	case '$':
		if rest == "hostname" {
			return part{kind: kConst, text: o.Hostname, key: "hostname", unset: o.Hostname == ""}, nil
		}
		v, ok := o.LookupEnv(rest)
		return part{kind: kConst, text: v, key: "env_" + rest, unset: !ok || v == ""}, nil
	case ':':
		base, human := strings.CutSuffix(rest, "_human")
		if k, ok := ctxKeys[base]; ok && (!human || k.timed) {
			return part{kind: kCtx, ctx: k.key, human: human, text: base, key: rest}, nil
		}
		// Anything else is a value a plugin may set (rec.Values).
		return part{kind: kValue, text: rest, key: rest}, nil
	}
	return part{}, fmt.Errorf("unknown placeholder {%s}%s", name, suggest(name))
}

// suggest returns " (did you mean {x}?)" for the known name nearest to
// name, or "" when none is near.
func suggest(name string) string {
	best, dist := "", 4
	for k := range fixed {
		if d := editDistance(name, k); d < dist || d == dist && k < best {
			best, dist = k, d
		}
	}
	if best == "" {
		return " (placeholders are the fixed names, {~cookie}, {>request-header}, {<response-header}, {$ENV} or {:context_key})"
	}
	return " (did you mean {" + best + "}?)"
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			c := prev[j-1]
			if a[i-1] != b[j-1] {
				c++
			}
			cur[j] = min(c, prev[j]+1, cur[j-1]+1)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// AppendText appends rec's line in the template's format to dst, without a
// newline. Values taken from the request or response have control
// characters, '"' and '\' written as \xHH (as nginx does), so that a client
// cannot forge lines or break a quoted field. A missing value is "-".
func (t *Template) AppendText(dst []byte, rec *reqinfo.Record) []byte {
	for i := range t.parts {
		p := &t.parts[i]
		if p.kind == kLiteral {
			dst = append(dst, p.text...)
			continue
		}
		dst = t.appendValue(dst, p, rec, false)
	}
	return dst
}

// AppendJSON appends rec's line as one JSON object to dst, without a
// newline. Each placeholder of the template becomes a member (literal text
// is left out): fixed names keep their name, {~c} is "cookie_c", {>h} is
// "req_h" and {<h} "resp_h" (header names in lower case), {$E} is "env_E"
// and {:k} is "k". Sizes, statuses, times in milliseconds and counts are
// numbers, flags are booleans, and a missing value is null. A placeholder
// that appears twice is written once.
func (t *Template) AppendJSON(dst []byte, rec *reqinfo.Record) []byte {
	dst = append(dst, '{')
	first := true
	for i := range t.parts {
		p := &t.parts[i]
		if p.kind == kLiteral || t.seenBefore(i) {
			continue
		}
		if !first {
			dst = append(dst, ',')
		}
		first = false
		dst = appendJSONString(dst, p.key)
		dst = append(dst, ':')
		dst = t.appendValue(dst, p, rec, true)
	}
	return append(dst, '}')
}

// seenBefore reports whether the JSON key of parts[i] was already written.
// Templates are short, so the quadratic scan costs less than a set.
func (t *Template) seenBefore(i int) bool {
	k := t.parts[i].key
	for j := 0; j < i; j++ {
		if t.parts[j].kind != kLiteral && t.parts[j].key == k {
			return true
		}
	}
	return false
}
