package accesslog

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"
)

// OutputsOptions are the side effects of Outputs, replaceable in tests. The
// zero value uses the real ones.
type OutputsOptions struct {
	// Stdout receives the lines of outputs without a path. Nil means
	// os.Stdout.
	Stdout io.Writer
	// Now tells the time that decides rotation. Nil means time.Now.
	Now func() time.Time
	// OpenFile opens a log file for appending, creating it (and its
	// directory) if needed. Nil means the real file system.
	OpenFile func(name string) (io.WriteCloser, error)
	// Logger receives write errors, at most one a minute per output. Nil
	// means slog.Default().
	Logger *slog.Logger
}

// Outputs is the process-long registry of log destinations, keyed by path
// ("" for standard output), so that every config generation writing to
// one file shares one Output.
type Outputs struct {
	o       OutputsOptions
	mu      sync.Mutex
	open    map[string]*Output
	closing map[string]*Output
}

// NewOutputs returns an empty registry.
func NewOutputs(o OutputsOptions) *Outputs {
	if o.Stdout == nil {
		o.Stdout = os.Stdout
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.OpenFile == nil {
		o.OpenFile = openFile
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	o.Logger = o.Logger.With("component", "accesslog")
	return &Outputs{o: o, open: map[string]*Output{}, closing: map[string]*Output{}}
}

func openFile(name string) (io.WriteCloser, error) {
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		return nil, err
	}
	return os.OpenFile(name, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
}

// OutputStats are an output's counters since it was opened.
type OutputStats struct {
	// Name is the file path, or "stdout".
	Name string
	// Written counts lines handed to the file; Dropped counts lines
	// thrown away because the queue was full (or the output closed);
	// Errors counts failed writes.
	Written, Dropped, Errors uint64
}

// Open returns the Output for sp's destination with a reference taken on
// it, opening the file if no other holder has it open. If the output is
// open already, sp's rolling and flush_timeout replace the running ones
// (its queue keeps its size). The file is opened here, so that a path
// that cannot be written is an error at load time.
func (r *Outputs) Open(sp Spec) (*Output, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	st := &settings{rolling: sp.Rolling, flush: sp.FlushTimeout}
	if o := r.open[sp.Path]; o != nil {
		o.refs++
		o.settings.Store(st)
		return o, nil
	}
	if old := r.closing[sp.Path]; old != nil {
		// Its writer is flushing: let it finish, so that two writers
		// never interleave partial writes in one file.
		<-old.done
		delete(r.closing, sp.Path)
	}
	o := &Output{
		name:    sp.Path,
		key:     sp.Path,
		parent:  r,
		refs:    1,
		ch:      make(chan *[]byte, max(sp.Buffer, 1)),
		closing: make(chan struct{}),
		done:    make(chan struct{}),
	}
	o.settings.Store(st)
	var s sink
	if sp.Path == "" {
		o.name = "stdout"
		s = &stdoutSink{w: r.o.Stdout}
	} else {
		f := &rollingFile{path: sp.Path, open: r.o.OpenFile}
		if err := f.rotate(sp.Rolling, r.o.Now()); err != nil {
			return nil, fmt.Errorf("opening access log: %w", err)
		}
		s = f
	}
	r.open[sp.Path] = o
	go o.run(s, r.o.Now, r.o.Logger)
	return o, nil
}

// Each calls fn with the stats of every open output.
func (r *Outputs) Each(fn func(OutputStats)) {
	r.mu.Lock()
	outs := make([]*Output, 0, len(r.open))
	for _, o := range r.open {
		outs = append(outs, o)
	}
	r.mu.Unlock()
	for _, o := range outs {
		fn(o.Stats())
	}
}

// Close flushes and closes every output, whatever its references, and
// waits for their writers to finish, or for ctx to end (a stuck disk must
// not hold up the end of the process). It is for the end of the process.
func (r *Outputs) Close(ctx context.Context) error {
	r.mu.Lock()
	var outs []*Output
	for p, o := range r.open {
		delete(r.open, p)
		o.closed.Store(true)
		close(o.closing)
		outs = append(outs, o)
	}
	for _, o := range r.closing {
		outs = append(outs, o)
	}
	r.mu.Unlock()
	for _, o := range outs {
		select {
		case <-o.done:
		case <-ctx.Done():
			return fmt.Errorf("closing access log %s: %w", o.name, ctx.Err())
		}
	}
	return nil
}

// settings are the options of an output that a reload may change.
type settings struct {
	rolling Rolling
	flush   time.Duration
}

// Output is one destination: a bounded queue of lines and the goroutine
// that writes them.
type Output struct {
	name     string
	key      string // in Outputs.open: the path, "" for stdout
	parent   *Outputs
	refs     int // guarded by parent.mu
	ch       chan *[]byte
	settings atomic.Pointer[settings]
	closed   atomic.Bool
	closing  chan struct{} // closed by the last Release
	done     chan struct{} // closed when the writer has flushed and closed

	written, dropped, errors atomic.Uint64
}

// Enqueue hands a line (ending in '\n') to the writer, which owns b from
// now on and returns it to the buffer pool. It never blocks: when the
// queue is full the line is dropped and counted.
func (o *Output) Enqueue(b *[]byte) bool {
	if o.closed.Load() {
		o.dropped.Add(1)
		putBuf(b)
		return false
	}
	select {
	case o.ch <- b:
		return true
	default:
		o.dropped.Add(1)
		putBuf(b)
		return false
	}
}

// Stats returns the output's counters.
func (o *Output) Stats() OutputStats {
	return OutputStats{Name: o.name, Written: o.written.Load(), Dropped: o.dropped.Load(), Errors: o.errors.Load()}
}

// Release gives back a reference taken by Outputs.Open. The last one
// makes the writer flush what is queued and close the file, in the
// background.
func (o *Output) Release() {
	p := o.parent
	p.mu.Lock()
	defer p.mu.Unlock()
	if o.refs == 0 {
		return
	}
	o.refs--
	key := o.key
	if o.refs > 0 || p.open[key] != o {
		return
	}
	delete(p.open, key)
	p.closing[key] = o
	o.closed.Store(true)
	close(o.closing)
	go func() {
		<-o.done
		p.mu.Lock()
		if p.closing[key] == o {
			delete(p.closing, key)
		}
		p.mu.Unlock()
	}()
}

// sink is where the writer puts lines: a file that may rotate, or stdout.
type sink interface {
	io.Writer
	// maybeRotate switches to the file for time now under rolling r, if
	// that is another file; the caller has flushed what it buffered.
	maybeRotate(r Rolling, now time.Time) error
	// due reports whether a rotation may be needed at now under r.
	due(r Rolling, now time.Time) bool
	Close() error
}

func (o *Output) run(s sink, now func() time.Time, log *slog.Logger) {
	defer close(o.done)
	bw := bufio.NewWriterSize(s, 64<<10)
	var lastErr time.Time
	report := func(err error) {
		if err == nil {
			return
		}
		o.errors.Add(1)
		if t := now(); t.Sub(lastErr) >= time.Minute {
			lastErr = t
			log.Error("writing the access log failed", "output", o.name, "err", err)
		}
	}
	write := func(b *[]byte) {
		st := o.settings.Load()
		if t := now(); s.due(st.rolling, t) {
			report(bw.Flush())
			report(s.maybeRotate(st.rolling, t))
		}
		if _, err := bw.Write(*b); err != nil {
			report(err)
		} else {
			o.written.Add(1)
		}
		putBuf(b)
	}
	var timer *time.Timer
	var timerC <-chan time.Time
	for {
		select {
		case b := <-o.ch:
			write(b)
			// Take what else is queued before deciding to flush: under
			// load, lines go out in large writes.
			for drained := false; !drained; {
				select {
				case b := <-o.ch:
					write(b)
				default:
					drained = true
				}
			}
			if d := o.settings.Load().flush; d <= 0 {
				report(bw.Flush())
			} else if timerC == nil {
				if timer == nil {
					timer = time.NewTimer(d)
				} else {
					timer.Reset(d)
				}
				timerC = timer.C
			}
		case <-timerC:
			timerC = nil
			report(bw.Flush())
		case <-o.closing:
			for drained := false; !drained; {
				select {
				case b := <-o.ch:
					write(b)
				default:
					drained = true
				}
			}
			report(bw.Flush())
			report(s.Close())
			if timer != nil {
				timer.Stop()
			}
			return
		}
	}
}

type stdoutSink struct{ w io.Writer }

func (s *stdoutSink) Write(p []byte) (int, error)          { return s.w.Write(p) }
func (s *stdoutSink) due(Rolling, time.Time) bool          { return false }
func (s *stdoutSink) maybeRotate(Rolling, time.Time) error { return nil }
func (s *stdoutSink) Close() error                         { return nil }

// rollingFile writes to the file of the current period.
type rollingFile struct {
	path    string
	open    func(string) (io.WriteCloser, error)
	f       io.WriteCloser
	name    string
	rolling Rolling
	until   time.Time // the current file's period ends; zero for Never
}

// FileName is the file a log at path writes to at time t under rolling r:
// path itself for Never, else path with the UTC period appended
// (".2006-01-02", ".2006-01-02-15" or ".2006-01-02-15-04").
func FileName(path string, r Rolling, t time.Time) string {
	t = t.UTC()
	switch r {
	case Daily:
		return path + "." + t.Format("2006-01-02")
	case Hourly:
		return path + "." + t.Format("2006-01-02-15")
	case Minutely:
		return path + "." + t.Format("2006-01-02-15-04")
	}
	return path
}

// periodEnd is when the period of r containing t ends.
func periodEnd(r Rolling, t time.Time) time.Time {
	t = t.UTC()
	switch r {
	case Daily:
		return time.Date(t.Year(), t.Month(), t.Day()+1, 0, 0, 0, 0, time.UTC)
	case Hourly:
		return t.Truncate(time.Hour).Add(time.Hour)
	case Minutely:
		return t.Truncate(time.Minute).Add(time.Minute)
	}
	return time.Time{}
}

func (f *rollingFile) due(r Rolling, now time.Time) bool {
	return r != f.rolling || r != Never && !now.Before(f.until)
}

func (f *rollingFile) maybeRotate(r Rolling, now time.Time) error {
	if !f.due(r, now) {
		return nil
	}
	return f.rotate(r, now)
}

// rotate opens the file of now's period and closes the previous one. If
// the new file cannot be opened the old one stays in use.
func (f *rollingFile) rotate(r Rolling, now time.Time) error {
	name := FileName(f.path, r, now)
	f.rolling, f.until = r, periodEnd(r, now)
	if f.f != nil && name == f.name {
		return nil
	}
	nf, err := f.open(name)
	if err != nil {
		return fmt.Errorf("access log %s: %w", name, err)
	}
	var cerr error
	if f.f != nil {
		cerr = f.f.Close()
	}
	f.f, f.name = nf, name
	return cerr
}

func (f *rollingFile) Write(p []byte) (int, error) { return f.f.Write(p) }

func (f *rollingFile) Close() error { return f.f.Close() }

var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

func getBuf() *[]byte { return bufPool.Get().(*[]byte) }

func putBuf(b *[]byte) {
	if cap(*b) > 64<<10 {
		return // an outsized line; let it go rather than pin its memory
	}
	*b = (*b)[:0]
	bufPool.Put(b)
}
