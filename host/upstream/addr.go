package upstream

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
)

// maxWeight bounds a backend's weight so that the consistent-hash ring, which
// gets virtual nodes in proportion to weight, stays small.
const maxWeight = 10000

// addrEntry is one parsed entry of an upstream's `addrs`.
type addrEntry struct {
	host   string // an IP literal (without brackets) or a host name
	port   string
	weight int
}

// isIP reports whether the entry names an IP address rather than a host
// name that discovery must resolve.
func (e addrEntry) isIP() bool { return net.ParseIP(e.host) != nil }

// parseAddr parses "host:port [weight]" as Pingap writes it. The port
// defaults to defaultPort and the weight to 1. IPv6 literals are written
// "[::1]:8080", or "::1" without a port.
func parseAddr(s, defaultPort string) (addrEntry, error) {
	fields := strings.Fields(s)
	if len(fields) == 0 || len(fields) > 2 {
		return addrEntry{}, fmt.Errorf("address %q: want \"host:port [weight]\"", s)
	}
	e := addrEntry{port: defaultPort, weight: 1}
	if len(fields) == 2 {
		w, err := strconv.Atoi(fields[1])
		if err != nil || w < 1 || w > maxWeight {
			return addrEntry{}, fmt.Errorf("address %q: weight %q must be an integer from 1 to %d", s, fields[1], maxWeight)
		}
		e.weight = w
	}
	hp := fields[0]
	switch {
	case net.ParseIP(hp) != nil:
		// A bare IP, including an IPv6 literal without brackets or port.
		e.host = hp
	case strings.HasPrefix(hp, "[") && strings.HasSuffix(hp, "]"):
		e.host = hp[1 : len(hp)-1]
	case strings.Contains(hp, ":"):
		h, p, err := net.SplitHostPort(hp)
		if err != nil {
			return addrEntry{}, fmt.Errorf("address %q: %w", s, err)
		}
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return addrEntry{}, fmt.Errorf("address %q: port %q must be a number from 1 to 65535", s, p)
		}
		e.host, e.port = h, p
	default:
		e.host = hp
	}
	if err := checkHost(e.host); err != nil {
		return addrEntry{}, fmt.Errorf("address %q: %w", s, err)
	}
	return e, nil
}

// checkHost accepts an IP address fit to send traffic to, or a host name
// made of letters, digits, '-', '_' and '.'.
func checkHost(h string) error {
	if h == "" {
		return errors.New("empty host")
	}
	if ip := net.ParseIP(h); ip != nil {
		return checkIP(ip)
	}
	if len(h) > 253 {
		return errors.New("host name longer than 253 characters")
	}
	for i := 0; i < len(h); i++ {
		c := h[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return fmt.Errorf("invalid character %q in host name %q", c, h)
		}
	}
	return nil
}

// checkIP refuses addresses that cannot name one backend, as Pingap does.
func checkIP(ip net.IP) error {
	switch {
	case ip.IsUnspecified():
		return fmt.Errorf("unspecified address %s", ip)
	case ip.IsMulticast():
		return fmt.Errorf("multicast address %s", ip)
	case ip.Equal(net.IPv4bcast):
		return fmt.Errorf("broadcast address %s", ip)
	}
	return nil
}
