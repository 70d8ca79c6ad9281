package route_test

import (
	"testing"

	"github.com/sluice-proxy/sluice/host/config"
	"github.com/sluice-proxy/sluice/host/route"
)

func TestRewrite(t *testing.T) {
	for _, tc := range []struct {
		name        string
		cfg         config.Location
		host, path  string
		want        string
		wantChanged bool
		wantVars    map[string]string // after the rewrite; nil means none
	}{
		// Pingap's test_rewrite_path.
		{name: "group", cfg: config.Location{Rewrite: "^/users/(.*)$ /$1"}, path: "/users/me", want: "/me", wantChanged: true},
		{name: "no match", cfg: config.Location{Rewrite: "^/users/(.*)$ /$1"}, path: "/api/me", want: "/api/me"},
		// Pingap's documented prefix swap.
		{name: "prefix swap", cfg: config.Location{Rewrite: "^/api/ /"}, path: "/api/users", want: "/users", wantChanged: true},
		{name: "first match only", cfg: config.Location{Rewrite: "a b"}, path: "/aaa", want: "/baa", wantChanged: true},
		{name: "unanchored middle", cfg: config.Location{Rewrite: "/v1/ /v2/"}, path: "/api/v1/x", want: "/api/v2/x", wantChanged: true},
		{name: "named group", cfg: config.Location{Rewrite: "^/u/(?P<id>\\d+) /users/$id"}, path: "/u/7/x", want: "/users/7/x", wantChanged: true, wantVars: map[string]string{"id": "7"}},
		{name: "braced group", cfg: config.Location{Rewrite: "^/u/(?P<id>\\d+) /users/${id}x"}, path: "/u/7", want: "/users/7x", wantChanged: true, wantVars: map[string]string{"id": "7"}},
		{name: "longest name", cfg: config.Location{Rewrite: "^/(a)(b) /$1x"}, path: "/ab", want: "/", wantChanged: true},
		{name: "two digits", cfg: config.Location{Rewrite: "^/(a)(b) /$2-$1"}, path: "/ab", want: "/b-a", wantChanged: true},
		{name: "group zero", cfg: config.Location{Rewrite: "^/v1 $0/v1"}, path: "/v1/x", want: "/v1/v1/x", wantChanged: true},
		{name: "dollar escape", cfg: config.Location{Rewrite: "^/x /$$1"}, path: "/x", want: "/$1", wantChanged: true},
		{name: "malformed dollar is text", cfg: config.Location{Rewrite: "^/x /a$-${"}, path: "/x", want: "/a$-${", wantChanged: true},
		{name: "unknown group is empty", cfg: config.Location{Rewrite: "^/x /a$nope$9"}, path: "/x", want: "/a", wantChanged: true},
		{name: "empty replacement deletes", cfg: config.Location{Rewrite: "^/api "}, path: "/api/x", want: "/x", wantChanged: true},
		{name: "single token deletes", cfg: config.Location{Rewrite: "^/api"}, path: "/api/x", want: "/x", wantChanged: true},
		{name: "same path is not a change", cfg: config.Location{Rewrite: "^/(x) /$1"}, path: "/x", want: "/x"},
		{
			name: "host variable substituted first",
			cfg:  config.Location{Host: "~^(?P<tenant>[a-z]+)\\.", Rewrite: "^/(.*)$ /$tenant/$1"},
			host: "acme.test", path: "/page", want: "/acme/page", wantChanged: true,
			wantVars: map[string]string{"tenant": "acme"},
		},
		{
			name: "host variable beats a rewrite group of the same name",
			cfg:  config.Location{Host: "~^(?P<x>[a-z]+)\\.", Rewrite: "^/(?P<x>.*)$ /${x}"},
			host: "host.test", path: "/path", want: "/host", wantChanged: true,
			// The rewrite's group then replaces the variable, as Pingap's
			// map insert does.
			wantVars: map[string]string{"x": "path"},
		},
		{
			name: "variable value is not expanded again",
			cfg:  config.Location{Path: "~^/(?P<p>.*)$", Rewrite: "^/(.*)$ /$p"},
			path: "/$1", want: "/$1",
			wantVars: map[string]string{"p": "$1"},
		},
		{
			// Pingap's whole-path form: rewrite = "/interface/$path".
			name: "whole path from path variable",
			cfg:  config.Location{Path: "~^/api/(?P<path>.+)$", Rewrite: "/interface/$path"},
			path: "/api/users/1", want: "/interface/users/1", wantChanged: true,
			wantVars: map[string]string{"path": "users/1"},
		},
		{
			name: "whole path with group zero",
			cfg:  config.Location{Rewrite: "/prefix$0"},
			path: "/a/b", want: "/prefix/a/b", wantChanged: true,
		},
		{
			name: "whole path ignores other groups",
			cfg:  config.Location{Rewrite: "/x$1"},
			path: "/a", want: "/x", wantChanged: true,
		},
		{
			name: "unmatched optional group",
			cfg:  config.Location{Rewrite: "^/(?P<a>a)?(?P<b>b) /[$a][$b]"},
			path: "/b", want: "/[][b]", wantChanged: true,
			wantVars: map[string]string{"b": "b"},
		},
		{name: "no rule", cfg: config.Location{}, path: "/x", want: "/x"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tbl := compile(t, route.Named{Name: "l", Config: &tc.cfg})
			host := tc.host
			if host == "" {
				host = "h"
			}
			l, v := tbl.Match(newReq(host, "/"+trimSlash(tc.path)))
			if l == nil {
				t.Fatal("no match")
			}
			if l.HasRewrite() != (tc.cfg.Rewrite != "") {
				t.Errorf("HasRewrite = %v", l.HasRewrite())
			}
			before := v.Len()
			got, nv, changed := l.Rewrite(tc.path, v)
			if got != tc.want || changed != tc.wantChanged {
				t.Errorf("Rewrite(%q) = %q, %v; want %q, %v", tc.path, got, changed, tc.want, tc.wantChanged)
			}
			if v.Len() != before {
				t.Errorf("Rewrite changed the caller's Vars: %d vars, had %d", v.Len(), before)
			}
			if nv.Len() != len(tc.wantVars) {
				t.Errorf("vars after rewrite: %d; want %v", nv.Len(), tc.wantVars)
			}
			for k, want := range tc.wantVars {
				if val, ok := nv.Get(k); !ok || val != want {
					t.Errorf("Get(%q) = %q, %v; want %q", k, val, ok, want)
				}
			}
		})
	}
}

func trimSlash(s string) string {
	for len(s) > 0 && s[0] == '/' {
		s = s[1:]
	}
	return s
}
