package config

import (
	"errors"
	"fmt"
	"math"
	"net/netip"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// This file holds the parsers of the small languages inside config
// strings. Validation uses them, and the packages that compile a Config
// should too, so that what loads is exactly what runs.

// UpstreamAddr is one parsed entry of Upstream.Addrs.
type UpstreamAddr struct {
	// Host is a host name or an IP address (IPv6 without brackets).
	Host string
	// Port is 0 when the entry has none; the default then depends on
	// Upstream.Sni (see HostPort).
	Port int
	// Weight is the entry's weight, 1 when it has none.
	Weight int
}

// HostPort returns "host:port", using defaultPort when the entry has no
// port.
func (a UpstreamAddr) HostPort(defaultPort int) string {
	p := a.Port
	if p == 0 {
		p = defaultPort
	}
	if strings.Contains(a.Host, ":") {
		return "[" + a.Host + "]:" + strconv.Itoa(p)
	}
	return a.Host + ":" + strconv.Itoa(p)
}

// IsIP reports whether Host is an IP address rather than a name to resolve.
func (a UpstreamAddr) IsIP() bool {
	_, err := netip.ParseAddr(a.Host)
	return err == nil
}

// ParseUpstreamAddr parses "host[:port] [weight]". IPv6 addresses need
// brackets ("[::1]:8080"). Addresses no backend can have (unspecified,
// multicast, broadcast, link-local) are refused, as Pingap does.
func ParseUpstreamAddr(s string) (UpstreamAddr, error) {
	fields := strings.Fields(s)
	if len(fields) == 0 || len(fields) > 2 {
		return UpstreamAddr{}, fmt.Errorf("invalid address %q: want \"host:port [weight]\"", s)
	}
	a := UpstreamAddr{Weight: 1}
	host, port, err := splitHostPort(fields[0])
	if err != nil {
		return UpstreamAddr{}, fmt.Errorf("invalid address %q: %w", s, err)
	}
	a.Host = host
	if port != "" {
		n, err := strconv.Atoi(port)
		if err != nil || n < 1 || n > 65535 {
			return UpstreamAddr{}, fmt.Errorf("invalid address %q: port %q is not a number from 1 to 65535", s, port)
		}
		a.Port = n
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		if why := unusableBackend(ip); why != "" {
			return UpstreamAddr{}, fmt.Errorf("invalid address %q: %s", s, why)
		}
	} else if !validHostname(host) {
		return UpstreamAddr{}, fmt.Errorf("invalid address %q: %q is neither an IP address nor a host name", s, host)
	}
	if len(fields) == 2 {
		w, err := strconv.Atoi(fields[1])
		if err != nil || w < 1 || w > math.MaxInt32 {
			return UpstreamAddr{}, fmt.Errorf("invalid address %q: weight %q is not a positive integer", s, fields[1])
		}
		a.Weight = w
	}
	return a, nil
}

// splitHostPort splits "host", "host:port", "[v6]" or "[v6]:port". The
// port, when present, is returned unchecked.
func splitHostPort(s string) (host, port string, err error) {
	if strings.HasPrefix(s, "[") {
		end := strings.IndexByte(s, ']')
		if end < 0 {
			return "", "", errors.New("missing ']'")
		}
		host, rest := s[1:end], s[end+1:]
		if ip, err := netip.ParseAddr(host); err != nil || !ip.Is6() {
			return "", "", fmt.Errorf("%q in brackets is not an IPv6 address", host)
		}
		if rest == "" {
			return host, "", nil
		}
		if rest[0] != ':' || len(rest) == 1 {
			return "", "", errors.New("want a port after ']:'")
		}
		return host, rest[1:], nil
	}
	switch strings.Count(s, ":") {
	case 0:
		return s, "", nil
	case 1:
		host, port, _ = strings.Cut(s, ":")
		if port == "" {
			return "", "", errors.New("empty port")
		}
		return host, port, nil
	}
	return "", "", errors.New("an IPv6 address needs brackets, as in [::1]:8080")
}

// unusableBackend says why an IP cannot be a backend, or "".
func unusableBackend(ip netip.Addr) string {
	switch {
	case ip.IsUnspecified():
		return ip.String() + " is the unspecified address"
	case ip.IsMulticast():
		return ip.String() + " is a multicast address"
	case ip == netip.AddrFrom4([4]byte{255, 255, 255, 255}):
		return ip.String() + " is the broadcast address"
	case ip.IsLinkLocalUnicast():
		return ip.String() + " is a link-local address"
	}
	return ""
}

// validHostname reports whether s is a DNS name: dot-separated labels of
// letters, digits, '-' and '_' (seen in service names), none empty or
// longer than 63 bytes, 253 bytes at most, a trailing dot allowed.
func validHostname(s string) bool {
	s = strings.TrimSuffix(s, ".")
	if s == "" || len(s) > 253 {
		return false
	}
	for label := range strings.SplitSeq(s, ".") {
		if label == "" || len(label) > 63 {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	return true
}

// HealthCheck is a parsed Upstream.HealthCheck (Pingap's URL syntax:
// "<scheme>://<host>[/path][?options]").
type HealthCheck struct {
	// Scheme is "tcp", "http", "https" or "grpc".
	Scheme string
	// Host is the URL's host, with its port if it has one; HTTP checks send
	// it as the Host header (conventionally the upstream's name). The check
	// itself goes to every backend.
	Host string
	// Path is the HTTP request path, "/" when the URL has none.
	Path string
	// ConnectionTimeout bounds connecting (including TLS). Default 3s.
	ConnectionTimeout time.Duration
	// ReadTimeout bounds writing the check and reading its answer. Default 3s.
	ReadTimeout time.Duration
	// CheckFrequency is the interval between checks. Default 10s.
	CheckFrequency time.Duration
	// Success and Failure are the consecutive outcomes that mark a backend
	// healthy or unhealthy. Defaults 1 and 2.
	Success, Failure int
	// Reuse keeps the check's connection open between checks.
	Reuse bool
	// Parallel checks the backends concurrently.
	Parallel bool
	// TLS and Service configure gRPC checks: TLS to the backend, and the
	// service name asked about.
	TLS     bool
	Service string
	// Query holds the URL's other query parameters, encoded; HTTP checks
	// send them with the request, as Pingap does.
	Query string
}

var healthOptions = []string{"check_frequency", "connection_timeout", "failure", "parallel", "read_timeout", "reuse", "service", "success", "tls"}

// ParseHealthCheck parses Upstream.HealthCheck. The empty string is the
// default check: a TCP connect every 10s with a 3s timeout, one failure or
// success flipping the state.
func ParseHealthCheck(s string) (*HealthCheck, error) {
	h := &HealthCheck{
		Scheme:            "tcp",
		Path:              "/",
		ConnectionTimeout: 3 * time.Second,
		ReadTimeout:       3 * time.Second,
		CheckFrequency:    10 * time.Second,
		Success:           1,
		Failure:           2,
	}
	if s == "" {
		h.Failure = 1
		return h, nil
	}
	u, err := url.Parse(s)
	if err != nil {
		return nil, fmt.Errorf("invalid health check URL %q: %w", s, errors.Unwrap(err))
	}
	h.Scheme = strings.ToLower(u.Scheme)
	switch h.Scheme {
	case "tcp", "http", "https", "grpc":
	case "":
		return nil, fmt.Errorf("invalid health check URL %q: want a scheme: tcp://, http://, https:// or grpc://", s)
	default:
		return nil, fmt.Errorf("invalid health check URL %q: scheme %q is not tcp, http, https or grpc", s, u.Scheme)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("invalid health check URL %q: want a host, as in %s://name/", s, h.Scheme)
	}
	h.Host = u.Host
	if u.Path != "" {
		if h.Scheme == "tcp" && u.Path != "/" {
			return nil, fmt.Errorf("invalid health check URL %q: a tcp check has no path", s)
		}
		h.Path = u.Path
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return nil, fmt.Errorf("invalid health check URL %q: %w", s, err)
	}
	rest := url.Values{}
	names := make([]string, 0, len(q))
	for k := range q {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		v := q.Get(k)
		bad := func(want string) error {
			return fmt.Errorf("invalid health check URL %q: option %s=%q: want %s", s, k, v, want)
		}
		switch k {
		case "connection_timeout", "read_timeout", "check_frequency":
			d, err := ParseDuration(v)
			if err != nil || d <= 0 {
				return nil, bad("a positive duration such as 3s")
			}
			switch k {
			case "connection_timeout":
				h.ConnectionTimeout = d
			case "read_timeout":
				h.ReadTimeout = d
			default:
				h.CheckFrequency = d
			}
		case "success", "failure":
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 {
				return nil, bad("a positive integer")
			}
			if k == "success" {
				h.Success = n
			} else {
				h.Failure = n
			}
		case "reuse", "parallel", "tls":
			on := true
			if v != "" {
				if on, err = strconv.ParseBool(v); err != nil {
					return nil, bad("true, false or no value")
				}
			}
			switch k {
			case "reuse":
				h.Reuse = on
			case "parallel":
				h.Parallel = on
			default:
				h.TLS = on
			}
		case "service":
			h.Service = v
		default:
			// A near miss of an option is a typo; anything else is passed on
			// to HTTP checks, as Pingap does.
			if n := nearest(k, healthOptions); n != "" {
				return nil, fmt.Errorf("invalid health check URL %q: unknown option %q (did you mean %q?)", s, k, n)
			}
			if h.Scheme != "http" && h.Scheme != "https" {
				return nil, fmt.Errorf("invalid health check URL %q: unknown option %q (want %s)", s, k, strings.Join(healthOptions, ", "))
			}
			rest[k] = q[k]
		}
	}
	h.Query = rest.Encode()
	return h, nil
}

// Algo is a parsed Upstream.Algo.
type Algo struct {
	// Name is "round_robin", "least_conn", "random" or "hash".
	Name string
	// HashBy is what "hash" hashes: "url" (path and query), "ip" (the
	// client IP), "path", "header", "cookie" or "query". Bare "hash" is
	// "path".
	HashBy string
	// Key is the header, cookie or query parameter name for those HashBy
	// values.
	Key string
}

var algoNames = []string{"round_robin", "least_conn", "random", "hash", "hash:url", "hash:ip", "hash:path", "hash:header:NAME", "hash:cookie:NAME", "hash:query:NAME"}

// ParseAlgo parses Upstream.Algo; empty is "round_robin".
func ParseAlgo(s string) (Algo, error) {
	switch s {
	case "", "round_robin":
		return Algo{Name: "round_robin"}, nil
	case "least_conn", "random":
		return Algo{Name: s}, nil
	case "hash", "hash:path":
		return Algo{Name: "hash", HashBy: "path"}, nil
	case "hash:url", "hash:ip":
		return Algo{Name: "hash", HashBy: s[len("hash:"):]}, nil
	}
	for _, by := range []string{"header", "cookie", "query"} {
		key, ok := strings.CutPrefix(s, "hash:"+by+":")
		if !ok {
			continue
		}
		valid := key != "" && !strings.ContainsAny(key, " \t")
		if by != "query" {
			valid = isToken(key)
		}
		if !valid {
			return Algo{}, fmt.Errorf("invalid algo %q: %q is not a valid %s name", s, key, by)
		}
		return Algo{Name: "hash", HashBy: by, Key: key}, nil
	}
	return Algo{}, fmt.Errorf("invalid algo %q: want one of %s%s", s, strings.Join(algoNames, ", "), didYouMean(s, algoNames[:7]))
}

// ParseHeader parses a "Name: value" line of proxy_set_headers or
// proxy_add_headers. Both parts are trimmed; the value may be empty and may
// hold variables, which are not expanded here.
func ParseHeader(s string) (name, value string, err error) {
	name, value, ok := strings.Cut(s, ":")
	if !ok {
		return "", "", fmt.Errorf("invalid header %q: want \"Name: value\"", s)
	}
	name, value = strings.TrimSpace(name), strings.TrimSpace(value)
	if !isToken(name) {
		return "", "", fmt.Errorf("invalid header %q: %q is not a valid header name", s, name)
	}
	if !validHeaderValue(value) {
		return "", "", fmt.Errorf("invalid header %q: the value has control characters", s)
	}
	return name, value, nil
}

// isToken reports whether s is an RFC 9110 token, the syntax of header
// names and cookie names.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' {
			continue
		}
		if !strings.ContainsRune("!#$%&'*+-.^_`|~", rune(c)) {
			return false
		}
	}
	return true
}

// validHeaderValue refuses control characters other than tab, which would
// split or corrupt the header (CR, LF, NUL, DEL).
func validHeaderValue(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < ' ' && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}
