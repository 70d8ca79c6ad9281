package route

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// rewriter is a compiled rewrite rule.
type rewriter struct {
	// re finds the part of the path to replace; nil replaces the whole path
	// (the one-token form "/prefix/$var").
	re *regexp.Regexp
	// repl is the replacement, classified at compile time.
	repl []rpart
	// named reports whether re has named groups, which become variables.
	named bool
}

type rpartKind uint8

const (
	rLiteral rpartKind = iota
	rGroup             // a group of the rewrite regex, by index
	rVar               // a host or path capture of the location, from Vars
)

type rpart struct {
	kind rpartKind
	s    string // literal text or variable name
	idx  int    // group index
}

// parseRewrite compiles "<regex> <replacement>". vars are the names the
// location's host and path regexes capture; a $name or ${name} of one of
// them in the replacement is replaced by its value before the regex's own
// groups, as Pingap does. The other forms:
//
//   - one token with a "$" ("/api/$path") replaces the whole path;
//   - one token without "$" ("^/api") deletes the first match (Pingap reads
//     the missing replacement as empty).
func parseRewrite(s string, vars []string) (*rewriter, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, nil
	}
	expr, repl, found := strings.Cut(s, " ")
	repl = strings.TrimSpace(repl)
	if !found && strings.Contains(s, "$") {
		expr, repl = "", s
	}
	if strings.ContainsAny(repl, " \t") {
		return nil, fmt.Errorf("rewrite %q: want \"<regex> <replacement>\" with no space inside either", s)
	}
	rw := &rewriter{}
	if expr != "" {
		re, err := regexp.Compile(expr)
		if err != nil {
			return nil, fmt.Errorf("rewrite %q: %w", s, err)
		}
		rw.re, rw.named = re, hasNames(re)
	}
	rw.repl = parseReplacement(repl, rw.re, vars)
	return rw, nil
}

// parseReplacement splits a replacement into text, group references and
// variables, with regexp.Expand's syntax: $1, $name, ${name}, "$$" for "$",
// the longest name wins ($1x is ${1x}), a malformed "$" is literal, and a
// reference to no group expands to nothing.
func parseReplacement(t string, re *regexp.Regexp, vars []string) []rpart {
	var out []rpart
	lit := func(s string) {
		if s == "" {
			return
		}
		if n := len(out); n > 0 && out[n-1].kind == rLiteral {
			out[n-1].s += s
			return
		}
		out = append(out, rpart{kind: rLiteral, s: s})
	}
	for t != "" {
		i := strings.IndexByte(t, '$')
		if i < 0 {
			lit(t)
			break
		}
		lit(t[:i])
		t = t[i:]
		if strings.HasPrefix(t, "$$") {
			lit("$")
			t = t[2:]
			continue
		}
		name, num, rest, ok := extractRef(t)
		if !ok {
			lit("$")
			t = t[1:]
			continue
		}
		t = rest
		switch {
		case slices.Contains(vars, name):
			out = append(out, rpart{kind: rVar, s: name})
		case num >= 0:
			if num == 0 || re != nil && num <= re.NumSubexp() {
				out = append(out, rpart{kind: rGroup, idx: num})
			}
		case re != nil:
			if i := slices.Index(re.SubexpNames(), name); i > 0 {
				out = append(out, rpart{kind: rGroup, idx: i})
			}
		}
	}
	return out
}

// extractRef parses "$name" or "${name}" at the start of t, as
// regexp.Expand does. num is the group number for an all-digit name
// without a leading zero, else -1.
func extractRef(t string) (name string, num int, rest string, ok bool) {
	if len(t) < 2 || t[0] != '$' {
		return "", 0, "", false
	}
	brace := t[1] == '{'
	i := 1
	if brace {
		i = 2
	}
	j := i
	for j < len(t) && isNameByte(t[j]) {
		j++
	}
	if j == i {
		return "", 0, "", false
	}
	name = t[i:j]
	if brace {
		if j >= len(t) || t[j] != '}' {
			return "", 0, "", false
		}
		j++
	}
	num = 0
	for k := 0; k < len(name); k++ {
		if name[k] < '0' || '9' < name[k] || num >= 1e8 {
			num = -1
			break
		}
		num = num*10 + int(name[k]-'0')
	}
	if name[0] == '0' && len(name) > 1 {
		num = -1
	}
	return name, num, t[j:], true
}

// apply rewrites path. It returns the new path, v extended with the
// regex's named groups, and whether the regex matched at all.
func (rw *rewriter) apply(path string, v Vars) (string, Vars, bool) {
	start, end := 0, len(path)
	var m []int
	if rw.re != nil {
		m = rw.re.FindStringSubmatchIndex(path)
		if m == nil {
			return path, v, false
		}
		start, end = m[0], m[1]
	}
	var b strings.Builder
	b.Grow(len(path) + 32)
	b.WriteString(path[:start])
	for i := range rw.repl {
		p := &rw.repl[i]
		switch p.kind {
		case rLiteral:
			b.WriteString(p.s)
		case rVar:
			if val, ok := v.Get(p.s); ok {
				b.WriteString(val)
			}
		case rGroup:
			if m == nil { // whole-path form: only $0, the path, exists
				b.WriteString(path)
			} else if m[2*p.idx] >= 0 {
				b.WriteString(path[m[2*p.idx]:m[2*p.idx+1]])
			}
		}
	}
	b.WriteString(path[end:])
	if rw.named {
		names := rw.re.SubexpNames()
		list := make([]Var, len(v.list), len(v.list)+len(names))
		copy(list, v.list)
		for i, name := range names {
			if name != "" && m[2*i] >= 0 {
				list = set(list, name, path[m[2*i]:m[2*i+1]])
			}
		}
		v = Vars{list: list}
	}
	return b.String(), v, true
}
