package upstream

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/sluice-proxy/sluice/host/config"
)

// checkKind is the protocol of an active health check.
type checkKind uint8

const (
	checkTCP checkKind = iota
	checkHTTP
	checkHTTPS
)

// healthCheck is a compiled `health_check` URL (Pingap §3.2).
type healthCheck struct {
	kind           checkKind
	host           string // Host header of HTTP checks, and SNI of HTTPS ones
	path           string // path and the query parameters that are not options
	connectTimeout time.Duration
	readTimeout    time.Duration
	frequency      time.Duration
	success        int // checks passed in a row that make a backend healthy
	failure        int // checks failed in a row that make it unhealthy
	reuse          bool
	parallel       bool
}

// Defaults of health checks, as in Pingap.
const (
	defaultCheckTimeout   = 3 * time.Second
	defaultCheckFrequency = 10 * time.Second
	defaultCheckSuccess   = 1
	defaultCheckFailure   = 2
)

// parseHealthCheck compiles a `health_check` value. Empty means a TCP
// connect every 10s that flips a backend after one result, as in Pingap.
// Unlike Pingap it keeps check_frequency as written instead of rounding it
// up to a multiple of 10s.
func parseHealthCheck(s string) (healthCheck, error) {
	hc := healthCheck{
		kind:           checkTCP,
		connectTimeout: defaultCheckTimeout,
		readTimeout:    defaultCheckTimeout,
		frequency:      defaultCheckFrequency,
		success:        1,
		failure:        1,
	}
	if strings.TrimSpace(s) == "" {
		return hc, nil
	}
	hc.success, hc.failure = defaultCheckSuccess, defaultCheckFailure
	u, err := url.Parse(s)
	if err != nil {
		return hc, fmt.Errorf("health_check %q: %w", s, err)
	}
	switch strings.ToLower(u.Scheme) {
	case "tcp":
		hc.kind = checkTCP
	case "http":
		hc.kind = checkHTTP
	case "https":
		hc.kind = checkHTTPS
	case "grpc":
		return hc, fmt.Errorf("health_check %q: grpc checks are not supported; use tcp, http or https", s)
	default:
		return hc, fmt.Errorf("health_check %q: scheme %q: want tcp, http or https", s, u.Scheme)
	}
	if u.Host == "" {
		return hc, fmt.Errorf("health_check %q: missing host (the Host header of the check, e.g. the upstream's name)", s)
	}
	hc.host = u.Host
	q := u.Query()
	rest := url.Values{}
	for name, vals := range q {
		v := ""
		if len(vals) > 0 {
			v = vals[len(vals)-1]
		}
		var err error
		switch name {
		case "connection_timeout":
			hc.connectTimeout, err = positiveDuration(v)
		case "read_timeout":
			hc.readTimeout, err = positiveDuration(v)
		case "check_frequency":
			hc.frequency, err = positiveDuration(v)
			if err == nil && hc.frequency < time.Millisecond {
				err = fmt.Errorf("%q is shorter than 1ms", v)
			}
		case "success":
			hc.success, err = positiveInt(v)
		case "failure":
			hc.failure, err = positiveInt(v)
		case "reuse":
			hc.reuse, err = flag(v)
		case "parallel":
			hc.parallel, err = flag(v)
		case "tls", "service":
			// gRPC options in Pingap; meaningless for the checks we run.
		default:
			// Pingap sends unknown parameters on to the checked URL.
			rest[name] = vals
		}
		if err != nil {
			return hc, fmt.Errorf("health_check %q: %s: %w", s, name, err)
		}
	}
	hc.path = u.EscapedPath()
	if hc.path == "" {
		hc.path = "/"
	}
	if len(rest) > 0 {
		hc.path += "?" + rest.Encode()
	}
	return hc, nil
}

func positiveDuration(v string) (time.Duration, error) {
	d, err := config.ParseDuration(v)
	if err != nil {
		return 0, err
	}
	if d <= 0 {
		return 0, fmt.Errorf("%q must be positive", v)
	}
	return d, nil
}

func positiveInt(v string) (int, error) {
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		return 0, fmt.Errorf("%q must be a positive integer", v)
	}
	return n, nil
}

// flag reads a boolean option: present without a value ("?reuse") or with
// true/1 means on, false/0 off.
func flag(v string) (bool, error) {
	switch strings.ToLower(v) {
	case "", "true", "1", "yes", "on":
		return true, nil
	case "false", "0", "no", "off":
		return false, nil
	}
	return false, fmt.Errorf("%q is not a boolean", v)
}
