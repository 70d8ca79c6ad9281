package config

import (
	"fmt"
	"math"
	"net"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// Validate checks a Config that ApplyDefaults has filled (Load does both;
// Validate is for a Config built or edited in code, such as by the admin
// API). It returns the warnings, and an Errors holding every problem, each
// with its dotted path.
func Validate(c *Config) ([]Warning, error) {
	r := &report{}
	validate(c, hostEnv(), r)
	r.sort()
	return r.warns, r.err()
}

// checker validates one Config into a report.
type checker struct {
	c *Config
	e env
	r *report
}

func validate(c *Config, e env, r *report) {
	k := &checker{c: c, e: e, r: r}
	k.basic()
	k.servers()
	for _, name := range sortedKeys(c.Locations) {
		if p := join("locations", name); k.item(p, name, c.Locations[name] == nil) {
			k.location(p, name, c.Locations[name])
		}
	}
	for _, name := range sortedKeys(c.Upstreams) {
		if p := join("upstreams", name); k.item(p, name, c.Upstreams[name] == nil) {
			k.upstream(p, c.Upstreams[name])
		}
	}
	for _, name := range sortedKeys(c.Plugins) {
		if p := join("plugins", name); k.item(p, name, c.Plugins[name] == nil) {
			k.plugin(p, c.Plugins[name])
		}
	}
	k.certificates()
	for _, name := range sortedKeys(c.Storages) {
		if p := join("storages", name); k.item(p, name, c.Storages[name] == nil) {
			k.storage(p, c.Storages[name])
		}
	}
}

// item checks an item's name and presence and says whether to go on.
func (k *checker) item(path, name string, missing bool) bool {
	switch {
	case name == "":
		k.r.errorf(path, "an item name may not be empty")
	case strings.ContainsAny(name, "/\\\x00"):
		k.r.errorf(path, "name %q may not contain '/', '\\' or NUL", name)
	case missing:
		k.r.errorf(path, "is nil")
	}
	return !missing
}

var (
	logLevels         = []string{"debug", "info", "warn", "warning", "error"}
	webhookCategories = []string{"backend_status", "diff_config", "lets_encrypt", "parse_certificate_fail", "reload_config", "reload_config_fail", "restart", "restart_fail", "service_discover_fail", "tls_validity", "upstream_status"}
	tlsVersions       = []string{"tlsv1.1", "tlsv1.2", "tlsv1.3"}
	discoveries       = []string{"static", "dns", "transparent"}
	alpns             = []string{"h1", "h2", "h2h1"}
	failPolicies      = []string{"closed", "open"}
	pluginSteps       = []string{"early_request", "request", "proxy_upstream", "upstream_response", "response"}
	serverModules     = []string{"grpc-web"}
	storageCategories = []string{"config", "secret"}
	acmeProviders     = []string{"lets_encrypt"}
	dnsProviders      = []string{"ali", "aliyun", "cf", "cloudflare", "tencent", "huawei", "manual"}
)

// maxWasmMemory is the address space of a 32-bit Wasm module.
const maxWasmMemory = 4 << 30

func (k *checker) basic() {
	b := &k.c.Basic
	if b.LogLevel != "" && !slices.Contains(logLevels, strings.ToLower(b.LogLevel)) {
		k.r.errorf("basic.log_level", "unknown level %q (want debug, info, warn or error)", b.LogLevel)
	}
	for i, s := range b.TrustedProxies {
		if _, err := netip.ParsePrefix(s); err == nil {
			continue
		}
		if _, err := netip.ParseAddr(s); err != nil {
			k.r.errorf(index("basic.trusted_proxies", i), "%q is neither an IP address nor a CIDR", s)
		}
	}
	k.nonNegative("basic.grace_period", int64(b.GracePeriod))
	k.nonNegative("basic.graceful_shutdown_timeout", int64(b.GracefulShutdownTimeout))
	k.nonNegative("basic.wasm_vms", int64(b.WasmVMs))
	for i, m := range b.WasmTrustedModules {
		if m == "" || strings.ContainsAny(m, "/\\\x00") || strings.HasSuffix(m, ".wasm") {
			k.r.errorf(index("basic.wasm_trusted_modules", i), "%q: want a module name (a plugin category, without \".wasm\")", m)
		}
	}
	switch m := int64(b.WasmMemoryLimit); {
	case m < 0:
		k.nonNegative("basic.wasm_memory_limit", m)
	case m > 0 && m < 64<<10:
		k.r.errorf("basic.wasm_memory_limit", "%d bytes is less than one 64kib Wasm page", m)
	case m > maxWasmMemory:
		k.r.errorf("basic.wasm_memory_limit", "%d bytes is more than the 4gib a 32-bit Wasm module can address", m)
	}
	if b.Webhook != "" {
		k.url("basic.webhook", b.Webhook, "http", "https")
		k.r.warnf("basic.webhook", "event webhooks are not built yet: no notification will be sent")
	}
	for i, n := range b.WebhookNotifications {
		if !slices.Contains(webhookCategories, n) {
			k.r.errorf(index("basic.webhook_notifications", i), "unknown category %q%s", n, didYouMean(n, webhookCategories))
		}
	}
}

func (k *checker) servers() {
	c := k.c
	if len(c.Servers) == 0 {
		k.r.warnf("servers", "no servers: sluice will not listen anywhere")
	}
	used := map[string]string{} // listen address → server path
	for _, name := range sortedKeys(c.Servers) {
		p := join("servers", name)
		s := c.Servers[name]
		if !k.item(p, name, s == nil) {
			continue
		}
		k.listen(p, s.Addr, used)
		if len(s.Locations) == 0 {
			k.r.warnf(sub(p, "locations"), "no locations: every request will get 404")
		}
		for i, l := range s.Locations {
			lp := index(sub(p, "locations"), i)
			if _, ok := c.Locations[l]; !ok {
				k.r.errorf(lp, "unknown location %q%s", l, didYouMean(l, sortedKeys(c.Locations)))
			} else if j := slices.Index(s.Locations, l); j < i {
				k.r.errorf(lp, "location %q is already listed at [%d]", l, j)
			}
		}
		for _, kv := range [][2]string{{"tls_min_version", s.TLSMinVersion}, {"tls_max_version", s.TLSMaxVersion}} {
			if v := kv[1]; v != "" && !slices.Contains(tlsVersions, normalTLSVersion(v)) {
				k.r.errorf(sub(p, kv[0]), "unknown TLS version %q (want tlsv1.1, tlsv1.2 or tlsv1.3)", v)
			}
		}
		lo, hi := slices.Index(tlsVersions, normalTLSVersion(s.TLSMinVersion)), slices.Index(tlsVersions, normalTLSVersion(s.TLSMaxVersion))
		if lo >= 0 && hi >= 0 && lo > hi {
			k.r.errorf(sub(p, "tls_min_version"), "%s is above tls_max_version %s", s.TLSMinVersion, s.TLSMaxVersion)
		}
		if s.GlobalCertificates && len(c.Certificates) == 0 {
			k.r.errorf(sub(p, "global_certificates"), "TLS is on but there are no [certificates]")
		}
		k.nonNegative(sub(p, "tcp_idle"), int64(s.TCPIdle))
		k.nonNegative(sub(p, "tcp_interval"), int64(s.TCPInterval))
		k.nonNegative(sub(p, "tcp_probe_count"), int64(s.TCPProbeCount))
		k.nonNegative(sub(p, "tcp_user_timeout"), int64(s.TCPUserTimeout))
		k.nonNegative(sub(p, "tcp_fastopen"), int64(s.TCPFastopen))
		k.nonNegative(sub(p, "downstream_write_timeout"), int64(s.DownstreamWriteTimeout))
		k.nonNegative(sub(p, "read_header_timeout"), int64(s.ReadHeaderTimeout))
		k.nonNegative(sub(p, "idle_timeout"), int64(s.IdleTimeout))
		k.nonNegative(sub(p, "max_header_size"), int64(s.MaxHeaderSize))
		k.nonNegative(sub(p, "threads"), int64(s.Threads))
		if m := s.PrometheusMetrics; m != "" && !strings.HasPrefix(m, "/") {
			if strings.Contains(m, "://") {
				k.url(sub(p, "prometheus_metrics"), m, "http", "https")
			} else {
				k.r.errorf(sub(p, "prometheus_metrics"), "%q is neither a path such as \"/metrics\" nor an http(s) push-gateway URL", m)
			}
		}
		if s.OTLPExporter != "" {
			k.url(sub(p, "otlp_exporter"), s.OTLPExporter, "grpc", "http", "https")
		}
		for i, m := range s.Modules {
			if !slices.Contains(serverModules, m) {
				k.r.errorf(index(sub(p, "modules"), i), "unknown module %q (the only module is \"grpc-web\")", m)
			} else {
				k.r.errorf(index(sub(p, "modules"), i), "the grpc-web bridge is not built yet")
			}
		}
		k.includes(p, s.Includes)
	}
}

// listen checks a server's comma-separated listen addresses, and that no
// other server uses them. Only the same address counts as a conflict
// (IPs compared by value, so "[::0]:80" is "[::]:80"): whether "0.0.0.0:80"
// and "[::]:80" can both be bound depends on how host/server opens IPv6
// wildcards, so they are not refused here.
func (k *checker) listen(path, addrs string, used map[string]string) {
	p := sub(path, "addr")
	if strings.TrimSpace(addrs) == "" {
		k.r.errorf(p, "required, e.g. \"0.0.0.0:6188\"")
		return
	}
	for a := range strings.SplitSeq(addrs, ",") {
		a = strings.TrimSpace(a)
		host, port, err := net.SplitHostPort(a)
		if err != nil {
			k.r.errorf(p, "invalid listen address %q: want host:port, e.g. \"0.0.0.0:6188\" or \"[::]:6188\"", a)
			continue
		}
		n, err := strconv.Atoi(port)
		if err != nil || n < 0 || n > 65535 {
			k.r.errorf(p, "invalid listen address %q: port %q is not a number from 0 to 65535", a, port)
			continue
		}
		key := host + " " + strconv.Itoa(n)
		if ip, err := netip.ParseAddr(host); err == nil {
			key = ip.String() + " " + strconv.Itoa(n)
		} else if host != "" && !validHostname(host) {
			k.r.errorf(p, "invalid listen address %q: %q is neither an IP address nor a host name", a, host)
			continue
		}
		if n == 0 {
			// Port 0 picks a free port: never a conflict.
			continue
		}
		if other, dup := used[key]; dup {
			if other == path {
				k.r.errorf(p, "%q is listed twice", a)
			} else {
				k.r.errorf(p, "%q is already used by %s", a, other)
			}
			continue
		}
		used[key] = path
	}
}

// includes checks that every included storage exists and holds config.
func (k *checker) includes(path string, names []string) {
	for i, n := range names {
		p := index(sub(path, "includes"), i)
		s, ok := k.c.Storages[n]
		switch {
		case !ok:
			k.r.errorf(p, "unknown storage %q%s", n, didYouMean(n, sortedKeys(k.c.Storages)))
		case s != nil && s.Category != "config":
			k.r.errorf(p, "storage %q has category %q; only \"config\" storages can be included", n, s.Category)
		}
	}
}

func (k *checker) storage(path string, s *Storage) {
	if !slices.Contains(storageCategories, s.Category) {
		k.r.errorf(sub(path, "category"), "want \"config\" or \"secret\", got %q", s.Category)
	}
}

func (k *checker) plugin(path string, p *Plugin) {
	switch {
	case k.r.isBad(sub(path, "category")) || k.r.isBad(sub(path, "wasm")):
		// Already reported: the key is there but could not be decoded.
	case p.Category == "" && p.Wasm == "":
		k.r.errorf(path, "want category (a module in basic.plugin_dir) or wasm (a module file)")
	case p.Category != "" && p.Wasm != "":
		k.r.errorf(sub(path, "wasm"), "set either category or wasm, not both")
	case p.Category != "":
		switch c := p.Category; {
		case strings.ContainsAny(c, "/\\\x00") || c == "." || c == "..":
			k.r.errorf(sub(path, "category"), "%q is not a plain module name; use wasm = \"path\" for a module file", c)
		case strings.HasSuffix(c, ".wasm"):
			k.r.errorf(sub(path, "category"), "%q: the category is the module name without \".wasm\"", c)
		}
	}
	k.oneOf(sub(path, "fail_policy"), p.FailPolicy, failPolicies, false)
	k.oneOf(sub(path, "step"), p.Step, pluginSteps, false)
	for _, key := range sortedKeys(p.Params) {
		if msg := jsonable(p.Params[key]); msg != "" {
			k.r.errorf(sub(path, key), "%s, which JSON cannot carry to the plugin", msg)
		}
	}
	k.pluginUpstreams(path, p)
}

// pluginUpstreamRefs are the parameters of built-in plugins that name an
// upstream, directly or as the host of a URL (used only when the direct
// key is absent). A plugin cannot list the upstreams itself, so these
// cross-references are checked here, at load, like a location's upstream.
var pluginUpstreamRefs = map[string]struct{ direct, url string }{
	"traffic_splitting": {direct: "upstream"},
	"forward_auth":      {direct: "upstream", url: "auth_url"},
	"jwt":               {direct: "jwks_upstream", url: "jwks_url"},
}

func (k *checker) pluginUpstreams(path string, p *Plugin) {
	ref, ok := pluginUpstreamRefs[p.Category]
	if !ok {
		return
	}
	key, name := ref.direct, ""
	if v, ok := p.Params[ref.direct].(string); ok && v != "" {
		name = v
	} else if ref.url != "" {
		raw, _ := p.Params[ref.url].(string)
		u, err := url.Parse(raw)
		if raw == "" || err != nil || u.Hostname() == "" {
			return // the plugin reports a missing or bad URL itself
		}
		key, name = ref.url, u.Hostname()
	}
	if name == "" {
		return
	}
	if _, ok := k.c.Upstreams[name]; !ok {
		k.r.errorf(sub(path, key), "unknown upstream %q%s", name, didYouMean(name, sortedKeys(k.c.Upstreams)))
	}
}

// oneOf checks that v is one of the allowed values (or empty, which means
// the default). fold compares case-insensitively.
func (k *checker) oneOf(path, v string, allowed []string, fold bool) {
	if v == "" {
		return
	}
	w := v
	if fold {
		w = strings.ToLower(v)
	}
	if !slices.Contains(allowed, w) {
		k.r.errorf(path, "unknown value %q (want %s)%s", v, orList(allowed), didYouMean(v, allowed))
	}
}

func (k *checker) nonNegative(path string, v int64) {
	if v < 0 {
		k.r.errorf(path, "may not be negative")
	}
}

// url checks that s is an absolute URL with a host and one of the schemes.
func (k *checker) url(path, s string, schemes ...string) {
	u, err := url.Parse(s)
	if err != nil {
		k.r.errorf(path, "invalid URL %q", s)
		return
	}
	if !slices.Contains(schemes, strings.ToLower(u.Scheme)) {
		k.r.errorf(path, "URL %q: the scheme must be %s", s, orList(schemes))
		return
	}
	if u.Host == "" {
		k.r.errorf(path, "URL %q has no host", s)
	}
}

// jsonable says why a plugin parameter cannot be encoded as JSON, or "".
// TOML allows nan and inf, JSON does not.
func jsonable(v any) string {
	switch v := v.(type) {
	case float64:
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Sprintf("the value is %v", v)
		}
	case []any:
		for _, e := range v {
			if msg := jsonable(e); msg != "" {
				return msg
			}
		}
	case map[string]any:
		for _, e := range v {
			if msg := jsonable(e); msg != "" {
				return msg
			}
		}
	}
	return ""
}

// orList writes "a", "a or b", "a, b or c".
func orList(items []string) string {
	if len(items) < 2 {
		return strings.Join(items, "")
	}
	return strings.Join(items[:len(items)-1], ", ") + " or " + items[len(items)-1]
}
