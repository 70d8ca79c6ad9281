package tlsx

import (
	"crypto/tls"
	"errors"
	"fmt"

	"github.com/sluice-proxy/sluice/host/config"
)

// alpnACME is the ALPN protocol of the ACME TLS-ALPN-01 challenge (RFC 8737).
const alpnACME = "acme-tls/1"

// Defaults of tls_min_version and tls_max_version.
const (
	DefaultMinVersion = tls.VersionTLS12
	DefaultMaxVersion = tls.VersionTLS13
)

// ServerConfig builds the tls.Config of servers.NAME from its tls_* keys:
// versions (default 1.2 to 1.3), cipher suites for TLS ≤ 1.2, ALPN ("h2"
// then "http/1.1" when enabled_h2, else "http/1.1" alone) and session
// tickets (on; crypto/tls rotates their keys). getCert supplies the
// certificate for each handshake: a Store's or a Manager's GetCertificate.
// Errors name the key, e.g. servers.web.tls_min_version: ....
func ServerConfig(name string, srv *config.Server, getCert func(*tls.ClientHelloInfo) (*tls.Certificate, error)) (*tls.Config, error) {
	path := "servers." + name
	var errs []error
	minV, maxV := uint16(DefaultMinVersion), uint16(DefaultMaxVersion)
	var minErr, maxErr error
	if srv.TLSMinVersion != "" {
		if minV, minErr = ParseVersion(srv.TLSMinVersion); minErr != nil {
			errs = append(errs, fmt.Errorf("%s.tls_min_version: %w", path, minErr))
		}
	}
	if srv.TLSMaxVersion != "" {
		if maxV, maxErr = ParseVersion(srv.TLSMaxVersion); maxErr != nil {
			errs = append(errs, fmt.Errorf("%s.tls_max_version: %w", path, maxErr))
		}
	}
	if minErr == nil && maxErr == nil && minV > maxV {
		errs = append(errs, fmt.Errorf("%s.tls_min_version: %s is above tls_max_version %s",
			path, VersionName(minV), VersionName(maxV)))
	}
	var ciphers []uint16
	if srv.TLSCipherList != "" {
		var err error
		if ciphers, err = ParseCipherList(srv.TLSCipherList); err != nil {
			errs = append(errs, fmt.Errorf("%s.tls_cipher_list: %w", path, err))
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	protos := []string{"http/1.1"}
	if srv.EnabledH2 {
		protos = []string{"h2", "http/1.1"}
	}
	return &tls.Config{
		MinVersion:     minV,
		MaxVersion:     maxV,
		CipherSuites:   ciphers,
		NextProtos:     protos,
		GetCertificate: getCert,
		// Resumption saves a full handshake per returning client. Ticket
		// keys are crypto/tls's own, rotated daily; a Manager's front
		// config owns them, so tickets survive reloads.
		SessionTicketsDisabled: false,
	}, nil
}

// serverWarnings lists the tls_* keys of a server that have no effect.
func serverWarnings(name string, srv *config.Server) []string {
	var w []string
	path := "servers." + name
	if srv.TLSCiphersuites != "" {
		w = append(w, path+".tls_ciphersuites: ignored; Go does not let a server choose TLS 1.3 suites (all of them are secure)")
	}
	if !srv.GlobalCertificates && (srv.TLSMinVersion != "" || srv.TLSMaxVersion != "" || srv.TLSCipherList != "") {
		w = append(w, path+": tls_* keys are ignored because global_certificates is not set (the server speaks plain HTTP)")
	}
	return w
}

// acmeConfig is the variant of a server's config used for the TLS-ALPN-01
// challenge handshake: it negotiates only acme-tls/1, which RFC 8737 §3
// requires over TLS 1.2 or later, whatever the server's own settings.
func acmeConfig(base *tls.Config) *tls.Config {
	c := base.Clone()
	c.NextProtos = []string{alpnACME}
	c.MinVersion = tls.VersionTLS12
	c.MaxVersion = tls.VersionTLS13
	c.CipherSuites = nil
	return c
}

// wantsACMEChallenge reports whether a ClientHello is an ACME server
// validating TLS-ALPN-01: it offers acme-tls/1 and nothing else.
func wantsACMEChallenge(hello *tls.ClientHelloInfo) bool {
	return len(hello.SupportedProtos) == 1 && hello.SupportedProtos[0] == alpnACME
}
