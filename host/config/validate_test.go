package config

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

// TestRules loads the base document with one change per case and compares
// every error and warning line: the rule's own message, and no cascade of
// derived complaints.
func TestRules(t *testing.T) {
	type m = map[string]string
	tests := []struct {
		name  string
		top   string // before the base document, outside any table
		set   m
		extra string
		errs  []string
		warns []string
	}{
		// Decoding.
		{name: "unknown key suggests the nearest", set: m{"locations.api.upsteram": `"x"`},
			errs: []string{`locations.api.upsteram: unknown key "upsteram" (did you mean "upstream"?)`}},
		{name: "unknown key far from any", set: m{"upstreams.b.colour": `"red"`},
			errs: []string{`upstreams.b.colour: unknown key "colour"`}},
		{name: "unknown section", extra: "[sever.x]\naddr = \"1\"\n",
			errs: []string{`test.toml: sever: unknown section "sever" (did you mean "servers"?)`}},
		{name: "section that is not a table", top: "storages = 1\n",
			errs: []string{`test.toml: storages: want a table, got integer 1`}},
		{name: "item that is not a table keeps references quiet", extra: "[plugins]\np = 1\n", set: m{"locations.api.plugins": `["p"]`},
			errs: []string{`plugins.p: want a table, got integer 1`}},
		{name: "syntax error", extra: "x = = 1\n",
			errs: []string{`test.toml: line 11, column 5: expected value but found '=' instead`}},
		{name: "wrong type", set: m{"basic.name": `5`},
			errs: []string{`basic.name: want a string, got integer 5`}},
		{name: "wrong type of boolean", set: m{"servers.main.enabled_h2": `"yes"`},
			errs: []string{`servers.main.enabled_h2: want true or false, got string`}},
		{name: "float for an integer", set: m{"locations.api.max_processing": `1.5`},
			errs: []string{`locations.api.max_processing: want an integer, got float 1.5`}},
		{name: "string for an array", set: m{"upstreams.b.addrs": `"127.0.0.1:1"`},
			errs: []string{`upstreams.b.addrs: want an array, got string`}},
		{name: "bad array element is reported at its index without cascade", set: m{"servers.main.locations": `["api", 1]`},
			errs: []string{`servers.main.locations[1]: want a string, got integer 1`}},
		{name: "bad duration names the key", set: m{"upstreams.b.read_timeout": `"soon"`},
			errs: []string{`upstreams.b.read_timeout: invalid duration "soon" (want e.g. 10s, 1m30s, 2d or a number of seconds)`}},
		{name: "integer duration is seconds", set: m{"upstreams.b.read_timeout": `5`}},
		{name: "negative size", set: m{"locations.api.client_max_body_size": `-1`},
			errs: []string{`locations.api.client_max_body_size: size -1 is negative`}},
		{name: "ignored Pingap key warns", set: m{"basic.work_stealing": `true`, "basic.sentry": `"dsn"`},
			warns: []string{
				`basic.sentry: ignored: Sentry reporting is not supported`,
				`basic.work_stealing: ignored: Go's scheduler always balances goroutines across threads`,
			}},
		{name: "ignored key that is a field warns", set: m{"servers.main.threads": `4`, "servers.main.tls_ciphersuites": `"TLS_AES_128_GCM_SHA256"`},
			warns: []string{
				`servers.main.threads: ignored: Go runs every server on all cores; set GOMAXPROCS to limit them`,
				`servers.main.tls_ciphersuites: ignored: Go does not allow choosing TLS 1.3 cipher suites`,
			}},
		{name: "ignored key keeps its type check", set: m{"servers.main.threads": `"four"`},
			errs:  []string{`servers.main.threads: want an integer, got string`},
			warns: []string{`servers.main.threads: ignored: Go runs every server on all cores; set GOMAXPROCS to limit them`}},
		{name: "pingap's misnamed server key warns", set: m{"servers.main.tcp_fast_open": `true`},
			warns: []string{`servers.main.tcp_fast_open: ignored: Pingap ignores it too; the server key is "tcp_fastopen"`}},
		{name: "max_h2_streams warns", set: m{"upstreams.b.max_h2_streams": `8`},
			warns: []string{`upstreams.b.max_h2_streams: ignored: Go multiplexes as many streams per connection as the backend allows`}},

		// Item names.
		{name: "name with slash", extra: "[upstreams.\"a/b\"]\naddrs = [\"127.0.0.1:1\"]\n",
			errs: []string{`upstreams."a/b": name "a/b" may not contain '/', '\' or NUL`}},
		{name: "empty name", extra: "[plugins.\"\"]\ncategory = \"x\"\n",
			errs: []string{`plugins."": an item name may not be empty`}},

		// Basic.
		{name: "log level", set: m{"basic.log_level": `"verbose"`},
			errs: []string{`basic.log_level: unknown level "verbose" (want debug, info, warn or error)`}},
		{name: "log level is case-insensitive", set: m{"basic.log_level": `"WARNING"`}},
		{name: "trusted proxies", set: m{"basic.trusted_proxies": `["10.0.0.0/8", "::1", "proxy"]`},
			errs: []string{`basic.trusted_proxies[2]: "proxy" is neither an IP address nor a CIDR`}},
		{name: "negative grace period", set: m{"basic.grace_period": `"-1s"`},
			errs: []string{`basic.grace_period: may not be negative`}},
		{name: "negative vms", set: m{"basic.wasm_vms": `-1`},
			errs: []string{`basic.wasm_vms: may not be negative`}},
		{name: "no call budget", set: m{"basic.wasm_call_timeout": `"-1s"`}},
		{name: "trusted modules", set: m{"basic.wasm_trusted_modules": `["cache", "jwt"]`}},
		{name: "trusted module is a name", set: m{"basic.wasm_trusted_modules": `["cache.wasm", "a/b"]`},
			errs: []string{`basic.wasm_trusted_modules[0]: "cache.wasm": want a module name (a plugin category, without ".wasm")`,
				`basic.wasm_trusted_modules[1]: "a/b": want a module name (a plugin category, without ".wasm")`}},
		{name: "wasm memory below a page", set: m{"basic.wasm_memory_limit": `"1kb"`},
			errs: []string{`basic.wasm_memory_limit: 1000 bytes is less than one 64kib Wasm page`}},
		{name: "wasm memory above 4gib", set: m{"basic.wasm_memory_limit": `"5gib"`},
			errs: []string{`basic.wasm_memory_limit: 5368709120 bytes is more than the 4gib a 32-bit Wasm module can address`}},
		{name: "webhook scheme", set: m{"basic.webhook": `"ftp://hooks"`},
			errs: []string{`basic.webhook: URL "ftp://hooks": the scheme must be http or https`}},
		{name: "webhook without host", set: m{"basic.webhook": `"https:///x"`},
			errs: []string{`basic.webhook: URL "https:///x" has no host`}},
		{name: "webhook category", set: m{"basic.webhook_notifications": `["reload_config", "reload_confg"]`},
			errs: []string{`basic.webhook_notifications[1]: unknown category "reload_confg" (did you mean "reload_config"?)`}},

		// Servers.
		{name: "addr required", set: m{"servers.main.addr": ""},
			errs: []string{`servers.main.addr: required, e.g. "0.0.0.0:6188"`}},
		{name: "addr without port", set: m{"servers.main.addr": `"localhost"`},
			errs: []string{`servers.main.addr: invalid listen address "localhost": want host:port, e.g. "0.0.0.0:6188" or "[::]:6188"`}},
		{name: "addr port range", set: m{"servers.main.addr": `"127.0.0.1:99999"`},
			errs: []string{`servers.main.addr: invalid listen address "127.0.0.1:99999": port "99999" is not a number from 0 to 65535`}},
		{name: "addr host", set: m{"servers.main.addr": `"a/b:80"`},
			errs: []string{`servers.main.addr: invalid listen address "a/b:80": "a/b" is neither an IP address nor a host name`}},
		{name: "addr list", set: m{"servers.main.addr": `"0.0.0.0:6188, [::1]:6188,localhost:7000"`}},
		{name: "addr used by another server", set: m{"servers.main.addr": `"0.0.0.0:80"`},
			extra: "[servers.b]\naddr = \"127.0.0.1:81, 0.0.0.0:80\"\nlocations = [\"api\"]\n",
			errs:  []string{`servers.main.addr: "0.0.0.0:80" is already used by servers.b`}},
		{name: "same IP spelled differently collides", set: m{"servers.main.addr": `"[::0]:80"`},
			extra: "[servers.b]\naddr = \"[::]:80\"\nlocations = [\"api\"]\n",
			errs:  []string{`servers.main.addr: "[::0]:80" is already used by servers.b`}},
		{name: "wildcards of the two families are left to the server", set: m{"servers.main.addr": `"0.0.0.0:80,[::]:80"`}},
		{name: "different hosts on one port", set: m{"servers.main.addr": `"127.0.0.1:80"`},
			extra: "[servers.b]\naddr = \"127.0.0.2:80\"\nlocations = [\"api\"]\n"},
		{name: "addr listed twice", set: m{"servers.main.addr": `"127.0.0.1:81,127.0.0.1:81"`},
			errs: []string{`servers.main.addr: "127.0.0.1:81" is listed twice`}},
		{name: "port zero never collides", set: m{"servers.main.addr": `"127.0.0.1:0,127.0.0.1:0"`},
			extra: "[servers.b]\naddr = \"127.0.0.1:0\"\nlocations = [\"api\"]\n"},
		{name: "unknown location", set: m{"servers.main.locations": `["api", "apii"]`},
			errs: []string{`servers.main.locations[1]: unknown location "apii" (did you mean "api"?)`}},
		{name: "location listed twice", set: m{"servers.main.locations": `["api", "api"]`},
			errs: []string{`servers.main.locations[1]: location "api" is already listed at [0]`}},
		{name: "no locations warns", set: m{"servers.main.locations": `[]`},
			warns: []string{`servers.main.locations: no locations: every request will get 404`}},
		{name: "tls version", set: m{"servers.main.tls_min_version": `"tlsv1.0"`},
			errs: []string{`servers.main.tls_min_version: unknown TLS version "tlsv1.0" (want tlsv1.1, tlsv1.2 or tlsv1.3)`}},
		{name: "tls versions in pingap's spellings", set: m{"servers.main.tls_min_version": `"TLS1.2"`, "servers.main.tls_max_version": `"TLSv1.3"`}},
		{name: "tls min above max", set: m{"servers.main.tls_min_version": `"tlsv1.3"`, "servers.main.tls_max_version": `"tlsv1.2"`},
			errs: []string{`servers.main.tls_min_version: tlsv1.3 is above tls_max_version tlsv1.2`}},
		{name: "tls without certificates", set: m{"servers.main.global_certificates": `true`},
			errs: []string{`servers.main.global_certificates: TLS is on but there are no [certificates]`}},
		{name: "negative probe count", set: m{"servers.main.tcp_probe_count": `-1`},
			errs: []string{`servers.main.tcp_probe_count: may not be negative`}},
		{name: "negative read header timeout", set: m{"servers.main.read_header_timeout": `"-2s"`},
			errs: []string{`servers.main.read_header_timeout: may not be negative`}},
		{name: "negative downstream read timeout disables", set: m{"servers.main.downstream_read_timeout": `"-1s"`}},
		{name: "prometheus path", set: m{"servers.main.prometheus_metrics": `"/metrics"`}},
		{name: "prometheus push", set: m{"servers.main.prometheus_metrics": `"http://pgw:9091/metrics/job/x?interval=15s"`}},
		{name: "prometheus neither", set: m{"servers.main.prometheus_metrics": `"metrics"`},
			errs: []string{`servers.main.prometheus_metrics: "metrics" is neither a path such as "/metrics" nor an http(s) push-gateway URL`}},
		{name: "otlp scheme", set: m{"servers.main.otlp_exporter": `"udp://collector:4317"`},
			errs: []string{`servers.main.otlp_exporter: URL "udp://collector:4317": the scheme must be grpc, http or https`}},
		{name: "module", set: m{"servers.main.modules": `["grpc-webb"]`},
			errs: []string{`servers.main.modules[0]: unknown module "grpc-webb" (the only module is "grpc-web")`}},
		{name: "include unknown storage", set: m{"servers.main.includes": `["comon"]`},
			extra: "[storages.common]\ncategory = \"config\"\nvalue = \"\"\n",
			errs:  []string{`servers.main.includes[0]: unknown storage "comon" (did you mean "common"?)`}},
		{name: "include a secret", set: m{"servers.main.includes": `["s"]`},
			extra: "[storages.s]\ncategory = \"secret\"\nvalue = \"x\"\n",
			errs:  []string{`servers.main.includes[0]: storage "s" has category "secret"; only "config" storages can be included`}},

		// Includes.
		{name: "included keys are merged and checked", set: m{"locations.api.includes": `["common"]`},
			extra: "[storages.common]\ncategory = \"config\"\nvalue = \"max_procesing = 1\\nweight = -1\"\n",
			errs: []string{
				`locations.api.max_procesing: unknown key "max_procesing" (did you mean "max_processing"?) (included from storages.common)`,
				`locations.api.weight: -1 is not from 0 to 65535`,
			}},
		{name: "included value is not TOML", extra: "[storages.common]\ncategory = \"config\"\nvalue = \"a = \"\n",
			errs: []string{`storages.common.value: invalid TOML: line 1, column 4: unexpected EOF; expected value`}},
		{name: "included value may not include", extra: "[storages.common]\ncategory = \"config\"\nvalue = \"includes = [\\\"x\\\"]\"\n",
			errs: []string{`storages.common.value: an included storage may not itself have includes`}},
		{name: "storage category", extra: "[storages.x]\ncategory = \"conf\"\nvalue = \"\"\n",
			errs: []string{`storages.x.category: want "config" or "secret", got "conf"`}},

		// Locations.
		{name: "unknown upstream", set: m{"locations.api.upstream": `"backend"`},
			errs: []string{`locations.api.upstream: unknown upstream "backend"`}},
		{name: "unknown upstream with suggestion", extra: "[upstreams.backend]\naddrs = [\"127.0.0.1:1\"]\n", set: m{"locations.api.upstream": `"backnd"`},
			errs: []string{`locations.api.upstream: unknown upstream "backnd" (did you mean "backend"?)`}},
		{name: "upstream variable", set: m{"locations.api.upstream": `"$name"`}},
		{name: "upstream variable syntax", set: m{"locations.api.upstream": `"$1st"`},
			errs: []string{`locations.api.upstream: "$1st" is not a variable: want $ then a letter or '_', then letters, digits or '_'`}},
		{name: "no upstream and no plugins warns", set: m{"locations.api.upstream": ""},
			warns: []string{`locations.api.upstream: no upstream and no plugins: nothing will answer this location's requests`}},
		{name: "path regex", set: m{"locations.api.path": `"~/api/("`},
			errs: []string{"locations.api.path: invalid regex \"/api/(\": missing closing ): `/api/(`"}},
		{name: "path regex with named group", set: m{"locations.api.path": `"~^/(?P<ver>v\\d+)/"`}},
		{name: "exact path", set: m{"locations.api.path": `"=/ping"`}},
		{name: "path without slash warns", set: m{"locations.api.path": `"api"`},
			warns: []string{`locations.api.path: "api" does not start with "/", so no request path matches it`}},
		{name: "hosts", set: m{"locations.api.host": `"example.com, *.example.org,~^(?P<sub>.+)\\.x\\.com$, 10.0.0.1, [::1]"`}},
		{name: "host empty entry", set: m{"locations.api.host": `"a.com,,b.com"`},
			errs: []string{`locations.api.host: "a.com,,b.com" has an empty entry`}},
		{name: "host regex", set: m{"locations.api.host": `"~("`},
			errs: []string{"locations.api.host: invalid regex \"(\": missing closing ): `(`"}},
		{name: "host wildcard", set: m{"locations.api.host": `"*."`},
			errs: []string{`locations.api.host: "*." is not a valid wildcard host (want *.example.com)`}},
		{name: "host garbage", set: m{"locations.api.host": `"exa mple.com"`},
			errs: []string{`locations.api.host: "exa mple.com" is not a host name, an IP address, *.suffix or ~regex`}},
		{name: "match conditions", set: m{"locations.api.match_headers": `["X-A:1", "X-B"]`, "locations.api.match_query": `["a:1", "b"]`, "locations.api.match_cookies": `["sid"]`}},
		{name: "match header name", set: m{"locations.api.match_headers": `["X A:1"]`},
			errs: []string{`locations.api.match_headers[0]: "X A:1": want "name:value" or "name" with a valid header name`}},
		{name: "match query name", set: m{"locations.api.match_query": `[":v"]`},
			errs: []string{`locations.api.match_query[0]: ":v": want "name:value" or "name"`}},
		{name: "match cookie name", set: m{"locations.api.match_cookies": `["a;b"]`},
			errs: []string{`locations.api.match_cookies[0]: "a;b": want "name:value" or "name" with a valid cookie name`}},
		{name: "proxy headers", set: m{"locations.api.proxy_set_headers": `["X-Real-IP: $remote_addr", "X-Host:prefix-$host"]`, "locations.api.proxy_add_headers": `["Via: sluice"]`}},
		{name: "proxy set header syntax", set: m{"locations.api.proxy_set_headers": `["X-Ok: 1", "X-Env"]`},
			errs: []string{`locations.api.proxy_set_headers[1]: invalid header "X-Env": want "Name: value"`}},
		{name: "proxy add header name", set: m{"locations.api.proxy_add_headers": `["X Env: 1"]`},
			errs: []string{`locations.api.proxy_add_headers[0]: invalid header "X Env: 1": "X Env" is not a valid header name`}},
		{name: "rewrite", set: m{"locations.api.rewrite": `"^/api/(?P<rest>.*) /${rest}/$1"`}},
		{name: "rewrite single replacement", set: m{"locations.api.rewrite": `"/interface/$path"`}},
		{name: "rewrite single token without variable", set: m{"locations.api.rewrite": `"/static"`},
			errs: []string{`locations.api.rewrite: want "<regex> <replacement>", or a single replacement holding a $variable, got "/static"`}},
		{name: "rewrite three fields", set: m{"locations.api.rewrite": `"a b c"`},
			errs: []string{`locations.api.rewrite: want "<regex> <replacement>" (two fields separated by a space), got "a b c"`}},
		{name: "rewrite regex", set: m{"locations.api.rewrite": `"^/api/(.* /$1"`},
			errs: []string{"locations.api.rewrite: invalid regex \"^/api/(.*\": missing closing ): `^/api/(.*`"}},
		{name: "rewrite group out of range", set: m{"locations.api.rewrite": `"^/a/(.*) /$2"`},
			errs: []string{`locations.api.rewrite: replacement "/$2" refers to group $2 but the regex has 1`}},
		{name: "rewrite unclosed brace", set: m{"locations.api.rewrite": `"^/a/(.*) /${1"`},
			errs: []string{`locations.api.rewrite: replacement "/${1" has an unclosed ${`}},
		{name: "weight range", set: m{"locations.api.weight": `70000`},
			errs: []string{`locations.api.weight: 70000 is not from 0 to 65535`}},
		{name: "unknown plugin", set: m{"locations.api.plugins": `["auth", "ath", "auth"]`},
			extra: "[plugins.auth]\ncategory = \"basic_auth\"\n",
			errs: []string{
				`locations.api.plugins[1]: unknown plugin "ath" (did you mean "auth"?)`,
				`locations.api.plugins[2]: plugin "auth" is already listed at [0]`,
			}},
		{name: "plugins without upstream", set: m{"locations.api.upstream": "", "locations.api.plugins": `["ping"]`},
			extra: "[plugins.ping]\ncategory = \"ping\"\n"},
		{name: "negative max processing", set: m{"locations.api.max_processing": `-1`},
			errs: []string{`locations.api.max_processing: may not be negative`}},
		{name: "max retries", set: m{"locations.api.max_retries": `256`},
			errs: []string{`locations.api.max_retries: 256 is not from 0 to 255`}},
		{name: "grpc-web needs the module", set: m{"locations.api.grpc_web": `true`},
			errs: []string{`locations.api.grpc_web: servers.main serves this location but lacks modules = ["grpc-web"]`}},
		{name: "grpc-web is not built yet", set: m{"locations.api.grpc_web": `true`, "servers.main.modules": `["grpc-web"]`},
			errs: []string{`servers.main.modules[0]: the grpc-web bridge is not built yet`}},

		// Upstreams.
		{name: "addrs required", set: m{"upstreams.b.addrs": ""},
			errs: []string{`upstreams.b.addrs: required: at least one "host:port [weight]"`}},
		{name: "transparent needs no addrs", set: m{"upstreams.b.addrs": "", "upstreams.b.discovery": `"transparent"`}},
		{name: "bad addr", set: m{"upstreams.b.addrs": `["127.0.0.1:8080 2", "10.0.0.1:80 0"]`},
			errs: []string{`upstreams.b.addrs[1]: invalid address "10.0.0.1:80 0": weight "0" is not a positive integer`}},
		{name: "docker discovery", set: m{"upstreams.b.discovery": `"docker"`},
			errs: []string{`upstreams.b.discovery: docker discovery is not supported (want static, dns or transparent)`}},
		{name: "unknown discovery", set: m{"upstreams.b.discovery": `"dsn"`},
			errs: []string{`upstreams.b.discovery: unknown value "dsn" (want static, dns or transparent) (did you mean "dns"?)`}},
		{name: "dns servers", set: m{"upstreams.b.dns_server": `"1.1.1.1, 8.8.8.8:53,[::1]:53"`}},
		{name: "dns server not an ip", set: m{"upstreams.b.dns_server": `"1.1.1.1,dns.google"`},
			errs: []string{`upstreams.b.dns_server: "dns.google" is not an IP address or IP:port`}},
		{name: "algo", set: m{"upstreams.b.algo": `"hash:hedaer:x"`},
			errs: []string{`upstreams.b.algo: invalid algo "hash:hedaer:x": want one of round_robin, least_conn, random, hash, hash:url, hash:ip, hash:path, hash:header:NAME, hash:cookie:NAME, hash:query:NAME`}},
		{name: "algo hash by header", set: m{"upstreams.b.algo": `"hash:header:X-User"`}},
		{name: "sni", set: m{"upstreams.b.sni": `"api example"`},
			errs: []string{`upstreams.b.sni: "api example" is not a host name (or "$host")`}},
		{name: "sni from host", set: m{"upstreams.b.sni": `"$host"`}},
		{name: "health check", set: m{"upstreams.b.health_check": `"ftp://b"`},
			errs: []string{`upstreams.b.health_check: invalid health check URL "ftp://b": scheme "ftp" is not tcp, http, https or grpc`}},
		{name: "failure status codes", set: m{"upstreams.b.backend_failure_status_code": `"500, 502,5xx"`},
			errs: []string{`upstreams.b.backend_failure_status_code: "5xx" is not an HTTP status from 100 to 599`}},
		{name: "failure percent", set: m{"upstreams.b.circuit_break_max_failure_percent": `150`},
			errs: []string{`upstreams.b.circuit_break_max_failure_percent: 150 is not a percentage from 0 to 100`}},
		{name: "alpn", set: m{"upstreams.b.alpn": `"h3"`},
			errs: []string{`upstreams.b.alpn: unknown value "h3" (want h1, h2 or h2h1) (did you mean "h1"?)`}},
		{name: "alpn is case-insensitive", set: m{"upstreams.b.alpn": `"H2H1"`}},
		{name: "total connection timeout below connect", set: m{"upstreams.b.connection_timeout": `"10s"`, "upstreams.b.total_connection_timeout": `"5s"`},
			errs: []string{`upstreams.b.total_connection_timeout: 5s is shorter than connection_timeout 10s`}},
		{name: "probe count", set: m{"upstreams.b.tcp_probe_count": `17`},
			errs: []string{`upstreams.b.tcp_probe_count: 17 is not from 0 to 16`}},
		{name: "negative read timeout", set: m{"upstreams.b.read_timeout": `"-1s"`},
			errs: []string{`upstreams.b.read_timeout: may not be negative`}},
		{name: "negative idle timeout disables reuse", set: m{"upstreams.b.idle_timeout": `"-1s"`}},

		// Plugins.
		{name: "traffic_splitting names an upstream", extra: "[plugins.p]\ncategory = \"traffic_splitting\"\nupstream = \"bb\"\nweight = 10\n",
			errs: []string{`plugins.p.upstream: unknown upstream "bb" (did you mean "b"?)`}},
		{name: "traffic_splitting upstream exists", extra: "[plugins.p]\ncategory = \"traffic_splitting\"\nupstream = \"b\"\n"},
		{name: "forward_auth upstream from the url", extra: "[plugins.p]\ncategory = \"forward_auth\"\nauth_url = \"http://auth/check\"\n",
			errs: []string{`plugins.p.auth_url: unknown upstream "auth"`}},
		{name: "forward_auth explicit upstream wins", extra: "[plugins.p]\ncategory = \"forward_auth\"\nauth_url = \"http://auth.example.com/check\"\nupstream = \"b\"\n"},
		{name: "jwt jwks upstream", extra: "[plugins.p]\ncategory = \"jwt\"\njwks_url = \"http://keys/jwks.json\"\n",
			errs: []string{`plugins.p.jwks_url: unknown upstream "keys"`}},
		{name: "plugin needs a module", extra: "[plugins.p]\nremark = \"x\"\n",
			errs: []string{`plugins.p: want category (a module in basic.plugin_dir) or wasm (a module file)`}},
		{name: "plugin with both", extra: "[plugins.p]\ncategory = \"a\"\nwasm = \"a.wasm\"\n",
			errs: []string{`plugins.p.wasm: set either category or wasm, not both`}},
		{name: "plugin category path", extra: "[plugins.p]\ncategory = \"../a\"\n",
			errs: []string{`plugins.p.category: "../a" is not a plain module name; use wasm = "path" for a module file`}},
		{name: "plugin category suffix", extra: "[plugins.p]\ncategory = \"auth.wasm\"\n",
			errs: []string{`plugins.p.category: "auth.wasm": the category is the module name without ".wasm"`}},
		{name: "fail policy", extra: "[plugins.p]\ncategory = \"a\"\nfail_policy = \"half\"\n",
			errs: []string{`plugins.p.fail_policy: unknown value "half" (want closed or open)`}},
		{name: "step", extra: "[plugins.p]\ncategory = \"a\"\nstep = \"requests\"\n",
			errs: []string{`plugins.p.step: unknown value "requests" (want early_request, request, proxy_upstream, upstream_response or response) (did you mean "request"?)`}},
		{name: "plugin params that JSON cannot carry", extra: "[plugins.p]\ncategory = \"a\"\nratio = nan\nlimits = [1.0, inf]\n",
			errs: []string{
				`plugins.p.limits: the value is +Inf, which JSON cannot carry to the plugin`,
				`plugins.p.ratio: the value is NaN, which JSON cannot carry to the plugin`,
			}},
		{name: "near miss of a host key warns", extra: "[plugins.p]\ncategory = \"a\"\nfail_polcy = \"open\"\n",
			warns: []string{`plugins.p.fail_polcy: passed to the plugin as a parameter; did you mean the host key "fail_policy"?`}},
		{name: "host key of the wrong type", extra: "[plugins.p]\ncategory = 1\n[certificates.c]\ntls_cert = true\n",
			errs: []string{
				`plugins.p.category: want a string, got integer 1`,
				`certificates.c.tls_cert: want a string, got boolean true`,
			}},

		// Certificates.
		{name: "cert without key", extra: "[certificates.c]\ntls_cert = \"exists.pem\"\n",
			errs: []string{`certificates.c.tls_key: required with tls_cert`}},
		{name: "key without cert", extra: "[certificates.c]\ntls_key = \"exists.pem\"\n",
			errs: []string{`certificates.c.tls_cert: required with tls_key`}},
		{name: "neither cert nor acme", extra: "[certificates.c]\ndomains = \"a.com\"\n",
			errs: []string{`certificates.c: want tls_cert and tls_key, or acme = "lets_encrypt"`}},
		{name: "cert files", extra: "[certificates.c]\ntls_cert = \"certs/exists.pem\"\ntls_key = \"/etc/exists-key.pem\"\n"},
		{name: "cert file missing", extra: "[certificates.c]\ntls_cert = \"certs/a.pem\"\ntls_key = \"exists.pem\"\n",
			errs: []string{`certificates.c.tls_cert: neither PEM, nor base64 of PEM, nor a readable file: stat /base/certs/a.pem: file does not exist`}},
		{name: "inline PEM and base64", extra: "[certificates.c]\ntls_cert = \"\"\"\n-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n\"\"\"\ntls_key = \"LS0tLS1CRUdJTiBQUklWQVRFIEtFWS0tLS0tCg==\"\n"},
		{name: "acme needs domains", extra: "[certificates.c]\nacme = \"lets_encrypt\"\n",
			errs: []string{`certificates.c.domains: required with acme: the names to obtain the certificate for`}},
		{name: "acme provider", extra: "[certificates.c]\nacme = \"zerossl\"\ndomains = \"a.com\"\n",
			errs: []string{`certificates.c.acme: unknown value "zerossl" (want lets_encrypt)`}},
		{name: "acme directory", extra: "[certificates.c]\nacme = \"lets_encrypt\"\ndomains = \"a.com\"\nacme_directory = \"localhost:14000/dir\"\n",
			errs: []string{`certificates.c.acme_directory: URL "localhost:14000/dir": the scheme must be https or http`}},
		{name: "dns challenge needs acme", extra: "[certificates.c]\ntls_cert = \"exists.pem\"\ntls_key = \"exists.pem\"\ndns_challenge = true\n",
			errs: []string{`certificates.c.dns_challenge: needs acme = "lets_encrypt"`}},
		{name: "dns provider", extra: "[certificates.c]\nacme = \"lets_encrypt\"\ndomains = \"*.a.com\"\ndns_challenge = true\ndns_provider = \"route53\"\n",
			errs: []string{`certificates.c.dns_provider: unknown value "route53" (want ali, aliyun, cf, cloudflare, tencent, huawei or manual)`}},
		{name: "ca needs cert and key", extra: "[certificates.c]\nacme = \"lets_encrypt\"\ndomains = \"a.com\"\nis_ca = true\n",
			errs: []string{`certificates.c.is_ca: a CA needs tls_cert and tls_key`}},
		{name: "domains", extra: "[certificates.c]\ntls_cert = \"exists.pem\"\ntls_key = \"exists.pem\"\ndomains = \"a.com, *.b.com,c d\"\n",
			errs: []string{`certificates.c.domains: "c d" is not a domain name or *.wildcard`}},
		{name: "two defaults", extra: "[certificates.a]\ntls_cert = \"exists.pem\"\ntls_key = \"exists.pem\"\nis_default = true\n[certificates.b]\ntls_cert = \"exists.pem\"\ntls_key = \"exists.pem\"\nis_default = true\n",
			errs: []string{`certificates.b.is_default: certificates.a is already the default certificate`}},
		{name: "tls server with a certificate", set: m{"servers.main.global_certificates": `true`},
			extra: "[certificates.a]\ntls_cert = \"exists.pem\"\ntls_key = \"exists.pem\"\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc := tt.top + compose(tt.set, tt.extra)
			c, warns, err := loadString(doc)
			if got := lines(err); !slices.Equal(got, tt.errs) {
				t.Errorf("errors:\n%s\nwant:\n%s\ndocument:\n%s", strings.Join(got, "\n"), strings.Join(tt.errs, "\n"), doc)
			}
			if got := warnLines(warns); !slices.Equal(got, tt.warns) {
				t.Errorf("warnings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.warns, "\n"))
			}
			if (c == nil) != (err != nil) {
				t.Errorf("config %v with error %v: want exactly one of them", c != nil, err)
			}
		})
	}
}

// TestErrorsMachineForm checks what `sluice validate` relies on: the error
// unwraps to Errors, each with its Path and Msg apart.
func TestErrorsMachineForm(t *testing.T) {
	_, _, err := loadString(compose(map[string]string{"locations.api.upstream": `"x"`, "servers.main.addr": `"nope"`}, ""))
	var es Errors
	if !errors.As(err, &es) {
		t.Fatalf("error %v is not an Errors", err)
	}
	want := []Error{
		{Path: "servers.main.addr", Msg: `invalid listen address "nope": want host:port, e.g. "0.0.0.0:6188" or "[::]:6188"`},
		{Path: "locations.api.upstream", Msg: `unknown upstream "x"`},
	}
	if len(es) != len(want) {
		t.Fatalf("got %d problems (%v); want %d", len(es), err, len(want))
	}
	for i := range want {
		if *es[i] != want[i] {
			t.Errorf("problem %d = %+v; want %+v", i, *es[i], want[i])
		}
	}
	var one *Error
	if !errors.As(err, &one) || one != es[0] {
		t.Errorf("errors.As(*Error) = %v; want the first problem", one)
	}
}

// TestValidateAfterEdit is how the admin API uses the package: change a
// loaded Config in code, then Validate it again.
func TestValidateAfterEdit(t *testing.T) {
	c, _, err := loadString(compose(nil, ""))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Validate(c); err != nil {
		t.Fatalf("Validate(loaded config) = %v", err)
	}
	c.Locations["api"].Upstream = "gone"
	c.Upstreams["b"].CircuitBreakMaxFailurePercent = -5
	c.Servers["other"] = nil
	c.Plugins = map[string]*Plugin{"": nil}
	_, err = Validate(c)
	want := []string{
		`servers.other: is nil`,
		`locations.api.upstream: unknown upstream "gone"`,
		`upstreams.b.circuit_break_max_failure_percent: -5 is not a percentage from 0 to 100`,
		`plugins."": an item name may not be empty`,
	}
	if got := lines(err); !slices.Equal(got, want) {
		t.Fatalf("Validate(edited) =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestNoServersWarns(t *testing.T) {
	c, warns, err := loadString("[upstreams.b]\naddrs = [\"127.0.0.1:1\"]\n")
	want := []string{"servers: no servers: sluice will not listen anywhere"}
	if c == nil || err != nil || !slices.Equal(warnLines(warns), want) {
		t.Fatalf("loading a config without servers = %v, warnings %q; want it loaded with warnings %q", err, warnLines(warns), want)
	}
}
