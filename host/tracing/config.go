package tracing

import (
	"fmt"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Config is a parsed otlp_exporter URL.
type Config struct {
	// Protocol is "grpc" or "http" (OTLP over HTTP with protobuf).
	Protocol string
	// Endpoint is the collector's host:port; Insecure means plain text.
	Endpoint string
	Insecure bool
	// URLPath is the OTLP/HTTP path. Default /v1/traces.
	URLPath string
	// ServiceName names the service in every span's resource. Default
	// "sluice:<server>" (Pingap: "pingap:<server>").
	ServiceName string
	// Timeout bounds one export (timeout=, default 3s).
	Timeout time.Duration
	// MaxQueueSize, ScheduledDelay, MaxExportBatchSize and
	// MaxExportTimeout tune the batch processor (defaults 2048, 5s, 512,
	// 30s, as Pingap's).
	MaxQueueSize       int
	ScheduledDelay     time.Duration
	MaxExportBatchSize int
	MaxExportTimeout   time.Duration
	// MaxAttributes and MaxEvents cap each span (defaults 16 and 16).
	MaxAttributes, MaxEvents int
	// Compression is "" or "gzip".
	Compression string
	// SampleRatio is the share of new traces recorded, 0 to 1 (default
	// 1). A request whose client sent a sampled traceparent follows the
	// client's decision.
	SampleRatio float64
	// Baggage propagates W3C baggage as well as trace context.
	Baggage bool
	// TraceIDHeader adds X-Trace-Id and X-Span-Id response headers.
	TraceIDHeader bool
	// Warnings are options accepted for Pingap compatibility that do
	// nothing here; the caller logs them.
	Warnings []string
}

// ParseURL parses an otlp_exporter URL for server. The scheme picks the
// transport: grpc:// is OTLP/gRPC in plain text; http:// and https://
// are OTLP/HTTP, except on port 4317, the OTLP/gRPC port, where they are
// gRPC (as Pingap, which only speaks gRPC, reads them); protocol=grpc or
// protocol=http overrides that. The path, if any, is the OTLP/HTTP path.
//
// Options (Pingap's): timeout, max_queue_size, scheduled_delay,
// max_export_batch_size, max_export_timeout, max_attributes, max_events,
// compression=gzip, baggage, jaeger (accepted, with a warning: sluice
// propagates W3C trace context only). sluice's own: protocol,
// service_name, sample_ratio (0 to 1) and x_trace_id (add X-Trace-Id and
// X-Span-Id to responses). A flag is on when present without a value or
// with "true" or "1". Anything else is an error.
func ParseURL(raw, server string) (Config, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return Config{}, fmt.Errorf("otlp_exporter: %w", err)
	}
	c := Config{
		ServiceName:        "sluice:" + server,
		Timeout:            3 * time.Second,
		MaxQueueSize:       2048,
		ScheduledDelay:     5 * time.Second,
		MaxExportBatchSize: 512,
		MaxExportTimeout:   30 * time.Second,
		MaxAttributes:      16,
		MaxEvents:          16,
		SampleRatio:        1,
		Endpoint:           u.Host,
	}
	if u.Host == "" {
		return Config{}, fmt.Errorf("otlp_exporter %q: no host", raw)
	}
	switch strings.ToLower(u.Scheme) {
	case "grpc":
		c.Protocol, c.Insecure = "grpc", true
	case "http", "https":
		c.Protocol, c.Insecure = "http", strings.EqualFold(u.Scheme, "http")
		if u.Port() == "4317" {
			c.Protocol = "grpc"
		}
	default:
		return Config{}, fmt.Errorf("otlp_exporter %q: the scheme must be grpc, http or https", raw)
	}
	if p := strings.TrimSuffix(u.Path, "/"); p != "" {
		c.URLPath = p
	}
	q := u.Query()
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := q.Get(k)
		bad := func(want string) error {
			return fmt.Errorf("otlp_exporter %q: %s=%q: want %s", raw, k, v, want)
		}
		switch k {
		case "timeout", "scheduled_delay", "max_export_timeout":
			d, err := time.ParseDuration(v)
			if err != nil || d <= 0 {
				return Config{}, bad("a positive duration such as 3s")
			}
			switch k {
			case "timeout":
				c.Timeout = d
			case "scheduled_delay":
				c.ScheduledDelay = d
			default:
				c.MaxExportTimeout = d
			}
		case "max_queue_size", "max_export_batch_size", "max_attributes", "max_events":
			n, err := strconv.Atoi(v)
			if err != nil || n <= 0 {
				return Config{}, bad("a positive number")
			}
			switch k {
			case "max_queue_size":
				c.MaxQueueSize = n
			case "max_export_batch_size":
				c.MaxExportBatchSize = n
			case "max_attributes":
				c.MaxAttributes = n
			default:
				c.MaxEvents = n
			}
		case "compression":
			switch strings.ToLower(v) {
			case "gzip":
				c.Compression = "gzip"
			case "zstd":
				c.Compression = "gzip"
				c.Warnings = append(c.Warnings, "compression=zstd is not available in Go's OTLP exporters; using gzip")
			case "", "none":
			default:
				return Config{}, bad("gzip")
			}
		case "baggage", "jaeger", "x_trace_id":
			on, ok := flag(v)
			if !ok {
				return Config{}, bad("true or false")
			}
			switch k {
			case "baggage":
				c.Baggage = on
			case "x_trace_id":
				c.TraceIDHeader = on
			default:
				if on {
					c.Warnings = append(c.Warnings, "jaeger: the Jaeger propagator is not supported; W3C trace context is used")
				}
			}
		case "protocol":
			switch strings.ToLower(v) {
			case "grpc", "http":
				c.Protocol = strings.ToLower(v)
			default:
				return Config{}, bad("grpc or http")
			}
		case "service_name":
			if v == "" {
				return Config{}, bad("a name")
			}
			c.ServiceName = v
		case "sample_ratio":
			f, err := strconv.ParseFloat(v, 64)
			if err != nil || f < 0 || f > 1 {
				return Config{}, bad("a number from 0 to 1")
			}
			c.SampleRatio = f
		default:
			return Config{}, fmt.Errorf("otlp_exporter %q: unknown option %q (options are timeout, max_queue_size, scheduled_delay, max_export_batch_size, max_export_timeout, max_attributes, max_events, compression, baggage, jaeger, protocol, service_name, sample_ratio and x_trace_id)", raw, k)
		}
	}
	if c.MaxExportBatchSize > c.MaxQueueSize {
		c.MaxExportBatchSize = c.MaxQueueSize
	}
	return c, nil
}

func flag(v string) (on, ok bool) {
	switch strings.ToLower(v) {
	case "", "true", "1", "on", "yes":
		return true, true
	case "false", "0", "off", "no":
		return false, true
	}
	return false, false
}
