package sdk

import (
	"errors"
	"strings"
)

// UpstreamURL is an http(s) URL whose host names an upstream of the
// config (the way forward_auth's auth_url and jwt's jwks_url reach their
// services through http callouts).
type UpstreamURL struct {
	// Scheme is "http" or "https".
	Scheme string
	// Authority is the URL's host[:port], sent as :authority.
	Authority string
	// Path is the path and query, at least "/", without the fragment.
	Path string
	// Upstream is the host without its port: the upstream's name.
	Upstream string
}

// ParseUpstreamURL reads raw into its parts. Credentials in the URL are
// refused: callouts carry headers instead.
func ParseUpstreamURL(raw string) (UpstreamURL, error) {
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok || scheme != "http" && scheme != "https" {
		return UpstreamURL{}, errors.New("want an http:// or https:// URL")
	}
	end := strings.IndexAny(rest, "/?#")
	if end < 0 {
		end = len(rest)
	}
	host, path := rest[:end], rest[end:]
	if i := strings.IndexByte(path, '#'); i >= 0 {
		path = path[:i]
	}
	switch {
	case host == "" || strings.ContainsRune(host, ' '):
		return UpstreamURL{}, errors.New("want a host, the name of an upstream")
	case strings.ContainsRune(host, '@'):
		return UpstreamURL{}, errors.New("credentials in the URL are not supported; send them as headers")
	case path == "":
		path = "/"
	case path[0] == '?':
		path = "/" + path
	}
	name := host
	if i := strings.LastIndexByte(host, ':'); i >= 0 && !strings.HasSuffix(host, "]") {
		name = host[:i]
	}
	return UpstreamURL{Scheme: scheme, Authority: host, Path: path, Upstream: name}, nil
}
