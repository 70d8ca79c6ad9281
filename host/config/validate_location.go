package config

import (
	"net/netip"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// varName is the syntax of a variable a location's upstream may name.
var varName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

func (k *checker) location(path, name string, l *Location) {
	c := k.c
	switch u := l.Upstream; {
	case u == "":
		if len(l.Plugins) == 0 {
			k.r.warnf(sub(path, "upstream"), "no upstream and no plugins: nothing will answer this location's requests")
		}
	case strings.HasPrefix(u, "$"):
		if !varName.MatchString(u[1:]) {
			k.r.errorf(sub(path, "upstream"), "%q is not a variable: want $ then a letter or '_', then letters, digits or '_'", u)
		}
	default:
		if _, ok := c.Upstreams[u]; !ok {
			k.r.errorf(sub(path, "upstream"), "unknown upstream %q%s", u, didYouMean(u, sortedKeys(c.Upstreams)))
		}
	}
	k.routePath(sub(path, "path"), l.Path)
	k.routeHost(sub(path, "host"), l.Host)
	for i, m := range l.MatchHeaders {
		if n, _, _ := strings.Cut(m, ":"); !isToken(strings.TrimSpace(n)) {
			k.r.errorf(index(sub(path, "match_headers"), i), "%q: want \"name:value\" or \"name\" with a valid header name", m)
		}
	}
	for i, m := range l.MatchQuery {
		if n, _, _ := strings.Cut(m, ":"); strings.TrimSpace(n) == "" {
			k.r.errorf(index(sub(path, "match_query"), i), "%q: want \"name:value\" or \"name\"", m)
		}
	}
	for i, m := range l.MatchCookies {
		if n, _, _ := strings.Cut(m, ":"); !isToken(strings.TrimSpace(n)) {
			k.r.errorf(index(sub(path, "match_cookies"), i), "%q: want \"name:value\" or \"name\" with a valid cookie name", m)
		}
	}
	for i, h := range l.ProxySetHeaders {
		if _, _, err := ParseHeader(h); err != nil {
			k.r.errorf(index(sub(path, "proxy_set_headers"), i), "%v", err)
		}
	}
	for i, h := range l.ProxyAddHeaders {
		if _, _, err := ParseHeader(h); err != nil {
			k.r.errorf(index(sub(path, "proxy_add_headers"), i), "%v", err)
		}
	}
	if l.Rewrite != "" {
		if msg := checkRewrite(l.Rewrite); msg != "" {
			k.r.errorf(sub(path, "rewrite"), "%s", msg)
		}
	}
	if l.Weight < 0 || l.Weight > 65535 {
		k.r.errorf(sub(path, "weight"), "%d is not from 0 to 65535", l.Weight)
	}
	for i, pl := range l.Plugins {
		pp := index(sub(path, "plugins"), i)
		if _, ok := c.Plugins[pl]; !ok {
			k.r.errorf(pp, "unknown plugin %q%s", pl, didYouMean(pl, sortedKeys(c.Plugins)))
		} else if j := slices.Index(l.Plugins, pl); j < i {
			k.r.errorf(pp, "plugin %q is already listed at [%d]", pl, j)
		}
	}
	k.nonNegative(sub(path, "client_max_body_size"), int64(l.ClientMaxBodySize))
	k.nonNegative(sub(path, "max_processing"), int64(l.MaxProcessing))
	if l.MaxRetries < 0 || l.MaxRetries > 255 {
		k.r.errorf(sub(path, "max_retries"), "%d is not from 0 to 255", l.MaxRetries)
	}
	k.nonNegative(sub(path, "max_retry_window"), int64(l.MaxRetryWindow))
	if l.GRPCWeb {
		for _, sn := range sortedKeys(c.Servers) {
			s := c.Servers[sn]
			if s != nil && slices.Contains(s.Locations, name) && !slices.Contains(s.Modules, "grpc-web") {
				k.r.errorf(sub(path, "grpc_web"), "%s serves this location but lacks modules = [\"grpc-web\"]", join("servers", sn))
			}
		}
	}
	k.includes(path, l.Includes)
}

// routePath checks a location path: "~regex" must compile; a prefix or an
// exact path that does not start with "/" can never match.
func (k *checker) routePath(path, v string) {
	switch {
	case v == "":
	case strings.HasPrefix(v, "~"):
		if _, err := regexp.Compile(v[1:]); err != nil {
			k.r.errorf(path, "invalid regex %q: %v", v[1:], regexpReason(err))
		}
	case !strings.HasPrefix(strings.TrimPrefix(v, "="), "/"):
		k.r.warnf(path, "%q does not start with \"/\", so no request path matches it", v)
	}
}

// routeHost checks a location's comma-separated hosts.
func (k *checker) routeHost(path, v string) {
	if v == "" {
		return
	}
	for h := range strings.SplitSeq(v, ",") {
		h = strings.TrimSpace(h)
		switch {
		case h == "":
			k.r.errorf(path, "%q has an empty entry", v)
		case strings.HasPrefix(h, "~"):
			if _, err := regexp.Compile(h[1:]); err != nil {
				k.r.errorf(path, "invalid regex %q: %v", h[1:], regexpReason(err))
			}
		case strings.HasPrefix(h, "*."):
			if !validHostname(h[2:]) {
				k.r.errorf(path, "%q is not a valid wildcard host (want *.example.com)", h)
			}
		default:
			if _, err := netip.ParseAddr(strings.Trim(h, "[]")); err != nil && !validHostname(h) {
				k.r.errorf(path, "%q is not a host name, an IP address, *.suffix or ~regex", h)
			}
		}
	}
}

// checkRewrite checks "<regex> <replacement>", or a single replacement
// holding a variable, and that numbered references ($2, ${2}) name groups
// the regex has. Named references may come from the host regex, so they are
// not checked.
func checkRewrite(s string) string {
	f := strings.Fields(s)
	switch len(f) {
	case 1:
		if !strings.Contains(f[0], "$") {
			return "want \"<regex> <replacement>\", or a single replacement holding a $variable, got " + strconv.Quote(s)
		}
		return ""
	case 2:
	default:
		return "want \"<regex> <replacement>\" (two fields separated by a space), got " + strconv.Quote(s)
	}
	re, err := regexp.Compile(f[0])
	if err != nil {
		return "invalid regex " + strconv.Quote(f[0]) + ": " + regexpReason(err)
	}
	repl := f[1]
	for i := 0; i < len(repl); i++ {
		if repl[i] != '$' || i+1 == len(repl) {
			continue
		}
		name := ""
		if repl[i+1] == '{' {
			end := strings.IndexByte(repl[i:], '}')
			if end < 0 {
				return "replacement " + strconv.Quote(repl) + " has an unclosed ${"
			}
			name = repl[i+2 : i+end]
		} else {
			j := i + 1
			for j < len(repl) && (repl[j] == '_' || repl[j] >= '0' && repl[j] <= '9' || repl[j] >= 'a' && repl[j] <= 'z' || repl[j] >= 'A' && repl[j] <= 'Z') {
				j++
			}
			name = repl[i+1 : j]
		}
		if n, err := strconv.Atoi(name); err == nil && n > re.NumSubexp() {
			return "replacement " + strconv.Quote(repl) + " refers to group $" + name + " but the regex has " + strconv.Itoa(re.NumSubexp())
		}
	}
	return ""
}

// regexpReason is the part of a regexp error after the package's prefix.
func regexpReason(err error) string {
	return strings.TrimPrefix(err.Error(), "error parsing regexp: ")
}
