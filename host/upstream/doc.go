// Package upstream turns the [upstreams.NAME] tables of the config into
// pools of backends that the proxy picks from, and keeps their health
// across reloads.
//
// # Model
//
// A Registry lives as long as the process. Each config generation calls
// Registry.Build for each of its upstreams and gets an *Upstream, a handle it
// gives back with Release when the generation is retired (after its last
// request). Behind the handles are pools: the backends, the balancer, the
// transport, the active health checker and DNS discovery of one build of one
// upstream.
//
//   - Build with a config equal to a live build's (ignoring remark and
//     includes) returns a new handle on the same pool: same backends,
//     transport, connections and health-check goroutine.
//   - Build with a changed config makes a new pool. Its backends start with
//     the health, circuit state and statistics of the backends with the same
//     address in the upstream's newest live pool, so a reload neither
//     resurrects a dead backend nor closes an open circuit. State is carried
//     by upstream name and address, not between different upstreams.
//   - The last Release of a pool stops its goroutines (waiting for them) and
//     closes its transport. Registry.Close closes everything at shutdown.
//
// # A request
//
//	b, err := u.Pick(upstream.Key{Req: r, ClientIP: ip}, tried) // errors.Is(err, ErrNoBackend): 503
//	resp, err := u.RoundTrip(r, b, &trace)
//	... stream the body ...
//	u.Done(b, resp.StatusCode, err)                              // exactly once per Pick
//
// Pick skips backends that are unhealthy, whose circuit is open, or that are
// in tried (the backends this request already failed on, for retries). It
// neither allocates nor takes more than one short lock. The balancers, one
// file each, are smooth weighted round robin (round_robin.go, nginx's),
// weighted least connections with round-robin ties (least_conn.go),
// weighted random (random.go) and consistent hashing on a ketama-style
// ring keyed by path, path and query, client IP, header, cookie or query
// parameter (hash.go, hash_key.go).
//
// # Discovery
//
// "static" resolves `addrs` once, at Build, and fails the Build if a name does
// not resolve. "dns" resolves every update_frequency (A and AAAA, or A only
// with ipv4_only; dns_server picks the nameservers); each IP is a backend
// with its entry's port and weight. A failed lookup keeps the last good set,
// is logged and reported to the Observer, and is retried after at most 5s.
// "transparent" sends each request to its own Host on port 80, or 443 when
// sni is set. The discovery default is Pingap's: "dns" if an address is a
// host name. Docker discovery is not supported.
//
// # Health
//
// Active checks follow Pingap's `health_check` URL: tcp://, http:// or
// https:// (certificates not verified), with connection_timeout,
// read_timeout, check_frequency (not rounded to 10s), success, failure,
// reuse and parallel. Only a 200 is healthy. Backends start healthy. An
// empty health_check is a TCP connect every 10s flipping after one result.
//
// Passive statistics (enable_backend_stats) count requests and failures
// per backend over backend_stats_interval; a failure is a transport error
// or a status in backend_failure_status_code (default 5xx); a request the
// client cancelled does not count. The circuit breaker opens on
// circuit_break_max_consecutive_failures failures in a row, or when the
// failure percentage exceeds circuit_break_max_failure_percent once
// circuit_break_min_requests_threshold requests were seen; after
// circuit_break_open_duration it lets trial requests through (half-open)
// and closes after circuit_break_half_open_consecutive_success_threshold
// successes in a row, or opens again on a failure. As in Pingap, the
// breaker needs enable_backend_stats.
//
// Flips of health and circuit are logged with component=upstream and told
// to the Options.Observer; Registry.Status and Upstream.Status give the
// state for the admin API and metrics.
//
// # Seams
//
// Time, DNS, health-check dials, randomness, transports and event delivery
// are Options fields, so tests run on fakes. All methods are safe for
// concurrent use.
package upstream
