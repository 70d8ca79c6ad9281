package codec

import (
	"errors"
	"fmt"
	"io/fs"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sluice-proxy/sluice/abi/codecabi"
)

// Options configure a Codec. The zero value is usable.
type Options struct {
	// MaxSessions bounds the sessions open at once, across plugins; an
	// Open beyond it fails (the compression plugin then sends the
	// response as it is). Each holds an encoder's window (up to a few
	// MiB for br and zstd). Default 4096.
	MaxSessions int
	// IdleTimeout is how long a session may go unused before it is
	// reaped. It must outlast the quiet spells of a compressed event
	// stream (a reaped session ends it); sessions are left behind only
	// by VMs that trapped mid-body, rare enough to keep for a while.
	// Default 1 hour.
	IdleTimeout time.Duration
	// Now is the clock (tests set it). Default time.Now.
	Now func() time.Time
}

// Codec is the set of open compression sessions of the process.
type Codec struct {
	opts Options

	mu       sync.Mutex
	sessions map[uint32]*session
	next     uint32
	lastReap time.Time

	stats [2][5]counters // by direction (0 encode, 1 decode) and encoding
}

type counters struct{ bodies, in, out atomic.Uint64 }

// session is one body being encoded or decoded.
type session struct {
	plugin string
	dir    int // 0 encode, 1 decode
	enc    codecabi.Encoding
	mu     sync.Mutex // one call at a time on a session
	used   time.Time  // guarded by Codec.mu
	e      *encoder   // or
	d      *decoder
}

// ErrTooManySessions is the error of an Open beyond Options.MaxSessions.
var ErrTooManySessions = errors.New("codec: too many open sessions")

// New returns an empty Codec.
func New(o Options) *Codec {
	if o.MaxSessions <= 0 {
		o.MaxSessions = 4096
	}
	if o.IdleTimeout <= 0 {
		o.IdleTimeout = time.Hour
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Codec{opts: o, sessions: map[uint32]*session{}}
}

// Functions returns the foreign functions of abi/codecabi by name, for
// wasm.Options.ForeignFunctions (through wasm.ErrorFunc).
func (c *Codec) Functions() map[string]func(plugin string, args []byte) ([]byte, error) {
	return map[string]func(string, []byte) ([]byte, error){
		codecabi.FuncOpen:  c.Open,
		codecabi.FuncWrite: c.Write,
		codecabi.FuncClose: c.Close,
		codecabi.FuncStats: c.StatsFunc,
	}
}

// Sessions returns the number of open sessions.
func (c *Codec) Sessions() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.sessions)
}

// Shutdown ends every session (decoder goroutines included).
func (c *Codec) Shutdown() {
	c.mu.Lock()
	all := c.sessions
	c.sessions = map[uint32]*session{}
	c.mu.Unlock()
	for _, s := range all {
		s.mu.Lock()
		s.release()
		s.mu.Unlock()
	}
}

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{fs.ErrInvalid}, args...)...)
}

// Open implements codecabi.FuncOpen: it starts a session, feeds it the
// first chunk, and keeps it unless the chunk finished the stream.
func (c *Codec) Open(plugin string, args []byte) ([]byte, error) {
	a, err := codecabi.DecodeOpen(args)
	if err != nil {
		return nil, invalid("codec open: %v", err)
	}
	if a.Encoding.String() == "" {
		return nil, invalid("codec open: unknown encoding %d", a.Encoding)
	}
	s := &session{plugin: plugin, enc: a.Encoding}
	switch a.Mode {
	case codecabi.ModeEncode:
		lo, hi := a.Encoding.LevelRange()
		if l := int(a.Level); l != 0 && (l < lo || l > hi) {
			return nil, invalid("codec open: %s level %d out of range %d-%d", a.Encoding, l, lo, hi)
		}
		s.e = getEncoder(a.Encoding, int(a.Level))
	case codecabi.ModeDecode:
		s.dir, s.d = 1, newDecoder(a.Encoding)
	default:
		return nil, invalid("codec open: unknown mode %q", byte(a.Mode))
	}
	out, rf, err := s.write(a.Flags, a.Data)
	ended := err == nil && (rf&codecabi.ResultEnd != 0 || a.Flags&codecabi.FlagFinish != 0)
	c.count(s, len(a.Data), len(out), ended)
	if err != nil || ended {
		s.release()
		if err != nil {
			return nil, fmt.Errorf("codec open (%s): %w", a.Encoding, err)
		}
		return codecabi.AppendOpenResult(make([]byte, 0, 5+len(out)), 0, rf|codecabi.ResultEnd, out), nil
	}
	h, err := c.add(s)
	if err != nil {
		s.release()
		return nil, err
	}
	return codecabi.AppendOpenResult(make([]byte, 0, 5+len(out)), h, rf, out), nil
}

// add registers s and returns its handle; it reaps idle sessions first.
func (c *Codec) add(s *session) (uint32, error) {
	now := c.opts.Now()
	var idle []*session
	c.mu.Lock()
	if now.Sub(c.lastReap) >= c.opts.IdleTimeout/2 {
		c.lastReap = now
		for h, o := range c.sessions {
			if now.Sub(o.used) > c.opts.IdleTimeout {
				delete(c.sessions, h)
				idle = append(idle, o)
			}
		}
	}
	if len(c.sessions) >= c.opts.MaxSessions {
		c.mu.Unlock()
		c.releaseAll(idle)
		return 0, fmt.Errorf("%w (%d)", ErrTooManySessions, c.opts.MaxSessions)
	}
	for {
		c.next++
		if _, used := c.sessions[c.next]; c.next != 0 && !used {
			break
		}
	}
	h := c.next
	s.used = now
	c.sessions[h] = s
	c.mu.Unlock()
	c.releaseAll(idle)
	return h, nil
}

func (c *Codec) releaseAll(ss []*session) {
	for _, s := range ss {
		s.mu.Lock()
		s.release()
		s.mu.Unlock()
	}
}

// lookup returns the session h of plugin.
func (c *Codec) lookup(plugin string, h uint32, op string) (*session, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.sessions[h]
	if s == nil || s.plugin != plugin {
		return nil, fmt.Errorf("codec %s: %w: no session %d of plugin %q", op, fs.ErrNotExist, h, plugin)
	}
	s.used = c.opts.Now()
	return s, nil
}

func (c *Codec) drop(h uint32, s *session) {
	c.mu.Lock()
	if c.sessions[h] == s {
		delete(c.sessions, h)
	}
	c.mu.Unlock()
}

// Write implements codecabi.FuncWrite.
func (c *Codec) Write(plugin string, args []byte) ([]byte, error) {
	h, f, data, err := codecabi.DecodeWrite(args)
	if err != nil {
		return nil, invalid("codec write: %v", err)
	}
	s, err := c.lookup(plugin, h, "write")
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out, rf, err := s.write(f, data)
	ended := err == nil && (rf&codecabi.ResultEnd != 0 || f&codecabi.FlagFinish != 0)
	c.count(s, len(data), len(out), ended)
	if err != nil || ended {
		c.drop(h, s)
		s.release()
		if err != nil {
			return nil, fmt.Errorf("codec write (session %d): %w", h, err)
		}
		rf |= codecabi.ResultEnd
	}
	return codecabi.AppendWriteResult(make([]byte, 0, 1+len(out)), rf, out), nil
}

// Close implements codecabi.FuncClose: it drops a session unfinished.
func (c *Codec) Close(plugin string, args []byte) ([]byte, error) {
	h, err := codecabi.DecodeClose(args)
	if err != nil {
		return nil, invalid("codec close: %v", err)
	}
	s, err := c.lookup(plugin, h, "close")
	if err != nil {
		return nil, err
	}
	c.drop(h, s)
	s.mu.Lock()
	s.release()
	s.mu.Unlock()
	return nil, nil
}

// write feeds data to the session; the output is a fresh slice (the host
// copies it into the guest, but sdktest hands it over as is).
func (s *session) write(f codecabi.Flags, data []byte) ([]byte, codecabi.ResultFlags, error) {
	switch {
	case s.e != nil:
		out, err := s.e.write(data, f)
		return out, 0, err
	case s.d != nil:
		return s.d.write(data, f&codecabi.FlagFinish != 0)
	}
	return nil, 0, invalid("codec: session already finished")
}

// release frees what the session holds. s.mu is held (or s is private).
func (s *session) release() {
	if s.e != nil {
		s.e.release()
		s.e = nil
	}
	if s.d != nil {
		s.d.stop()
		s.d = nil
	}
}

// count adds a call's figures to the process-wide counters.
func (c *Codec) count(s *session, in, out int, ended bool) {
	k := &c.stats[s.dir][s.enc]
	k.in.Add(uint64(in))
	k.out.Add(uint64(out))
	if ended {
		k.bodies.Add(1)
	}
}

// Stats returns the process-wide figures.
func (c *Codec) Stats() codecabi.Stats {
	var st codecabi.Stats
	for e := range st.Encoded {
		for dir, dst := range []*[5]codecabi.Counters{&st.Encoded, &st.Decoded} {
			k := &c.stats[dir][e]
			dst[e] = codecabi.Counters{Bodies: k.bodies.Load(), In: k.in.Load(), Out: k.out.Load()}
		}
	}
	return st
}

// StatsFunc implements codecabi.FuncStats.
func (c *Codec) StatsFunc(string, []byte) ([]byte, error) {
	st := c.Stats()
	return codecabi.AppendStats(make([]byte, 0, codecabi.StatsSize), &st), nil
}
