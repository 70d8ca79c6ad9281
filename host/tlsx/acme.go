package tlsx

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"

	"golang.org/x/crypto/acme"
	"golang.org/x/crypto/acme/autocert"

	"github.com/sluice-proxy/sluice/host/config"
)

// acmeProvider is the only `acme` value: Let's Encrypt, or whatever ACME
// server acme_directory names.
const acmeProvider = "lets_encrypt"

// challengePrefix is the path of HTTP-01 challenges (RFC 8555 §8.3).
const challengePrefix = "/.well-known/acme-challenge/"

// acmeClient is one autocert.Manager: one ACME account at one directory.
// It is process-long (kept by the Manager across generations) because it
// holds issued certificates in memory and runs their renewal timers.
type acmeClient struct {
	dir  string
	mgr  *autocert.Manager
	http http.Handler
}

// acmeSettings checks the ACME keys of certificates.NAME and returns its
// directory URL and names.
func acmeSettings(name string, c *config.Certificate) (dir string, domains []string, warnings []string, err error) {
	path := "certificates." + name
	var errs []error
	if !strings.EqualFold(c.Acme, acmeProvider) {
		errs = append(errs, fmt.Errorf("%s.acme: unknown ACME provider %q (want %q)", path, c.Acme, acmeProvider))
	}
	if c.DNSChallenge {
		errs = append(errs, fmt.Errorf("%s.dns_challenge: DNS-01 is not supported; sluice answers HTTP-01 and TLS-ALPN-01", path))
	}
	if c.IsCA {
		errs = append(errs, fmt.Errorf("%s.is_ca: cannot be combined with acme", path))
	}
	dir = acme.LetsEncryptURL
	if c.AcmeDirectory != "" {
		u, perr := url.Parse(c.AcmeDirectory)
		if perr != nil || u.Scheme != "https" || u.Host == "" {
			errs = append(errs, fmt.Errorf("%s.acme_directory: %q is not an https URL", path, c.AcmeDirectory))
		}
		dir = c.AcmeDirectory
	}
	if strings.TrimSpace(c.Domains) == "" {
		errs = append(errs, fmt.Errorf("%s.domains: required with acme (the names to obtain a certificate for)", path))
	} else if ds, derr := parseDomains(c.Domains); derr != nil {
		errs = append(errs, fmt.Errorf("%s.domains: %w", path, derr))
	} else {
		for _, d := range ds {
			switch {
			case strings.HasPrefix(d, "*."):
				errs = append(errs, fmt.Errorf("%s.domains: %q: wildcard names need DNS-01, which is not supported", path, d))
			case !strings.Contains(d, "."):
				errs = append(errs, fmt.Errorf("%s.domains: %q: ACME needs a name with a dot", path, d))
			default:
				domains = append(domains, d)
			}
		}
	}
	if c.TLSCert != "" || c.TLSKey != "" {
		warnings = append(warnings, path+": tls_cert and tls_key are ignored because acme is set; the obtained certificate is kept in the ACME cache")
	}
	return dir, domains, warnings, errors.Join(errs...)
}

// acmeClient returns the process-long client for an ACME directory,
// creating it on first use.
func (m *Manager) acmeClient(dir string) (*acmeClient, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if c := m.acme[dir]; c != nil {
		return c, nil
	}
	cacheDir := m.opts.ACMECacheDir
	if cacheDir == "" {
		base, err := m.env.CacheDir()
		if err != nil {
			return nil, fmt.Errorf("finding a directory for the ACME cache: %w", err)
		}
		cacheDir = filepath.Join(base, "sluice", "acme")
	}
	c := &acmeClient{dir: dir}
	c.mgr = &autocert.Manager{
		// Pingap registers without a contact and accepts the terms.
		Prompt: autocert.AcceptTOS,
		// Accounts differ per directory, so each gets its own folder.
		Cache:      autocert.DirCache(filepath.Join(cacheDir, cacheName(dir))),
		HostPolicy: m.hostPolicy(c),
		Client: &acme.Client{
			DirectoryURL: dir,
			HTTPClient:   m.opts.ACMEHTTPClient,
			UserAgent:    "sluice",
		},
	}
	// Calling HTTPHandler turns HTTP-01 on next to TLS-ALPN-01; autocert
	// tries TLS-ALPN-01 first. The fallback is never reached: Manager's
	// handler only passes challenge paths.
	c.http = c.mgr.HTTPHandler(http.NotFoundHandler())
	if m.acme == nil {
		m.acme = map[string]*acmeClient{}
	}
	m.acme[dir] = c
	return c, nil
}

// cacheName turns a directory URL into a folder name.
func cacheName(dir string) string {
	u, err := url.Parse(dir)
	s := dir
	if err == nil {
		s = u.Host + u.Path
	}
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '-' {
			return r
		}
		return '_'
	}, s)
}

// hostPolicy allows exactly the names the current Store gives to client c.
// It reads the current Store, so a reload that adds or drops a name takes
// effect at once. The port is stripped: autocert hands HTTP-01 requests'
// Host header over as is, and an ACME server on a test port sends
// "name:port".
func (m *Manager) hostPolicy(c *acmeClient) autocert.HostPolicy {
	return func(_ context.Context, host string) error {
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h
		}
		host = strings.ToLower(strings.TrimSuffix(host, "."))
		if s := m.store.Load(); s != nil {
			if e := s.exact[host]; e != nil && e.acme == c {
				return nil
			}
		}
		return fmt.Errorf("tlsx: acme: %q is not among the domains of an acme certificate", host)
	}
}

// HTTPHandler answers ACME HTTP-01 challenges under
// /.well-known/acme-challenge/ for names of ACME certificates in the
// current Store, and hands every other request to next. The server mounts
// it on its plain-HTTP (port 80) servers, in front of routing. A challenge
// path for a name that is not an ACME name also goes to next, so a location
// may still serve such paths itself.
func (m *Manager) HTTPHandler(next http.Handler) http.Handler {
	if next == nil {
		next = http.NotFoundHandler()
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.URL.Path, challengePrefix) {
			next.ServeHTTP(w, r)
			return
		}
		host := r.Host
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h
		}
		host = strings.ToLower(strings.TrimSuffix(host, "."))
		s := m.store.Load()
		if s == nil {
			next.ServeHTTP(w, r)
			return
		}
		e := s.exact[host]
		if e == nil || e.acme == nil {
			next.ServeHTTP(w, r)
			return
		}
		e.acme.http.ServeHTTP(w, r)
	})
}

// Prefetch obtains (or loads from the cache) the certificate of every ACME
// name of the current Store, one after the other, so that the first client
// does not wait for issuance. It returns every failure, joined; ctx is
// checked between names (autocert bounds each issuance at 5 minutes). A name
// that fails is tried again by the first handshake that asks for it.
func (m *Manager) Prefetch(ctx context.Context) error {
	s := m.store.Load()
	if s == nil {
		return ErrNoConfig
	}
	var errs []error
	for _, name := range s.acmeNames {
		if err := ctx.Err(); err != nil {
			errs = append(errs, err)
			break
		}
		e := s.exact[name]
		if _, err := e.acme.mgr.GetCertificate(ecdsaHello(name)); err != nil {
			errs = append(errs, fmt.Errorf("certificates.%s: obtaining a certificate for %q: %w", e.name, name, err))
		}
	}
	return errors.Join(errs...)
}

// ecdsaHello is a ClientHello from a modern client, so that autocert
// obtains the ECDSA certificate such clients get rather than its RSA
// fallback.
func ecdsaHello(name string) *tls.ClientHelloInfo {
	return &tls.ClientHelloInfo{
		ServerName:       name,
		SignatureSchemes: []tls.SignatureScheme{tls.ECDSAWithP256AndSHA256},
		SupportedCurves:  []tls.CurveID{tls.CurveP256},
		CipherSuites:     []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256},
	}
}
