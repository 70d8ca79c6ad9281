package transport

import (
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestIdleTimeout(t *testing.T) {
	srv, cl := newServer(t, http.HandlerFunc(echoHandler))
	tp := newT(t, Options{IdleTimeout: 50 * time.Millisecond})
	mustDo(t, tp, newReq(t, "GET", "/", nil), addrOf(srv), nil)
	if n := tp.h1.idleCount(addrOf(srv)); n != 1 {
		t.Fatalf("%d idle connections after a request; want 1", n)
	}
	waitFor(t, "the reaper to close the idle connection", func() bool { return tp.h1.idleCount(addrOf(srv)) == 0 })
	waitFor(t, "the empty pool to be removed", func() bool {
		tp.h1.mu.RLock()
		defer tp.h1.mu.RUnlock()
		return len(tp.h1.pools) == 0
	})
	var tr Trace
	mustDo(t, tp, newReq(t, "GET", "/", nil), addrOf(srv), &tr)
	if tr.Reused || cl.n.Load() != 2 {
		t.Errorf("after expiry: reused %v, %d connections accepted; want a new connection", tr.Reused, cl.n.Load())
	}
}

func TestIdleExpiredOnGet(t *testing.T) {
	// The pool checks age on the way out too, in case the reaper is late.
	srv, _ := newServer(t, http.HandlerFunc(echoHandler))
	tp := newT(t, Options{IdleTimeout: time.Hour})
	mustDo(t, tp, newReq(t, "GET", "/", nil), addrOf(srv), nil)
	p := tp.h1.lookup(poolKey{addr: addrOf(srv)})
	if c := p.get(time.Now().Add(2 * time.Hour)); c != nil {
		t.Error("an expired connection was handed out")
	}
	if n := tp.h1.idleCount(addrOf(srv)); n != 0 {
		t.Errorf("%d idle connections left; want 0", n)
	}
}

func TestPoolCapAndClose(t *testing.T) {
	const concurrent = 6
	var release sync.WaitGroup
	release.Add(1)
	gate := make(chan struct{})
	srv, _ := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			<-gate
		}
		io.WriteString(w, "ok")
	}))
	other, _ := newServer(t, http.HandlerFunc(echoHandler))
	tp := newT(t, Options{MaxIdlePerHost: 2})

	// Fill: six requests at once leave at most two idle.
	var wg sync.WaitGroup
	for range concurrent {
		wg.Add(1)
		go func() {
			defer wg.Done()
			mustDo(t, tp, newReq(t, "GET", "/slow", nil), addrOf(srv), nil)
		}()
	}
	time.Sleep(50 * time.Millisecond)
	close(gate)
	wg.Wait()
	if n := tp.h1.idleCount(addrOf(srv)); n != 2 {
		t.Errorf("%d idle connections; want the cap of 2", n)
	}

	mustDo(t, tp, newReq(t, "GET", "/", nil), addrOf(other), nil)
	tp.CloseIdleAddr(addrOf(srv))
	if a, b := tp.h1.idleCount(addrOf(srv)), tp.h1.idleCount(addrOf(other)); a != 0 || b != 1 {
		t.Errorf("after CloseIdleAddr: %d and %d idle; want 0 and 1", a, b)
	}
	tp.CloseIdle()
	if n := tp.h1.idleCount(addrOf(other)); n != 0 {
		t.Errorf("after CloseIdle: %d idle; want 0", n)
	}

	// Close: a response in flight keeps its connection until it ends,
	// which then closes; later requests still work, unpooled.
	resp, err := tp.RoundTrip(newReq(t, "GET", "/", nil), addrOf(srv), nil)
	if err != nil {
		t.Fatal(err)
	}
	tp.Close()
	if b, err := io.ReadAll(resp.Body); err != nil || string(b) != "ok" {
		t.Fatalf("in-flight body after Close: %q, %v", b, err)
	}
	resp.Body.Close()
	mustDo(t, tp, newReq(t, "GET", "/", nil), addrOf(srv), nil)
	if n := tp.h1.idleCount(addrOf(srv)); n != 0 {
		t.Errorf("%d idle connections after Close; want 0", n)
	}
}

func TestDropOlderOnStale(t *testing.T) {
	srv, _ := newServer(t, http.HandlerFunc(echoHandler))
	tp := newT(t, Options{})
	// Three idle connections (three responses open at once, each with a
	// body); dropOlder must close the two idle longest.
	var resps []*http.Response
	for range 3 {
		resp, err := tp.RoundTrip(newReq(t, "POST", "/", strings.NewReader("x")), addrOf(srv), nil)
		if err != nil {
			t.Fatal(err)
		}
		resps = append(resps, resp)
	}
	for _, r := range resps {
		io.ReadAll(r.Body)
		r.Body.Close()
		time.Sleep(2 * time.Millisecond)
	}
	p := tp.h1.lookup(poolKey{addr: addrOf(srv)})
	p.mu.Lock()
	n := len(p.idle)
	var mid time.Time
	if n == 3 {
		mid = p.idle[1].idleAt
	}
	p.mu.Unlock()
	if n != 3 {
		t.Fatalf("%d idle connections; want 3", n)
	}
	tp.h1.dropOlder(poolKey{addr: addrOf(srv)}, mid)
	if n := tp.h1.idleCount(addrOf(srv)); n != 1 {
		t.Errorf("%d idle after dropping the two oldest; want 1", n)
	}
}
