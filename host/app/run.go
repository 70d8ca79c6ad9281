package app

import (
	"context"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/sluice-proxy/sluice/host/config"
	"github.com/sluice-proxy/sluice/host/files"
)

// Run starts sluice and keeps it running until ctx ends, then shuts down
// gracefully within basic.grace_period. SIGHUP reloads the config.
func Run(ctx context.Context, o Options) error {
	// SIGHUP is taken before the listeners open: its default action ends
	// the process, and a supervisor may reload as soon as the port answers.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	a := New(o)
	if err := a.Start(ctx); err != nil {
		a.Shutdown(context.Background())
		return err
	}
	a.log.Info("sluice started", "version", Version, "config", o.ConfigPath, "listen", a.Addrs())
	if pid := a.cur.cfg.Basic.PidFile; pid != "" {
		pid = a.cur.cfg.Resolve(pid)
		if err := os.WriteFile(pid, []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644); err != nil {
			a.log.Warn("writing basic.pid_file", "path", pid, "err", err)
		} else {
			defer os.Remove(pid)
		}
	}

	for {
		select {
		case <-hup:
			a.log.Info("SIGHUP: reloading the config")
			_ = a.Reload(ctx) // logged by Reload
		case <-ctx.Done():
			grace := 30 * time.Second
			a.mu.Lock()
			if a.cur != nil && a.cur.cfg.Basic.GracePeriod > 0 {
				grace = a.cur.cfg.Basic.GracePeriod.D()
			}
			a.mu.Unlock()
			a.log.Info("shutting down: draining in-flight requests", "grace_period", grace)
			sctx, cancel := context.WithTimeout(context.Background(), grace)
			defer cancel()
			return a.Shutdown(sctx)
		}
	}
}

// Validate loads the config and builds a whole generation from it without
// opening any socket, so that everything a reload would refuse is reported:
// config errors with their key paths, route and upstream compilation,
// certificates and plugins.
func Validate(ctx context.Context, o Options) (warnings []string, err error) {
	cfg, ws, err := config.Load(o.ConfigPath)
	for _, w := range ws {
		warnings = append(warnings, w.String())
	}
	if err != nil {
		return warnings, err
	}
	if o.Stderr == nil {
		o.Stderr = io.Discard
	}
	if o.Logger == nil {
		// Validation builds upstreams, whose health checks start probing
		// backends at once: their news are not the config's problems, and
		// everything that is comes back as an error.
		o.Logger = slog.New(slog.DiscardHandler)
	}
	a := New(o)
	defer a.ups.Close()
	a.files.AddGrants(files.Grants(cfg))
	g, err := a.build(ctx, cfg)
	if err != nil {
		return warnings, err
	}
	g.release()
	return warnings, nil
}
