package route_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/sluice-proxy/sluice/host/route"
)

// fakeSource answers a template's questions from maps.
type fakeSource struct {
	builtins map[route.Builtin]string
	headers  http.Header
	ctx      map[string]string
}

func (s *fakeSource) AppendBuiltin(dst []byte, b route.Builtin) []byte {
	return append(dst, s.builtins[b]...)
}

func (s *fakeSource) AppendHeader(dst []byte, name string) []byte {
	return append(dst, strings.Join(s.headers[name], ", ")...)
}

func (s *fakeSource) AppendCtx(dst []byte, key string) []byte { return append(dst, s.ctx[key]...) }

var _ route.Source = (*fakeSource)(nil)

func testSource() *fakeSource {
	return &fakeSource{
		builtins: map[route.Builtin]string{
			route.Host:                  "example.com",
			route.Scheme:                "https",
			route.Hostname:              "box1",
			route.RemoteAddr:            "192.0.2.7",
			route.RemotePort:            "51000",
			route.ServerAddr:            "10.0.0.2",
			route.ServerPort:            "443",
			route.UpstreamAddr:          "10.0.1.5:8080",
			route.ProxyAddXForwardedFor: "198.51.100.1, 192.0.2.7",
		},
		headers: http.Header{
			"X-User-Id": {"u42"},
			"Origin":    {"https://app.test"},
			"X-Multi":   {"a", "b"},
		},
		ctx: map[string]string{"upstream_addr": "10.0.1.5:8080", "location": "api"},
	}
}

func TestTemplate(t *testing.T) {
	env := map[string]string{"DEPLOY_ENV": "prod", "EMPTY": ""}
	lookupEnv := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	vars := route.Vars{}.With("tenant", "acme").With("id", "7")
	for _, tc := range []struct {
		name       string
		in         string
		want       string
		wantStatic bool
	}{
		{name: "empty", in: "", want: "", wantStatic: true},
		{name: "text", in: "no-store", want: "no-store", wantStatic: true},
		{name: "host", in: "$host", want: "example.com"},
		{name: "scheme", in: "$scheme", want: "https"},
		{name: "hostname", in: "$hostname", want: "box1"},
		{name: "remote_addr", in: "$remote_addr", want: "192.0.2.7"},
		{name: "remote_port", in: "$remote_port", want: "51000"},
		{name: "server_addr", in: "$server_addr", want: "10.0.0.2"},
		{name: "server_port", in: "$server_port", want: "443"},
		{name: "upstream_addr", in: "$upstream_addr", want: "10.0.1.5:8080"},
		{name: "proxy_add_x_forwarded_for", in: "$proxy_add_x_forwarded_for", want: "198.51.100.1, 192.0.2.7"},
		{name: "inside text", in: "prefix-$host", want: "prefix-example.com"},
		{name: "braced before text", in: "${host}-x", want: "example.com-x"},
		{name: "unbraced stops at hyphen", in: "$host-x", want: "example.com-x"},
		{name: "longest name", in: "$hostname.$host", want: "box1.example.com"},
		{name: "several", in: "$scheme://$host:$server_port/", want: "https://example.com:443/"},
		{name: "header nginx style", in: "$http_x_user_id", want: "u42"},
		{name: "header Pingap style", in: "$http_x-user-id", want: "u42"},
		{name: "header any case", in: "${http_ORIGIN}!", want: "https://app.test!"},
		{name: "header several values", in: "$http_x_multi", want: "a, b"},
		{name: "header missing", in: "[$http_x_none]", want: "[]"},
		{name: "ctx whole value", in: ":upstream_addr", want: "10.0.1.5:8080"},
		{name: "ctx braced", in: "loc=${:location}", want: "loc=api"},
		{name: "colon text is not ctx", in: "a:b", want: "a:b", wantStatic: true},
		{name: "colon url is not ctx", in: ":/x", want: ":/x", wantStatic: true},
		{name: "capture", in: "$tenant", want: "acme"},
		{name: "capture in text", in: "t-${tenant}-$id", want: "t-acme-7"},
		{name: "unset capture", in: "[$unset]", want: "[]"},
		{name: "env resolved at parse", in: "env=$DEPLOY_ENV", want: "env=prod", wantStatic: true},
		{name: "env empty", in: "[$EMPTY]", want: "[]", wantStatic: true},
		{name: "unknown kept", in: "$nope-${nope2}", want: "$nope-${nope2}", wantStatic: true},
		{name: "dollar escape", in: "$$host", want: "$host", wantStatic: true},
		{name: "lone dollar", in: "5$ and $", want: "5$ and $", wantStatic: true},
		{name: "builtin before capture", in: "$host", want: "example.com"},
		{name: "tab allowed", in: "a\tb", want: "a\tb", wantStatic: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tp, err := route.ParseTemplate(tc.in, []string{"tenant", "id", "unset", "host"}, lookupEnv)
			if err != nil {
				t.Fatalf("ParseTemplate(%q): %v", tc.in, err)
			}
			if got := string(tp.Append(nil, testSource(), vars)); got != tc.want {
				t.Errorf("Append = %q; want %q", got, tc.want)
			}
			if got := string(tp.Append([]byte("pre:"), testSource(), vars)); got != "pre:"+tc.want {
				t.Errorf("Append onto a prefix = %q; want %q", got, "pre:"+tc.want)
			}
			s, static := tp.Static()
			if static != tc.wantStatic || static && s != tc.want {
				t.Errorf("Static = %q, %v; want static %v", s, static, tc.wantStatic)
			}
			if tp.String() != tc.in {
				t.Errorf("String = %q; want %q", tp.String(), tc.in)
			}
		})
	}
}

func TestTemplateErrors(t *testing.T) {
	for _, tc := range []struct {
		name, in, env, want string
	}{
		{name: "newline", in: "a\nb", want: "control character"},
		{name: "carriage return", in: "a\rb", want: "control character"},
		{name: "nul", in: "a\x00", want: "control character"},
		{name: "del", in: "a\x7f", want: "control character"},
		{name: "unterminated", in: "x-${host", want: `unterminated "${"`},
		{name: "empty braces", in: "${}", want: "invalid variable"},
		{name: "bad braced name", in: "${a b}", want: "invalid variable"},
		{name: "env with newline", in: "$BAD", env: "a\nb", want: "environment variable BAD"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lookupEnv := func(k string) (string, bool) { return tc.env, k == "BAD" }
			_, err := route.ParseTemplate(tc.in, nil, lookupEnv)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("ParseTemplate(%q) error = %v; want one containing %q", tc.in, err, tc.want)
			}
		})
	}
}

func TestParseHeaderRule(t *testing.T) {
	for _, tc := range []struct {
		name, in, wantName, wantValue, wantErr string
	}{
		{name: "spaced", in: "X-Real-IP: $remote_addr", wantName: "X-Real-Ip", wantValue: "192.0.2.7"},
		{name: "tight", in: "cache-control:no-store", wantName: "Cache-Control", wantValue: "no-store"},
		{name: "colon in value", in: "X-Up: http://$host:81", wantName: "X-Up", wantValue: "http://example.com:81"},
		{name: "empty value", in: "X-Empty:", wantName: "X-Empty", wantValue: ""},
		{name: "no colon", in: "X-A", wantErr: `want "Name: value"`},
		{name: "empty name", in: ": v", wantErr: "not a valid header name"},
		{name: "space in name", in: "X A: v", wantErr: "not a valid header name"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := route.ParseHeaderRule(tc.in, nil, nil)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error = %v; want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseHeaderRule: %v", err)
			}
			if r.Name != tc.wantName {
				t.Errorf("Name = %q; want %q", r.Name, tc.wantName)
			}
			if got := string(r.Value.Append(nil, testSource(), route.Vars{})); got != tc.wantValue {
				t.Errorf("value = %q; want %q", got, tc.wantValue)
			}
		})
	}
}

func TestBuiltinString(t *testing.T) {
	for _, tc := range []struct {
		b    route.Builtin
		want string
	}{
		{route.Host, "$host"},
		{route.ProxyAddXForwardedFor, "$proxy_add_x_forwarded_for"},
		{route.Builtin(200), "Builtin(200)"},
	} {
		t.Run(tc.want, func(t *testing.T) {
			if got := tc.b.String(); got != tc.want {
				t.Errorf("String = %q; want %q", got, tc.want)
			}
		})
	}
}

func TestTemplateAppendAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not stable under -race")
	}
	tp, err := route.ParseTemplate("p-$host-${tenant}-$http_x_user_id", []string{"tenant"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	src := testSource()
	vars := route.Vars{}.With("tenant", "acme")
	buf := make([]byte, 0, 256)
	if n := testing.AllocsPerRun(100, func() { buf = tp.Append(buf[:0], src, vars) }); n != 0 {
		t.Errorf("Append allocates %v times per run; want 0", n)
	}
}
