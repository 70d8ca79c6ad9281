package accesslog

import (
	"github.com/sluice-proxy/sluice/host/internal/reqinfo"
)

// Logger is one server's access log in one config generation: a compiled
// template and the output it writes to.
type Logger struct {
	t    *Template
	out  *Output
	json bool
}

// NewLogger returns a Logger writing t's lines to out, as JSON objects if
// json is set.
func NewLogger(t *Template, out *Output, json bool) *Logger {
	return &Logger{t: t, out: out, json: json}
}

// Log formats rec's line now (rec is reused as soon as Log returns) and
// queues it for the output. It never blocks; a line that finds the queue
// full is dropped and counted in the output's stats.
func (l *Logger) Log(rec *reqinfo.Record) {
	b := getBuf()
	if l.json {
		*b = l.t.AppendJSON(*b, rec)
	} else {
		*b = l.t.AppendText(*b, rec)
	}
	*b = append(*b, '\n')
	l.out.Enqueue(b)
}

// Output returns the output the logger writes to.
func (l *Logger) Output() *Output { return l.out }
