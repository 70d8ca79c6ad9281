package route_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/sluice-proxy/sluice/host/config"
	"github.com/sluice-proxy/sluice/host/route"
)

// compile builds a table from name/config pairs, failing the test on error.
func compile(t testing.TB, locs ...route.Named) *route.Table {
	t.Helper()
	tbl, err := route.Compile(locs, route.WithLookupEnv(nil))
	if err != nil {
		t.Fatalf("Compile: %v", err)
	}
	return tbl
}

func loc(name string, c config.Location) route.Named {
	return route.Named{Name: name, Config: &c}
}

// newReq builds a request for target (a path, or an absolute URL whose
// host becomes the Host) with host as the Host header when not empty, and
// "Name: value" headers.
func newReq(host, target string, headers ...string) *http.Request {
	r := httptest.NewRequest(http.MethodGet, target, nil)
	if host != "" {
		r.Host = host
	} else if !strings.Contains(target, "://") {
		r.Host = ""
	}
	for _, h := range headers {
		k, v, _ := strings.Cut(h, ":")
		r.Header.Add(k, strings.TrimSpace(v))
	}
	return r
}

// matchName returns the name of the location r matches, or "" for none,
// checking that the index agrees with a linear scan.
func matchName(t *testing.T, tbl *route.Table, r *http.Request) string {
	t.Helper()
	l, _ := tbl.Match(r)
	ll, _ := tbl.MatchLinear(r)
	if l != ll {
		t.Fatalf("Match = %v; linear scan = %v", nameOf(l), nameOf(ll))
	}
	return nameOf(l)
}

func nameOf(l *route.Location) string {
	if l == nil {
		return ""
	}
	return l.Name
}

func TestStripPort(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", ""},
		{"example.com", "example.com"},
		{"example.com:8080", "example.com"},
		{"Example.COM:80", "Example.COM"},
		{"127.0.0.1:6188", "127.0.0.1"},
		{"[::1]:80", "::1"},
		{"[::1]", "::1"},
		{"::1", "::1"},
		{"[::1", "[::1"},
		{"example.com:", "example.com"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			if got := route.StripPort(tc.in); got != tc.want {
				t.Errorf("stripPort(%q) = %q; want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestMatchHost(t *testing.T) {
	for _, tc := range []struct {
		name    string
		host    string // the location's host setting
		reqHost string // the request's Host header ("" for none)
		target  string // request target; "/" if empty
		want    bool
	}{
		{name: "empty matches any", host: "", reqHost: "anything.test", want: true},
		{name: "empty matches no host", host: "", reqHost: "", want: true},
		{name: "exact", host: "example.com", reqHost: "example.com", want: true},
		{name: "exact other", host: "example.com", reqHost: "example.org", want: false},
		{name: "exact ignores request case", host: "example.com", reqHost: "EXAMPLE.Com", want: true},
		{name: "exact ignores config case", host: "Example.COM", reqHost: "example.com", want: true},
		{name: "exact strips port", host: "example.com", reqHost: "example.com:8080", want: true},
		{name: "exact is not a suffix", host: "example.com", reqHost: "a.example.com", want: false},
		{name: "ipv6 with port", host: "::1", reqHost: "[::1]:6188", want: true},
		{name: "ipv6 in brackets", host: "[::1]", reqHost: "[::1]", want: true},
		{name: "ipv4 with port", host: "127.0.0.1", reqHost: "127.0.0.1:6188", want: true},
		{name: "suffix one label", host: "*.example.com", reqHost: "a.example.com", want: true},
		{name: "suffix two labels", host: "*.example.com", reqHost: "a.b.example.com", want: true},
		{name: "suffix not apex", host: "*.example.com", reqHost: "example.com", want: false},
		{name: "suffix needs a dot", host: "*.example.com", reqHost: "aexample.com", want: false},
		{name: "suffix empty label", host: "*.example.com", reqHost: ".example.com", want: false},
		{name: "suffix ignores case", host: "*.Example.com", reqHost: "A.EXAMPLE.COM:443", want: true},
		{name: "regex", host: "~^api\\.", reqHost: "api.example.com", want: true},
		{name: "regex is unanchored", host: "~example", reqHost: "www.example.com", want: true},
		{name: "regex sees raw case", host: "~^api\\.", reqHost: "API.example.com", want: false},
		{name: "regex without port", host: "~:8080", reqHost: "example.com:8080", want: false},
		{name: "list first", host: "test.com,pingap", reqHost: "test.com", want: true},
		{name: "list second (Pingap)", host: "test.com,pingap", reqHost: "pingap", want: true},
		{name: "list no host (Pingap)", host: "test.com,pingap", reqHost: "", want: false},
		{name: "list mixed kinds", host: " a.test , *.b.test, ~^c\\d ", reqHost: "c7", want: true},
		{name: "list mixed kinds miss", host: "a.test,*.b.test,~^c\\d", reqHost: "b.test", want: false},
		{name: "absolute-form URI", host: "example.com", reqHost: "", target: "http://example.com:81/x", want: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tbl := compile(t, loc("l", config.Location{Host: tc.host}))
			target := tc.target
			if target == "" {
				target = "/"
			}
			r := newReq(tc.reqHost, target)
			if got := matchName(t, tbl, r) == "l"; got != tc.want {
				t.Errorf("host %q, request host %q: matched = %v; want %v", tc.host, r.Host, got, tc.want)
			}
		})
	}
}

func TestMatchPath(t *testing.T) {
	for _, tc := range []struct {
		name string
		path string // the location's path setting
		req  string
		want bool
	}{
		// Pingap's test_path_host_select_location.
		{name: "any", path: "", req: "/api", want: true},
		{name: "regex users /api/users", path: "~/users", req: "/api/users", want: true},
		{name: "regex users /users", path: "~/users", req: "/users", want: true},
		{name: "regex users /api", path: "~/users", req: "/api", want: false},
		{name: "regex anchored /api/users", path: "~^/api", req: "/api/users", want: true},
		{name: "regex anchored /users", path: "~^/api", req: "/users", want: false},
		{name: "regex anchored /api", path: "~^/api", req: "/api", want: true},
		{name: "prefix /api/users", path: "/api", req: "/api/users", want: true},
		{name: "prefix /users", path: "/api", req: "/users", want: false},
		{name: "prefix /api", path: "/api", req: "/api", want: true},
		{name: "equal /api/users", path: "=/api", req: "/api/users", want: false},
		{name: "equal /users", path: "=/api", req: "/users", want: false},
		{name: "equal /api", path: "=/api", req: "/api", want: true},
		// No segment boundary, as in Pingap.
		{name: "prefix /apix", path: "/api", req: "/apix", want: true},
		{name: "prefix is case-sensitive", path: "/api", req: "/API", want: false},
		{name: "trimmed setting", path: "  = /api ", req: "/api", want: true},
		{name: "regex trimmed", path: "~ ^/a$", req: "/a", want: true},
		{name: "decoded path", path: "=/a b", req: "/a%20b", want: true},
		{name: "root prefix", path: "/", req: "/anything", want: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tbl := compile(t, loc("l", config.Location{Path: tc.path}))
			if got := matchName(t, tbl, newReq("h", tc.req)) == "l"; got != tc.want {
				t.Errorf("path %q, request %q: matched = %v; want %v", tc.path, tc.req, got, tc.want)
			}
		})
	}
}

func TestMatchConditions(t *testing.T) {
	for _, tc := range []struct {
		name    string
		cfg     config.Location
		target  string
		headers []string
		want    bool
	}{
		{name: "header value", cfg: config.Location{MatchHeaders: []string{"X-Env:beta"}}, headers: []string{"X-Env: beta"}, want: true},
		{name: "header value differs", cfg: config.Location{MatchHeaders: []string{"X-Env:beta"}}, headers: []string{"X-Env: prod"}, want: false},
		{name: "header value is case-sensitive", cfg: config.Location{MatchHeaders: []string{"X-Env:beta"}}, headers: []string{"X-Env: Beta"}, want: false},
		{name: "header name any case", cfg: config.Location{MatchHeaders: []string{"x-env: beta"}}, headers: []string{"X-ENV: beta"}, want: true},
		{name: "header first value", cfg: config.Location{MatchHeaders: []string{"X-Env:beta"}}, headers: []string{"X-Env: prod", "X-Env: beta"}, want: false},
		{name: "header presence", cfg: config.Location{MatchHeaders: []string{"X-Debug"}}, headers: []string{"X-Debug: "}, want: true},
		{name: "header absent", cfg: config.Location{MatchHeaders: []string{"X-Debug"}}, want: false},
		{name: "header empty value", cfg: config.Location{MatchHeaders: []string{"X-Debug:"}}, headers: []string{"X-Debug: "}, want: true},
		{name: "header empty value differs", cfg: config.Location{MatchHeaders: []string{"X-Debug:"}}, headers: []string{"X-Debug: 1"}, want: false},
		{name: "query value", cfg: config.Location{MatchQuery: []string{"v:2"}}, target: "/?a=1&v=2", want: true},
		{name: "query value differs", cfg: config.Location{MatchQuery: []string{"v:2"}}, target: "/?v=3", want: false},
		{name: "query first value", cfg: config.Location{MatchQuery: []string{"v:2"}}, target: "/?v=1&v=2", want: false},
		{name: "query escaped", cfg: config.Location{MatchQuery: []string{"q:a b"}}, target: "/?q=a+b", want: true},
		{name: "query escaped name", cfg: config.Location{MatchQuery: []string{"a b:1"}}, target: "/?a%20b=1", want: true},
		{name: "query presence bare", cfg: config.Location{MatchQuery: []string{"debug"}}, target: "/?debug", want: true},
		{name: "query presence empty", cfg: config.Location{MatchQuery: []string{"debug"}}, target: "/?x=1&debug=", want: true},
		{name: "query absent", cfg: config.Location{MatchQuery: []string{"debug"}}, target: "/?debugx=1", want: false},
		{name: "cookie value", cfg: config.Location{MatchCookies: []string{"ab:b"}}, headers: []string{"Cookie: x=1; ab=b"}, want: true},
		{name: "cookie quoted", cfg: config.Location{MatchCookies: []string{"ab:b"}}, headers: []string{`Cookie: ab="b"`}, want: true},
		{name: "cookie second line", cfg: config.Location{MatchCookies: []string{"ab:b"}}, headers: []string{"Cookie: x=1", "Cookie: ab=b"}, want: true},
		{name: "cookie differs", cfg: config.Location{MatchCookies: []string{"ab:b"}}, headers: []string{"Cookie: ab=a"}, want: false},
		{name: "cookie presence", cfg: config.Location{MatchCookies: []string{"sid"}}, headers: []string{"Cookie: sid=42"}, want: true},
		{name: "cookie absent", cfg: config.Location{MatchCookies: []string{"sid"}}, headers: []string{"Cookie: sidx=42"}, want: false},
		{
			name: "all must hold",
			cfg: config.Location{
				MatchHeaders: []string{"X-Env:beta"},
				MatchQuery:   []string{"v:2"},
				MatchCookies: []string{"sid"},
			},
			target:  "/?v=2",
			headers: []string{"X-Env: beta", "Cookie: sid=1"},
			want:    true,
		},
		{
			name: "one fails",
			cfg: config.Location{
				MatchHeaders: []string{"X-Env:beta"},
				MatchQuery:   []string{"v:2"},
				MatchCookies: []string{"sid"},
			},
			target:  "/?v=2",
			headers: []string{"X-Env: beta"},
			want:    false,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tbl := compile(t, loc("l", tc.cfg))
			target := tc.target
			if target == "" {
				target = "/"
			}
			if got := matchName(t, tbl, newReq("h", target, tc.headers...)) == "l"; got != tc.want {
				t.Errorf("matched = %v; want %v", got, tc.want)
			}
		})
	}
}

func TestWeight(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  config.Location
		want int
	}{
		{name: "nothing", cfg: config.Location{}, want: 0},
		{name: "root prefix is not counted", cfg: config.Location{Path: "/"}, want: 0},
		{name: "prefix", cfg: config.Location{Path: "/api"}, want: 512 + 4},
		{name: "exact", cfg: config.Location{Path: "=/api"}, want: 1024 + 5},
		{name: "regex", cfg: config.Location{Path: "~^/api"}, want: 256 + 6},
		{name: "long path capped at 64", cfg: config.Location{Path: "/" + strings.Repeat("a", 100)}, want: 512 + 64},
		{name: "host", cfg: config.Location{Host: "example.com"}, want: 128},
		{name: "host list", cfg: config.Location{Host: "a.com,*.b.com"}, want: 128},
		{name: "regex host counts its length", cfg: config.Location{Host: "~^api"}, want: 5},
		{name: "regex entry in a list", cfg: config.Location{Host: "a.com, ~^b"}, want: 10},
		{name: "prefix and host", cfg: config.Location{Path: "/api", Host: "example.com"}, want: 512 + 4 + 128},
		{name: "manual", cfg: config.Location{Path: "=/api", Weight: 7}, want: 7},
		{name: "manual above all", cfg: config.Location{Weight: 2048}, want: 2048},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := route.Weight(&tc.cfg); got != tc.want {
				t.Errorf("Weight = %d; want %d", got, tc.want)
			}
			tbl := compile(t, route.Named{Name: "l", Config: &tc.cfg})
			if got := tbl.Locations()[0].Weight; got != tc.want {
				t.Errorf("Location.Weight = %d; want %d", got, tc.want)
			}
		})
	}
}

// TestPriority checks which of several locations wins, with the examples
// of Pingap's location documentation among them.
func TestPriority(t *testing.T) {
	// Listed in the opposite of weight order, so only sorting gets these
	// right.
	locs := []route.Named{
		loc("any", config.Location{}),
		loc("host-only", config.Location{Host: "example.com"}),
		loc("regex-api-rest", config.Location{Path: "~^/(api|rest)"}),
		loc("prefix-api", config.Location{Path: "/api"}),
		loc("prefix-api-users", config.Location{Path: "/api/users"}),
		loc("exact-api", config.Location{Path: "=/api"}),
		loc("prefix-api-on-host", config.Location{Path: "/api", Host: "example.com"}),
		loc("disabled", config.Location{Host: "down.test", Weight: 2048}),
	}
	tbl := compile(t, locs...)
	for _, tc := range []struct {
		name, host, path, want string
	}{
		{name: "exact beats prefix", host: "h", path: "/api", want: "exact-api"},
		{name: "longer prefix wins", host: "h", path: "/api/users/1", want: "prefix-api-users"},
		{name: "prefix beats regex", host: "h", path: "/api/x", want: "prefix-api"},
		{name: "regex when no prefix", host: "h", path: "/rest/x", want: "regex-api-rest"},
		{name: "host adds weight", host: "example.com", path: "/api/x", want: "prefix-api-on-host"},
		{name: "exact path beats host and prefix", host: "example.com", path: "/api", want: "exact-api"},
		{name: "host only beats nothing", host: "example.com", path: "/other", want: "host-only"},
		{name: "fallback", host: "h", path: "/other", want: "any"},
		{name: "manual weight first", host: "down.test", path: "/api", want: "disabled"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := matchName(t, tbl, newReq(tc.host, tc.path)); got != tc.want {
				t.Errorf("%s%s matched %q; want %q", tc.host, tc.path, got, tc.want)
			}
		})
	}

	t.Run("order", func(t *testing.T) {
		var got []string
		for _, l := range tbl.Locations() {
			got = append(got, l.Name)
		}
		want := "disabled exact-api prefix-api-on-host prefix-api-users prefix-api regex-api-rest host-only any"
		if strings.Join(got, " ") != want {
			t.Errorf("order = %v; want %v", got, want)
		}
	})

	t.Run("ties keep list order", func(t *testing.T) {
		tbl := compile(t,
			loc("b", config.Location{Path: "/x"}),
			loc("a", config.Location{Path: "/y"}),
			loc("c", config.Location{Path: "/z", Weight: 514}),
			loc("d", config.Location{Path: "/"}),
		)
		var got []string
		for _, l := range tbl.Locations() {
			got = append(got, l.Name)
		}
		if strings.Join(got, " ") != "b a c d" {
			t.Errorf("order = %v; want [b a c d]", got)
		}
	})

	t.Run("same weight, first listed wins", func(t *testing.T) {
		tbl := compile(t,
			loc("first-a", config.Location{Path: "/a"}),
			loc("b", config.Location{Path: "/b"}),
			loc("second-a", config.Location{Path: "/a"}),
		)
		if got := matchName(t, tbl, newReq("h", "/a")); got != "first-a" {
			t.Errorf("matched %q; want first-a", got)
		}
	})

	t.Run("index keeps weight order across buckets", func(t *testing.T) {
		// An any-host location of higher weight must beat an exact host.
		tbl := compile(t,
			loc("exact", config.Location{Host: "h.com", Path: "/"}),
			loc("any-api", config.Location{Path: "/api"}),
			loc("wild", config.Location{Host: "*.com", Path: "/"}),
			loc("re", config.Location{Host: "~^h", Path: "/"}),
		)
		for _, tc := range []struct{ host, path, want string }{
			{"h.com", "/api", "any-api"},
			{"h.com", "/", "exact"},
			{"x.com", "/", "wild"},
			{"hh", "/", "re"},
			{"zz", "/", ""},
		} {
			if got := matchName(t, tbl, newReq(tc.host, tc.path)); got != tc.want {
				t.Errorf("%s%s matched %q; want %q", tc.host, tc.path, got, tc.want)
			}
		}
	})

	t.Run("nested wildcards", func(t *testing.T) {
		tbl := compile(t,
			loc("deep", config.Location{Host: "*.a.example.com", Path: "/deep"}),
			loc("shallow", config.Location{Host: "*.example.com", Path: "/"}),
			loc("exact", config.Location{Host: "x.a.example.com", Path: "/exact"}),
		)
		for _, tc := range []struct{ host, path, want string }{
			{"x.a.example.com", "/deep", "deep"},
			{"x.a.example.com", "/exact", "exact"},
			{"x.a.example.com", "/", "shallow"},
			{"y.a.example.com", "/", "shallow"},
			{"a.example.com", "/deep", "shallow"},
			{"example.com", "/", ""},
		} {
			if got := matchName(t, tbl, newReq(tc.host, tc.path)); got != tc.want {
				t.Errorf("%s%s matched %q; want %q", tc.host, tc.path, got, tc.want)
			}
		}
	})

	t.Run("no locations", func(t *testing.T) {
		tbl := compile(t)
		if got := matchName(t, tbl, newReq("h", "/")); got != "" {
			t.Errorf("matched %q; want none", got)
		}
	})
}

func TestMatchVars(t *testing.T) {
	for _, tc := range []struct {
		name       string
		cfg        config.Location
		host, path string
		want       map[string]string
	}{
		{
			// Pingap's test_match_host_path_variables.
			name: "host and path groups",
			cfg:  config.Location{Host: "~(?<name>.+).npmtrend.com", Path: "~/(?<route>.+)/(.*)"},
			host: "charts.npmtrend.com", path: "/users/123",
			want: map[string]string{"name": "charts", "route": "users"},
		},
		{
			name: "P syntax",
			cfg:  config.Location{Path: "~^/u/(?P<id>\\d+)"},
			host: "h", path: "/u/42/x",
			want: map[string]string{"id": "42"},
		},
		{
			name: "host group wins over path group",
			cfg:  config.Location{Host: "~^(?P<x>[a-z]+)\\.", Path: "~^/(?P<x>[a-z]+)"},
			host: "host.test", path: "/path",
			want: map[string]string{"x": "host"},
		},
		{
			name: "unmatched optional group is unset",
			cfg:  config.Location{Path: "~^/(?P<a>a)?(?P<b>b)"},
			host: "h", path: "/b",
			want: map[string]string{"b": "b"},
		},
		{
			name: "only the matching host entry captures",
			cfg:  config.Location{Host: "~^(?P<one>x)\\.,~^(?P<two>[a-z]+)\\.test$"},
			host: "y.test", path: "/",
			want: map[string]string{"two": "y"},
		},
		{
			name: "exact entry first, no captures",
			cfg:  config.Location{Host: "y.test,~^(?P<two>[a-z]+)\\.test$"},
			host: "y.test", path: "/",
			want: map[string]string{},
		},
		{
			name: "unnamed groups make no vars",
			cfg:  config.Location{Path: "~^/(a|b)"},
			host: "h", path: "/a",
			want: map[string]string{},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tbl := compile(t, route.Named{Name: "l", Config: &tc.cfg})
			l, v := tbl.Match(newReq(tc.host, tc.path))
			if l == nil {
				t.Fatalf("no match")
			}
			got := map[string]string{}
			for k, val := range v.All() {
				got[k] = val
			}
			if len(got) != len(tc.want) || v.Len() != len(tc.want) {
				t.Fatalf("vars = %v; want %v", got, tc.want)
			}
			for k, want := range tc.want {
				if val, ok := v.Get(k); !ok || val != want {
					t.Errorf("Get(%q) = %q, %v; want %q", k, val, ok, want)
				}
			}
		})
	}
}

func TestUpstreamName(t *testing.T) {
	for _, tc := range []struct {
		name    string
		cfg     config.Location
		host    string
		path    string
		want    string
		wantOK  bool
		rewrite bool
		wantLit string
		wantVar string
	}{
		{name: "literal", cfg: config.Location{Upstream: "charts"}, host: "h", path: "/", want: "charts", wantOK: true, wantLit: "charts"},
		{name: "none", cfg: config.Location{}, host: "h", path: "/", want: "", wantOK: true},
		{name: "host variable", cfg: config.Location{Upstream: "$app", Host: "~^(?P<app>[a-z]+)\\."}, host: "web.test", path: "/", want: "web", wantOK: true, wantVar: "app"},
		{name: "braced path variable", cfg: config.Location{Upstream: "${svc}", Path: "~^/(?P<svc>[a-z]+)"}, host: "h", path: "/api", want: "api", wantOK: true, wantVar: "svc"},
		{name: "unset optional group", cfg: config.Location{Upstream: "$svc", Path: "~^/(?P<svc>x)?"}, host: "h", path: "/y", want: "", wantOK: false, wantVar: "svc"},
		{name: "rewrite variable before rewrite", cfg: config.Location{Upstream: "$svc", Rewrite: "^/(?P<svc>[a-z]+)/(.*) /$2"}, host: "h", path: "/api/x", want: "", wantOK: false, wantVar: "svc"},
		{name: "rewrite variable after rewrite", cfg: config.Location{Upstream: "$svc", Rewrite: "^/(?P<svc>[a-z]+)/(.*) /$2"}, host: "h", path: "/api/x", rewrite: true, want: "api", wantOK: true, wantVar: "svc"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tbl := compile(t, route.Named{Name: "l", Config: &tc.cfg})
			l, v := tbl.Match(newReq(tc.host, tc.path))
			if l == nil {
				t.Fatal("no match")
			}
			if l.Upstream != tc.wantLit || l.UpstreamVar != tc.wantVar {
				t.Errorf("Upstream, UpstreamVar = %q, %q; want %q, %q", l.Upstream, l.UpstreamVar, tc.wantLit, tc.wantVar)
			}
			if tc.rewrite {
				_, v, _ = l.Rewrite(tc.path, v)
			}
			got, ok := l.UpstreamName(v)
			if got != tc.want || ok != tc.wantOK {
				t.Errorf("UpstreamName = %q, %v; want %q, %v", got, ok, tc.want, tc.wantOK)
			}
		})
	}
}

func TestCompileErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		locs []route.Named
		want []string // substrings, all of which the error must hold
		// notWant are substrings the error must not hold.
		notWant []string
	}{
		{name: "nil config", locs: []route.Named{{Name: "a"}}, want: []string{`location "a": no config`}},
		{name: "duplicate", locs: []route.Named{loc("a", config.Location{}), loc("a", config.Location{})}, want: []string{`location "a": listed twice`}},
		{name: "path regex", locs: []route.Named{loc("a", config.Location{Path: "~(unclosed"})}, want: []string{`location "a": path "~(unclosed"`, "missing closing )"}},
		{name: "host regex", locs: []route.Named{loc("a", config.Location{Host: "x.com,~[z"})}, want: []string{`location "a": host "~[z"`}},
		{name: "host wildcard inside", locs: []route.Named{loc("a", config.Location{Host: "a.*.com"})}, want: []string{`host "a.*.com"`, `"*" is allowed only as the first label`}},
		{name: "host bare wildcard", locs: []route.Named{loc("a", config.Location{Host: "*."})}, want: []string{`host "*."`}},
		{name: "rewrite regex", locs: []route.Named{loc("a", config.Location{Rewrite: "^/(x /y"})}, want: []string{`rewrite "^/(x /y"`}},
		{name: "rewrite three tokens", locs: []route.Named{loc("a", config.Location{Rewrite: "^/x /y /z"})}, want: []string{`rewrite "^/x /y /z"`, "no space inside"}},
		{name: "header without colon", locs: []route.Named{loc("a", config.Location{ProxySetHeaders: []string{"X-A"}})}, want: []string{`proxy_set_headers[0]: header "X-A"`}},
		{name: "header bad name", locs: []route.Named{loc("a", config.Location{ProxyAddHeaders: []string{"ok: 1", "X A: 1"}})}, want: []string{`proxy_add_headers[1]`, `"X A" is not a valid header name`}},
		{name: "header bad value", locs: []route.Named{loc("a", config.Location{ProxySetHeaders: []string{"X-A: a\x01b"}})}, want: []string{`proxy_set_headers[0]`, "control character"}},
		{name: "header unterminated", locs: []route.Named{loc("a", config.Location{ProxySetHeaders: []string{"X-A: ${host"}})}, want: []string{`unterminated "${"`}},
		{name: "condition empty name", locs: []route.Named{loc("a", config.Location{MatchQuery: []string{":v"}})}, want: []string{`match_query[0] ":v": empty name`}},
		{name: "condition bad header", locs: []route.Named{loc("a", config.Location{MatchHeaders: []string{"a b:c"}})}, want: []string{`match_headers[0]`}},
		{name: "upstream variable not captured", locs: []route.Named{loc("a", config.Location{Upstream: "$app", Host: "~^(?P<other>x)"})}, want: []string{`upstream "$app": no host, path or rewrite regex`}},
		{name: "regex error not repeated for upstream", locs: []route.Named{loc("a", config.Location{Upstream: "$app", Host: "~^(?P<app>x"})}, want: []string{`host "~^(?P<app>x"`}, notWant: []string{"upstream"}},
		{name: "upstream bad variable", locs: []route.Named{loc("a", config.Location{Upstream: "${app"})}, want: []string{`upstream "${app"`}},
		{
			name: "every problem at once",
			locs: []route.Named{
				loc("a", config.Location{Path: "~(", Rewrite: "(( /x"}),
				loc("b", config.Location{Host: "~)"}),
				loc("ok", config.Location{}),
			},
			want: []string{`location "a": path "~("`, `rewrite "(( /x"`, `location "b": host "~)"`},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tbl, err := route.Compile(tc.locs)
			if err == nil {
				t.Fatalf("Compile succeeded (%d locations); want an error", len(tbl.Locations()))
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			for _, w := range tc.notWant {
				if strings.Contains(err.Error(), w) {
					t.Errorf("error %q contains %q", err, w)
				}
			}
		})
	}
}

func TestHeaderRules(t *testing.T) {
	tbl := compile(t, loc("l", config.Location{
		EnableReverseProxyHeaders: true,
		ProxySetHeaders:           []string{"x-forwarded-proto: https", "Host:backend.internal"},
		ProxyAddHeaders:           []string{"X-Via: sluice-$hostname", "x-empty:"},
	}))
	l := tbl.Locations()[0]
	var set, add []string
	for _, h := range l.SetHeaders {
		set = append(set, h.Name+"="+h.Value.String())
	}
	for _, h := range l.AddHeaders {
		add = append(add, h.Name+"="+h.Value.String())
	}
	wantSet := "X-Real-Ip=$remote_addr X-Forwarded-For=$proxy_add_x_forwarded_for X-Forwarded-Proto=$scheme " +
		"X-Forwarded-Host=$host X-Forwarded-Port=$server_port X-Forwarded-Proto=https Host=backend.internal"
	if got := strings.Join(set, " "); got != wantSet {
		t.Errorf("SetHeaders = %s\nwant %s", got, wantSet)
	}
	if got := strings.Join(add, " "); got != "X-Via=sluice-$hostname X-Empty=" {
		t.Errorf("AddHeaders = %s; want X-Via=sluice-$hostname X-Empty=", got)
	}
	src := &fakeSource{builtins: map[route.Builtin]string{route.RemoteAddr: "10.0.0.1", route.Hostname: "box"}}
	if got := string(l.SetHeaders[0].Value.Append(nil, src, route.Vars{})); got != "10.0.0.1" {
		t.Errorf("X-Real-Ip expands to %q; want 10.0.0.1", got)
	}
	if got := string(l.AddHeaders[0].Value.Append(nil, src, route.Vars{})); got != "sluice-box" {
		t.Errorf("X-Via expands to %q; want sluice-box", got)
	}
}

// TestMatchIndexAgreesWithLinearScan routes a grid of hosts and paths
// through a table that has every kind of host rule, and checks that the
// index finds what a scan of every location finds.
func TestMatchIndexAgreesWithLinearScan(t *testing.T) {
	tbl := compile(t, mixedLocations()...)
	hosts := []string{
		"", "example.com", "EXAMPLE.com", "www.example.com", "a.b.example.com", "example.org", "api.example.org",
		"tenant1.apps.test", "TENANT2.apps.test", "x.y.apps.test", "apps.test", "static.cdn.test", "cdn.test",
		"[::1]:80", "10.0.0.1:8080", "admin.internal", "ADMIN.internal:9000", "unknown.host",
	}
	paths := []string{"/", "/api", "/api/v1/users", "/apix", "/static/app.js", "/login", "/health", "/u/42", "/admin/x", "/other"}
	for _, h := range hosts {
		for _, p := range paths {
			r := newReq(h, p, "Cookie: beta=1", "X-Env: canary")
			if h == "" {
				r.Host = ""
			}
			l, v := tbl.Match(r)
			ll, lv := tbl.MatchLinear(r)
			if l != ll {
				t.Errorf("host %q path %q: Match = %q; linear = %q", h, p, nameOf(l), nameOf(ll))
			}
			if v.Len() != lv.Len() {
				t.Errorf("host %q path %q: %d vars; linear %d", h, p, v.Len(), lv.Len())
			}
		}
	}
}

func TestVarNames(t *testing.T) {
	tbl := compile(t, loc("l", config.Location{
		Host:    "~^(?P<app>[a-z]+)\\.,~^(?P<app>x)(?P<zone>y)",
		Path:    "~^/(?P<svc>[a-z]+)",
		Rewrite: "^/(?P<rest>.*) /$rest",
	}))
	got := strings.Join(tbl.Locations()[0].VarNames(), ",")
	if got != "app,zone,svc,rest" {
		t.Errorf("VarNames = %s; want app,zone,svc,rest", got)
	}
}
