package sdk

import "strings"

// WithoutQueryParam returns path, a request's :path such as "/a?x=1&k=2",
// with every query parameter called name removed (names compared after
// percent-decoding, as QueryValue does), and the "?" too when no parameter
// is left; the other parameters keep their order and encoding. It returns
// path itself when name is not there. Plugins use it to strip a credential
// (key_auth's hide_credentials) before the request goes upstream.
func WithoutQueryParam(path, name string) string {
	base, query, ok := strings.Cut(path, "?")
	if !ok {
		return path
	}
	var b strings.Builder
	removed := false
	for query != "" {
		var pair string
		pair, query, _ = strings.Cut(query, "&")
		k, _, _ := strings.Cut(pair, "=")
		if _, is := QueryValue(k, name); is {
			removed = true
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('&')
		}
		b.WriteString(pair)
	}
	if !removed {
		return path
	}
	if b.Len() == 0 {
		return base
	}
	return base + "?" + b.String()
}
