package config

import (
	"encoding/base64"
	"strings"
)

func (k *checker) certificates() {
	c := k.c
	defaultCert := ""
	for _, name := range sortedKeys(c.Certificates) {
		p := join("certificates", name)
		cert := c.Certificates[name]
		if !k.item(p, name, cert == nil) {
			continue
		}
		hasCert, hasKey := cert.TLSCert != "", cert.TLSKey != ""
		switch {
		case hasCert != hasKey && hasCert:
			k.r.errorf(sub(p, "tls_key"), "required with tls_cert")
		case hasCert != hasKey:
			k.r.errorf(sub(p, "tls_cert"), "required with tls_key")
		case k.r.isBad(sub(p, "tls_cert")) || k.r.isBad(sub(p, "tls_key")) || k.r.isBad(sub(p, "acme")):
			// Already reported: a key is there but could not be decoded.
		case !hasCert && cert.Acme == "":
			k.r.errorf(p, "want tls_cert and tls_key, or acme = \"lets_encrypt\"")
		}
		if hasCert {
			k.pemSource(sub(p, "tls_cert"), cert.TLSCert)
		}
		if hasKey {
			k.pemSource(sub(p, "tls_key"), cert.TLSKey)
		}
		if cert.IsCA && (!hasCert || !hasKey) {
			k.r.errorf(sub(p, "is_ca"), "a CA needs tls_cert and tls_key")
		}
		k.oneOf(sub(p, "acme"), cert.Acme, acmeProviders, false)
		if cert.Acme != "" && strings.TrimSpace(cert.Domains) == "" {
			k.r.errorf(sub(p, "domains"), "required with acme: the names to obtain the certificate for")
		}
		if cert.AcmeDirectory != "" {
			k.url(sub(p, "acme_directory"), cert.AcmeDirectory, "https", "http")
		}
		if cert.DNSChallenge && cert.Acme == "" {
			k.r.errorf(sub(p, "dns_challenge"), "needs acme = \"lets_encrypt\"")
		}
		k.oneOf(sub(p, "dns_provider"), cert.DNSProvider, dnsProviders, false)
		if cert.DNSServiceURL != "" {
			k.url(sub(p, "dns_service_url"), cert.DNSServiceURL, "https", "http")
		}
		k.nonNegative(sub(p, "buffer_days"), int64(cert.BufferDays))
		if cert.Domains != "" {
			for d := range strings.SplitSeq(cert.Domains, ",") {
				d = strings.TrimSpace(d)
				if !validHostname(strings.TrimPrefix(d, "*.")) {
					k.r.errorf(sub(p, "domains"), "%q is not a domain name or *.wildcard", d)
				}
			}
		}
		if cert.IsDefault {
			if defaultCert != "" {
				k.r.errorf(sub(p, "is_default"), "%s is already the default certificate", defaultCert)
			} else {
				defaultCert = p
			}
		}
	}
}

// pemSource checks that a tls_cert or tls_key value is PEM text, base64 of
// PEM, or the path of an existing file. host/tlsx parses the PEM itself;
// this catches the common mistake, a path that does not exist, at load time
// with the key's name.
func (k *checker) pemSource(path, v string) {
	t := strings.TrimSpace(v)
	if strings.HasPrefix(t, "-----BEGIN") {
		return
	}
	if b, err := base64.StdEncoding.DecodeString(t); err == nil && strings.Contains(string(b), "-----BEGIN") {
		return
	}
	if k.e.statFile == nil {
		return
	}
	if err := k.e.statFile(k.c.Resolve(t)); err != nil {
		k.r.errorf(path, "neither PEM, nor base64 of PEM, nor a readable file: %v", err)
	}
}
