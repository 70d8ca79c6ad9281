package tlsx

import (
	"crypto/tls"
	"fmt"
	"strings"
)

// maxNameLen is the longest DNS name (RFC 1035 §2.3.4); longer server
// names cannot match any certificate.
const maxNameLen = 253

// Store is the certificate set of one config generation, plus the TLS
// settings of each TLS server of that generation. It is immutable once
// built, so any number of handshakes may read it at once; a reload builds a
// new Store and swaps it into the Manager.
type Store struct {
	// exact maps lowercase names to their entry; wild maps the parent of a
	// "*.parent" wildcard to its entry.
	exact map[string]*entry
	wild  map[string]*entry
	// def is the is_default certificate, or nil.
	def *entry
	// certs are the static certificates, in load order.
	certs []*Certificate
	// acmeNames are the names ACME certificates are obtained for.
	acmeNames []string
	// servers are the per-server TLS configs, by server name.
	servers  map[string]*serverTLS
	warnings []string
}

// entry is what a name resolves to: a static certificate, or an ACME client
// that obtains and renews one.
type entry struct {
	name string
	cert *tls.Certificate
	acme *acmeClient
	// domain is an ACME entry's first name, asked for when it serves as
	// the default certificate for a server name it does not cover.
	domain string
}

// serverTLS is one server's config and its TLS-ALPN-01 variant (nil when the
// generation has no ACME certificate).
type serverTLS struct {
	cfg, acme *tls.Config
}

// NewStore builds a Store from loaded static certificates. A name claimed by
// two certificates goes to the first and produces a warning; two is_default
// certificates are an error. The Store has no server settings: use
// ServerConfig with its GetCertificate, or Manager.Build for a whole
// config.
func NewStore(certs []*Certificate) (*Store, error) {
	s := newStore()
	for _, c := range certs {
		e := &entry{name: c.Name, cert: &c.TLS}
		if err := s.add(e, c.Domains, c.Default); err != nil {
			return nil, err
		}
		s.certs = append(s.certs, c)
		s.warnings = append(s.warnings, c.Warnings...)
	}
	return s, nil
}

func newStore() *Store {
	return &Store{exact: map[string]*entry{}, wild: map[string]*entry{}, servers: map[string]*serverTLS{}}
}

// add indexes e under each of its names.
func (s *Store) add(e *entry, domains []string, isDefault bool) error {
	if isDefault {
		if s.def != nil {
			return fmt.Errorf("certificates.%s.is_default: certificates.%s is already the default", e.name, s.def.name)
		}
		s.def = e
	}
	for _, d := range domains {
		m, key := s.exact, d
		if parent, ok := strings.CutPrefix(d, "*."); ok {
			m, key = s.wild, parent
		}
		if prev, ok := m[key]; ok {
			if prev != e {
				s.warnings = append(s.warnings, fmt.Sprintf("certificates.%s: %q is already served by certificates.%s, which keeps it", e.name, d, prev.name))
			}
			continue
		}
		m[key] = e
	}
	return nil
}

// Warnings returns the problems found while building the Store that did not
// stop it (expiring certificates, names claimed twice, ignored keys), each
// prefixed with its config path. The host logs them after a reload.
func (s *Store) Warnings() []string { return s.warnings }

// Certificates returns the static certificates of the Store, in load order
// (ACME certificates live in their cache, not here). For display only.
func (s *Store) Certificates() []*Certificate { return s.certs }

// ServerConfig returns the tls.Config built for servers.NAME in this
// generation, or nil if that server is not a TLS server here. A listener
// that must survive reloads uses Manager.TLSConfig instead.
func (s *Store) ServerConfig(name string) *tls.Config {
	if st := s.servers[name]; st != nil {
		return st.cfg
	}
	return nil
}

// lookup finds the entry for a server name: exact name, then the one-level
// wildcard of its parent, then the default. It does not allocate: SNI is
// case-insensitive, so a name with capitals is lowered into a stack buffer
// and the maps are indexed with string(bytes), which Go does without a
// copy.
func (s *Store) lookup(sni string) *entry {
	if sni == "" || len(sni) > maxNameLen {
		return s.def
	}
	if !hasUpper(sni) {
		if e := s.exact[sni]; e != nil {
			return e
		}
		if i := strings.IndexByte(sni, '.'); i >= 0 {
			if e := s.wild[sni[i+1:]]; e != nil {
				return e
			}
		}
		return s.def
	}
	var buf [maxNameLen]byte
	b := buf[:len(sni)]
	dot := -1
	for i := 0; i < len(sni); i++ {
		c := sni[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c == '.' && dot < 0 {
			dot = i
		}
		b[i] = c
	}
	if e := s.exact[string(b)]; e != nil {
		return e
	}
	if dot >= 0 {
		if e := s.wild[string(b[dot+1:])]; e != nil {
			return e
		}
	}
	return s.def
}

func hasUpper(s string) bool {
	for i := 0; i < len(s); i++ {
		if 'A' <= s[i] && s[i] <= 'Z' {
			return true
		}
	}
	return false
}

// GetCertificate picks the certificate for a handshake by SNI: exact name,
// then "*.parent" one level up, then the is_default certificate (also for
// clients that send no SNI). Names covered by an ACME certificate are
// answered by its ACME client, which obtains the certificate on first use
// and answers TLS-ALPN-01 challenges. With no match the handshake fails
// with ErrNoCertificate naming the server name. A static certificate is a
// map hit with no allocation.
func (s *Store) GetCertificate(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	e := s.lookup(hello.ServerName)
	if e == nil {
		if hello.ServerName == "" {
			return nil, fmt.Errorf("%w for a client that sent no server name (SNI), and no certificate is_default", ErrNoCertificate)
		}
		return nil, fmt.Errorf("%w for server name %q, and no certificate is_default", ErrNoCertificate, hello.ServerName)
	}
	if e.cert != nil {
		return e.cert, nil
	}
	if e == s.def && !e.covers(s, hello.ServerName) {
		// The ACME default answers a name it was not issued for with its
		// own certificate, as a static default would.
		h := *hello
		h.ServerName = e.domain
		return e.acme.mgr.GetCertificate(&h)
	}
	return e.acme.mgr.GetCertificate(hello)
}

// covers reports whether name reaches e by its own names rather than as
// the default.
func (e *entry) covers(s *Store, name string) bool {
	if name == "" || len(name) > maxNameLen {
		return false
	}
	if x := s.exact[strings.ToLower(name)]; x == e {
		return true
	}
	return false
}
