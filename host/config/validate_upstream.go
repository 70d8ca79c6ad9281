package config

import (
	"net/netip"
	"strconv"
	"strings"
)

func (k *checker) upstream(path string, u *Upstream) {
	transparent := strings.EqualFold(u.Discovery, "transparent")
	if len(u.Addrs) == 0 && !transparent {
		k.r.errorf(sub(path, "addrs"), "required: at least one \"host:port [weight]\"")
	}
	for i, a := range u.Addrs {
		if _, err := ParseUpstreamAddr(a); err != nil {
			k.r.errorf(index(sub(path, "addrs"), i), "%v", err)
		}
	}
	if strings.EqualFold(u.Discovery, "docker") {
		k.r.errorf(sub(path, "discovery"), "docker discovery is not supported (want static, dns or transparent)")
	} else {
		k.oneOf(sub(path, "discovery"), u.Discovery, discoveries, true)
	}
	if u.DNSServer != "" {
		for s := range strings.SplitSeq(u.DNSServer, ",") {
			s = strings.TrimSpace(s)
			if _, err := netip.ParseAddr(s); err == nil {
				continue
			}
			if _, err := netip.ParseAddrPort(s); err != nil {
				k.r.errorf(sub(path, "dns_server"), "%q is not an IP address or IP:port", s)
			}
		}
	}
	if _, err := ParseAlgo(u.Algo); err != nil {
		k.r.errorf(sub(path, "algo"), "%v", err)
	}
	if sni := u.Sni; sni != "" && sni != "$host" {
		if _, err := netip.ParseAddr(sni); err != nil && !validHostname(sni) {
			k.r.errorf(sub(path, "sni"), "%q is not a host name (or \"$host\")", sni)
		}
	}
	if _, err := ParseHealthCheck(u.HealthCheck); err != nil {
		k.r.errorf(sub(path, "health_check"), "%v", err)
	}
	if u.BackendFailureStatusCode != "" {
		for s := range strings.SplitSeq(u.BackendFailureStatusCode, ",") {
			s = strings.TrimSpace(s)
			if n, err := strconv.Atoi(s); err != nil || n < 100 || n > 599 {
				k.r.errorf(sub(path, "backend_failure_status_code"), "%q is not an HTTP status from 100 to 599", s)
			}
		}
	}
	k.nonNegative(sub(path, "circuit_break_max_consecutive_failures"), int64(u.CircuitBreakMaxConsecutiveFailures))
	if p := u.CircuitBreakMaxFailurePercent; p < 0 || p > 100 {
		k.r.errorf(sub(path, "circuit_break_max_failure_percent"), "%d is not a percentage from 0 to 100", p)
	}
	k.nonNegative(sub(path, "circuit_break_min_requests_threshold"), int64(u.CircuitBreakMinRequestsThreshold))
	k.nonNegative(sub(path, "circuit_break_half_open_consecutive_success_threshold"), int64(u.CircuitBreakHalfOpenConsecutiveSuccessThreshold))
	k.nonNegative(sub(path, "circuit_break_open_duration"), int64(u.CircuitBreakOpenDuration))
	k.nonNegative(sub(path, "backend_stats_interval"), int64(u.BackendStatsInterval))
	k.nonNegative(sub(path, "update_frequency"), int64(u.UpdateFrequency))
	k.oneOf(sub(path, "alpn"), u.Alpn, alpns, true)
	k.nonNegative(sub(path, "max_h2_streams"), int64(u.MaxH2Streams))
	k.nonNegative(sub(path, "connection_timeout"), int64(u.ConnectionTimeout))
	k.nonNegative(sub(path, "total_connection_timeout"), int64(u.TotalConnectionTimeout))
	if u.TotalConnectionTimeout > 0 && u.TotalConnectionTimeout < u.ConnectionTimeout {
		k.r.errorf(sub(path, "total_connection_timeout"), "%v is shorter than connection_timeout %v", u.TotalConnectionTimeout, u.ConnectionTimeout)
	}
	k.nonNegative(sub(path, "read_timeout"), int64(u.ReadTimeout))
	k.nonNegative(sub(path, "write_timeout"), int64(u.WriteTimeout))
	k.nonNegative(sub(path, "tcp_idle"), int64(u.TCPIdle))
	k.nonNegative(sub(path, "tcp_interval"), int64(u.TCPInterval))
	if n := u.TCPProbeCount; n < 0 || n > 16 {
		k.r.errorf(sub(path, "tcp_probe_count"), "%d is not from 0 to 16", n)
	}
	k.nonNegative(sub(path, "tcp_user_timeout"), int64(u.TCPUserTimeout))
	k.nonNegative(sub(path, "tcp_recv_buf"), int64(u.TCPRecvBuf))
	k.includes(path, u.Includes)
}
