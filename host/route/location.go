package route

import (
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"

	"github.com/sluice-proxy/sluice/host/config"
)

// Location is a compiled [locations.NAME]: how it matches requests, how it
// rewrites them and which headers it sets upstream. It is immutable and safe
// for concurrent use.
type Location struct {
	// Name is the location's name in the config.
	Name string
	// Config is the location as configured, for the settings routing does
	// not interpret (plugins, body size, retries, ...).
	Config *config.Location
	// Weight is the priority the location is tried in: Config.Weight when
	// set, else computed as Pingap does (see the package documentation).
	Weight int
	// Upstream is the name of the upstream requests go to. It is empty when
	// UpstreamVar is set, or when the location names no upstream.
	Upstream string
	// UpstreamVar is the variable that names the upstream per request, from
	// upstream = "$name"; Compile checks that the host, path or rewrite
	// regex captures it. See UpstreamName.
	UpstreamVar string
	// SetHeaders replace headers of the upstream request, in order: the
	// reverse-proxy headers when enable_reverse_proxy_headers is on
	// (X-Real-Ip, X-Forwarded-For, X-Forwarded-Proto, X-Forwarded-Host,
	// X-Forwarded-Port), then proxy_set_headers, so a later rule for the
	// same name wins.
	SetHeaders []HeaderRule
	// AddHeaders are appended to the upstream request after SetHeaders
	// (proxy_add_headers).
	AddHeaders []HeaderRule

	hosts []hostEntry
	// hostRegex reports whether hosts has a regex entry. A location without
	// one is a candidate only when its host already matched (see index), so
	// its hosts need no second look.
	hostRegex bool
	path      pathMatcher
	conds     []cond
	rw        *rewriter
	// captures are the names the path and host regexes capture; nvars
	// bounds how many variables a match can make.
	captures []string
	nvars    int
	// varNames adds the rewrite regex's named groups to captures.
	varNames []string
}

// reverseProxyHeaders returns what enable_reverse_proxy_headers sets, as
// Pingap and nginx's usual proxy_set_header block do.
func reverseProxyHeaders() []HeaderRule {
	rule := func(name string, b Builtin) HeaderRule {
		return HeaderRule{Name: name, Value: Template{src: b.String(), parts: []part{{kind: partBuiltin, b: b}}}}
	}
	return []HeaderRule{
		rule("X-Real-Ip", RemoteAddr),
		rule("X-Forwarded-For", ProxyAddXForwardedFor),
		rule("X-Forwarded-Proto", Scheme),
		rule("X-Forwarded-Host", Host),
		rule("X-Forwarded-Port", ServerPort),
	}
}

// compileLocation builds a Location, reporting every problem of its config
// at once.
func compileLocation(name string, c *config.Location, lookupEnv func(string) (string, bool)) (*Location, error) {
	if c == nil {
		return nil, errors.New("no config")
	}
	l := &Location{Name: name, Config: c, Weight: Weight(c)}
	var errs []error
	var err error
	if l.path, err = parsePath(c.Path); err != nil {
		errs = append(errs, err)
	}
	if l.hosts, err = parseHosts(c.Host); err != nil {
		errs = append(errs, err)
	}
	for _, h := range l.hosts {
		if h.kind == hostRegex {
			l.hostRegex = true
			l.addCaptures(h.re)
		}
	}
	if l.path.kind == pathRegex {
		l.addCaptures(l.path.re)
	}
	for _, cs := range []struct {
		kind  condKind
		key   string
		items []string
	}{
		{condHeader, "match_headers", c.MatchHeaders},
		{condQuery, "match_query", c.MatchQuery},
		{condCookie, "match_cookies", c.MatchCookies},
	} {
		conds, err := parseConds(cs.kind, cs.key, cs.items)
		if err != nil {
			errs = append(errs, err)
		}
		l.conds = append(l.conds, conds...)
	}
	if l.rw, err = parseRewrite(c.Rewrite, l.captures); err != nil {
		errs = append(errs, err)
	}
	// Header values may use every variable a request can have by then,
	// the rewrite's groups included.
	vars := l.captures
	if l.rw != nil && l.rw.named {
		vars = appendNames(append([]string(nil), vars...), l.rw.re)
	}
	l.varNames = vars
	// A regex that did not compile captures nothing; saying so about the
	// upstream variable too would only repeat its error.
	if err := l.compileUpstream(c.Upstream, vars, len(errs) == 0); err != nil {
		errs = append(errs, err)
	}
	if c.EnableReverseProxyHeaders {
		l.SetHeaders = reverseProxyHeaders()
	}
	rules := func(key string, items []string) []HeaderRule {
		var out []HeaderRule
		for i, s := range items {
			r, err := ParseHeaderRule(s, vars, lookupEnv)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s[%d]: %w", key, i, err))
				continue
			}
			out = append(out, r)
		}
		return out
	}
	l.SetHeaders = append(l.SetHeaders, rules("proxy_set_headers", c.ProxySetHeaders)...)
	l.AddHeaders = rules("proxy_add_headers", c.ProxyAddHeaders)
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return l, nil
}

// addCaptures records the named groups of re as variables of the location.
func (l *Location) addCaptures(re *regexp.Regexp) {
	l.captures = appendNames(l.captures, re)
	for _, n := range re.SubexpNames() {
		if n != "" {
			l.nvars++
		}
	}
}

// appendNames appends the named groups of re that names lacks.
func appendNames(names []string, re *regexp.Regexp) []string {
	for _, n := range re.SubexpNames() {
		if n != "" && !slices.Contains(names, n) {
			names = append(names, n)
		}
	}
	return names
}

// compileUpstream reads upstream = "name", "$var" or "${var}". With check
// set, the variable must be one of vars.
func (l *Location) compileUpstream(s string, vars []string, check bool) error {
	s = strings.TrimSpace(s)
	if !strings.HasPrefix(s, "$") {
		l.Upstream = s
		return nil
	}
	name := s[1:]
	if inner, ok := strings.CutPrefix(name, "{"); ok {
		name, ok = strings.CutSuffix(inner, "}")
		if !ok {
			return fmt.Errorf("upstream %q: unterminated \"${\"", s)
		}
	}
	if name == "" || !isVarName(name, false) {
		return fmt.Errorf("upstream %q: want an upstream name or $variable", s)
	}
	if check && !slices.Contains(vars, name) {
		return fmt.Errorf("upstream %q: no host, path or rewrite regex of this location captures (?P<%s>...)", s, name)
	}
	l.UpstreamVar = name
	return nil
}

// UpstreamName returns the upstream for a request whose variables are v:
// Upstream, or the value of UpstreamVar. ok is false when the variable is
// not set in v, e.g. an optional group that did not take part in the
// match, or a rewrite group asked for before Rewrite ran.
func (l *Location) UpstreamName(v Vars) (name string, ok bool) {
	if l.UpstreamVar == "" {
		return l.Upstream, true
	}
	name, ok = v.Get(l.UpstreamVar)
	return name, ok && name != ""
}

// VarNames returns the names of every variable a request to this location
// can have: the named groups of its host, path and rewrite regexes. Pass
// them to ParseTemplate to compile more templates for the location. The
// slice must not be modified.
func (l *Location) VarNames() []string { return l.varNames }

// HasRewrite reports whether the location has a rewrite rule.
func (l *Location) HasRewrite() bool { return l.rw != nil }

// Rewrite applies the location's rewrite rule to a request path (the
// caller keeps the query string). It returns the new path; v extended with
// the rewrite regex's named groups, when the regex matched; and whether the
// path changed. Without a rule, or when the regex does not match, it
// returns path and v unchanged.
func (l *Location) Rewrite(path string, v Vars) (string, Vars, bool) {
	if l.rw == nil {
		return path, v, false
	}
	np, nv, matched := l.rw.apply(path, v)
	return np, nv, matched && np != path
}

// matches reports whether r, whose host is host, is for this location. It
// allocates nothing (but for percent-encoded match_query items) and leaves
// the capturing to vars, which runs for the winner only.
func (l *Location) matches(host, path string, r *http.Request) bool {
	switch l.path.kind {
	case pathExact:
		if path != l.path.s {
			return false
		}
	case pathPrefix:
		if !strings.HasPrefix(path, l.path.s) {
			return false
		}
	}
	for i := range l.conds {
		if !l.conds[i].match(r) {
			return false
		}
	}
	if l.hostRegex && l.matchHost(host) < 0 {
		return false
	}
	return l.path.kind != pathRegex || l.path.re.MatchString(path)
}

// matchHost returns the index of the first host entry that matches host,
// or -1. An empty host list matches any host.
func (l *Location) matchHost(host string) int {
	if len(l.hosts) == 0 {
		return 0
	}
	for i := range l.hosts {
		if l.hosts[i].match(host) {
			return i
		}
	}
	return -1
}

// vars returns the variables of a request this location matched: the named
// groups of the path regex, then those of the host regex that matched,
// which win over a path group of the same name (as in Pingap).
func (l *Location) vars(host, path string) Vars {
	if l.nvars == 0 {
		return Vars{}
	}
	list := make([]Var, 0, l.nvars)
	if l.path.kind == pathRegex && l.path.named {
		list = appendGroups(list, l.path.re, path)
	}
	if l.hostRegex {
		if i := l.matchHost(host); i >= 0 && l.hosts[i].named {
			list = appendGroups(list, l.hosts[i].re, host)
		}
	}
	if len(list) == 0 {
		return Vars{}
	}
	return Vars{list: list}
}

// appendGroups sets the named groups of re's first match in s that took
// part in it.
func appendGroups(list []Var, re *regexp.Regexp, s string) []Var {
	m := re.FindStringSubmatchIndex(s)
	if m == nil {
		return list
	}
	for i, name := range re.SubexpNames() {
		if name != "" && m[2*i] >= 0 {
			list = set(list, name, s[m[2*i]:m[2*i+1]])
		}
	}
	return list
}

// pathKind says how a location's path compares with a request's.
type pathKind uint8

const (
	pathAny    pathKind = iota // empty path: every request
	pathExact                  // "=/x": equal
	pathPrefix                 // "/x": starts with, no segment boundary
	pathRegex                  // "~re": unanchored search
)

type pathMatcher struct {
	kind  pathKind
	s     string
	re    *regexp.Regexp
	named bool
}

// parsePath compiles a location path, as Pingap reads it: trimmed, then
// "~" for a regex, "=" for an exact path, anything else a prefix.
func parsePath(s string) (pathMatcher, error) {
	s = strings.TrimSpace(s)
	switch {
	case s == "":
		return pathMatcher{kind: pathAny}, nil
	case s[0] == '~':
		expr := strings.TrimSpace(s[1:])
		re, err := regexp.Compile(expr)
		if err != nil {
			return pathMatcher{}, fmt.Errorf("path %q: %w", s, err)
		}
		return pathMatcher{kind: pathRegex, re: re, named: hasNames(re)}, nil
	case s[0] == '=':
		return pathMatcher{kind: pathExact, s: strings.TrimSpace(s[1:])}, nil
	default:
		return pathMatcher{kind: pathPrefix, s: s}, nil
	}
}

// Weight returns the priority of a location as Pingap computes it, unless
// c.Weight sets it:
//
//   - path longer than one character: "=" exact +1024, "~" regex +256,
//     prefix +512, plus its length (with the "=" or "~") up to 64;
//   - host: +128 if no entry is a "~regex", else + the length of the whole
//     host string.
func Weight(c *config.Location) int {
	if c.Weight != 0 {
		return c.Weight
	}
	w := 0
	if p := c.Path; len(p) > 1 {
		switch p[0] {
		case '=':
			w += 1024
		case '~':
			w += 256
		default:
			w += 512
		}
		w += min(len(p), 64)
	}
	if c.Host != "" {
		regex := false
		for item := range strings.SplitSeq(c.Host, ",") {
			if strings.HasPrefix(strings.TrimSpace(item), "~") {
				regex = true
			}
		}
		if regex {
			w += len(c.Host)
		} else {
			w += 128
		}
	}
	return w
}
