package accesslog

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// memFS is a fake file system for outputs: files live in memory.
type memFS struct {
	mu     sync.Mutex
	files  map[string]*memFile
	opened int
	// block, when set, is waited on by every Write.
	block   chan struct{}
	writing chan struct{} // receives once per Write that blocks
}

type memFile struct {
	fs     *memFS
	buf    bytes.Buffer
	closed bool
}

func newMemFS() *memFS { return &memFS{files: map[string]*memFile{}} }

func (fs *memFS) open(name string) (io.WriteCloser, error) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	fs.opened++
	f := fs.files[name]
	if f == nil {
		f = &memFile{fs: fs}
		fs.files[name] = f
	}
	f.closed = false
	return f, nil
}

func (f *memFile) Write(p []byte) (int, error) {
	if f.fs.block != nil {
		select {
		case f.fs.writing <- struct{}{}:
		default:
		}
		<-f.fs.block
	}
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if f.closed {
		return 0, errors.New("write to closed file")
	}
	return f.buf.Write(p)
}

func (f *memFile) Close() error {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	f.closed = true
	return nil
}

// contents returns every file's content, by name.
func (fs *memFS) contents() map[string]string {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	m := map[string]string{}
	for k, f := range fs.files {
		m[k] = f.buf.String()
	}
	return m
}

func (fs *memFS) isClosed(name string) bool {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	f := fs.files[name]
	return f != nil && f.closed
}

// fakeClock is a settable clock.
type fakeClock struct{ ns atomic.Int64 }

func (c *fakeClock) now() time.Time   { return time.Unix(0, c.ns.Load()) }
func (c *fakeClock) set(t time.Time)  { c.ns.Store(t.UnixNano()) }
func newClock(t time.Time) *fakeClock { c := &fakeClock{}; c.set(t); return c }

func line(s string) *[]byte {
	b := getBuf()
	*b = append(*b, s+"\n"...)
	return b
}

func waitWritten(t *testing.T, o *Output, n uint64) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for o.Stats().Written < n {
		if time.Now().After(deadline) {
			t.Fatalf("written = %d after 5s; want %d", o.Stats().Written, n)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestRotation(t *testing.T) {
	t0 := time.Date(2024, 1, 2, 23, 59, 59, 0, time.UTC)
	tests := []struct {
		name    string
		rolling Rolling
		next    time.Time // the clock for the second line
		want    map[string]string
	}{
		{"daily", Daily, t0.Add(2 * time.Second), map[string]string{
			"/l/a.log.2024-01-02": "one\n", "/l/a.log.2024-01-03": "two\n"}},
		{"daily same day", Daily, t0.Add(-time.Hour), map[string]string{
			"/l/a.log.2024-01-02": "one\ntwo\n"}},
		{"hourly", Hourly, t0.Add(2 * time.Second), map[string]string{
			"/l/a.log.2024-01-02-23": "one\n", "/l/a.log.2024-01-03-00": "two\n"}},
		{"minutely", Minutely, t0.Add(2 * time.Second), map[string]string{
			"/l/a.log.2024-01-02-23-59": "one\n", "/l/a.log.2024-01-03-00-00": "two\n"}},
		{"never", Never, t0.Add(48 * time.Hour), map[string]string{
			"/l/a.log": "one\ntwo\n"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs, clock := newMemFS(), newClock(t0)
			outs := NewOutputs(OutputsOptions{Now: clock.now, OpenFile: fs.open})
			o, err := outs.Open(Spec{Path: "/l/a.log", Rolling: tt.rolling, Buffer: 8})
			if err != nil {
				t.Fatal(err)
			}
			o.Enqueue(line("one"))
			waitWritten(t, o, 1)
			clock.set(tt.next)
			o.Enqueue(line("two"))
			waitWritten(t, o, 2)
			outs.Close(context.Background())
			got := fs.contents()
			if len(got) != len(tt.want) {
				t.Errorf("files = %v; want %v", got, tt.want)
			}
			for name, want := range tt.want {
				if got[name] != want {
					t.Errorf("%s = %q; want %q", name, got[name], want)
				}
				if !fs.isClosed(name) {
					t.Errorf("%s is still open after Close", name)
				}
			}
		})
	}
}

func TestRotationRealFiles(t *testing.T) {
	dir := t.TempDir()
	clock := newClock(time.Date(2024, 5, 6, 7, 59, 0, 0, time.UTC))
	outs := NewOutputs(OutputsOptions{Now: clock.now})
	path := filepath.Join(dir, "sub", "access.log")
	o, err := outs.Open(Spec{Path: path, Rolling: Hourly, Buffer: 8})
	if err != nil {
		t.Fatal(err)
	}
	o.Enqueue(line("a"))
	waitWritten(t, o, 1)
	clock.set(clock.now().Add(time.Minute))
	o.Enqueue(line("b"))
	waitWritten(t, o, 2)
	o.Release()
	outs.Close(context.Background())
	names, _ := filepath.Glob(filepath.Join(dir, "sub", "*"))
	sort.Strings(names)
	want := []string{path + ".2024-05-06-07", path + ".2024-05-06-08"}
	if strings.Join(names, " ") != strings.Join(want, " ") {
		t.Fatalf("files = %v; want %v", names, want)
	}
	for i, w := range []string{"a\n", "b\n"} {
		if b, _ := os.ReadFile(want[i]); string(b) != w {
			t.Errorf("%s = %q; want %q", want[i], b, w)
		}
	}
}

func TestOpenUnwritable(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "file"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	outs := NewOutputs(OutputsOptions{})
	_, err := outs.Open(Spec{Path: filepath.Join(dir, "file", "access.log"), Buffer: 1})
	if err == nil || !strings.Contains(err.Error(), "opening access log") {
		t.Fatalf("Open under a regular file: %v; want an error", err)
	}
}

// A stuck disk must never hold up a request: lines beyond the queue are
// dropped and counted.
func TestDropsWhenWriterBlocked(t *testing.T) {
	fs := newMemFS()
	fs.block, fs.writing = make(chan struct{}), make(chan struct{}, 1)
	outs := NewOutputs(OutputsOptions{OpenFile: fs.open})
	o, err := outs.Open(Spec{Path: "/l/a.log", Buffer: 2})
	if err != nil {
		t.Fatal(err)
	}
	o.Enqueue(line("first"))
	select {
	case <-fs.writing: // the writer is stuck in Write with "first"
	case <-time.After(5 * time.Second):
		t.Fatal("the writer never wrote")
	}
	start := time.Now()
	accepted := 0
	for i := range 7 {
		if o.Enqueue(line("more" + string(rune('0'+i)))) {
			accepted++
		}
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("7 enqueues on a stuck output took %v", d)
	}
	if accepted != 2 {
		t.Errorf("accepted %d lines; want 2 (the queue size)", accepted)
	}
	if st := o.Stats(); st.Dropped != 5 {
		t.Errorf("dropped = %d; want 5", st.Dropped)
	}
	close(fs.block)
	outs.Close(context.Background())
	if got, want := fs.contents()["/l/a.log"], "first\nmore0\nmore1\n"; got != want {
		t.Errorf("file = %q; want %q", got, want)
	}
}

func TestSharedOutput(t *testing.T) {
	fs := newMemFS()
	outs := NewOutputs(OutputsOptions{OpenFile: fs.open})
	a, err := outs.Open(Spec{Path: "/l/a.log", Buffer: 4})
	if err != nil {
		t.Fatal(err)
	}
	b, err := outs.Open(Spec{Path: "/l/a.log", Buffer: 4, Rolling: Daily})
	if err != nil {
		t.Fatal(err)
	}
	if a != b {
		t.Fatal("two opens of one path gave two outputs")
	}
	if fs.opened != 1 {
		t.Fatalf("file opened %d times; want 1", fs.opened)
	}
	a.Release()
	b.Enqueue(line("still open")) // the second holder still writes
	waitWritten(t, b, 1)
	if got := fs.contents()["/l/a.log"]; got != "" {
		// The second Open switched the output to daily files.
		t.Errorf("undated file has %q; want the line in the daily file", got)
	}
	var n int
	outs.Each(func(OutputStats) { n++ })
	if n != 1 {
		t.Errorf("Each saw %d outputs; want 1", n)
	}
	b.Release()
	// The last release closes in the background; opening again waits for
	// it and opens anew.
	c, err := outs.Open(Spec{Path: "/l/a.log", Buffer: 4})
	if err != nil {
		t.Fatal(err)
	}
	if c == a {
		t.Error("an output released by all holders was reused")
	}
	if b.Enqueue(line("late")) {
		t.Error("a closed output accepted a line")
	}
	c.Release()
	outs.Close(context.Background())
}

func TestFlushTimeout(t *testing.T) {
	fs := newMemFS()
	outs := NewOutputs(OutputsOptions{OpenFile: fs.open})
	o, err := outs.Open(Spec{Path: "/l/a.log", Buffer: 4, FlushTimeout: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	o.Enqueue(line("held"))
	waitWritten(t, o, 1)
	if got := fs.contents()["/l/a.log"]; got != "" {
		t.Errorf("with flush_timeout=1h the line reached the file at once: %q", got)
	}
	outs.Close(context.Background())
	if got := fs.contents()["/l/a.log"]; got != "held\n" {
		t.Errorf("after Close the file has %q; want the line", got)
	}
}

func TestStdout(t *testing.T) {
	var mu sync.Mutex
	var buf bytes.Buffer
	outs := NewOutputs(OutputsOptions{Stdout: writerFunc(func(p []byte) (int, error) {
		mu.Lock()
		defer mu.Unlock()
		return buf.Write(p)
	})})
	o, err := outs.Open(Spec{Buffer: 4})
	if err != nil {
		t.Fatal(err)
	}
	tmpl, err := Compile("{method} {status}", testOpts)
	if err != nil {
		t.Fatal(err)
	}
	NewLogger(tmpl, o, false).Log(testRecord())
	NewLogger(tmpl, o, true).Log(testRecord())
	waitWritten(t, o, 2)
	if st := o.Stats(); st.Name != "stdout" {
		t.Errorf("name = %q; want stdout", st.Name)
	}
	o.Release()
	outs.Close(context.Background())
	mu.Lock()
	defer mu.Unlock()
	if got, want := buf.String(), "GET 201\n{\"method\":\"GET\",\"status\":201}\n"; got != want {
		t.Errorf("stdout = %q; want %q", got, want)
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }
