package sdk

import (
	"time"
)

// DelayQueue runs functions after a delay without blocking the VM: a
// plugin that must answer late (an authentication plugin slowing down
// failed attempts, a mock with a delay) pauses the request, schedules the
// answer with After, and forwards its OnTick to Tick:
//
//	func (p *plugin) OnRequestHeaders(r sdk.Request) sdk.Action {
//		if err := p.delays.After(p.delay, func() { r.Respond(401, nil, nil) }); err != nil {
//			r.Respond(401, nil, nil) // no timer: answer now
//		}
//		return sdk.Pause
//	}
//
//	func (p *plugin) OnTick() { p.delays.Tick() }
//
// It drives the plugin instance's tick period (SetTickPeriod): ticks run
// only while something waits, often enough to be late by at most a
// twentieth of the delay (between 1ms and 50ms). A plugin that sets its
// own tick period must not use a DelayQueue. The zero value is ready to
// use; like all plugin state it belongs to one VM and needs no lock.
type DelayQueue struct {
	items   []delayed // by due time, oldest first
	period  time.Duration
	ticking bool
}

type delayed struct {
	due time.Time
	fn  func()
}

// After schedules fn to run from Tick once d has passed on the host clock
// (Now). If the ticks cannot be started it returns the error and forgets
// fn: the caller should then do at once what fn would have done.
func (q *DelayQueue) After(d time.Duration, fn func()) error {
	period := min(max(d/20, time.Millisecond), 50*time.Millisecond)
	if !q.ticking || period < q.period {
		if err := SetTickPeriod(period); err != nil {
			return err
		}
		q.ticking, q.period = true, period
	}
	it := delayed{due: Now().Add(d), fn: fn}
	// Items usually come in due order (one delay per plugin): search from
	// the end for the place that keeps the queue sorted, FIFO among equals.
	i := len(q.items)
	for i > 0 && q.items[i-1].due.After(it.due) {
		i--
	}
	q.items = append(q.items, delayed{})
	copy(q.items[i+1:], q.items[i:])
	q.items[i] = it
	return nil
}

// Tick runs, in due order, the functions whose time has come, and stops the
// ticks once nothing waits. Call it from the plugin's OnTick.
func (q *DelayQueue) Tick() {
	now := Now()
	n := 0
	for n < len(q.items) && !q.items[n].due.After(now) {
		n++
	}
	due := make([]delayed, n)
	copy(due, q.items[:n])
	rest := copy(q.items, q.items[n:])
	clear(q.items[rest:])
	q.items = q.items[:rest]
	// Run after the queue is consistent, so that fn may call After.
	for _, it := range due {
		it.fn()
	}
	if len(q.items) == 0 && q.ticking {
		if err := SetTickPeriod(0); err == nil {
			q.ticking, q.period = false, 0
		}
	}
}

// Len returns the number of functions waiting.
func (q *DelayQueue) Len() int { return len(q.items) }
