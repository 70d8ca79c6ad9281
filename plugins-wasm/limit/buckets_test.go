package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"strings"
	"testing"
)

func id(key string) []byte { return keyID(nil, key) }

type rateRow struct {
	key        string
	win        uint64
	prev, curr uint32
}

func rateBucket(intervalMS uint64, rows ...rateRow) []byte {
	b := binary.LittleEndian.AppendUint64(nil, intervalMS)
	for _, r := range rows {
		b = appendRate(b, id(r.key), r.win, rateCount{r.prev, r.curr})
	}
	return b
}

func rateRows(t *testing.T, b []byte) []rateRow {
	t.Helper()
	if len(b) < rateHeader {
		t.Fatalf("bucket of %d bytes", len(b))
	}
	var out []rateRow
	if !entries(b[rateHeader:], ratePayload, func(eid, data, _ []byte) {
		out = append(out, rateRow{string(eid[1:]), binary.LittleEndian.Uint64(data),
			binary.LittleEndian.Uint32(data[8:]), binary.LittleEndian.Uint32(data[12:])})
	}) {
		t.Fatalf("bucket %x does not parse", b)
	}
	return out
}

func TestKeyID(t *testing.T) {
	long := strings.Repeat("k", maxRawKey+1)
	sum := sha256.Sum256([]byte(long))
	tests := []struct {
		name, key string
		want      []byte
	}{
		{"short kept", "192.0.2.1", append([]byte{0}, "192.0.2.1"...)},
		{"at the limit kept", long[:maxRawKey], append([]byte{0}, long[:maxRawKey]...)},
		{"long hashed", long, append([]byte{1}, sum[:]...)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := keyID(nil, tc.key); !bytes.Equal(got, tc.want) {
				t.Errorf("keyID = %x; want %x", got, tc.want)
			}
		})
	}
	// A short key that looks like a digest is not the digest's key.
	if bytes.Equal(keyID(nil, string(sum[:])), keyID(nil, long)) {
		t.Error("raw and hashed identities collide")
	}
}

func TestObserveRate(t *testing.T) {
	tests := []struct {
		name string
		old  []byte
		want rateCount
		rows []rateRow
	}{
		{name: "empty", old: nil, want: rateCount{0, 1}, rows: []rateRow{{"k", 10, 0, 1}}},
		{name: "same window", old: rateBucket(1000, rateRow{"k", 10, 4, 2}),
			want: rateCount{4, 3}, rows: []rateRow{{"k", 10, 4, 3}}},
		{name: "next window", old: rateBucket(1000, rateRow{"k", 9, 4, 2}),
			want: rateCount{2, 1}, rows: []rateRow{{"k", 10, 2, 1}}},
		{name: "two windows later", old: rateBucket(1000, rateRow{"k", 8, 4, 2}),
			want: rateCount{0, 1}, rows: []rateRow{{"k", 10, 0, 1}}},
		{name: "others kept, stale others dropped",
			old:  rateBucket(1000, rateRow{"a", 9, 0, 5}, rateRow{"b", 8, 1, 1}, rateRow{"c", 10, 0, 1}),
			want: rateCount{0, 1}, rows: []rateRow{{"a", 9, 0, 5}, {"c", 10, 0, 1}, {"k", 10, 0, 1}}},
		{name: "a prefix of the key is another key", old: rateBucket(1000, rateRow{"kk", 10, 0, 5}),
			want: rateCount{0, 1}, rows: []rateRow{{"kk", 10, 0, 5}, {"k", 10, 0, 1}}},
		{name: "another interval starts afresh", old: rateBucket(2000, rateRow{"k", 10, 4, 2}),
			want: rateCount{0, 1}, rows: []rateRow{{"k", 10, 0, 1}}},
		{name: "garbage is empty", old: []byte{1, 2, 3},
			want: rateCount{0, 1}, rows: []rateRow{{"k", 10, 0, 1}}},
		{name: "truncated entry is garbage", old: rateBucket(1000, rateRow{"a", 10, 0, 5})[:20],
			want: rateCount{0, 1}, rows: []rateRow{{"k", 10, 0, 1}}},
		{name: "count saturates", old: rateBucket(1000, rateRow{"k", 10, 0, 1<<32 - 1}),
			want: rateCount{0, 1<<32 - 1}, rows: []rateRow{{"k", 10, 0, 1<<32 - 1}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, got := observeRate(nil, tc.old, id("k"), 10, 1000)
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
		rows = append(rows, rateRow{"key" + string(rune('a'+i%26)) + string(rune('a'+i/26)), 10, 0, uint32(5 + i%7)})
	}
	rows[100].curr = 1 // the smallest
	out, got := observeRate(nil, rateBucket(1000, rows...), id("new"), 10, 1000)
	if got != (rateCount{0, 1}) {
		t.Fatalf("count %+v", got)
	}
	after := rateRows(t, out)
	if len(after) != maxRateEntries {
		t.Fatalf("%d entries; want the cap, %d", len(after), maxRateEntries)
	}
	for _, r := range after {
		if r.key == rows[100].key {
			t.Errorf("the smallest entry %+v was kept", r)
		}
	}
	if last := after[len(after)-1]; last != (rateRow{"new", 10, 0, 1}) {
		t.Errorf("last entry %+v; want the new key", last)
	}
}

func inflightRows(t *testing.T, b []byte) map[string]uint32 {
	t.Helper()
	out := map[string]uint32{}
	if !entries(b, inflightPayload, func(eid, data, _ []byte) {
		out[string(eid[1:])+"/"+string(rune('0'+binary.LittleEndian.Uint32(data)))] = binary.LittleEndian.Uint32(data[4:])
	}) {
		t.Fatalf("bucket %x does not parse", b)
	}
	return out
}

func TestInflightBuckets(t *testing.T) {
	alive := func(o uint32) bool { return o != 9 } // owner 9 is dead
	k := id("k")
	b, total, ok := acquireInflight(nil, nil, k, 2, alive, 2)
	if !ok || total != 1 {
		t.Fatalf("first: %v %d", ok, total)
	}
	b = appendInflight(b, k, 3, 1)       // another owner's
	b = appendInflight(b, k, 9, 5)       // a dead owner's
	b = appendInflight(b, id("x"), 3, 1) // another key
	if _, total, ok = acquireInflight(nil, b, k, 2, alive, 2); ok || total != 3 {
		t.Fatalf("over max: %v %d; want refused at 3", ok, total)
	}
	b = releaseInflight(nil, b, k, 3, alive) // owner 3's request ends
	if got := inflightRows(t, b); len(got) != 2 || got["k/2"] != 1 || got["x/3"] != 1 {
		t.Fatalf("after release %v; want owner 2's and key x's entries only", got)
	}
	if b, total, ok = acquireInflight(nil, b, k, 2, alive, 2); !ok || total != 2 {
		t.Fatalf("second: %v %d", ok, total)
	}
	if got := inflightRows(t, b); len(got) != 2 || got["k/2"] != 2 {
		t.Fatalf("bucket %v; want owner 2 holding 2", got)
	}
	b = releaseInflight(nil, b, k, 2, alive)
	b = releaseInflight(nil, b, k, 2, alive)
	b = releaseInflight(nil, b, k, 2, alive) // one too many: harmless
	if got := inflightRows(t, b); len(got) != 1 || got["x/3"] != 1 {
		t.Fatalf("bucket %v; want key x's entry only", got)
	}
	if _, _, ok := acquireInflight(nil, []byte{1, 2, 3}, k, 2, alive, 1); !ok {
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
	f.Add(rateBucket(1000, rateRow{"k", 10, 4, 2}), "k", uint64(10))
	f.Add(appendInflight(nil, id("k"), 3, 1), "k", uint64(11))
	f.Add([]byte{}, strings.Repeat("long", 20), uint64(0))
	f.Fuzz(func(t *testing.T, old []byte, key string, win uint64) {
		if key == "" {
			return // never counted
		}
		k := keyID(nil, key)
		out, c := observeRate(nil, old, k, win, 1000)
		if c.curr == 0 {
			t.Fatalf("observeRate counted nothing")
		}
		found := false
		entries(out[rateHeader:], ratePayload, func(eid, data, _ []byte) {
			found = found || bytes.Equal(eid, k) && binary.LittleEndian.Uint64(data) == win &&
				binary.LittleEndian.Uint32(data[12:]) == c.curr
		})
		if n := len(rateRows(t, out)); !found || n > maxRateEntries {
			t.Fatalf("observeRate wrote %x (%d entries)", out, n)
		}
		alive := func(o uint32) bool { return o%2 == 0 }
		b, total, ok := acquireInflight(nil, old, k, 4, alive, 1<<40)
		if rows := inflightRows(t, b); !ok || total < 1 || rows[key+"/4"] == 0 && len(key) <= maxRawKey {
			t.Fatalf("acquireInflight: %v %d %v", ok, total, rows)
		}
		if r := releaseInflight(nil, b, k, 4, alive); len(inflightRows(t, r)) > len(inflightRows(t, b)) {
			t.Fatalf("releaseInflight grew the bucket: %x from %x", r, b)
		}
		reg, owner := parseRegistry(old, nil).beat(nil, 0, win, 10_000, false)
		if r := parseRegistry(reg, nil); owner == 0 || len(r.owners) == 0 || r.owners[len(r.owners)-1].id != owner {
			t.Fatalf("registry %x, owner %d", reg, owner)
		}
	})
}
