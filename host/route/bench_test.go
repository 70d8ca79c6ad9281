package route_test

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/sluice-proxy/sluice/host/config"
	"github.com/sluice-proxy/sluice/host/route"
)

// mixedLocations is a server of about 30 locations with every kind of host
// and path rule, the shape of a busy real config.
func mixedLocations() []route.Named {
	var locs []route.Named
	add := func(name string, c config.Location) { locs = append(locs, loc(name, c)) }
	for i := range 8 {
		add(fmt.Sprintf("site%d", i), config.Location{Host: fmt.Sprintf("site%d.example.com", i), Path: "/", Upstream: "web"})
		add(fmt.Sprintf("site%d-api", i), config.Location{Host: fmt.Sprintf("site%d.example.com", i), Path: "/api/", Upstream: "api"})
	}
	add("www", config.Location{Host: "example.com,www.example.com", Upstream: "web"})
	add("www-login", config.Location{Host: "example.com,www.example.com", Path: "=/login", Upstream: "auth"})
	add("apps", config.Location{Host: "*.apps.test", Path: "/", Upstream: "apps"})
	add("apps-static", config.Location{Host: "*.apps.test", Path: "/static/", Upstream: "cdn"})
	add("cdn", config.Location{Host: "*.cdn.test", Upstream: "cdn"})
	add("tenant", config.Location{Host: "~^(?P<tenant>[a-z0-9]+)\\.tenants\\.test$", Upstream: "$tenant"})
	add("org-api", config.Location{Host: "~\\.example\\.org$", Path: "~^/v[0-9]+/", Upstream: "api"})
	add("user", config.Location{Path: "~^/u/(?P<id>[0-9]+)$", Upstream: "users"})
	add("admin", config.Location{Host: "admin.internal", Path: "/admin/", MatchHeaders: []string{"X-Env:canary"}, Upstream: "admin"})
	add("beta", config.Location{Path: "/api", MatchCookies: []string{"beta"}, MatchQuery: []string{"v:2"}, Upstream: "beta"})
	add("health", config.Location{Path: "=/health", Upstream: "health"})
	add("static", config.Location{Path: "~\\.(js|css|png)$", Upstream: "cdn"})
	add("api", config.Location{Path: "/api", Upstream: "api"})
	add("ip", config.Location{Host: "10.0.0.1,::1", Path: "/", Upstream: "web"})
	add("default", config.Location{Path: "/", Upstream: "web"})
	return locs
}

func TestMixedLocationsRouting(t *testing.T) {
	tbl := compile(t, mixedLocations()...)
	if n := len(tbl.Locations()); n < 30 {
		t.Fatalf("mixedLocations has %d locations; the benchmark wants about 30", n)
	}
	for _, tc := range []struct {
		host, target string
		headers      []string
		want         string
		vars         string
	}{
		{host: "site3.example.com", target: "/api/x", want: "site3-api"},
		{host: "SITE3.example.com:443", target: "/", want: "site3"},
		{host: "www.example.com", target: "/login", want: "www-login"},
		{host: "example.com", target: "/anything", want: "www"},
		{host: "example.com", target: "/api", want: "api"},
		{host: "a.apps.test", target: "/static/app.js", want: "apps-static"},
		{host: "a.apps.test", target: "/x", want: "apps"},
		{host: "img.cdn.test", target: "/x.png", want: "static"},
		{host: "img.cdn.test", target: "/x", want: "cdn"},
		{host: "acme.tenants.test", target: "/x", want: "tenant", vars: "tenant=acme"},
		{host: "www.example.org", target: "/v2/x", want: "org-api"},
		{host: "www.example.org", target: "/api/v2/x", want: "api"},
		{host: "h", target: "/u/42", want: "user", vars: "id=42"},
		{host: "admin.internal", target: "/admin/x", headers: []string{"X-Env: canary"}, want: "admin"},
		{host: "admin.internal", target: "/admin/x", want: "default"},
		{host: "h", target: "/api/x?v=2", headers: []string{"Cookie: beta=1"}, want: "beta"},
		{host: "h", target: "/api/x?v=1", headers: []string{"Cookie: beta=1"}, want: "api"},
		{host: "h", target: "/health", want: "health"},
		{host: "[::1]:6188", target: "/", want: "ip"},
		{host: "nowhere", target: "/x", want: "default"},
	} {
		t.Run(tc.host+tc.target, func(t *testing.T) {
			r := newReq(tc.host, tc.target, tc.headers...)
			if got := matchName(t, tbl, r); got != tc.want {
				t.Fatalf("matched %q; want %q", got, tc.want)
			}
			_, v := tbl.Match(r)
			got := ""
			for k, val := range v.All() {
				got += k + "=" + val
			}
			if got != tc.vars {
				t.Errorf("vars %q; want %q", got, tc.vars)
			}
		})
	}
}

// benchRequests are requests to mixedLocations: name, request, and whether
// the winner captures variables (and so may allocate).
func benchRequests() []struct {
	name     string
	r        *http.Request
	captures bool
} {
	return []struct {
		name     string
		r        *http.Request
		captures bool
	}{
		{"exact-host", newReq("site5.example.com", "/api/users"), false},
		{"exact-host-upper", newReq("Site5.Example.COM:8443", "/api/users"), false},
		{"suffix-host", newReq("a.b.apps.test", "/static/app.css?x=1"), false},
		{"regex-host-miss-to-prefix", newReq("unknown.test", "/api/v1"), false},
		{"regex-host", newReq("www.example.org", "/v1/x"), false},
		{"regex-path", newReq("unknown.test", "/img/logo.png"), false},
		{"conditions", newReq("unknown.test", "/api/x?a=1&v=2", "Cookie: a=1; beta=yes"), false},
		{"fallback", newReq("unknown.test", "/nothing/here"), false},
		{"capture-host", newReq("acme.tenants.test", "/x"), true},
		{"capture-path", newReq("unknown.test", "/u/12345"), true},
	}
}

func TestMatchAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not stable under -race")
	}
	tbl := compile(t, mixedLocations()...)
	for _, br := range benchRequests() {
		if br.captures {
			continue
		}
		t.Run(br.name, func(t *testing.T) {
			if l, _ := tbl.Match(br.r); l == nil {
				t.Fatal("no match")
			}
			if n := testing.AllocsPerRun(200, func() { tbl.Match(br.r) }); n != 0 {
				t.Errorf("Match allocates %v times per request; want 0", n)
			}
		})
	}
}

func BenchmarkMatch(b *testing.B) {
	tbl := compile(b, mixedLocations()...)
	for _, br := range benchRequests() {
		b.Run(br.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				tbl.Match(br.r)
			}
		})
	}
}

func BenchmarkCompile(b *testing.B) {
	locs := mixedLocations()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := route.Compile(locs); err != nil {
			b.Fatal(err)
		}
	}
}

// TestMatchConcurrent shares one table between goroutines, as every
// connection of a server does; run it with -race.
func TestMatchConcurrent(t *testing.T) {
	tbl := compile(t, mixedLocations()...)
	reqs := benchRequests()
	want := make([]*route.Location, len(reqs))
	for i, br := range reqs {
		want[i], _ = tbl.Match(br.r)
	}
	errs := make(chan string, 4)
	for range 4 {
		go func() {
			for n := range 200 {
				i := n % len(reqs)
				if l, _ := tbl.Match(reqs[i].r); l != want[i] {
					errs <- fmt.Sprintf("%s: matched %q; want %q", reqs[i].name, nameOf(l), nameOf(want[i]))
					return
				}
			}
			errs <- ""
		}()
	}
	for range 4 {
		if e := <-errs; e != "" {
			t.Error(e)
		}
	}
}
