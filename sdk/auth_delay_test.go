package sdk_test

import (
	"reflect"
	"testing"
	"time"

	"github.com/sluice-proxy/sluice/sdk"
	"github.com/sluice-proxy/sluice/sdk/sdktest"
)

func TestDelayQueue(t *testing.T) {
	var q sdk.DelayQueue
	var ran []string
	f := &funcs{tick: q.Tick}
	h := start(t, f)
	after := func(d time.Duration, name string) {
		t.Helper()
		var err error
		// Schedule from a stream callback, as plugins do.
		f.reqHeaders = func(sdk.Request) sdk.Action {
			err = q.After(d, func() { ran = append(ran, name) })
			return sdk.Continue
		}
		h.NewStream().SendRequestHeaders(sdktest.Get("/"), true)
		if err != nil {
			t.Fatalf("After(%v): %v", d, err)
		}
	}

	after(time.Second, "a")
	if got := h.TickPeriod(); got != 50*time.Millisecond {
		t.Fatalf("tick period %v after a 1s delay; want 50ms (capped)", got)
	}
	after(100*time.Millisecond, "b") // due before a
	if got := h.TickPeriod(); got != 5*time.Millisecond {
		t.Fatalf("tick period %v after a 100ms delay; want 5ms (a twentieth)", got)
	}
	after(100*time.Millisecond, "c") // same due time as b: after it
	if q.Len() != 3 {
		t.Fatalf("Len = %d; want 3", q.Len())
	}
	h.Advance(95 * time.Millisecond) // ticks every 5ms up to 95ms
	if len(ran) != 0 {
		t.Fatalf("ran %v before any delay passed", ran)
	}
	h.Advance(5 * time.Millisecond)
	if !reflect.DeepEqual(ran, []string{"b", "c"}) {
		t.Fatalf("after 100ms ran %v; want [b c]", ran)
	}
	h.Advance(900 * time.Millisecond)
	if !reflect.DeepEqual(ran, []string{"b", "c", "a"}) {
		t.Fatalf("after 1s ran %v; want [b c a]", ran)
	}
	if q.Len() != 0 || h.TickPeriod() != 0 {
		t.Errorf("Len %d, tick period %v once all ran; want 0, 0 (ticks stopped)", q.Len(), h.TickPeriod())
	}

	// A function may schedule again from Tick.
	f.reqHeaders = func(sdk.Request) sdk.Action {
		q.After(10*time.Millisecond, func() {
			ran = append(ran, "again")
			q.After(10*time.Millisecond, func() { ran = append(ran, "last") })
		})
		return sdk.Continue
	}
	h.NewStream().SendRequestHeaders(sdktest.Get("/"), true)
	h.Advance(20 * time.Millisecond)
	if want := []string{"b", "c", "a", "again", "last"}; !reflect.DeepEqual(ran, want) {
		t.Fatalf("ran %v; want %v", ran, want)
	}
	if h.TickPeriod() != 0 {
		t.Errorf("tick period %v; want 0", h.TickPeriod())
	}
}
