package route_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/sluice-proxy/sluice/host/config"
	"github.com/sluice-proxy/sluice/host/route"
)

// fuzzRequest builds a request from raw parts without validating them, as
// a server might hand over anything that parses.
func fuzzRequest(host, path, query, header string) *http.Request {
	r := &http.Request{
		Method: http.MethodGet,
		Host:   host,
		URL:    &url.URL{Path: path, RawQuery: query},
		Header: http.Header{},
	}
	if k, v, ok := strings.Cut(header, ":"); ok {
		r.Header[http.CanonicalHeaderKey(strings.TrimSpace(k))] = []string{strings.TrimSpace(v)}
	}
	r.Header["Cookie"] = []string{header}
	return r
}

// FuzzCompile compiles one location from fuzzed settings; whatever
// compiles must route, rewrite and expand headers without panicking, and
// the index must agree with a linear scan.
func FuzzCompile(f *testing.F) {
	f.Add("~^(?P<app>[a-z]+)\\.test$,*.example.com,Example.com", "~^/u/(?P<id>\\d+)", "^/u/(?P<id>\\d+)(.*) /users/$id$2", "$app", "X-A: ${app}-$http_x_y", "k:v", "app.test", "/u/1/x")
	f.Add("", "=/login", "", "web", ":ctx_key", "", "h", "/login")
	f.Add("*.a.b,a.b", "/api", "^/api ", "", "X-Forwarded-For: $proxy_add_x_forwarded_for", "x", "q.a.b", "/apix")
	f.Add("~(", "~)", "(", "${", "X-A: ${", ":", "", "")
	f.Add("[::1]", "", "/whole/$0", "", "X: $$host", "", "[::1]:80", "/p")
	f.Fuzz(func(t *testing.T, host, path, rewrite, upstream, header, cond, reqHost, reqPath string) {
		c := &config.Location{
			Host: host, Path: path, Rewrite: rewrite, Upstream: upstream,
			ProxySetHeaders: []string{header}, ProxyAddHeaders: []string{header},
			MatchHeaders: []string{cond}, MatchQuery: []string{cond}, MatchCookies: []string{cond},
		}
		tbl, err := route.Compile([]route.Named{
			{Name: "fuzz", Config: c},
			{Name: "catch-all", Config: &config.Location{Host: reqHost}},
		}, route.WithLookupEnv(nil))
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error message")
			}
			return
		}
		r := fuzzRequest(reqHost, reqPath, cond, cond)
		l, v := tbl.Match(r)
		ll, _ := tbl.MatchLinear(r)
		if l != ll {
			t.Fatalf("Match = %v; linear scan = %v", nameOf(l), nameOf(ll))
		}
		if l == nil {
			return
		}
		l.UpstreamName(v)
		np, nv, _ := l.Rewrite(reqPath, v)
		_ = np
		src := testSource()
		for _, h := range append(l.SetHeaders, l.AddHeaders...) {
			h.Value.Append(nil, src, nv)
		}
	})
}

// FuzzMatch routes fuzzed requests through a fixed table of every kind of
// rule and checks the index against a linear scan.
func FuzzMatch(f *testing.F) {
	tbl := compile(f, mixedLocations()...)
	f.Add("site1.example.com", "/api/x", "v=2", "Cookie: beta=1")
	f.Add("ACME.tenants.test:8080", "/u/12", "", "X-Env: canary")
	f.Add("[::1]:80", "/static/x.js", "a=%zz&v=2", "beta")
	f.Add("x.y.apps.test", "/static/", "v", "=")
	f.Add("", "", "&&&", ";;;")
	f.Fuzz(func(t *testing.T, host, path, query, header string) {
		r := fuzzRequest(host, path, query, header)
		l, v := tbl.Match(r)
		ll, lv := tbl.MatchLinear(r)
		if l != ll {
			t.Fatalf("host %q path %q: Match = %v; linear scan = %v", host, path, nameOf(l), nameOf(ll))
		}
		if v.Len() != lv.Len() {
			t.Fatalf("host %q path %q: %d vars; linear scan %d", host, path, v.Len(), lv.Len())
		}
		if l != nil {
			l.UpstreamName(v)
			l.Rewrite(path, v)
		}
	})
}

// FuzzTemplate parses fuzzed header values. A value that parses keeps its
// source text, and one without "$" or a leading ":" is static and expands
// to itself.
func FuzzTemplate(f *testing.F) {
	for _, s := range []string{
		"", "no-store", "$host", "prefix-$host", "${host}-x", "$http_x_user_id", "$http_x-a-b",
		":upstream_addr", "${:location}", "$$", "$", "${", "${}", "${a b}", "$tenant", "$HOME", "a\tb", "a\nb",
	} {
		f.Add(s)
	}
	env := func(k string) (string, bool) { return "env-" + k, strings.HasPrefix(k, "E") }
	f.Fuzz(func(t *testing.T, s string) {
		tp, err := route.ParseTemplate(s, []string{"tenant"}, env)
		if err != nil {
			return
		}
		if tp.String() != s {
			t.Fatalf("String = %q; want %q", tp.String(), s)
		}
		out := tp.Append(nil, testSource(), route.Vars{}.With("tenant", "acme"))
		if !strings.Contains(s, "$") && !strings.HasPrefix(s, ":") {
			if got, ok := tp.Static(); !ok || got != s || string(out) != s {
				t.Fatalf("plain %q: Static = %q, %v; Append = %q", s, got, ok, out)
			}
		}
		for _, c := range out {
			if c < 0x20 && c != '\t' || c == 0x7f {
				t.Fatalf("%q expands to %q, with a control character", s, out)
			}
		}
	})
}
