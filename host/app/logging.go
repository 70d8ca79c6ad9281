package app

import (
	"context"
	"io"
	"log/slog"
	"sync/atomic"
)

// logHandler is the process log's slog.Handler: text or JSON as
// basic.log_format_json says, switchable on reload. Loggers derived with
// With keep following the switch, because they hold this handler.
type logHandler struct {
	w     io.Writer
	level *slog.LevelVar
	json  *atomic.Bool
	attrs []slog.Attr
	group string
}

func newLogHandler(w io.Writer, level *slog.LevelVar) *logHandler {
	return &logHandler{w: w, level: level, json: new(atomic.Bool)}
}

func (h *logHandler) inner() slog.Handler {
	o := &slog.HandlerOptions{Level: h.level}
	var in slog.Handler
	if h.json.Load() {
		in = slog.NewJSONHandler(h.w, o)
	} else {
		in = slog.NewTextHandler(h.w, o)
	}
	if h.group != "" {
		in = in.WithGroup(h.group)
	}
	if len(h.attrs) > 0 {
		in = in.WithAttrs(h.attrs)
	}
	return in
}

func (h *logHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= h.level.Level() }

func (h *logHandler) Handle(ctx context.Context, r slog.Record) error {
	return h.inner().Handle(ctx, r)
}

func (h *logHandler) WithAttrs(as []slog.Attr) slog.Handler {
	c := *h
	c.attrs = append(append([]slog.Attr(nil), h.attrs...), as...)
	return &c
}

func (h *logHandler) WithGroup(name string) slog.Handler {
	c := *h
	c.group = name
	return &c
}
