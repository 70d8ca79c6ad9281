// Package tlsx terminates TLS for sluice: it loads [certificates.NAME]
// tables, picks a certificate by SNI, builds each TLS server's tls.Config
// from its tls_* keys, obtains certificates through ACME, and times
// handshakes. It is named tlsx so that it does not shadow crypto/tls.
//
// # Certificates
//
// A certificate table gives tls_cert (the chain, leaf first) and tls_key,
// each in one of three forms, recognised in this order:
//
//   - inline PEM: the value contains "-----BEGIN";
//   - base64 of PEM: the value decodes (standard alphabet, padding and line
//     breaks optional) to text containing "-----BEGIN";
//   - a file path: "~" is the home directory, a relative path is taken from
//     the config file's directory (Loader.BaseDir).
//
// RSA, ECDSA and Ed25519 keys are accepted as PKCS#8, PKCS#1 or SEC 1 PEM;
// encrypted keys are refused. A key that does not match the leaf, or data
// that does not parse, is an error naming the key:
//
//	certificates.api.tls_key: private key (RSA 2048) does not match the certificate's public key (ECDSA P-256) (certificate in certificates.api.tls_cert)
//
// An expired or not yet valid certificate still loads, with a warning
// (Store.Warnings), as does one within buffer_days (default 7) of expiry:
// refusing it would turn one lapsed name into an outage for all of them.
//
// The names a certificate serves are `domains` (comma-separated, "*.x.com"
// allowed) when set, else the leaf's DNS SANs, else its common name.
//
// # SNI selection
//
// A Store indexes the names of one config generation. For a ClientHello it
// tries, in order: the exact name (case-insensitive); the one-level
// wildcard of its parent ("a.b.test" → "*.b.test", never "*.test"); the
// is_default certificate. A client that sends no SNI gets the default. With
// no match the handshake fails with ErrNoCertificate naming the server name.
// A name claimed twice stays with the first certificate in name order, with
// a warning; two is_default certificates are an error. A lookup is one or
// two map hits and allocates nothing.
//
// # Servers and reloads
//
// ServerConfig turns a server's keys into a tls.Config: tls_min_version and
// tls_max_version ("tlsv1.1", "tlsv1.2", "tlsv1.3", also "tls1.2", any case;
// default 1.2 to 1.3; unknown values are errors), tls_cipher_list (Go or
// OpenSSL suite names, TLS ≤ 1.2 only, since Go fixes the TLS 1.3 suites),
// ALPN "h2" and "http/1.1" when enabled_h2, else "http/1.1", and session
// tickets on.
//
// The Manager lives as long as the process. On each load the host calls
// Manager.Build, which checks everything and returns a Store (or every
// error, joined, with the running Store untouched), then Manager.Swap. A
// listener is created once with Manager.TLSConfig(server): that config's
// GetConfigForClient reads the current Store with one atomic load per
// handshake, so new certificates and new tls_* settings apply to the next
// handshake, established connections keep theirs, and listeners never
// restart. Session-ticket keys live in that long-lived config, so sessions
// resume across reloads.
//
// # ACME
//
// A certificate with acme = "lets_encrypt" and `domains` is obtained from
// Let's Encrypt, or from the directory acme_directory names, by
// golang.org/x/crypto/acme/autocert. One autocert client per directory
// lives in the Manager across reloads, with its account and certificates in
// Options.ACMECacheDir/<directory host and path>. Its host policy is the
// current Store's ACME names. Challenges:
//
//   - TLS-ALPN-01: when a ClientHello offers only "acme-tls/1", the
//     server's config switches to a variant that negotiates it, and
//     autocert answers with the challenge certificate. Nothing to mount.
//   - HTTP-01: the server mounts Manager.HTTPHandler in front of routing on
//     its plain-HTTP port-80 servers; it answers
//     /.well-known/acme-challenge/ for ACME names and passes every other
//     request on.
//
// A certificate is obtained by the first handshake that needs it, or ahead
// of time by Manager.Prefetch; it is then served by SNI like any other and
// renewed by autocert 30 days before expiry. DNS-01 (dns_challenge) and
// wildcard ACME names are refused at load, as is is_ca (minting per-SNI
// certificates from a CA).
//
// # Handshake timing
//
// NewListener wraps a TCP listener: it handshakes each connection on its
// own goroutine under a timeout and returns from Accept only finished
// *tls.Conn values, so a slow client never blocks Accept and net/http still
// sees TLS (r.TLS, h2 by ALPN); TLS-ALPN-01 validations end at the
// handshake and never reach Accept. Info(conn) gives the negotiated version,
// cipher, ALPN, SNI and the handshake's duration, e.g. from
// http.Server.ConnContext; ListenerOptions.OnHandshake observes successes
// and failures for metrics.
//
// # Concurrency
//
// Loader, Store and the configs they produce are immutable after
// construction. Manager and Listener methods may be called from any
// goroutine.
package tlsx
