package upstream

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sluice-proxy/sluice/host/config"
)

// step is one event in a circuit breaker scenario: a request outcome, the
// passing of time, or a Pick; then the expected state.
type step struct {
	do      string // "ok", "fail" (status 502), "status:N", "err", "canceled", "wait:DUR", "pick"
	want    CircuitState
	picked  bool // for "pick": whether the backend may be picked
	comment string
}

func TestCircuitBreaker(t *testing.T) {
	for _, tc := range []struct {
		name   string
		cfg    func(*config.Upstream)
		steps  []step
		events []string // circuit events, in order; nil = not checked
	}{
		{
			name: "consecutive failures open, time half-opens, successes close",
			cfg: func(c *config.Upstream) {
				c.CircuitBreakMaxConsecutiveFailures = 3
				c.CircuitBreakHalfOpenConsecutiveSuccessThreshold = 2
			},
			steps: []step{
				{do: "fail", want: CircuitClosed},
				{do: "fail", want: CircuitClosed},
				{do: "ok", want: CircuitClosed, comment: "a success resets the count"},
				{do: "fail", want: CircuitClosed},
				{do: "fail", want: CircuitClosed},
				{do: "fail", want: CircuitOpen},
				{do: "pick", want: CircuitOpen, picked: false},
				{do: "wait:9s", want: CircuitOpen},
				{do: "pick", want: CircuitOpen, picked: false},
				{do: "wait:1s", want: CircuitOpen},
				{do: "pick", want: CircuitHalfOpen, picked: true},
				{do: "pick", want: CircuitHalfOpen, picked: true, comment: "half-open lets trials through concurrently"},
				{do: "ok", want: CircuitHalfOpen},
				{do: "ok", want: CircuitClosed},
				{do: "fail", want: CircuitClosed, comment: "the count starts afresh"},
			},
			events: []string{"closed->open", "open->half_open", "half_open->closed"},
		},
		{
			name: "a failure while half-open opens again for a full period",
			cfg:  func(c *config.Upstream) { c.CircuitBreakMaxConsecutiveFailures = 1 },
			steps: []step{
				{do: "fail", want: CircuitOpen},
				{do: "wait:10s", want: CircuitOpen},
				{do: "pick", want: CircuitHalfOpen, picked: true},
				{do: "ok", want: CircuitHalfOpen},
				{do: "err", want: CircuitOpen, comment: "a transport error is a failure"},
				{do: "wait:9s", want: CircuitOpen},
				{do: "pick", want: CircuitOpen, picked: false},
				{do: "wait:1s", want: CircuitOpen},
				{do: "pick", want: CircuitHalfOpen, picked: true},
			},
			events: []string{"closed->open", "open->half_open", "half_open->open", "open->half_open"},
		},
		{
			name: "failure percentage over the threshold opens once enough requests were seen",
			cfg: func(c *config.Upstream) {
				c.CircuitBreakMaxFailurePercent = 50
				c.CircuitBreakMinRequestsThreshold = 4
			},
			steps: []step{
				{do: "ok", want: CircuitClosed},
				{do: "fail", want: CircuitClosed},
				{do: "fail", want: CircuitClosed, comment: "67% of 3 requests, under the minimum"},
				{do: "fail", want: CircuitOpen, comment: "75% of 4"},
			},
		},
		{
			name: "failure percentage equal to the threshold does not open",
			cfg: func(c *config.Upstream) {
				c.CircuitBreakMaxFailurePercent = 50
				c.CircuitBreakMinRequestsThreshold = 4
			},
			steps: []step{
				{do: "ok", want: CircuitClosed},
				{do: "ok", want: CircuitClosed},
				{do: "fail", want: CircuitClosed},
				{do: "fail", want: CircuitClosed, comment: "50% is not above 50%"},
			},
		},
		{
			name: "old failures leave the window",
			cfg: func(c *config.Upstream) {
				c.CircuitBreakMaxFailurePercent = 50
				c.CircuitBreakMinRequestsThreshold = 3
				c.BackendStatsInterval = config.Duration(time.Minute)
			},
			steps: []step{
				{do: "fail", want: CircuitClosed},
				{do: "fail", want: CircuitClosed},
				{do: "wait:61s", want: CircuitClosed},
				{do: "ok", want: CircuitClosed},
				{do: "ok", want: CircuitClosed},
				{do: "fail", want: CircuitClosed, comment: "1 of 3 in the window"},
			},
		},
		{
			name: "backend_failure_status_code decides what a failure is",
			cfg: func(c *config.Upstream) {
				c.CircuitBreakMaxConsecutiveFailures = 2
				c.BackendFailureStatusCode = "503, 429"
			},
			steps: []step{
				{do: "status:500", want: CircuitClosed},
				{do: "status:503", want: CircuitClosed},
				{do: "status:500", want: CircuitClosed, comment: "500 is a success here"},
				{do: "status:503", want: CircuitClosed},
				{do: "status:429", want: CircuitOpen},
			},
		},
		{
			name: "a client that went away is not counted",
			cfg:  func(c *config.Upstream) { c.CircuitBreakMaxConsecutiveFailures = 2 },
			steps: []step{
				{do: "fail", want: CircuitClosed},
				{do: "canceled", want: CircuitClosed},
				{do: "canceled", want: CircuitClosed},
				{do: "fail", want: CircuitOpen},
			},
		},
		{
			name: "late responses while open change nothing",
			cfg:  func(c *config.Upstream) { c.CircuitBreakMaxConsecutiveFailures = 1 },
			steps: []step{
				{do: "fail", want: CircuitOpen},
				{do: "ok", want: CircuitOpen},
				{do: "ok", want: CircuitOpen},
				{do: "ok", want: CircuitOpen},
				{do: "pick", want: CircuitOpen, picked: false},
			},
		},
		{
			name: "an outcome after the open period is the first trial",
			cfg: func(c *config.Upstream) {
				c.CircuitBreakMaxConsecutiveFailures = 1
				c.CircuitBreakHalfOpenConsecutiveSuccessThreshold = 1
				c.CircuitBreakOpenDuration = config.Duration(3 * time.Second)
			},
			steps: []step{
				{do: "fail", want: CircuitOpen},
				{do: "wait:3s", want: CircuitOpen},
				{do: "ok", want: CircuitClosed},
			},
			events: []string{"closed->open", "open->closed"},
		},
		{
			name: "without enable_backend_stats the breaker is inert (Pingap)",
			cfg: func(c *config.Upstream) {
				c.EnableBackendStats = false
				c.CircuitBreakMaxConsecutiveFailures = 1
			},
			steps: []step{
				{do: "fail", want: CircuitClosed},
				{do: "fail", want: CircuitClosed},
				{do: "pick", want: CircuitClosed, picked: true},
			},
			events: []string{},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			c := staticUpstream("round_robin", "10.0.0.1:80")
			c.EnableBackendStats = true
			tc.cfg(c)
			u := e.build(t, "u", c)
			defer u.Release()
			b := backend(t, u, "10.0.0.1:80")
			for i, s := range tc.steps {
				switch {
				case s.do == "ok":
					u.Done(pickOrSame(u, b), 200, nil)
				case s.do == "fail":
					u.Done(pickOrSame(u, b), 502, nil)
				case s.do == "err":
					u.Done(pickOrSame(u, b), 0, errors.New("connection refused"))
				case s.do == "canceled":
					u.Done(pickOrSame(u, b), 0, fmt.Errorf("reading body: %w", context.Canceled))
				case strings.HasPrefix(s.do, "status:"):
					var code int
					fmt.Sscanf(s.do, "status:%d", &code)
					u.Done(pickOrSame(u, b), code, nil)
				case strings.HasPrefix(s.do, "wait:"):
					d, _ := time.ParseDuration(strings.TrimPrefix(s.do, "wait:"))
					e.clock.Advance(d)
				case s.do == "pick":
					got, err := u.Pick(Key{}, nil)
					if picked := err == nil; picked != s.picked {
						t.Fatalf("step %d (%s): picked = %v; want %v", i, s.do, picked, s.picked)
					}
					if err == nil {
						if got != b {
							t.Fatalf("step %d: picked %v", i, got)
						}
						b.inflight.Add(-1) // not a request: no outcome
					} else if !errors.Is(err, ErrNoBackend) {
						t.Fatalf("step %d: %v", i, err)
					}
				default:
					t.Fatalf("bad step %q", s.do)
				}
				if got := b.Circuit(); got != s.want {
					t.Fatalf("step %d (%s %s): state = %v; want %v", i, s.do, s.comment, got, s.want)
				}
			}
			if tc.events != nil {
				var got []string
				for _, ev := range e.obs.list() {
					if after, ok := strings.CutPrefix(ev, "circuit u 10.0.0.1:80 "); ok {
						got = append(got, after)
					}
				}
				if fmt.Sprint(got) != fmt.Sprint(tc.events) {
					t.Errorf("circuit events = %v; want %v", got, tc.events)
				}
			}
		})
	}
}

// pickOrSame stands for a request: it counts b in flight as Pick would
// (Pick itself may refuse b while its circuit is open, and the scenario
// needs outcomes of requests picked earlier).
func pickOrSame(u *Upstream, b *Backend) *Backend {
	b.inflight.Add(1)
	return b
}

// Stats are kept and shown when enable_backend_stats is on.
func TestBackendStatsInStatus(t *testing.T) {
	e := newEnv(t)
	c := staticUpstream("round_robin", "10.0.0.1:80")
	c.EnableBackendStats = true
	u := e.build(t, "u", c)
	defer u.Release()
	for _, code := range []int{200, 200, 500, 200, 404, 503, 200, 200} {
		b, err := u.Pick(Key{}, nil)
		if err != nil {
			t.Fatal(err)
		}
		u.Done(b, code, nil)
	}
	held, _ := u.Pick(Key{}, nil)
	defer u.Done(held, http.StatusOK, nil)
	st := u.Status()
	got := st.Backends[0]
	if got.Requests != 8 || got.Failures != 2 || got.FailureRate != 0.25 || got.Inflight != 1 || got.ConsecutiveFailures != 0 {
		t.Errorf("status = %+v; want 8 requests, 2 failures, rate 0.25, 1 in flight", got)
	}
	if st.Available != 1 || st.Algo != "round_robin" || st.Discovery != "static" {
		t.Errorf("status = %+v", st)
	}
}

func TestParseStatusSet(t *testing.T) {
	for _, tc := range []struct {
		in      string
		has     []int
		hasNot  []int
		wantErr bool
	}{
		{in: "", has: []int{500, 502, 599}, hasNot: []int{200, 404, 499, 600}},
		{in: "500,502", has: []int{500, 502}, hasNot: []int{501, 503}},
		{in: " 429 , 503 ", has: []int{429, 503}, hasNot: []int{500}},
		{in: "5xx", wantErr: true},
		{in: "500,", wantErr: true},
		{in: "99", wantErr: true},
		{in: "600", wantErr: true},
	} {
		t.Run(tc.in, func(t *testing.T) {
			s, err := parseStatusSet(tc.in)
			if tc.wantErr {
				if err == nil {
					t.Fatal("no error")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range tc.has {
				if !s.has(c) {
					t.Errorf("missing %d", c)
				}
			}
			for _, c := range tc.hasNot {
				if s.has(c) {
					t.Errorf("has %d", c)
				}
			}
		})
	}
}
