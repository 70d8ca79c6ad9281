package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sluice-proxy/sluice/host/cachestore"
	"github.com/sluice-proxy/sluice/host/codec"
	"github.com/sluice-proxy/sluice/host/config"
	"github.com/sluice-proxy/sluice/host/cryptox"
	"github.com/sluice-proxy/sluice/host/files"
	"github.com/sluice-proxy/sluice/host/proxy"
	"github.com/sluice-proxy/sluice/host/server"
	"github.com/sluice-proxy/sluice/host/tlsx"
	"github.com/sluice-proxy/sluice/host/upstream"
	"github.com/sluice-proxy/sluice/host/wasm"
)

// Version is the sluice version, set at build time with -ldflags -X.
var Version = "dev"

// Options configure an App.
type Options struct {
	// ConfigPath is the config file or directory.
	ConfigPath string
	// Stderr receives the process log. Default os.Stderr.
	Stderr io.Writer
	// Logger overrides the process logger built from basic.log_level.
	Logger *slog.Logger
}

// App is a running sluice: the long-lived parts and the current generation.
type App struct {
	opts    Options
	log     *slog.Logger
	level   *slog.LevelVar
	lh      *logHandler
	servers *server.Manager
	ups     *upstream.Registry
	tls     *tlsx.Manager

	mu      sync.Mutex // serializes Start, Reload and Shutdown
	entries map[string]*proxy.Entry
	// handlers are the entries wrapped with the ACME HTTP-01 responder;
	// one per server name for the life of the process, since a running
	// http.Server's handler cannot change.
	handlers map[string]http.Handler
	cur      *generation
	closed   bool

	// running and building mirror cur and the generation being built, for
	// plugins' callouts, which must not take mu (see callouts).
	running, building atomic.Pointer[generation]
	// rt runs the plugins; made with the first config's basic.wasm_*
	// settings, which need a restart to change.
	rt        *wasm.Runtime
	rtOptions wasm.Options
	// obs is the access logs, metrics and tracing (host/app/observe.go).
	obs *observability
	// codec and files are host primitives plugins reach through foreign
	// functions: streaming compression, and files under granted roots.
	codec *codec.Codec
	files *files.FS
	// cache holds the cache plugin's stores, shared across reloads so
	// that a reload does not empty them.
	cache *cachestore.Registry
	// verifier checks signatures natively for plugins (jwt): arithmetic
	// that a guest does many times slower under its callback budget.
	verifier *cryptox.Verifier
}

// generation is everything built from one config.
type generation struct {
	cfg        *config.Config
	upstreams  map[string]*upstream.Upstream
	sites      map[string]*proxy.Site
	specs      []server.Spec
	pgen       *proxy.Generation
	certs      *tlsx.Store
	plugins    *wasm.Set
	built      time.Time
	obsRelease func()
}

// release frees what the generation holds; called once, when it is retired
// and idle, or when it was built but never swapped in.
func (g *generation) release() {
	if g.obsRelease != nil {
		g.obsRelease()
	}
	if g.plugins != nil {
		g.plugins.Close()
	}
	for _, u := range g.upstreams {
		u.Release()
	}
}

// New returns an App that has loaded nothing yet.
func New(o Options) *App {
	if o.Stderr == nil {
		o.Stderr = os.Stderr
	}
	level := new(slog.LevelVar)
	lh := newLogHandler(o.Stderr, level)
	log := o.Logger
	if log == nil {
		log = slog.New(lh)
	}
	a := &App{
		opts:     o,
		log:      log,
		level:    level,
		lh:       lh,
		servers:  server.NewManager(server.Options{Logger: log}),
		ups:      upstream.NewRegistry(upstream.Options{Logger: log}),
		tls:      tlsx.NewManager(tlsx.Options{}),
		entries:  map[string]*proxy.Entry{},
		handlers: map[string]http.Handler{},
	}
	a.obs = newObservability(log, a.upstreamStates)
	a.codec = codec.New(codec.Options{})
	a.files = files.New()
	a.cache = cachestore.NewRegistry(cachestore.Options{Logger: log})
	a.verifier = cryptox.New(cryptox.Options{})
	a.obs.collectors = append(a.obs.collectors, a.cache.Collector())
	return a
}

// load reads and validates the config, logging its warnings.
func (a *App) load() (*config.Config, error) {
	cfg, warnings, err := config.Load(a.opts.ConfigPath)
	for _, w := range warnings {
		a.log.Warn("config", "warning", w.String())
	}
	if err != nil {
		return nil, err
	}
	return cfg, nil
}

// Start loads the config and starts serving it.
func (a *App) Start(ctx context.Context) error {
	cfg, err := a.load()
	if err != nil {
		return err
	}
	a.applyLogSettings(cfg)
	return a.install(ctx, cfg)
}

// Reload re-reads the config and swaps it in. On any error the running
// generation stays and the error lists every problem.
func (a *App) Reload(ctx context.Context) error {
	start := time.Now()
	cfg, err := a.load()
	if err != nil {
		a.log.Error("reload refused: the running config stays", "err", err)
		return err
	}
	if err := a.install(ctx, cfg); err != nil {
		a.log.Error("reload refused: the running config stays", "err", err)
		return err
	}
	a.applyLogSettings(cfg)
	a.log.Info("config reloaded", "took", time.Since(start).Round(time.Millisecond))
	return nil
}

// install builds a generation from cfg and swaps it in.
func (a *App) install(ctx context.Context, cfg *config.Config) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return errors.New("shutting down")
	}
	// Plugins of the new generation may read their roots while they are
	// configured; the old generation's stay readable until the swap.
	a.files.AddGrants(files.Grants(cfg))
	g, err := a.build(ctx, cfg)
	if err != nil {
		a.restoreGrants()
		return err
	}

	// Servers that are new get their site before their socket opens; the
	// others switch only once every socket is bound.
	var fresh []string
	for name, site := range g.sites {
		if _, ok := a.entries[name]; !ok {
			e := proxy.NewEntry(name)
			e.Swap(site)
			a.entries[name] = e
			a.handlers[name] = a.tls.HTTPHandler(e)
			fresh = append(fresh, name)
		}
	}
	for i := range g.specs {
		g.specs[i].Handler = a.handlers[g.specs[i].Name]
	}
	// Certificates first, so that a new TLS server's first handshake
	// finds its settings; put back if the listeners cannot be had.
	oldCerts := a.tls.Swap(g.certs)
	if err := a.servers.Apply(g.specs); err != nil {
		a.tls.Swap(oldCerts)
		for _, name := range fresh {
			delete(a.entries, name)
			delete(a.handlers, name)
		}
		g.release()
		a.restoreGrants()
		return err
	}
	a.files.SetGrants(files.Grants(cfg))
	for _, w := range g.certs.Warnings() {
		a.log.Warn("certificates", "warning", w)
	}
	for name, site := range g.sites {
		a.entries[name].Swap(site)
	}
	for name := range a.entries {
		if _, ok := g.sites[name]; !ok {
			delete(a.entries, name)
			delete(a.handlers, name)
		}
	}
	old := a.cur
	a.cur = g
	a.running.Store(g)
	if old != nil {
		old.pgen.Retire()
	}
	return nil
}

// restoreGrants puts back the file grants of the running config after a
// failed install.
func (a *App) restoreGrants() {
	if a.cur != nil {
		a.files.SetGrants(files.Grants(a.cur.cfg))
	} else {
		a.files.SetGrants(nil)
	}
}

// build compiles cfg into a generation without touching the running one.
// Every error is collected.
func (a *App) build(ctx context.Context, cfg *config.Config) (*generation, error) {
	g := &generation{cfg: cfg, upstreams: map[string]*upstream.Upstream{}, sites: map[string]*proxy.Site{}, built: time.Now()}
	g.obsRelease = func() { a.releaseObservers(cfg) }
	var errs []error
	for name, uc := range cfg.Upstreams {
		u, err := a.ups.Build(name, uc, &cfg.Basic)
		if err != nil {
			errs = append(errs, fmt.Errorf("upstreams.%s: %w", name, err))
			continue
		}
		g.upstreams[name] = u
	}
	a.building.Store(g)
	defer a.building.Store(nil)
	chain := g.chain
	if err := a.loadPlugins(ctx, cfg, g); err != nil {
		errs = append(errs, err)
		// Every location with plugins would repeat the failure: the
		// generation is refused anyway, so let them build without.
		chain = func([]string) (proxy.Chain, error) { return nil, nil }
	}
	certs, err := a.tls.Build(cfg, cfg.BaseDir)
	if err != nil {
		errs = append(errs, err)
	}
	g.certs = certs
	g.pgen = proxy.NewGeneration(g.release)
	for name, sc := range cfg.Servers {
		obs, err := a.observers(cfg, name)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		site, err := proxy.NewSite(proxy.SiteConfig{
			Observers: obs,
			Files:     a.files,
			Metrics:   obs.MetricsHandler,
			Chain:     chain,
			Name:      name,
			Config:    cfg,
			Upstreams: g.upstreams,
			Gen:       g.pgen,
			Logger:    a.log,
			Version:   Version,
		})
		if err != nil {
			errs = append(errs, err)
			continue
		}
		g.sites[name] = site
		spec, err := serverSpec(name, sc)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if sc.GlobalCertificates {
			spec.TLS = a.tls.TLSConfig(name)
		}
		g.specs = append(g.specs, spec)
	}
	if len(errs) > 0 {
		g.release()
		return nil, errors.Join(errs...)
	}
	return g, nil
}

// serverSpec turns a server's config into what server.Manager needs.
func serverSpec(name string, sc *config.Server) (server.Spec, error) {
	spec := server.Spec{
		Name:              name,
		H2:                sc.EnabledH2,
		ReadTimeout:       positive(sc.DownstreamReadTimeout),
		ReadHeaderTimeout: positive(sc.ReadHeaderTimeout),
		WriteTimeout:      positive(sc.DownstreamWriteTimeout),
		IdleTimeout:       positive(sc.IdleTimeout),
		MaxHeaderBytes:    int(sc.MaxHeaderSize),
		TCP: server.TCPOptions{
			KeepAlive: net.KeepAliveConfig{
				Enable:   true,
				Idle:     sc.TCPIdle.D(),
				Interval: sc.TCPInterval.D(),
				Count:    sc.TCPProbeCount,
			},
			UserTimeout: sc.TCPUserTimeout.D(),
			FastOpen:    sc.TCPFastopen,
			ReusePort:   sc.ReusePort,
		},
	}
	for a := range strings.SplitSeq(sc.Addr, ",") {
		if a = strings.TrimSpace(a); a != "" {
			spec.Addrs = append(spec.Addrs, a)
		}
	}
	// The fingerprint is the server's config minus what the handler reads
	// per generation: changing only those keeps the connections.
	fp := *sc
	fp.Locations, fp.AccessLog, fp.PrometheusMetrics, fp.OTLPExporter = nil, "", "", ""
	fp.EnableServerTiming, fp.Remark, fp.Includes = false, "", nil
	b, err := json.Marshal(fp)
	if err != nil {
		return spec, fmt.Errorf("servers.%s: %w", name, err)
	}
	spec.Fingerprint = string(b)
	return spec, nil
}

func positive(d config.Duration) time.Duration {
	if d < 0 {
		return 0
	}
	return d.D()
}

// applyLogSettings sets the log level and format from basic.log_level and
// basic.log_format_json.
func (a *App) applyLogSettings(cfg *config.Config) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(cfg.Basic.LogLevel)); err == nil {
		a.level.Set(l)
	}
	a.lh.json.Store(cfg.Basic.LogFormatJSON)
}

// Shutdown stops accepting, drains in-flight requests until ctx ends, then
// closes what is left and releases everything.
func (a *App) Shutdown(ctx context.Context) error {
	a.mu.Lock()
	a.closed = true
	entries := a.entries
	cur := a.cur
	a.mu.Unlock()
	err := a.servers.Shutdown(ctx)
	for _, e := range entries {
		e.CloseTunnels()
	}
	if cur != nil {
		cur.pgen.Retire()
		select {
		case <-cur.pgen.Idle():
		case <-ctx.Done():
		}
	}
	a.ups.Close()
	cctx, ccancel := context.WithTimeout(context.Background(), 5*time.Second)
	a.closeObservers(cctx)
	ccancel()
	if a.rt != nil {
		a.rt.Close(context.Background())
	}
	a.codec.Shutdown()
	a.files.Close()
	a.cache.Close()
	return err
}

// Addrs returns the bound address of each configured listen address.
func (a *App) Addrs() map[string]string { return a.servers.Addrs() }
