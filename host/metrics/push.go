package metrics

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/push"
	dto "github.com/prometheus/client_model/go"
)

// DefaultPushInterval is the push period when the URL sets no interval
// (Pingap pushes on its 60-second background tick).
const DefaultPushInterval = time.Minute

// PushTarget is a parsed prometheus_metrics push URL.
type PushTarget struct {
	// Gateway is the push gateway's base URL (scheme, host and any path
	// before /metrics/job/), without credentials.
	Gateway string
	// Job and Grouping form the group the metrics are stored under.
	Job      string
	Grouping [][2]string
	// User and Password are the basic-auth credentials, from the URL's
	// user info.
	User, Password string
	// Interval is the push period (?interval=), honoured exactly.
	Interval time.Duration
	// Timeout bounds one push (?timeout=). Default the interval, at most
	// 10s.
	Timeout time.Duration
}

// ParsePushURL parses a push URL such as
// "http://user:pass@gateway:9091/metrics/job/sluice/instance/$hostname?interval=15s".
// "$hostname" anywhere in it is replaced by hostname. After /metrics/job/
// come the job name and then label/value pairs of the grouping key, as the
// push gateway's API has them. The options are interval and timeout (Go
// durations); anything else is an error.
func ParsePushURL(raw, hostname string) (PushTarget, error) {
	raw = strings.ReplaceAll(raw, "$hostname", hostname)
	u, err := url.Parse(raw)
	if err != nil {
		return PushTarget{}, fmt.Errorf("push URL: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return PushTarget{}, fmt.Errorf("push URL %q: want http(s)://host[:port]/metrics/job/NAME", raw)
	}
	t := PushTarget{Interval: DefaultPushInterval}
	if u.User != nil {
		t.User = u.User.Username()
		t.Password, _ = u.User.Password()
	}
	base, rest, ok := strings.Cut(u.EscapedPath(), "/metrics/job/")
	if !ok || rest == "" {
		return PushTarget{}, fmt.Errorf("push URL %q: the path must be /metrics/job/NAME[/LABEL/VALUE...]", redact(u))
	}
	segs := strings.Split(strings.TrimSuffix(rest, "/"), "/")
	if len(segs)%2 != 1 {
		return PushTarget{}, fmt.Errorf("push URL %q: grouping label %q has no value", redact(u), segs[len(segs)-1])
	}
	for i, s := range segs {
		if segs[i], err = url.PathUnescape(s); err != nil || segs[i] == "" {
			return PushTarget{}, fmt.Errorf("push URL %q: bad path segment %q", redact(u), s)
		}
	}
	t.Job = segs[0]
	for i := 1; i < len(segs); i += 2 {
		t.Grouping = append(t.Grouping, [2]string{segs[i], segs[i+1]})
	}
	t.Gateway = (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: base}).String()
	for k, vs := range u.Query() {
		v := vs[0]
		switch k {
		case "interval", "timeout":
			d, err := time.ParseDuration(v)
			if err != nil || d <= 0 {
				return PushTarget{}, fmt.Errorf("push URL %q: %s=%q: want a positive duration such as 15s", redact(u), k, v)
			}
			if k == "interval" {
				t.Interval = d
			} else {
				t.Timeout = d
			}
		default:
			return PushTarget{}, fmt.Errorf("push URL %q: unknown option %q (options are interval and timeout)", redact(u), k)
		}
	}
	if t.Timeout == 0 {
		t.Timeout = min(t.Interval, 10*time.Second)
	}
	return t, nil
}

// redact drops the password from u for messages.
func redact(u *url.URL) string { return u.Redacted() }

// PushOptions are the seams of a Pusher.
type PushOptions struct {
	// Client sends the pushes. Nil means a client with no global timeout
	// (each push has the target's).
	Client *http.Client
	// NewTicker returns a channel that ticks every d and a function that
	// stops it. Nil means time.NewTicker.
	NewTicker func(d time.Duration) (<-chan time.Time, func())
}

// Pusher pushes one server's series, and the process-wide ones, to a push
// gateway every interval, the first time one interval after it starts (so
// that building a config that is never run, as `sluice validate` does,
// pushes nothing).
type Pusher struct {
	p       *push.Pusher
	t       PushTarget
	r       *Registry
	stop    chan struct{}
	done    chan struct{}
	once    sync.Once
	mu      sync.Mutex
	lastErr error
}

// NewPusher starts pushing to t the series of server (those with
// server="<server>") and those without a server label (process, runtime,
// upstream backends, plugins). Stop ends it.
func (r *Registry) NewPusher(t PushTarget, server string, o PushOptions) *Pusher {
	if o.Client == nil {
		o.Client = &http.Client{}
	}
	if o.NewTicker == nil {
		o.NewTicker = func(d time.Duration) (<-chan time.Time, func()) {
			tk := time.NewTicker(d)
			return tk.C, tk.Stop
		}
	}
	p := push.New(t.Gateway, t.Job).Gatherer(serverGatherer{r.reg, server}).Client(o.Client)
	for _, g := range t.Grouping {
		p = p.Grouping(g[0], g[1])
	}
	if t.User != "" || t.Password != "" {
		p = p.BasicAuth(t.User, t.Password)
	}
	ps := &Pusher{p: p, t: t, r: r, stop: make(chan struct{}), done: make(chan struct{})}
	tick, stopTick := o.NewTicker(t.Interval)
	go ps.run(tick, stopTick)
	return ps
}

func (ps *Pusher) run(tick <-chan time.Time, stopTick func()) {
	defer close(ps.done)
	defer stopTick()
	for {
		select {
		case <-tick:
			ps.push()
		case <-ps.stop:
			return
		}
	}
}

func (ps *Pusher) push() {
	ctx, cancel := context.WithTimeout(context.Background(), ps.t.Timeout)
	defer cancel()
	err := ps.p.PushContext(ctx)
	ps.mu.Lock()
	prev := ps.lastErr
	ps.lastErr = err
	ps.mu.Unlock()
	switch {
	case err != nil && prev == nil:
		// Once per outage, not once per interval.
		ps.r.log.Warn("pushing metrics failed", "gateway", ps.t.Gateway, "job", ps.t.Job, "err", err)
	case err == nil && prev != nil:
		ps.r.log.Info("pushing metrics works again", "gateway", ps.t.Gateway, "job", ps.t.Job)
	}
}

// Err returns the error of the last push, nil if it worked.
func (ps *Pusher) Err() error {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	return ps.lastErr
}

// Stop ends the pushes and waits for one in progress to finish.
func (ps *Pusher) Stop() {
	ps.once.Do(func() { close(ps.stop) })
	<-ps.done
}

// serverGatherer gathers the series of one server and those of no server.
type serverGatherer struct {
	g      prometheus.Gatherer
	server string
}

func (s serverGatherer) Gather() ([]*dto.MetricFamily, error) {
	mfs, err := s.g.Gather()
	out := mfs[:0]
	for _, mf := range mfs {
		ms := mf.Metric[:0]
		for _, m := range mf.Metric {
			if serverOf(m) == "" || serverOf(m) == s.server {
				ms = append(ms, m)
			}
		}
		if len(ms) > 0 {
			mf.Metric = ms
			out = append(out, mf)
		}
	}
	return out, err
}

func serverOf(m *dto.Metric) string {
	for _, l := range m.Label {
		if l.GetName() == "server" {
			return l.GetValue()
		}
	}
	return ""
}
