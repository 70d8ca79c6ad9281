// Command limit is the sluice plugin for Pingap's "limit" category: it
// answers 429 Too Many Requests, with Retry-After, to the requests of a key
// (the client IP, a header, a cookie or a query parameter) past a rate or a
// number in flight.
//
// Parameters (Pingap's):
//
//	type      "rate" (default) or "inflight".
//	tag       where the key comes from: "ip" (default; the client IP after
//	          basic.trusted_proxies), "header", "cookie" or "query".
//	key       the header, cookie or query parameter name; required unless
//	          tag is "ip". A request without a key value is not limited.
//	max       required, >= 0. rate: requests per interval; inflight:
//	          requests at once.
//	interval  rate only: the window, a duration (default "10s").
//	weight    rate only: 0-100 (default 50), the share of the current
//	          window in the estimate (below).
//	step      "request" (default) or "proxy_upstream"; sluice has one
//	          request phase, so both limit there.
//
// # Rate
//
// Pingap's sliding two-window estimate: time is cut into windows of
// interval (aligned on the Unix epoch, so every VM agrees), each key
// counts its requests in the current window (curr) and in the one before
// (prev), the request being checked included, refused ones too (a client
// that keeps knocking stays refused). With w = weight/100 the estimate is
//
//	rate = (prev×(1-w) + curr×w) / interval in seconds
//
// and the request is refused when rate > max / max(interval in seconds, 1).
// With an interval of at least a second that is prev×(1-w) + curr×w > max:
// the default weight 50 lets a key that was quiet in the previous window
// make 2×max requests in the current one, weight 100 makes it a fixed
// window of max requests, and weight 0 looks at the previous window only
// (GitHub issues vicanso/pingap#93 and #139). Retry-After says when a
// client that stops now would be let in again.
//
// # Inflight
//
// A request is refused when it would make more than max requests of its
// key in flight at once; its slot is released when the request ends,
// however it ends (on_done runs when the client goes away, too).
// Retry-After is 1.
//
// # Across VMs
//
// The counts live in shared data (see buckets.go) and every update is a
// compare-and-swap, so the limit holds across all the plugin's VMs
// (basic.wasm_vms). A VM that dies (a trap) never releases the inflight
// slots of its requests: each instance therefore beats a heartbeat into a
// registry once a second, and the counts of an instance silent for
// staleAfter are dropped.
package main

import (
	"bytes"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/sluice-proxy/sluice/sdk"
)

func main() {}

func init() { sdk.Register(newLimit) }

const (
	tickPeriod = time.Second
	// staleAfter is how long an instance may go without a heartbeat before
	// its inflight counts stop counting: ten missed ticks, far more than a
	// busy VM delays one, since callbacks have a time budget.
	staleAfter = 10 * tickPeriod
	// casAttempts bounds a compare-and-swap loop: every retry means
	// another VM wrote in between, so a handful is plenty.
	casAttempts = 64
)

type tagKind uint8

const (
	tagIP tagKind = iota
	tagHeader
	tagCookie
	tagQuery
)

// common is what both limiters share.
type common struct {
	tag     tagKind
	key     string // header (lower case), cookie or query parameter name
	max     int64
	buckets []string // shared-data keys, by bucket
	buf     []byte   // the bucket being written, reused
	id      []byte   // the request's key identity, reused
	body    []byte   // the 429 body, reused
}

func newLimit(cfg []byte) (sdk.Plugin, error) {
	c, err := sdk.ParseConfig(cfg)
	if err != nil {
		return nil, err
	}
	var cm common
	inflight := false
	switch t := c.String("type", ""); t {
	case "", "rate":
	case "inflight":
		inflight = true
	default:
		c.Invalid("type", `want "rate" or "inflight", got `+strconv.Quote(t))
	}
	switch t := c.String("tag", ""); t {
	case "", "ip":
		cm.tag = tagIP
	case "header":
		cm.tag = tagHeader
	case "cookie":
		cm.tag = tagCookie
	case "query":
		cm.tag = tagQuery
	default:
		c.Invalid("tag", `want "ip", "header", "cookie" or "query", got `+strconv.Quote(t))
	}
	cm.key = c.String("key", "")
	switch {
	case cm.tag == tagIP:
	case cm.key == "":
		c.Invalid("key", "required when tag is not ip")
	case cm.tag == tagHeader && !sdk.IsToken(cm.key):
		c.Invalid("key", strconv.Quote(cm.key)+" is not a valid header name")
	case cm.tag == tagHeader:
		cm.key = strings.ToLower(cm.key)
	}
	if !c.Has("max") {
		c.Invalid("max", "required")
	} else if cm.max = int64(c.Int("max", 0)); cm.max < 0 {
		c.Invalid("max", "must not be negative")
	}
	interval := c.Duration("interval", 10*time.Second)
	if interval < time.Millisecond {
		c.Invalid("interval", "must be at least 1ms")
	}
	weight := c.Int("weight", 50)
	if weight < 0 || weight > 100 {
		c.Invalid("weight", "must be between 0 and 100, got "+strconv.Itoa(weight))
	}
	switch s := c.String("step", ""); s {
	case "", "request", "proxy_upstream":
	default:
		c.Invalid("step", `want "request" or "proxy_upstream", got `+strconv.Quote(s))
	}
	if err := c.Err(); err != nil {
		return nil, err
	}

	name, err := sdk.PropertyString("plugin_name")
	if err != nil || name == "" {
		name = "limit"
	}
	kind := "rate"
	if inflight {
		kind = "inflight"
	}
	prefix := name + "/" + kind + "/"
	cm.buckets = make([]string, nBuckets)
	for i := range cm.buckets {
		cm.buckets[i] = prefix + strconv.Itoa(i)
	}
	if inflight {
		return newInflight(cm, name+"/owners")
	}
	return newRate(cm, interval, weight), nil
}

// keyID returns the identity of the request's limiting key (see keyID in
// buckets.go) in a buffer of cm, false when the request has no key.
func (cm *common) keyID(r sdk.Request) ([]byte, bool) {
	var v string
	switch cm.tag {
	case tagHeader:
		v = r.Header().Get(cm.key)
	case tagCookie:
		v, _ = r.Cookie(cm.key)
	case tagQuery:
		v, _ = sdk.QueryParam(r.Path(), cm.key)
	default:
		ip := clientIP(r)
		cm.id = keyID(cm.id[:0], ip)
		return cm.id, len(ip) > 0
	}
	cm.id = keyID(cm.id[:0], v)
	return cm.id, v != ""
}

// clientIP is the client's address as the host resolved it (after
// trusted proxies), or the peer's address without its port. It is only
// hashed, so it stays bytes.
func clientIP(r sdk.Request) []byte {
	if b, err := r.Property("sluice.client_ip"); err == nil && len(b) > 0 {
		return b
	}
	b, err := r.Property("source.address")
	if err != nil {
		return nil
	}
	if i := bytes.LastIndexByte(b, ':'); i >= 0 && bytes.IndexByte(b[:i], ':') < 0 {
		return b[:i] // v4:port
	}
	if len(b) > 0 && b[0] == '[' {
		if i := bytes.Index(b, []byte("]:")); i > 0 {
			return b[1:i] // [v6]:port
		}
	}
	return b
}

// refuse answers 429 with Pingap's body, "Plugin limit, exceed limit
// VALUE/MAX", and Retry-After.
func (cm *common) refuse(r sdk.Request, value, max float64, retryAfter int64) {
	b := append(cm.body[:0], "Plugin limit, exceed limit "...)
	b = strconv.AppendFloat(b, value, 'f', -1, 64)
	b = append(b, '/')
	b = strconv.AppendFloat(b, max, 'f', -1, 64)
	cm.body = b
	headers := [][2]string{
		{"content-type", "text/plain; charset=utf-8"},
		{"retry-after", strconv.FormatInt(retryAfter, 10)},
		{"cache-control", "no-store"},
	}
	if err := r.Respond(429, headers, b); err != nil {
		sdk.Error("limit: answering 429: " + err.Error())
	}
}

// rate limits requests per window.
type rate struct {
	common
	intervalMS uint64
	seconds    float64 // interval in seconds
	weight     float64 // share of the current window, 0-1
	maxRate    float64 // Pingap's per-second limit
}

func newRate(cm common, interval time.Duration, weight int) *rate {
	p := &rate{
		common:     cm,
		intervalMS: uint64(interval / time.Millisecond),
		seconds:    interval.Seconds(),
		weight:     float64(weight) / 100,
	}
	p.maxRate = float64(p.max) / max(p.seconds, 1)
	return p
}

// estimate is Pingap's per-second rate of a key's two windows.
func (p *rate) estimate(c rateCount) float64 {
	return (float64(c.prev)*(1-p.weight) + float64(c.curr)*p.weight) / p.seconds
}

func (p *rate) OnRequestHeaders(r sdk.Request) sdk.Action {
	id, ok := p.keyID(r)
	if !ok {
		return sdk.Continue
	}
	bucket := p.buckets[fnv64(id)%nBuckets]
	nowMS := uint64(sdk.Now().UnixMilli())
	win := nowMS / p.intervalMS
	var c rateCount
	stored := false
	for range casAttempts {
		old, cas, err := sdk.GetSharedData(bucket)
		if err != nil && !isNotFound(err) {
			sdk.Error("limit: reading counters: " + err.Error())
			return sdk.Continue
		}
		p.buf, c = observeRate(p.buf[:0], old, id, win, p.intervalMS)
		err = sdk.SetSharedData(bucket, p.buf, cas)
		if err == nil {
			stored = true
			break
		}
		if !isCASMismatch(err) {
			sdk.Error("limit: writing counters: " + err.Error())
			return sdk.Continue
		}
	}
	if !stored {
		// Contention this long means the counters are hot: count the
		// request as refused rather than let a burst through.
		sdk.Warn("limit: counters too contended, refusing the request")
	} else if v := p.estimate(c); v <= p.maxRate {
		return sdk.Continue
	}
	p.refuse(r, p.estimate(c), p.maxRate, p.retryAfter(c, nowMS, win))
	return sdk.Pause
}

// retryAfter is how many seconds (at least 1) until a client that stops
// now would be let in: the end of this window if the next window's
// estimate (this window's count as prev, one request as curr) passes, else
// the end of the next.
func (p *rate) retryAfter(c rateCount, nowMS, win uint64) int64 {
	wait := (win+1)*p.intervalMS - nowMS
	if p.estimate(rateCount{prev: c.curr, curr: 1}) > p.maxRate {
		wait += p.intervalMS
	}
	return max(int64((wait+999)/1000), 1)
}

// inflight limits requests at once.
type inflight struct {
	common
	registryKey string
	owner       uint32
	view        ownerView
	alive       func(uint32) bool
	held        map[uint32][]byte // stream id → key identity, for the streams holding a slot
	scratch     []ownerBeat
}

// ownerView is this instance's picture of which owners are alive, renewed
// on each tick: owners seen in the registry with a fresh heartbeat, and
// any owner newer than the registry looked at (it registered since).
type ownerView struct {
	live    map[uint32]bool
	maxSeen uint32
}

func (v *ownerView) isAlive(o uint32) bool { return o > v.maxSeen || v.live[o] }

func newInflight(cm common, registryKey string) (*inflight, error) {
	p := &inflight{common: cm, registryKey: registryKey, held: map[uint32][]byte{}}
	p.view.live = map[uint32]bool{}
	p.alive = p.view.isAlive
	if err := p.heartbeat(false); err != nil {
		return nil, err
	}
	if err := sdk.SetTickPeriod(tickPeriod); err != nil {
		return nil, err
	}
	return p, nil
}

// heartbeat registers this instance (the first time), renews its beat or
// removes it (leave), and renews the view of live owners.
func (p *inflight) heartbeat(leave bool) error {
	now := uint64(sdk.Now().UnixMilli())
	stale := uint64(staleAfter / time.Millisecond)
	for range casAttempts {
		old, cas, err := sdk.GetSharedData(p.registryKey)
		if err != nil && !isNotFound(err) {
			return err
		}
		reg := parseRegistry(old, p.scratch)
		p.scratch = reg.owners
		var owner uint32
		p.buf, owner = reg.beat(p.buf[:0], p.owner, now, stale, leave)
		err = sdk.SetSharedData(p.registryKey, p.buf, cas)
		if err == nil {
			p.owner = owner
			clear(p.view.live)
			for _, o := range reg.owners {
				if o.beat+stale >= now {
					p.view.live[o.id] = true
				}
			}
			p.view.maxSeen = max(reg.seq, owner)
			return nil
		}
		if !isCASMismatch(err) {
			return err
		}
	}
	return errors.New("updating the limit registry: too much contention")
}

func isNotFound(err error) bool    { return errors.Is(err, sdk.ErrNotFound) }
func isCASMismatch(err error) bool { return errors.Is(err, sdk.ErrCASMismatch) }

// OnTick renews the heartbeat.
func (p *inflight) OnTick() {
	if err := p.heartbeat(false); err != nil {
		sdk.Error("limit: heartbeat: " + err.Error())
	}
}

// Close leaves the registry: the configuration was retired, and its
// streams have all ended.
func (p *inflight) Close() {
	if err := p.heartbeat(true); err != nil {
		sdk.Error("limit: leaving the registry: " + err.Error())
	}
}

func (p *inflight) OnRequestHeaders(r sdk.Request) sdk.Action {
	id, ok := p.keyID(r)
	if !ok {
		return sdk.Continue
	}
	bucket := p.buckets[fnv64(id)%nBuckets]
	var total int64
	for range casAttempts {
		old, cas, err := sdk.GetSharedData(bucket)
		if err != nil && !isNotFound(err) {
			sdk.Error("limit: reading counters: " + err.Error())
			return sdk.Continue
		}
		var ok bool
		p.buf, total, ok = acquireInflight(p.buf[:0], old, id, p.owner, p.alive, p.max)
		if !ok {
			p.refuse(r, float64(total), float64(p.max), 1)
			return sdk.Pause
		}
		err = sdk.SetSharedData(bucket, p.buf, cas)
		if err == nil {
			p.held[r.ID()] = append([]byte(nil), id...)
			return sdk.Continue
		}
		if !isCASMismatch(err) {
			sdk.Error("limit: writing counters: " + err.Error())
			return sdk.Continue
		}
	}
	sdk.Warn("limit: counters too contended, refusing the request")
	p.refuse(r, float64(total), float64(p.max), 1)
	return sdk.Pause
}

// OnDone releases the stream's slot, however the stream ended.
func (p *inflight) OnDone(r sdk.Request) {
	id, ok := p.held[r.ID()]
	if !ok {
		return
	}
	delete(p.held, r.ID())
	bucket := p.buckets[fnv64(id)%nBuckets]
	for range casAttempts {
		old, cas, err := sdk.GetSharedData(bucket)
		if err != nil {
			if !isNotFound(err) {
				sdk.Error("limit: reading counters: " + err.Error())
			}
			return
		}
		p.buf = releaseInflight(p.buf[:0], old, id, p.owner, p.alive)
		err = sdk.SetSharedData(bucket, p.buf, cas)
		if err == nil || !isCASMismatch(err) {
			if err != nil {
				sdk.Error("limit: writing counters: " + err.Error())
			}
			return
		}
	}
	sdk.Error("limit: counters too contended to release a slot")
}
