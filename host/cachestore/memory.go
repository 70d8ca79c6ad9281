package cachestore

import "errors"

// memoryBackend keeps each entry's meta and body in one byte slice. A
// stored slice is never written again, so readers copy it without the
// store's lock.
type memoryBackend struct{}

var _ backend = memoryBackend{}

var errShortData = errors.New("stored data shorter than its entry")

func (memoryBackend) load(snap *entry, dst []byte) error {
	if len(snap.data) != len(dst) {
		return errShortData
	}
	copy(dst, snap.data)
	return nil
}

func (memoryBackend) begin(w *write, body []byte) error {
	w.fixed = int64(len(w.name)+len(w.meta)) + entryOverhead
	w.buf = make([]byte, 0, len(w.meta)+len(body))
	w.buf = append(w.buf, w.meta...)
	w.buf = append(w.buf, body...)
	return nil
}

func (memoryBackend) write(w *write, p []byte) error {
	w.buf = append(w.buf, p...)
	return nil
}

// finish trims the buffer when appends left much of it unused: the bound
// counts what the entry holds, and spare capacity would be held too.
func (memoryBackend) finish(w *write) error {
	if c := cap(w.buf); c-len(w.buf) > len(w.buf)/8 {
		w.buf = append(make([]byte, 0, len(w.buf)), w.buf...)
	}
	return nil
}

func (memoryBackend) install(w *write, e *entry) error {
	e.data, w.buf = w.buf, nil
	return nil
}

func (memoryBackend) discard(w *write) { w.buf = nil }

func (memoryBackend) drop(e *entry, _ bool) { e.data = nil }

func (memoryBackend) probe(string, int64) *entry { return nil }
