// Package metrics exports sluice's Prometheus metrics: Pingap's set, named
// in Prometheus style under sluice_, plus the Go runtime and process
// collectors and the metrics plugins define.
//
// # Model
//
// One Registry lives as long as the process, so counters survive reloads.
// Per request figures come from the finished reqinfo.Record: a Server
// (one per server and config generation, made by Registry.Server) resolves
// the labelled series of its locations and upstreams once, so that
// recording a request is a map lookup and a few atomic adds, with no
// allocation. Figures that are state rather than events (upstream
// backends' health, circuit and failure rate, access-log drops, plugin
// metrics, TCP connection counts) are read at scrape time from the
// sources in Options, through small function seams, so that this package
// imports no other part of sluice.
//
// Labels are bounded: server, location and upstream are config names,
// backend an upstream's configured (or discovered) address, code a status
// class (1xx ... 5xx, unknown), plugin and phase names from the config and
// the ABI. No path, query or client address is ever a label.
//
// A server's prometheus_metrics is either a path, answered by
// Registry.Handler on that server before any location, or a push-gateway
// URL (NewPusher) to which the server's series and the process-wide ones
// are pushed every ?interval= (default 60s), exactly.
//
// Every metric is declared in metrics.go, with Pingap's name beside it.
package metrics
