package upstream

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// windowBuckets is how many slices the stats window is cut into. The window
// slides by one slice at a time, so 10 keeps the error within 10%.
const windowBuckets = 10

// window counts requests and failures over the last `span` of time in
// windowBuckets buckets. It is guarded by its Backend's mu.
type window struct {
	width   int64 // nanoseconds per bucket
	buckets [windowBuckets]bucket
}

type bucket struct {
	slot        int64 // now/width when the bucket was last reset
	total, fail uint64
}

func newWindow(span time.Duration) window {
	w := int64(span) / windowBuckets
	if w <= 0 {
		w = 1
	}
	return window{width: w}
}

func (w *window) add(now int64, fail bool) {
	s := now / w.width
	bk := &w.buckets[uint64(s)%windowBuckets]
	if bk.slot != s {
		*bk = bucket{slot: s}
	}
	bk.total++
	if fail {
		bk.fail++
	}
}

// sums returns the totals of the buckets that are still inside the window.
func (w *window) sums(now int64) (total, fail uint64) {
	s := now / w.width
	for i := range w.buckets {
		bk := &w.buckets[i]
		if bk.slot > s-windowBuckets && bk.slot <= s {
			total += bk.total
			fail += bk.fail
		}
	}
	return total, fail
}

func (w *window) reset() { w.buckets = [windowBuckets]bucket{} }

// statusSet is a set of HTTP status codes, one bit each.
type statusSet [10]uint64

func (s *statusSet) add(code int) { s[code/64] |= 1 << (code % 64) }

func (s *statusSet) has(code int) bool {
	if code < 0 || code >= len(s)*64 {
		return false
	}
	return s[code/64]&(1<<(code%64)) != 0
}

// parseStatusSet parses backend_failure_status_code, "500,502,503". Empty
// means every 5xx status.
func parseStatusSet(list string) (statusSet, error) {
	var s statusSet
	if strings.TrimSpace(list) == "" {
		for c := 500; c < 600; c++ {
			s.add(c)
		}
		return s, nil
	}
	for _, f := range strings.Split(list, ",") {
		f = strings.TrimSpace(f)
		c, err := strconv.Atoi(f)
		if err != nil || c < 100 || c > 599 {
			return s, fmt.Errorf("backend_failure_status_code: %q is not an HTTP status from 100 to 599", f)
		}
		s.add(c)
	}
	return s, nil
}
