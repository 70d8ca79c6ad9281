package sdktest

import (
	"strings"
	"testing"
)

// recorder is a testing.TB that records a Fatal instead of stopping.
type recorder struct {
	testing.TB
	fatal string
}

func (r *recorder) Fatal(args ...any) {
	r.fatal = args[0].(string)
	panic(r)
}

func TestNewTwiceInOneTestFails(t *testing.T) {
	guestless := func(h *Host) { h.guest = (*wasmVM)(nil) }
	New(t, guestless)
	rec := &recorder{TB: t}
	func() {
		defer func() {
			if r := recover(); r != rec {
				panic(r)
			}
		}()
		New(rec, guestless)
	}()
	if !strings.Contains(rec.fatal, "New called twice in one test") {
		t.Fatalf("second New: %q", rec.fatal)
	}
}
