package config

import (
	"path/filepath"
	"strings"
	"time"
)

// LetsEncryptDirectory is the ACME directory certificates with acme set use
// unless acme_directory says otherwise.
const LetsEncryptDirectory = "https://acme-v02.api.letsencrypt.org/directory"

// ApplyDefaults fills every field of c whose zero value stands for a
// default with that default, as the field's documentation states, and
// normalises the case-insensitive values (log_level, tls versions, alpn,
// discovery) to lower case. Values that are invalid are left for Validate
// to report. It is idempotent. Load calls it; call it yourself on a Config
// built in code before validating it.
func ApplyDefaults(c *Config) { applyDefaults(c, hostEnv()) }

func applyDefaults(c *Config, e env) {
	b := &c.Basic
	orString(&b.Name, "sluice")
	orDuration(&b.GracePeriod, 30*time.Second)
	orDuration(&b.GracefulShutdownTimeout, 5*time.Second)
	orInt(&b.UpstreamKeepalivePoolSize, 128)
	b.LogLevel = strings.ToLower(b.LogLevel)
	if b.LogLevel == "warning" {
		b.LogLevel = "warn"
	}
	orString(&b.LogLevel, "info")
	orString(&b.PluginDir, "plugins")
	if b.WasmCacheDir == "" && e.userCacheDir != "" {
		b.WasmCacheDir = filepath.Join(e.userCacheDir, "sluice", "wasm")
	}
	orInt(&b.WasmVMs, max(e.maxProcs, 1))
	if b.WasmMemoryLimit == 0 {
		b.WasmMemoryLimit = 128 << 20
	}
	orDuration(&b.WasmCallTimeout, time.Second)

	for _, s := range c.Servers {
		if s == nil {
			continue
		}
		s.TLSMinVersion = normalTLSVersion(s.TLSMinVersion)
		s.TLSMaxVersion = normalTLSVersion(s.TLSMaxVersion)
		if s.GlobalCertificates {
			// Only TLS servers get them: on a plain server tls_* keys
			// are worth a warning (host/tlsx), and a default is not one.
			orString(&s.TLSMinVersion, "tlsv1.2")
			orString(&s.TLSMaxVersion, "tlsv1.3")
		}
		orDuration(&s.DownstreamReadTimeout, 60*time.Second)
		orDuration(&s.ReadHeaderTimeout, 10*time.Second)
		orDuration(&s.IdleTimeout, 120*time.Second)
		if s.MaxHeaderSize == 0 {
			s.MaxHeaderSize = 64 << 10
		}
	}

	for _, u := range c.Upstreams {
		if u == nil {
			continue
		}
		u.Discovery = strings.ToLower(u.Discovery)
		if u.Discovery == "" {
			u.Discovery = guessDiscovery(u.Addrs)
		}
		if u.Discovery == "dns" {
			orDuration(&u.UpdateFrequency, 60*time.Second)
		}
		orString(&u.Algo, "round_robin")
		if u.VerifyCert == nil {
			yes := true
			u.VerifyCert = &yes
		}
		orDuration(&u.BackendStatsInterval, 60*time.Second)
		orInt(&u.CircuitBreakMinRequestsThreshold, 10)
		orInt(&u.CircuitBreakHalfOpenConsecutiveSuccessThreshold, 5)
		orDuration(&u.CircuitBreakOpenDuration, 10*time.Second)
		u.Alpn = strings.ToLower(u.Alpn)
		orString(&u.Alpn, "h1")
		orDuration(&u.ConnectionTimeout, 10*time.Second)
		if u.TotalConnectionTimeout == 0 {
			u.TotalConnectionTimeout = saturatingAdd(u.ConnectionTimeout, Duration(10*time.Second))
		}
		orDuration(&u.ReadTimeout, 60*time.Second)
		orDuration(&u.WriteTimeout, 60*time.Second)
		orDuration(&u.IdleTimeout, 60*time.Second)
	}

	for _, p := range c.Plugins {
		if p == nil {
			continue
		}
		orString(&p.FailPolicy, "closed")
	}

	for _, cert := range c.Certificates {
		if cert == nil {
			continue
		}
		orInt(&cert.BufferDays, 7)
		if cert.Acme != "" {
			orString(&cert.AcmeDirectory, LetsEncryptDirectory)
		}
		if cert.DNSChallenge {
			orString(&cert.DNSProvider, "manual")
		}
	}
}

// guessDiscovery is Pingap's rule: "dns" when an address is a host name.
// Addresses that do not parse count as IPs here; Validate reports them.
func guessDiscovery(addrs []string) string {
	for _, s := range addrs {
		if a, err := ParseUpstreamAddr(s); err == nil && !a.IsIP() {
			return "dns"
		}
	}
	return "static"
}

// normalTLSVersion lower-cases a TLS version and turns Pingap's documented
// "tls1.2" spelling into the accepted "tlsv1.2". Anything else is returned
// lower-cased for Validate to judge.
func normalTLSVersion(v string) string {
	v = strings.ToLower(strings.TrimSpace(v))
	if rest, ok := strings.CutPrefix(v, "tls1."); ok {
		return "tlsv1." + rest
	}
	return v
}

func saturatingAdd(a, b Duration) Duration {
	if s := a + b; (s > a) == (b > 0) {
		return s
	}
	if b > 0 {
		return Duration(1<<63 - 1)
	}
	return Duration(-1 << 63)
}

func orString(p *string, def string) {
	if *p == "" {
		*p = def
	}
}

func orInt(p *int, def int) {
	if *p == 0 {
		*p = def
	}
}

func orDuration(p *Duration, def time.Duration) {
	if *p == 0 {
		*p = Duration(def)
	}
}
