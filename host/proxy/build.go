package proxy

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/sluice-proxy/sluice/host/config"
	"github.com/sluice-proxy/sluice/host/route"
	"github.com/sluice-proxy/sluice/host/upstream"
)

// SiteConfig is what NewSite needs to build one server's site for a
// generation. host/app fills it from a validated config.
type SiteConfig struct {
	// Name is the server's config name.
	Name string
	// Config is the whole validated config; Server is Config.Servers[Name].
	Config *config.Config
	// Upstreams are the generation's upstreams by name.
	Upstreams map[string]*upstream.Upstream
	// Chain returns the plugin chain for a location's plugin list; nil
	// when no plugins can run (then a location with plugins is an error).
	Chain func(names []string) (Chain, error)
	// Gen is the generation the site belongs to.
	Gen *Generation
	// Observers are the site's access log, metrics and tracing; the zero
	// value observes nothing.
	Observers Observers
	// Metrics serves the server's prometheus_metrics pull path, if it has
	// one.
	Metrics http.Handler
	// Logger is the process logger.
	Logger *slog.Logger
	// Version is the sluice version, for error pages.
	Version string
	// Files opens files under plugins' granted roots, for local responses
	// whose body is a file (sluice.respond_file); nil: plugins cannot.
	Files FileOpener
}

// NewSite compiles a server's locations into a Site. Every error names the
// location and key concerned; all are returned together.
func NewSite(c SiteConfig) (*Site, error) {
	srv := c.Config.Servers[c.Name]
	if srv == nil {
		return nil, fmt.Errorf("servers.%s: no such server", c.Name)
	}
	log := c.Logger
	if log == nil {
		log = slog.Default()
	}
	s := &Site{
		Name:      c.Name,
		gen:       c.Gen,
		locations: make(map[*route.Location]*Location, len(srv.Locations)),
		errPage:   newErrorPage(c.Config.Basic.ErrorTemplate, c.Version),
		log:       log.With("component", "proxy", "server", c.Name),
		obs:       c.Observers,
		files:     c.Files,
	}
	var errs []error
	trusted, err := newTrustedSet(c.Config.Basic.TrustedProxies)
	if err != nil {
		errs = append(errs, fmt.Errorf("basic.trusted_proxies: %w", err))
	}
	s.trusted = trusted
	if p := srv.PrometheusMetrics; p != "" && p[0] == '/' {
		s.metricsPath, s.metricsHandler = p, c.Metrics
		if s.metricsHandler == nil {
			s.metricsHandler = http.NotFoundHandler()
		}
	}

	named := make([]route.Named, 0, len(srv.Locations))
	for _, name := range srv.Locations {
		lc := c.Config.Locations[name]
		if lc == nil {
			errs = append(errs, fmt.Errorf("servers.%s.locations: unknown location %q", c.Name, name))
			continue
		}
		named = append(named, route.Named{Name: name, Config: lc})
	}
	table, err := route.Compile(named)
	if err != nil {
		errs = append(errs, fmt.Errorf("servers.%s: %w", c.Name, err))
		return nil, errors.Join(errs...)
	}
	s.table = table
	for _, rl := range table.Locations() {
		lc := rl.Config
		l := &Location{
			route:         rl,
			upstreams:     c.Upstreams,
			maxProcessing: int64(lc.MaxProcessing),
			bodyLimit:     int64(lc.ClientMaxBodySize),
			maxRetries:    lc.MaxRetries,
			retryWindow:   lc.MaxRetryWindow.D(),
		}
		if rl.UpstreamVar == "" && rl.Upstream != "" {
			if l.up = c.Upstreams[rl.Upstream]; l.up == nil {
				errs = append(errs, fmt.Errorf("locations.%s.upstream: unknown upstream %q", rl.Name, rl.Upstream))
			}
		}
		if len(lc.Plugins) > 0 {
			if c.Chain == nil {
				errs = append(errs, fmt.Errorf("locations.%s.plugins: plugins are not available", rl.Name))
			} else if ch, err := c.Chain(lc.Plugins); err != nil {
				errs = append(errs, fmt.Errorf("locations.%s.plugins: %w", rl.Name, err))
			} else {
				l.chain = ch
			}
		}
		s.locations[rl] = l
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return s, nil
}
