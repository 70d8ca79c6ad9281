// Package accesslog writes one line per request, in Pingap's access_log
// format, without ever making a request wait for a disk.
//
// # Model
//
// A server's access_log setting is parsed by ParseSpec into a destination
// (standard output, or a file with rotation options) and a format: one of
// the presets tiny, short, common and combined, or a template of
// {placeholders}. Compile turns the format into a Template once, when the
// config loads; an unknown placeholder is an error then, never a surprise
// per request. A Template appends a request's line to a byte slice, as text
// (AppendText) or as a JSON object (AppendJSON), reading only the
// reqinfo.Record the proxy filled.
//
// Lines go to an Output: a bounded queue in front of one goroutine that
// writes to the file (or stdout) through a buffer. Enqueueing never blocks:
// when the queue is full, because the disk is slow or stuck, the line is
// dropped and counted (Output.Stats), which host/metrics exports. The
// writer flushes as soon as the queue runs empty, or at most every
// flush_timeout when one is set, so a quiet server's lines appear at once
// and a busy one's are batched.
//
// # Lifecycle
//
// Outputs is process-long and keyed by path: two config generations that
// log to the same file share one Output, reference counted, so a reload
// never opens a file twice nor loses the lines of requests still running
// in the old generation. The last Release flushes and closes the file.
//
// Files rotate as Pingap's (tracing-appender's) do: with rolling=daily the
// lines go to "<path>.2006-01-02" (UTC), hourly to "<path>.2006-01-02-15",
// minutely to "<path>.2006-01-02-15-04"; never (the default) writes to
// <path> itself. The clock is a seam (OutputsOptions.Now).
//
// # Concurrency
//
// Template is immutable and safe for concurrent use. Logger.Log may be
// called from any number of request goroutines; it formats synchronously
// into a pooled buffer (the record is reused as soon as it returns) and
// hands the bytes over.
//
// AppendServerTiming formats the Server-Timing response header from the
// same record, since it is the same kind of work: a record made text.
package accesslog
