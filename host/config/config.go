package config

import (
	"os"
	"path/filepath"
	"strings"
)

// Config is a whole sluice configuration: what one file, one directory of
// files, or one etcd prefix holds. Every table is keyed by a name that other
// tables use to refer to it. A Config is plain data: it is decoded, given its
// defaults and validated by Load, and then compiled into runtime objects by
// the packages that own them. Nothing at run time reads it again.
type Config struct {
	// Basic holds process-wide settings.
	Basic Basic `toml:"basic" json:"basic"`
	// Servers are the listeners, keyed by name.
	Servers map[string]*Server `toml:"servers" json:"servers,omitempty"`
	// Locations are the routes, keyed by name. A server lists the locations it serves.
	Locations map[string]*Location `toml:"locations" json:"locations,omitempty"`
	// Upstreams are the backend pools, keyed by name. A location names one.
	Upstreams map[string]*Upstream `toml:"upstreams" json:"upstreams,omitempty"`
	// Plugins are configured Wasm plugin instances, keyed by name. A location lists them in order.
	Plugins map[string]*Plugin `toml:"plugins" json:"plugins,omitempty"`
	// Certificates are TLS certificates, keyed by name, served by SNI.
	Certificates map[string]*Certificate `toml:"certificates" json:"certificates,omitempty"`
	// Storages are named TOML fragments that servers, locations and upstreams
	// pull in with `includes`.
	Storages map[string]*Storage `toml:"storages" json:"storages,omitempty"`

	// BaseDir is the absolute directory that relative paths in the
	// configuration (basic.plugin_dir, basic.wasm_cache_dir, plugin wasm
	// files, certificate files) are relative to: the directory of the config
	// file, or the config directory itself. Load sets it; it is empty for a
	// configuration made by Parse, whose relative paths are then relative to
	// the working directory. See Resolve.
	BaseDir string `toml:"-" json:"-"`
}

// Resolve turns a path from the configuration into one the process can
// open: "~/" is the user's home directory (as in Pingap), a relative path is
// joined to BaseDir, and an absolute path is returned cleaned. Empty stays
// empty.
func (c *Config) Resolve(p string) string {
	if p == "" {
		return ""
	}
	if rest, ok := strings.CutPrefix(p, "~/"); ok {
		if home, err := os.UserHomeDir(); err == nil {
			return filepath.Join(home, rest)
		}
	}
	if filepath.IsAbs(p) || c.BaseDir == "" {
		return filepath.Clean(p)
	}
	return filepath.Join(c.BaseDir, p)
}

// ModulePath is the file of the Wasm module a plugin runs: its Wasm path, or
// "<category>.wasm" in basic.plugin_dir, resolved with Resolve.
func (c *Config) ModulePath(p *Plugin) string {
	if p.Wasm != "" {
		return c.Resolve(p.Wasm)
	}
	return filepath.Join(c.Resolve(c.Basic.PluginDir), p.Category+".wasm")
}

// Basic holds process-wide settings ([basic]).
type Basic struct {
	// Name is the instance name, used in logs and webhooks. Default "sluice".
	Name string `toml:"name" json:"name,omitempty"`
	// ErrorTemplate is the body of error responses: HTML, or JSON when it
	// starts with "{". Placeholders {{version}}, {{error_type}} and
	// {{content}} are replaced. Empty means a built-in plain-text body.
	ErrorTemplate string `toml:"error_template" json:"error_template,omitempty"`
	// PidFile is where the process id is written. Empty writes none.
	PidFile string `toml:"pid_file" json:"pid_file,omitempty"`
	// GracePeriod is how long a shutdown (SIGTERM) or a retired config
	// generation waits for in-flight requests before closing their
	// connections. Default 30s.
	GracePeriod Duration `toml:"grace_period" json:"grace_period,omitempty"`
	// GracefulShutdownTimeout bounds the final step of a shutdown after the
	// grace period. Default 5s.
	GracefulShutdownTimeout Duration `toml:"graceful_shutdown_timeout" json:"graceful_shutdown_timeout,omitempty"`
	// UpstreamKeepalivePoolSize is the number of idle keep-alive connections
	// kept per backend. Default 128 (0 means the default); a negative value
	// disables keep-alive to upstreams.
	UpstreamKeepalivePoolSize int `toml:"upstream_keepalive_pool_size" json:"upstream_keepalive_pool_size,omitempty"`
	// TrustedProxies lists the IPs and CIDRs whose X-Forwarded-For and
	// X-Real-IP headers are believed when working out the client IP. Empty
	// means no peer is trusted and the client IP is the TCP peer.
	TrustedProxies []string `toml:"trusted_proxies" json:"trusted_proxies,omitempty"`
	// LogLevel is the level of the process log: "debug", "info", "warn"
	// (or "warning") or "error", case-insensitive; stored lower-case.
	// Default "info".
	LogLevel string `toml:"log_level" json:"log_level,omitempty"`
	// LogFormatJSON writes the process log as JSON lines.
	LogFormatJSON bool `toml:"log_format_json" json:"log_format_json,omitempty"`
	// PluginDir is the directory searched for `<category>.wasm` plugin
	// modules. Relative paths are relative to Config.BaseDir. Default
	// "plugins".
	PluginDir string `toml:"plugin_dir" json:"plugin_dir,omitempty"`
	// WasmCacheDir is where compiled Wasm code is cached across restarts;
	// relative paths are relative to Config.BaseDir. Default "sluice/wasm"
	// under the user cache directory ($XDG_CACHE_HOME or ~/.cache); it stays
	// empty, meaning no disk cache, when the machine has no such directory.
	WasmCacheDir string `toml:"wasm_cache_dir" json:"wasm_cache_dir,omitempty"`
	// WasmVMs is the number of VMs (instances) per plugin module. Default
	// GOMAXPROCS at load time.
	WasmVMs int `toml:"wasm_vms" json:"wasm_vms,omitempty"`
	// WasmMemoryLimit caps each VM's linear memory; at most 4gib, the
	// wasm32 address space. Default 128mib.
	WasmMemoryLimit ByteSize `toml:"wasm_memory_limit" json:"wasm_memory_limit,omitempty"`
	// WasmCallTimeout is the time budget of a single plugin callback; a
	// callback that runs longer is stopped and its VM replaced. Default 1s.
	// Pauses of the whole process (garbage collection, a loaded machine)
	// do not count against it.
	// A negative value removes the budget for every module (see
	// WasmTrustedModules for what that costs and saves).
	WasmCallTimeout Duration `toml:"wasm_call_timeout" json:"wasm_call_timeout,omitempty"`
	// WasmTrustedModules names plugin modules (a category, i.e. the file
	// name without ".wasm") whose callbacks run without the time budget.
	// The budget makes every loop iteration in a guest check in with the
	// host (about 40 ns each), which costs a Go plugin 2 to 10 times its
	// own work; a trusted module that loops forever cannot be stopped, so
	// list only modules you vouch for. Default: none.
	WasmTrustedModules []string `toml:"wasm_trusted_modules" json:"wasm_trusted_modules,omitempty"`
	// Webhook is an http(s) URL that receives event notifications.
	Webhook string `toml:"webhook" json:"webhook,omitempty"`
	// WebhookType is the payload shape: "wecom", "dingtalk" or anything else
	// for generic JSON.
	WebhookType string `toml:"webhook_type" json:"webhook_type,omitempty"`
	// WebhookNotifications lists the event categories sent to Webhook:
	// backend_status, upstream_status, service_discover_fail, tls_validity,
	// parse_certificate_fail, lets_encrypt, diff_config, reload_config,
	// reload_config_fail, restart, restart_fail. Empty sends nothing.
	WebhookNotifications []string `toml:"webhook_notifications" json:"webhook_notifications,omitempty"`
	// Remark is a free-form note.
	Remark string `toml:"remark" json:"remark,omitempty"`
}

// Server is one listener and the locations it serves ([servers.NAME]).
type Server struct {
	// Addr is the listen address, or several separated by commas, e.g.
	// "0.0.0.0:6188,[::]:6188". Required. An address may belong to one
	// server only (port 0, "any free port", excepted).
	Addr string `toml:"addr" json:"addr"`
	// Locations are the names of the locations this server routes to. They
	// are tried in weight order (see Location.Weight). A server without
	// locations answers every request with 404 and loads with a warning.
	Locations []string `toml:"locations" json:"locations,omitempty"`
	// AccessLog is a preset (tiny, short, common, combined), a template of
	// {placeholders}, optionally preceded by a file path:
	// "/var/log/a.log?rolling=daily {method} {uri}". Empty disables it.
	// host/accesslog parses it.
	AccessLog string `toml:"access_log" json:"access_log,omitempty"`
	// GlobalCertificates turns this listener into TLS, choosing a
	// certificate from [certificates] by SNI.
	GlobalCertificates bool `toml:"global_certificates" json:"global_certificates,omitempty"`
	// TLSMinVersion and TLSMaxVersion bound the TLS versions accepted:
	// "tlsv1.1", "tlsv1.2" or "tlsv1.3", case-insensitive, also written
	// "tls1.2"; stored as "tlsv1.x". Defaults "tlsv1.2" and "tlsv1.3".
	TLSMinVersion string `toml:"tls_min_version" json:"tls_min_version,omitempty"`
	TLSMaxVersion string `toml:"tls_max_version" json:"tls_max_version,omitempty"`
	// TLSCipherList restricts TLS 1.2 cipher suites, as a colon- or
	// comma-separated list of Go or OpenSSL names (host/tlsx maps them).
	// Empty uses Go's defaults.
	TLSCipherList string `toml:"tls_cipher_list" json:"tls_cipher_list,omitempty"`
	// TLSCiphersuites is accepted for Pingap compatibility; Go does not allow
	// configuring TLS 1.3 suites, so it only produces a warning.
	TLSCiphersuites string `toml:"tls_ciphersuites" json:"tls_ciphersuites,omitempty"`
	// EnabledH2 enables HTTP/2: by ALPN on TLS listeners, and h2c with prior
	// knowledge on plain ones.
	EnabledH2 bool `toml:"enabled_h2" json:"enabled_h2,omitempty"`
	// TCPIdle, TCPInterval and TCPProbeCount set TCP keep-alive on accepted
	// connections. Zero leaves Go's keep-alive defaults (15s idle, 15s
	// interval, 9 probes).
	TCPIdle       Duration `toml:"tcp_idle" json:"tcp_idle,omitempty"`
	TCPInterval   Duration `toml:"tcp_interval" json:"tcp_interval,omitempty"`
	TCPProbeCount int      `toml:"tcp_probe_count" json:"tcp_probe_count,omitempty"`
	// TCPUserTimeout sets TCP_USER_TIMEOUT on accepted connections (Linux).
	// Zero leaves the system default.
	TCPUserTimeout Duration `toml:"tcp_user_timeout" json:"tcp_user_timeout,omitempty"`
	// TCPFastopen is the TCP Fast Open queue length; 0 disables it.
	TCPFastopen int `toml:"tcp_fastopen" json:"tcp_fastopen,omitempty"`
	// ReusePort sets SO_REUSEPORT on the listening socket.
	ReusePort bool `toml:"reuse_port" json:"reuse_port,omitempty"`
	// DownstreamReadTimeout bounds reading a whole request (headers and
	// body) from the client. Default 60s; negative disables.
	DownstreamReadTimeout Duration `toml:"downstream_read_timeout" json:"downstream_read_timeout,omitempty"`
	// DownstreamWriteTimeout bounds writing a response to the client. Zero
	// (the default) means none, since responses may stream for a long time.
	DownstreamWriteTimeout Duration `toml:"downstream_write_timeout" json:"downstream_write_timeout,omitempty"`
	// ReadHeaderTimeout bounds reading request headers (slowloris guard).
	// Default 10s.
	ReadHeaderTimeout Duration `toml:"read_header_timeout" json:"read_header_timeout,omitempty"`
	// IdleTimeout closes keep-alive client connections idle for longer.
	// Default 120s.
	IdleTimeout Duration `toml:"idle_timeout" json:"idle_timeout,omitempty"`
	// MaxHeaderSize caps the size of request headers. Default 64kib.
	MaxHeaderSize ByteSize `toml:"max_header_size" json:"max_header_size,omitempty"`
	// PrometheusMetrics is a path (e.g. "/metrics") served on this server
	// before any location, or an http(s) push-gateway URL.
	PrometheusMetrics string `toml:"prometheus_metrics" json:"prometheus_metrics,omitempty"`
	// OTLPExporter is an OpenTelemetry collector URL (grpc://, http:// or
	// https://) with Pingap's query options.
	OTLPExporter string `toml:"otlp_exporter" json:"otlp_exporter,omitempty"`
	// EnableServerTiming adds a Server-Timing response header.
	EnableServerTiming bool `toml:"enable_server_timing" json:"enable_server_timing,omitempty"`
	// Includes names [storages] whose TOML is merged into this table.
	Includes []string `toml:"includes" json:"includes,omitempty"`
	// Modules lists extra protocol modules; only "grpc-web" is known.
	Modules []string `toml:"modules" json:"modules,omitempty"`
	// Threads is accepted for Pingap compatibility and ignored (with a
	// warning): Go schedules every server on all cores (set GOMAXPROCS to
	// limit them).
	Threads int `toml:"threads" json:"threads,omitempty"`
	// Remark is a free-form note.
	Remark string `toml:"remark" json:"remark,omitempty"`
}

// Location is one route: which requests it takes, what it does to them and
// where it sends them ([locations.NAME]).
type Location struct {
	// Upstream is the name of the upstream requests go to, or "$var" to take
	// it from a variable captured by a host or rewrite regex (var is a
	// letter or underscore, then letters, digits and underscores). Empty is
	// meant for locations whose plugins answer every request; with no
	// plugins either it loads with a warning.
	Upstream string `toml:"upstream" json:"upstream,omitempty"`
	// Path selects requests by path: "=/x" exact, "~regex" (Go RE2 syntax,
	// unanchored search; named groups become variables), anything else a
	// prefix. Empty matches every path.
	Path string `toml:"path" json:"path,omitempty"`
	// Host selects requests by host, a comma-separated list of exact names,
	// "*.suffix" wildcards and "~regex" (named groups become variables).
	// Empty matches every host.
	Host string `toml:"host" json:"host,omitempty"`
	// MatchHeaders, MatchQuery and MatchCookies are further conditions, all
	// of which must hold: "name:value" for an exact value, "name" for
	// presence.
	MatchHeaders []string `toml:"match_headers" json:"match_headers,omitempty"`
	MatchQuery   []string `toml:"match_query" json:"match_query,omitempty"`
	MatchCookies []string `toml:"match_cookies" json:"match_cookies,omitempty"`
	// ProxySetHeaders are "Name: value" headers set on the upstream request,
	// replacing any the client sent. Values may use variables ($host,
	// $remote_addr, $http_NAME, ...), also inside text: "prefix-$host".
	ProxySetHeaders []string `toml:"proxy_set_headers" json:"proxy_set_headers,omitempty"`
	// ProxyAddHeaders are "Name: value" headers appended to the upstream
	// request.
	ProxyAddHeaders []string `toml:"proxy_add_headers" json:"proxy_add_headers,omitempty"`
	// Rewrite is "<regex> <replacement>" applied to the path before
	// proxying; the replacement may use $1, $name and ${name}. A single token
	// containing "$" replaces the whole path.
	Rewrite string `toml:"rewrite" json:"rewrite,omitempty"`
	// Weight overrides the computed match priority (0-65535); higher is
	// tried first. Zero means computed from path and host.
	Weight int `toml:"weight" json:"weight,omitempty"`
	// Plugins are plugin names, run on the request in this order and on the
	// response in reverse order. A name may appear once.
	Plugins []string `toml:"plugins" json:"plugins,omitempty"`
	// ClientMaxBodySize caps the request body; larger bodies get 413, also
	// when they are chunked. Zero means unlimited.
	ClientMaxBodySize ByteSize `toml:"client_max_body_size" json:"client_max_body_size,omitempty"`
	// MaxProcessing caps requests in flight on this location; more get 429.
	// Zero means unlimited.
	MaxProcessing int `toml:"max_processing" json:"max_processing,omitempty"`
	// Includes names [storages] whose TOML is merged into this table.
	Includes []string `toml:"includes" json:"includes,omitempty"`
	// GRPCWeb bridges gRPC-web requests to gRPC; every server listing the
	// location must have modules = ["grpc-web"].
	GRPCWeb bool `toml:"grpc_web" json:"grpc_web,omitempty"`
	// EnableReverseProxyHeaders sets X-Real-IP, X-Forwarded-For,
	// X-Forwarded-Proto, X-Forwarded-Host and X-Forwarded-Port upstream.
	EnableReverseProxyHeaders bool `toml:"enable_reverse_proxy_headers" json:"enable_reverse_proxy_headers,omitempty"`
	// MaxRetries is how many more backends are tried when connecting fails,
	// or when an idempotent request fails before any response (0-255).
	// Zero, the default, means no retry.
	MaxRetries int `toml:"max_retries" json:"max_retries,omitempty"`
	// MaxRetryWindow stops retrying once the request is older than this.
	// Zero means no time bound.
	MaxRetryWindow Duration `toml:"max_retry_window" json:"max_retry_window,omitempty"`
	// Remark is a free-form note.
	Remark string `toml:"remark" json:"remark,omitempty"`
}

// Upstream is a pool of backends and how to reach them ([upstreams.NAME]).
type Upstream struct {
	// Addrs are "host:port [weight]" entries: a host name, an IPv4 address
	// or a bracketed IPv6 address ("[::1]:8080"). The port defaults to 80,
	// or 443 when Sni is set; the weight, a positive integer, defaults to 1.
	// Required, except with "transparent" discovery. See ParseUpstreamAddr.
	Addrs []string `toml:"addrs" json:"addrs"`
	// Discovery is "static" (resolve once), "dns" (re-resolve every
	// UpdateFrequency) or "transparent" (send to the request's own host).
	// Default: "dns" if any address is a host name, else "static". Pingap's
	// "docker" discovery is not supported.
	Discovery string `toml:"discovery" json:"discovery,omitempty"`
	// DNSServer is a comma-separated list of nameservers (IP or IP:port) for
	// "dns" discovery. Empty uses the system resolver.
	DNSServer string `toml:"dns_server" json:"dns_server,omitempty"`
	// DNSDomain and DNSSearch are the resolver's domain and comma-separated
	// search list, accepted for Pingap compatibility.
	DNSDomain string `toml:"dns_domain" json:"dns_domain,omitempty"`
	DNSSearch string `toml:"dns_search" json:"dns_search,omitempty"`
	// UpdateFrequency is how often "dns" discovery re-resolves. Default 60s
	// when Discovery is "dns"; other discoveries do not use it.
	UpdateFrequency Duration `toml:"update_frequency" json:"update_frequency,omitempty"`
	// Algo is the balancing algorithm: "round_robin" (smooth weighted,
	// default), "least_conn", "random", or "hash" / "hash:url" / "hash:ip" /
	// "hash:path" / "hash:header:NAME" / "hash:cookie:NAME" /
	// "hash:query:NAME" (consistent hashing; bare "hash" hashes the path).
	// See ParseAlgo.
	Algo string `toml:"algo" json:"algo,omitempty"`
	// Sni enables TLS to the backends with this server name; "$host" uses
	// the request's host.
	Sni string `toml:"sni" json:"sni,omitempty"`
	// VerifyCert checks the backends' certificates. Default true.
	VerifyCert *bool `toml:"verify_cert" json:"verify_cert,omitempty"`
	// HealthCheck is an active check URL: "tcp://name", "http://name/path",
	// "https://name/path" or "grpc://name", with options connection_timeout,
	// read_timeout, check_frequency, success, failure, reuse, parallel, tls
	// and service in the query (see ParseHealthCheck). Empty means a TCP
	// connect check every 10s.
	HealthCheck string `toml:"health_check" json:"health_check,omitempty"`
	// Ipv4Only ignores IPv6 addresses from discovery.
	Ipv4Only bool `toml:"ipv4_only" json:"ipv4_only,omitempty"`
	// EnableTracer counts live upstream connections in metrics.
	EnableTracer bool `toml:"enable_tracer" json:"enable_tracer,omitempty"`
	// EnableBackendStats keeps per-backend success and failure counts over
	// BackendStatsInterval; the circuit breaker needs it.
	EnableBackendStats bool `toml:"enable_backend_stats" json:"enable_backend_stats,omitempty"`
	// BackendFailureStatusCode lists the statuses counted as failures, e.g.
	// "500,502,503". Empty means any 5xx.
	BackendFailureStatusCode string `toml:"backend_failure_status_code" json:"backend_failure_status_code,omitempty"`
	// BackendStatsInterval is the window of the backend stats. Default 60s.
	BackendStatsInterval Duration `toml:"backend_stats_interval" json:"backend_stats_interval,omitempty"`
	// CircuitBreakMaxConsecutiveFailures opens a backend's circuit after
	// this many failures in a row. Zero disables the rule.
	CircuitBreakMaxConsecutiveFailures int `toml:"circuit_break_max_consecutive_failures" json:"circuit_break_max_consecutive_failures,omitempty"`
	// CircuitBreakMaxFailurePercent opens the circuit when the failure
	// percentage in the window exceeds it (0-100). Zero disables the rule.
	CircuitBreakMaxFailurePercent int `toml:"circuit_break_max_failure_percent" json:"circuit_break_max_failure_percent,omitempty"`
	// CircuitBreakMinRequestsThreshold is the number of requests in the
	// window before the percentage rule applies. Default 10.
	CircuitBreakMinRequestsThreshold int `toml:"circuit_break_min_requests_threshold" json:"circuit_break_min_requests_threshold,omitempty"`
	// CircuitBreakHalfOpenConsecutiveSuccessThreshold is the number of
	// successes in the half-open state that close the circuit. Default 5.
	CircuitBreakHalfOpenConsecutiveSuccessThreshold int `toml:"circuit_break_half_open_consecutive_success_threshold" json:"circuit_break_half_open_consecutive_success_threshold,omitempty"`
	// CircuitBreakOpenDuration is how long an open circuit stays open before
	// letting trial requests through. Default 10s.
	CircuitBreakOpenDuration Duration `toml:"circuit_break_open_duration" json:"circuit_break_open_duration,omitempty"`
	// Alpn is the protocol to the backends: "h1" (default), "h2" (HTTP/2; h2c
	// without Sni) or "h2h1" (HTTP/2 if the backend offers it over TLS).
	// Case-insensitive; stored lower-case.
	Alpn string `toml:"alpn" json:"alpn,omitempty"`
	// MaxH2Streams is accepted for Pingap compatibility and ignored (with a
	// warning); Go multiplexes as many streams per connection as the
	// backend allows.
	MaxH2Streams int `toml:"max_h2_streams" json:"max_h2_streams,omitempty"`
	// ConnectionTimeout bounds the TCP connect. Default 10s.
	ConnectionTimeout Duration `toml:"connection_timeout" json:"connection_timeout,omitempty"`
	// TotalConnectionTimeout bounds connect plus TLS handshake; it may not
	// be shorter than ConnectionTimeout. Default: ConnectionTimeout plus 10s.
	TotalConnectionTimeout Duration `toml:"total_connection_timeout" json:"total_connection_timeout,omitempty"`
	// ReadTimeout bounds each wait for data from the backend, including the
	// response headers. Default 60s.
	ReadTimeout Duration `toml:"read_timeout" json:"read_timeout,omitempty"`
	// WriteTimeout bounds each write of the request to the backend. Default
	// 60s.
	WriteTimeout Duration `toml:"write_timeout" json:"write_timeout,omitempty"`
	// IdleTimeout is how long an idle pooled connection is kept. Default
	// 60s; a negative value disables reuse.
	IdleTimeout Duration `toml:"idle_timeout" json:"idle_timeout,omitempty"`
	// TCPIdle, TCPInterval, TCPProbeCount (at most 16) and TCPUserTimeout
	// set TCP keep-alive on backend connections. Zero leaves Go's and the
	// system's defaults.
	TCPIdle        Duration `toml:"tcp_idle" json:"tcp_idle,omitempty"`
	TCPInterval    Duration `toml:"tcp_interval" json:"tcp_interval,omitempty"`
	TCPProbeCount  int      `toml:"tcp_probe_count" json:"tcp_probe_count,omitempty"`
	TCPUserTimeout Duration `toml:"tcp_user_timeout" json:"tcp_user_timeout,omitempty"`
	// TCPRecvBuf sets SO_RCVBUF on backend connections. Zero leaves the
	// system default.
	TCPRecvBuf ByteSize `toml:"tcp_recv_buf" json:"tcp_recv_buf,omitempty"`
	// TCPFastOpen enables TCP Fast Open when connecting.
	TCPFastOpen bool `toml:"tcp_fast_open" json:"tcp_fast_open,omitempty"`
	// Includes names [storages] whose TOML is merged into this table.
	Includes []string `toml:"includes" json:"includes,omitempty"`
	// Remark is a free-form note.
	Remark string `toml:"remark" json:"remark,omitempty"`
}

// Plugin is a configured instance of a Wasm plugin ([plugins.NAME]). The
// keys below are the host's; every other key of the table is the plugin's
// own configuration, kept in Params and handed to the module as JSON.
type Plugin struct {
	// Category selects the module "<category>.wasm" in basic.plugin_dir. It
	// is a plain file name without the ".wasm" suffix (no path separators).
	// Exactly one of Category and Wasm is required.
	Category string `toml:"category" json:"category,omitempty"`
	// Wasm names a module file directly (relative to Config.BaseDir). See
	// Config.ModulePath.
	Wasm string `toml:"wasm" json:"wasm,omitempty"`
	// FailPolicy is what a request meets when this plugin's VM fails:
	// "closed" answers 500, "open" skips the plugin. Default "closed".
	FailPolicy string `toml:"fail_policy" json:"fail_policy,omitempty"`
	// Step is Pingap's phase name (early_request, request, proxy_upstream,
	// upstream_response, response), accepted for compatibility and handed to
	// the plugin, which may honour it. Empty leaves the choice to the plugin.
	Step string `toml:"step" json:"step,omitempty"`
	// Remark is a free-form note.
	Remark string `toml:"remark" json:"remark,omitempty"`
	// Params is the rest of the table, with its TOML types (string, int64,
	// float64, bool, time.Time, []any, map[string]any): the plugin's own
	// configuration.
	Params map[string]any `toml:"-" json:"params,omitempty"`
}

// Certificate is a TLS certificate and the names it is served for
// ([certificates.NAME]). Either TLSCert and TLSKey are both set, or Acme is.
type Certificate struct {
	// Domains is a comma-separated list of SNI names ("*.x.com" allowed).
	// Empty means the names in the certificate. Required with Acme.
	Domains string `toml:"domains" json:"domains,omitempty"`
	// TLSCert is the certificate chain: PEM text, a file path (relative to
	// Config.BaseDir, "~/" expanded), or base64 of PEM. host/tlsx decodes
	// it; Load only checks that a value that is neither PEM nor base64
	// names an existing file.
	TLSCert string `toml:"tls_cert" json:"tls_cert,omitempty"`
	// TLSKey is the private key in the same forms. Never shown by the admin.
	TLSKey string `toml:"tls_key" json:"-"`
	// IsDefault serves this certificate when SNI matches no other. At most
	// one certificate may be the default.
	IsDefault bool `toml:"is_default" json:"is_default,omitempty"`
	// IsCA treats the certificate as a CA that mints leaf certificates per
	// SNI name; it needs TLSCert and TLSKey.
	IsCA bool `toml:"is_ca" json:"is_ca,omitempty"`
	// Acme is "lets_encrypt" to obtain the certificate through ACME.
	Acme string `toml:"acme" json:"acme,omitempty"`
	// AcmeDirectory is the ACME directory URL (e.g. a staging or a test CA).
	// Default, when Acme is set: Let's Encrypt production,
	// "https://acme-v02.api.letsencrypt.org/directory".
	AcmeDirectory string `toml:"acme_directory" json:"acme_directory,omitempty"`
	// DNSChallenge uses DNS-01 instead of HTTP-01; DNSProvider is "ali"
	// ("aliyun"), "cf" ("cloudflare"), "tencent", "huawei" or "manual"
	// (default "manual" when DNSChallenge is set), and DNSServiceURL the
	// provider's endpoint with its credentials in the query.
	DNSChallenge  bool   `toml:"dns_challenge" json:"dns_challenge,omitempty"`
	DNSProvider   string `toml:"dns_provider" json:"dns_provider,omitempty"`
	DNSServiceURL string `toml:"dns_service_url" json:"-"`
	// BufferDays is how many days before expiry a certificate is renewed or
	// warned about. Default 7.
	BufferDays int `toml:"buffer_days" json:"buffer_days,omitempty"`
	// Remark is a free-form note.
	Remark string `toml:"remark" json:"remark,omitempty"`
}

// Storage is a named value ([storages.NAME]).
type Storage struct {
	// Category is "config" (Value is TOML that `includes` merges into
	// servers, locations and upstreams, its keys overriding theirs) or
	// "secret" (Value is encrypted with Secret; sluice does not read it).
	Category string `toml:"category" json:"category,omitempty"`
	// Value is the TOML text or the secret.
	Value string `toml:"value" json:"-"`
	// Secret is the key of an encrypted value.
	Secret string `toml:"secret" json:"-"`
	// Remark is a free-form note.
	Remark string `toml:"remark" json:"remark,omitempty"`
	// CreatedAt is a unix time in seconds.
	CreatedAt int64 `toml:"created_at" json:"created_at,omitempty"`
}
