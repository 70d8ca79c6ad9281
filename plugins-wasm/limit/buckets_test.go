package main

import (
	"encoding/binary"
	"testing"
)

type rateRow struct {
	h, win     uint64
	prev, curr uint32
}

func rateBucket(intervalMS uint64, rows ...rateRow) []byte {
	b := binary.LittleEndian.AppendUint64(nil, intervalMS)
	for _, r := range rows {
		b = appendRate(b, r.h, r.win, rateCount{r.prev, r.curr})
	}
	return b
}

func rateRows(t *testing.T, b []byte) []rateRow {
	t.Helper()
	if len(b) < rateHeader || (len(b)-rateHeader)%rateEntry != 0 {
		t.Fatalf("bucket of %d bytes does not parse", len(b))
	}
	var out []rateRow
	for b = b[rateHeader:]; len(b) > 0; b = b[rateEntry:] {
		out = append(out, rateRow{binary.LittleEndian.Uint64(b), binary.LittleEndian.Uint64(b[8:]),
			binary.LittleEndian.Uint32(b[16:]), binary.LittleEndian.Uint32(b[20:])})
	}
	return out
}

func TestObserveRate(t *testing.T) {
	tests := []struct {
		name string
		old  []byte
		want rateCount
		rows []rateRow
	}{
		{name: "empty", old: nil, want: rateCount{0, 1}, rows: []rateRow{{1, 10, 0, 1}}},
		{name: "same window", old: rateBucket(1000, rateRow{1, 10, 4, 2}),
			want: rateCount{4, 3}, rows: []rateRow{{1, 10, 4, 3}}},
		{name: "next window", old: rateBucket(1000, rateRow{1, 9, 4, 2}),
			want: rateCount{2, 1}, rows: []rateRow{{1, 10, 2, 1}}},
		{name: "two windows later", old: rateBucket(1000, rateRow{1, 8, 4, 2}),
			want: rateCount{0, 1}, rows: []rateRow{{1, 10, 0, 1}}},
		{name: "others kept, stale others dropped",
			old:  rateBucket(1000, rateRow{2, 9, 0, 5}, rateRow{3, 8, 1, 1}, rateRow{4, 10, 0, 1}),
			want: rateCount{0, 1}, rows: []rateRow{{2, 9, 0, 5}, {4, 10, 0, 1}, {1, 10, 0, 1}}},
		{name: "another interval starts afresh", old: rateBucket(2000, rateRow{1, 10, 4, 2}),
			want: rateCount{0, 1}, rows: []rateRow{{1, 10, 0, 1}}},
		{name: "garbage is empty", old: []byte{1, 2, 3},
			want: rateCount{0, 1}, rows: []rateRow{{1, 10, 0, 1}}},
		{name: "count saturates", old: rateBucket(1000, rateRow{1, 10, 0, 1<<32 - 1}),
			want: rateCount{0, 1<<32 - 1}, rows: []rateRow{{1, 10, 0, 1<<32 - 1}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, got := observeRate(nil, tc.old, 1, 10, 1000)
			if got != tc.want {
				t.Errorf("count %+v; want %+v", got, tc.want)
			}
			rows := rateRows(t, out)
			if len(rows) != len(tc.rows) {
				t.Fatalf("rows %+v; want %+v", rows, tc.rows)
			}
			for i := range rows {
				if rows[i] != tc.rows[i] {
					t.Errorf("row %d %+v; want %+v", i, rows[i], tc.rows[i])
				}
			}
		})
	}
}

func TestObserveRateFullBucket(t *testing.T) {
	var rows []rateRow
	for i := range maxRateEntries {
		rows = append(rows, rateRow{uint64(100 + i), 10, 0, uint32(5 + i%7)})
	}
	rows[300].curr = 1 // the smallest
	out, got := observeRate(nil, rateBucket(1000, rows...), 1, 10, 1000)
	if got != (rateCount{0, 1}) {
		t.Fatalf("count %+v", got)
	}
	after := rateRows(t, out)
	if len(after) != maxRateEntries {
		t.Fatalf("%d entries; want the cap, %d", len(after), maxRateEntries)
	}
	if after[300] != (rateRow{1, 10, 0, 1}) {
		t.Errorf("entry 300 %+v; want the new key in place of the smallest", after[300])
	}
}

func TestInflightBuckets(t *testing.T) {
	alive := func(o uint32) bool { return o != 9 } // owner 9 is dead
	var b []byte
	var ok bool
	var total int64
	b, total, ok = acquireInflight(nil, nil, 1, 2, alive, 2)
	if !ok || total != 1 {
		t.Fatalf("first: %v %d", ok, total)
	}
	b = append(b, appendInflight(nil, 1, 3, 1)...) // another owner's
	b = append(b, appendInflight(nil, 1, 9, 5)...) // a dead owner's
	b = append(b, appendInflight(nil, 5, 3, 1)...) // another key
	if _, total, ok = acquireInflight(nil, b, 1, 2, alive, 2); ok || total != 3 {
		t.Fatalf("over max: %v %d; want refused at 3", ok, total)
	}
	b = releaseInflight(nil, b, 1, 3, alive) // owner 3's request ends
	if len(b) != 2*inflightEntry {
		t.Fatalf("after release %x; want owner 2's and key 5's entries only", b)
	}
	if b, total, ok = acquireInflight(nil, b, 1, 2, alive, 2); !ok || total != 2 {
		t.Fatalf("second: %v %d", ok, total)
	}
	if n := binary.LittleEndian.Uint32(b[12:]); n != 2 || len(b) != 2*inflightEntry {
		t.Fatalf("bucket %x; want owner 2 holding 2", b)
	}
	b = releaseInflight(nil, b, 1, 2, alive)
	b = releaseInflight(nil, b, 1, 2, alive)
	b = releaseInflight(nil, b, 1, 2, alive) // one too many: harmless
	if len(b) != inflightEntry || binary.LittleEndian.Uint64(b) != 5 {
		t.Fatalf("bucket %x; want key 5's entry only", b)
	}
	if _, _, ok := acquireInflight(nil, []byte{1, 2, 3}, 1, 2, alive, 1); !ok {
		t.Fatal("garbage bucket not treated as empty")
	}
}

func TestRegistry(t *testing.T) {
	const stale = 10_000
	b, id := parseRegistry(nil, nil).beat(nil, 0, 50_000, stale, false)
	if id != 1 {
		t.Fatalf("first owner %d", id)
	}
	b, id2 := parseRegistry(b, nil).beat(nil, 0, 51_000, stale, false)
	if id2 != 2 {
		t.Fatalf("second owner %d", id2)
	}
	// Owner 1 beats at 62s; owner 2 (last beat 51s) is then 11s stale.
	b, _ = parseRegistry(b, nil).beat(nil, 1, 62_000, stale, false)
	r := parseRegistry(b, nil)
	if r.seq != 2 || len(r.owners) != 1 || r.owners[0] != (ownerBeat{1, 62_000}) {
		t.Fatalf("registry %+v; want seq 2 and owner 1 at 62000", r)
	}
	b, _ = r.beat(nil, 1, 63_000, stale, true)
	if r := parseRegistry(b, nil); r.seq != 2 || len(r.owners) != 0 {
		t.Fatalf("after leaving %+v", r)
	}
	if r := parseRegistry([]byte{1, 2, 3, 4, 5}, nil); r.seq != 0 || len(r.owners) != 0 {
		t.Fatalf("garbage parsed as %+v", r)
	}
}

// FuzzBuckets feeds arbitrary stored bytes (another version, corruption)
// to every bucket operation: none may panic, and what they write back
// must parse and hold the request just counted.
func FuzzBuckets(f *testing.F) {
	f.Add(rateBucket(1000, rateRow{1, 10, 4, 2}), uint64(1), uint64(10))
	f.Add(appendInflight(nil, 1, 3, 1), uint64(1), uint64(11))
	f.Add([]byte{}, uint64(0), uint64(0))
	f.Fuzz(func(t *testing.T, old []byte, h, win uint64) {
		out, c := observeRate(nil, old, h, win, 1000)
		if c.curr == 0 {
			t.Fatalf("observeRate counted nothing")
		}
		found := false
		for _, r := range rateRows(t, out) {
			found = found || r.h == h && r.win == win && r.curr == c.curr
		}
		if !found || len(out) > rateHeader+maxRateEntries*rateEntry+len(old) {
			t.Fatalf("observeRate wrote %x", out)
		}
		alive := func(o uint32) bool { return o%2 == 0 }
		b, total, ok := acquireInflight(nil, old, h, 4, alive, 1<<40)
		if !ok || total < 1 || len(b)%inflightEntry != 0 || len(b) == 0 {
			t.Fatalf("acquireInflight: %v %d %x", ok, total, b)
		}
		if r := releaseInflight(nil, b, h, 4, alive); len(r)%inflightEntry != 0 || len(r) >= len(b)+1 {
			t.Fatalf("releaseInflight wrote %x from %x", r, b)
		}
		reg, id := parseRegistry(old, nil).beat(nil, 0, win, 10_000, false)
		if r := parseRegistry(reg, nil); id == 0 || len(r.owners) == 0 || r.owners[len(r.owners)-1].id != id {
			t.Fatalf("registry %x, owner %d", reg, id)
		}
	})
}
