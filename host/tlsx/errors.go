package tlsx

import "errors"

// ErrNoCertificate is returned by GetCertificate (and so fails the
// handshake) when no certificate matches the client's server name and no
// certificate is marked is_default. The wrapping error names the server
// name.
var ErrNoCertificate = errors.New("tlsx: no certificate")

// ErrNoConfig is returned during a handshake when the Manager has no Store
// yet, or the current Store has no TLS settings for the listener's server
// (the server was removed from the configuration).
var ErrNoConfig = errors.New("tlsx: no TLS configuration")
