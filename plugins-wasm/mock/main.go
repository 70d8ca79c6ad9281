// Command mock is the sluice plugin for Pingap's "mock" category: it answers
// matching requests with a canned response instead of proxying them.
//
// Parameters:
//
//	path     exact request path (query ignored) to answer; "" (default)
//	         answers every request.
//	status   response status, default 200.
//	headers  response headers, ["Name: value", ...].
//	data     response body, default empty.
//	delay    wait this long before answering, e.g. "500ms"; default 0.
//
// A delay never blocks the VM: the request is paused and answered from the
// plugin's tick once it is due, so other requests on the same VM go on.
package main

import (
	"errors"
	"strings"
	"time"

	"github.com/sluice-proxy/sluice/sdk"
)

func main() {}

func init() { sdk.Register(newMock) }

type mock struct {
	path    string
	status  int
	headers [][2]string
	data    []byte
	delay   time.Duration
	tick    time.Duration

	// waiting holds the delayed requests of this VM, oldest first; since
	// every one waits the same delay, they also fall due in this order.
	waiting []waiting
	ticking bool
}

type waiting struct {
	r   sdk.Request
	due time.Time
}

func newMock(cfg []byte) (sdk.Plugin, error) {
	c, err := sdk.ParseConfig(cfg)
	if err != nil {
		return nil, err
	}
	m := &mock{
		path:    c.String("path", ""),
		status:  c.Int("status", 200),
		headers: c.HeaderLines("headers"),
		data:    []byte(c.String("data", "")),
		delay:   c.Duration("delay", 0),
	}
	if m.path != "" && m.path[0] != '/' {
		c.Invalid("path", "must start with /")
	}
	if m.status < 100 || m.status > 999 {
		c.Invalid("status", "must be between 100 and 999")
	}
	if m.delay < 0 {
		c.Invalid("delay", "must not be negative")
	}
	// Check due requests often enough to be late by at most a twentieth of
	// the delay, within sane bounds.
	m.tick = min(max(m.delay/20, time.Millisecond), 50*time.Millisecond)
	return m, c.Err()
}

// OnRequestHeaders answers a matching request, at once or after the delay.
func (m *mock) OnRequestHeaders(r sdk.Request) sdk.Action {
	if m.path != "" {
		p := r.Path()
		if i := strings.IndexByte(p, '?'); i >= 0 {
			p = p[:i]
		}
		if p != m.path {
			return sdk.Continue
		}
	}
	if m.delay <= 0 {
		m.respond(r)
		return sdk.Pause
	}
	m.waiting = append(m.waiting, waiting{r: r, due: sdk.Now().Add(m.delay)})
	if !m.ticking {
		if err := sdk.SetTickPeriod(m.tick); err != nil {
			sdk.Error("mock: cannot start the delay timer, answering now: " + err.Error())
			m.waiting = m.waiting[:len(m.waiting)-1]
			m.respond(r)
			return sdk.Pause
		}
		m.ticking = true
	}
	return sdk.Pause
}

// OnTick answers the requests that are due and stops the timer when none
// are left.
func (m *mock) OnTick() {
	now := sdk.Now()
	n := 0
	for n < len(m.waiting) && !m.waiting[n].due.After(now) {
		m.respond(m.waiting[n].r)
		n++
	}
	if n > 0 {
		rest := copy(m.waiting, m.waiting[n:])
		clear(m.waiting[rest:])
		m.waiting = m.waiting[:rest]
	}
	if len(m.waiting) == 0 && m.ticking {
		if err := sdk.SetTickPeriod(0); err == nil {
			m.ticking = false
		}
	}
}

func (m *mock) respond(r sdk.Request) {
	if err := r.Respond(m.status, m.headers, m.data); err != nil && !errors.Is(err, sdk.ErrStreamGone) {
		sdk.Error("mock: " + err.Error())
	}
}
