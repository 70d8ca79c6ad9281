package tlsx

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/sluice-proxy/sluice/host/config"
)

// Options are the process-long settings of a Manager.
type Options struct {
	// ACMECacheDir is where ACME accounts and obtained certificates are
	// kept, one folder per ACME directory. Empty means
	// <user cache dir>/sluice/acme. It must survive restarts, or every
	// start orders new certificates and meets the CA's rate limits.
	ACMECacheDir string
	// ACMEHTTPClient is used to talk to ACME servers. Nil means
	// http.DefaultClient. Tests set one that trusts a test CA.
	ACMEHTTPClient *http.Client
	// Env holds file access and the clock; zero fields are the real ones.
	Env Env
}

// Manager is the process-long owner of TLS: it holds the current Store
// behind an atomic pointer, hands out one tls.Config per server that reads
// that pointer on every handshake (so listeners survive reloads), and keeps
// ACME clients across generations. All methods are safe for concurrent use.
type Manager struct {
	opts  Options
	env   Env
	store atomic.Pointer[Store]

	mu     sync.Mutex
	acme   map[string]*acmeClient // by directory URL
	fronts map[string]*tls.Config // by server name
}

// NewManager returns a Manager with no Store: handshakes fail with
// ErrNoConfig until the first Swap.
func NewManager(opts Options) *Manager {
	return &Manager{opts: opts, env: opts.Env.withDefaults(), fronts: map[string]*tls.Config{}}
}

// Build loads every [certificates] table and the TLS settings of every
// server with global_certificates into a new Store, without touching the
// running one. baseDir resolves relative certificate paths (the config
// file's directory). Every problem is returned, joined, each naming its
// config path; the Store is nil then. Warnings are on the Store.
func (m *Manager) Build(cfg *config.Config, baseDir string) (*Store, error) {
	s := newStore()
	var errs []error
	loader := Loader{BaseDir: baseDir, Env: m.env}

	for _, name := range sortedKeys(cfg.Certificates) {
		c := cfg.Certificates[name]
		if c == nil {
			continue
		}
		if c.Acme != "" {
			if err := m.addACME(s, name, c); err != nil {
				errs = append(errs, err)
			}
			continue
		}
		if c.IsCA {
			errs = append(errs, fmt.Errorf("certificates.%s.is_ca: minting certificates from a CA is not supported", name))
			continue
		}
		lc, err := loader.Load(name, c)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if err := s.add(&entry{name: name, cert: &lc.TLS}, lc.Domains, lc.Default); err != nil {
			errs = append(errs, err)
		}
		s.certs = append(s.certs, lc)
		s.warnings = append(s.warnings, lc.Warnings...)
	}

	for _, name := range sortedKeys(cfg.Servers) {
		srv := cfg.Servers[name]
		if srv == nil {
			continue
		}
		s.warnings = append(s.warnings, serverWarnings(name, srv)...)
		if !srv.GlobalCertificates {
			continue
		}
		tc, err := ServerConfig(name, srv, s.GetCertificate)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if len(cfg.Certificates) == 0 {
			errs = append(errs, fmt.Errorf("servers.%s.global_certificates: there are no [certificates] to serve", name))
			continue
		}
		st := &serverTLS{cfg: tc}
		if len(s.acmeNames) > 0 {
			st.acme = acmeConfig(tc)
		}
		s.servers[name] = st
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return s, nil
}

// addACME adds an ACME certificate's names to s.
func (m *Manager) addACME(s *Store, name string, c *config.Certificate) error {
	dir, domains, warnings, err := acmeSettings(name, c)
	s.warnings = append(s.warnings, warnings...)
	if err != nil {
		return err
	}
	client, err := m.acmeClient(dir)
	if err != nil {
		return fmt.Errorf("certificates.%s.acme: %w", name, err)
	}
	e := &entry{name: name, acme: client, domain: domains[0]}
	if err := s.add(e, domains, c.IsDefault); err != nil {
		return err
	}
	for _, d := range domains {
		if s.exact[d] == e {
			s.acmeNames = append(s.acmeNames, d)
		}
	}
	return nil
}

// Swap makes s the Store every following handshake uses and returns the
// previous one. Handshakes in progress finish with the Store they started
// with; established connections are not touched.
func (m *Manager) Swap(s *Store) *Store { return m.store.Swap(s) }

// Store returns the current Store, or nil before the first Swap.
func (m *Manager) Store() *Store { return m.store.Load() }

// GetCertificate picks a certificate from the current Store (see
// Store.GetCertificate).
func (m *Manager) GetCertificate(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	s := m.store.Load()
	if s == nil {
		return nil, fmt.Errorf("%w: no configuration loaded yet", ErrNoConfig)
	}
	return s.GetCertificate(hello)
}

// TLSConfig returns the tls.Config for the listener of servers.NAME. It is
// the same pointer on every call, and it stays valid across reloads: on each
// handshake it reads the current Store and continues with that
// generation's settings for the server (versions, ciphers, ALPN,
// certificates), or with the TLS-ALPN-01 variant when an ACME server is
// validating. Session-ticket keys belong to this config, so resumption
// works across reloads. A handshake fails with ErrNoConfig when the current
// Store has no TLS settings for the server.
func (m *Manager) TLSConfig(server string) *tls.Config {
	m.mu.Lock()
	defer m.mu.Unlock()
	if c := m.fronts[server]; c != nil {
		return c
	}
	c := &tls.Config{
		GetConfigForClient: func(hello *tls.ClientHelloInfo) (*tls.Config, error) {
			s := m.store.Load()
			if s == nil {
				return nil, fmt.Errorf("%w: no configuration loaded yet", ErrNoConfig)
			}
			st := s.servers[server]
			if st == nil {
				return nil, fmt.Errorf("%w for server %q in the current configuration", ErrNoConfig, server)
			}
			if st.acme != nil && wantsACMEChallenge(hello) {
				return st.acme, nil
			}
			return st.cfg, nil
		},
		// Only consulted by code that inspects the config (http.Server's
		// ServeTLS insists on a certificate source); handshakes use the
		// generation's config returned above.
		GetCertificate: m.GetCertificate,
		MinVersion:     DefaultMinVersion,
	}
	m.fronts[server] = c
	return c
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
