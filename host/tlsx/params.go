package tlsx

import (
	"crypto/tls"
	"errors"
	"fmt"
	"strings"
)

// versions maps every accepted spelling of a TLS version (lowercase) to its
// number. Pingap documents "tlsv1.2" and its sample config "tls1.2"; both
// are accepted, with and without ".0" for 1.0.
var versions = map[string]uint16{
	"tlsv1": tls.VersionTLS10, "tlsv1.0": tls.VersionTLS10, "tls1": tls.VersionTLS10, "tls1.0": tls.VersionTLS10,
	"tlsv1.1": tls.VersionTLS11, "tls1.1": tls.VersionTLS11,
	"tlsv1.2": tls.VersionTLS12, "tls1.2": tls.VersionTLS12,
	"tlsv1.3": tls.VersionTLS13, "tls1.3": tls.VersionTLS13,
}

// ParseVersion parses a tls_min_version or tls_max_version value: "tlsv1.1",
// "tlsv1.2", "tlsv1.3" (also "tls1.2", "TLSv1.2", and 1.0), any case.
// Unlike Pingap, which silently reads an unknown value as TLS 1.2, an
// unknown value is an error.
func ParseVersion(s string) (uint16, error) {
	v, ok := versions[strings.ToLower(strings.TrimSpace(s))]
	if !ok {
		return 0, fmt.Errorf("unknown TLS version %q (want tlsv1.1, tlsv1.2 or tlsv1.3)", s)
	}
	return v, nil
}

// VersionName returns the OpenSSL spelling of a TLS version ("TLSv1.3"),
// which is what Pingap's {tls_version} log placeholder shows.
func VersionName(v uint16) string {
	switch v {
	case tls.VersionTLS10:
		return "TLSv1"
	case tls.VersionTLS11:
		return "TLSv1.1"
	case tls.VersionTLS12:
		return "TLSv1.2"
	case tls.VersionTLS13:
		return "TLSv1.3"
	}
	return ""
}

// suite is one cipher suite Go implements, with its OpenSSL name.
type suite struct {
	id       uint16
	openssl  string
	insecure bool
	tls13    bool
}

// suites lists every suite crypto/tls implements. The OpenSSL names are
// those of `openssl ciphers -V`; TLS 1.3 suites have the same name in both.
var suites = []suite{
	{tls.TLS_AES_128_GCM_SHA256, "TLS_AES_128_GCM_SHA256", false, true},
	{tls.TLS_AES_256_GCM_SHA384, "TLS_AES_256_GCM_SHA384", false, true},
	{tls.TLS_CHACHA20_POLY1305_SHA256, "TLS_CHACHA20_POLY1305_SHA256", false, true},
	{tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA, "ECDHE-ECDSA-AES128-SHA", false, false},
	{tls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA, "ECDHE-ECDSA-AES256-SHA", false, false},
	{tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA, "ECDHE-RSA-AES128-SHA", false, false},
	{tls.TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA, "ECDHE-RSA-AES256-SHA", false, false},
	{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, "ECDHE-ECDSA-AES128-GCM-SHA256", false, false},
	{tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, "ECDHE-ECDSA-AES256-GCM-SHA384", false, false},
	{tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, "ECDHE-RSA-AES128-GCM-SHA256", false, false},
	{tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384, "ECDHE-RSA-AES256-GCM-SHA384", false, false},
	{tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256, "ECDHE-RSA-CHACHA20-POLY1305", false, false},
	{tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, "ECDHE-ECDSA-CHACHA20-POLY1305", false, false},
	{tls.TLS_RSA_WITH_RC4_128_SHA, "RC4-SHA", true, false},
	{tls.TLS_RSA_WITH_3DES_EDE_CBC_SHA, "DES-CBC3-SHA", true, false},
	{tls.TLS_RSA_WITH_AES_128_CBC_SHA, "AES128-SHA", true, false},
	{tls.TLS_RSA_WITH_AES_256_CBC_SHA, "AES256-SHA", true, false},
	{tls.TLS_RSA_WITH_AES_128_CBC_SHA256, "AES128-SHA256", true, false},
	{tls.TLS_RSA_WITH_AES_128_GCM_SHA256, "AES128-GCM-SHA256", true, false},
	{tls.TLS_RSA_WITH_AES_256_GCM_SHA384, "AES256-GCM-SHA384", true, false},
	{tls.TLS_ECDHE_ECDSA_WITH_RC4_128_SHA, "ECDHE-ECDSA-RC4-SHA", true, false},
	{tls.TLS_ECDHE_RSA_WITH_RC4_128_SHA, "ECDHE-RSA-RC4-SHA", true, false},
	{tls.TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA, "ECDHE-RSA-DES-CBC3-SHA", true, false},
	{tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256, "ECDHE-ECDSA-AES128-SHA256", true, false},
	{tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256, "ECDHE-RSA-AES128-SHA256", true, false},
}

// suiteByName indexes suites by their Go and OpenSSL names, upper case.
var suiteByName = func() map[string]suite {
	m := make(map[string]suite, 2*len(suites))
	for _, s := range suites {
		m[strings.ToUpper(tls.CipherSuiteName(s.id))] = s
		m[strings.ToUpper(s.openssl)] = s
	}
	return m
}()

// ParseCipherList parses tls_cipher_list: suite names separated by ":" or
// ",", each a Go name (TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256) or an OpenSSL
// name (ECDHE-RSA-AES128-GCM-SHA256), any case. The result keeps the
// order given. Only TLS 1.0–1.2 suites can be chosen: crypto/tls does not
// let a server configure TLS 1.3 suites, so naming one is an error rather
// than a silent no-op. Suites crypto/tls calls insecure (RC4, 3DES, RSA key
// exchange, CBC-SHA256) are refused too. OpenSSL keywords such as "HIGH" or
// "!aNULL" are not understood and are errors.
func ParseCipherList(s string) ([]uint16, error) {
	var ids []uint16
	var errs []error
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ':' || r == ',' || r == ' ' }) {
		st, ok := suiteByName[strings.ToUpper(f)]
		switch {
		case !ok:
			errs = append(errs, fmt.Errorf("unknown cipher suite %q (use Go or OpenSSL suite names, e.g. ECDHE-RSA-AES128-GCM-SHA256)", f))
		case st.tls13:
			errs = append(errs, fmt.Errorf("%q is a TLS 1.3 suite, which Go does not let a server configure; remove it", f))
		case st.insecure:
			errs = append(errs, fmt.Errorf("cipher suite %q is insecure and not offered", f))
		default:
			ids = append(ids, st.id)
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	if len(ids) == 0 {
		return nil, errors.New("no cipher suites in the list")
	}
	return ids, nil
}

// CipherName returns the OpenSSL name of a cipher suite
// ("ECDHE-RSA-AES128-GCM-SHA256", "TLS_AES_128_GCM_SHA256"), which is what
// Pingap's {tls_cipher} log placeholder shows, or Go's name for a suite
// missing from the table.
func CipherName(id uint16) string {
	for i := range suites {
		if suites[i].id == id {
			return suites[i].openssl
		}
	}
	return tls.CipherSuiteName(id)
}
