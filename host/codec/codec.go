package codec

import (
	"errors"
	"fmt"
	"io/fs"
	"sync"
	"time"

	"github.com/sluice-proxy/sluice/abi/codecabi"
)

// Options configure a Codec. The zero value is usable.
type Options struct {
	// MaxSessions bounds the sessions open at once, across plugins; an
	// Open beyond it fails. Default 10000.
	MaxSessions int
	// IdleTimeout is how long a session may go unused before it is
	// reaped. Default 2 minutes.
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
}

// session is one body being encoded or decoded.
type session struct {
	plugin string
	mu     sync.Mutex // one call at a time on a session
	used   time.Time  // guarded by Codec.mu
	enc    *encoder   // or
	dec    *decoder
}

// ErrTooManySessions is the error of an Open beyond Options.MaxSessions.
var ErrTooManySessions = errors.New("codec: too many open sessions")

// New returns an empty Codec.
func New(o Options) *Codec {
	if o.MaxSessions <= 0 {
		o.MaxSessions = 10000
	}
	if o.IdleTimeout <= 0 {
		o.IdleTimeout = 2 * time.Minute
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
	s := &session{plugin: plugin}
	switch a.Mode {
	case codecabi.ModeEncode:
		lo, hi := a.Encoding.LevelRange()
		if l := int(a.Level); l != 0 && (l < lo || l > hi) {
			return nil, invalid("codec open: %s level %d out of range %d-%d", a.Encoding, l, lo, hi)
		}
		s.enc = getEncoder(a.Encoding, int(a.Level))
	case codecabi.ModeDecode:
		s.dec = newDecoder(a.Encoding)
	default:
		return nil, invalid("codec open: unknown mode %q", byte(a.Mode))
	}
	out, rf, err := s.write(a.Flags, a.Data)
	if err != nil || rf&codecabi.ResultEnd != 0 || a.Flags&codecabi.FlagFinish != 0 {
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
	if err != nil || rf&codecabi.ResultEnd != 0 || f&codecabi.FlagFinish != 0 {
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
	case s.enc != nil:
		out, err := s.enc.write(data, f)
		return out, 0, err
	case s.dec != nil:
		return s.dec.write(data, f&codecabi.FlagFinish != 0)
	}
	return nil, 0, invalid("codec: session already finished")
}

// release frees what the session holds. s.mu is held (or s is private).
func (s *session) release() {
	if s.enc != nil {
		s.enc.release()
		s.enc = nil
	}
	if s.dec != nil {
		s.dec.stop()
		s.dec = nil
	}
}
