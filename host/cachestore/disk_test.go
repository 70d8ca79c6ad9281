package cachestore

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sluice-proxy/sluice/abi/cacheabi"
)

// cacheFiles returns the entry files under dir.
func cacheFiles(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && isHexName(d.Name()) {
			out = append(out, p)
		}
		return nil
	})
	return out
}

// waitScanned waits until the disk store of handle has indexed its
// directory.
func waitScanned(t *testing.T, r *Registry, handle uint32) {
	t.Helper()
	st, err := r.store(handle)
	if err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); ; {
		st.mu.Lock()
		done := !st.scanning
		st.mu.Unlock()
		if done {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the scan never ended")
		}
		time.Sleep(time.Millisecond)
	}
}

func TestDiskSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	clk := newClock()
	r1 := newTestRegistry(t, clk, Options{})
	c1 := newClient(t, r1, "p")
	s1 := c1.open(dir + "?levels=1:2")
	// r1 stays open (its write in progress must not be dropped), so its
	// scan must be over before the others open the directory: a scan
	// delayed on a loaded machine once ran after r3's and moved the files
	// back into r1's levels.
	waitScanned(t, r1, s1)
	c1.put(s1, 0, name("ns", "a", ""), "meta-a", "body-a", time.Hour, 0, 0)
	c1.put(s1, 0, name("ns", "b", "gzip"), "meta-b", strings.Repeat("b", 100_000), time.Hour, 0, 0)
	c1.put(s1, 0, name("ns", "short", ""), "m", "x", time.Second, 0, time.Second)
	// A write in progress when the process stops leaves only a temporary
	// file, which the next open removes.
	if _, err := c1.begin(s1, 0, name("ns", "partial", ""), 0, "half"); err != nil {
		t.Fatal(err)
	}
	files := cacheFiles(t, dir)
	if len(files) != 3 {
		t.Fatalf("files %v; want 3", files)
	}
	for _, f := range files {
		rel, _ := filepath.Rel(dir, f)
		if parts := strings.Split(rel, "/"); len(parts) != 3 || len(parts[0]) != 1 || len(parts[1]) != 2 {
			t.Errorf("file %s is not laid out as levels 1:2", rel)
		}
	}

	clk.Advance(2 * time.Second) // "short" is past its keep time
	r2 := newTestRegistry(t, clk, Options{})
	c2 := newClient(t, r2, "p")
	s2 := c2.open(dir + "?levels=1:2")
	// Served at once, whether or not the scan has finished.
	got := c2.lookup(s2, 0, 0, name("ns", "a", ""))
	if got.Kind != cacheabi.KindHit || string(got.Meta) != "meta-a" || string(got.Body) != "body-a" {
		t.Errorf("after restart: %v %q %q; want hit meta-a body-a", got.Kind, got.Meta, got.Body)
	}
	r2.Close() // waits for the scan
	st, _ := r2.store(s2)
	if n := st.Stats().Entries; n != 2 {
		t.Errorf("entries indexed: %d; want 2", n)
	}
	if got := c2.lookup(s2, 0, 0, name("ns", "b", "gzip")); got.Kind != cacheabi.KindHit || len(got.Body) != 100_000 {
		t.Errorf("b: %v, %d bytes; want hit of 100000", got.Kind, len(got.Body))
	}
	if got := c2.lookup(s2, 0, 0, name("ns", "short", "")); got.Kind != cacheabi.KindMiss {
		t.Errorf("short: %v; want miss", got.Kind)
	}
	if left, _ := os.ReadDir(filepath.Join(dir, tmpDir)); len(left) != 0 {
		t.Errorf("tmp/ holds %d files after open; want none", len(left))
	}
	if files := cacheFiles(t, dir); len(files) != 2 {
		t.Errorf("files after the scan: %d; want 2 (the dead one removed)", len(files))
	}

	// Other levels: the scan moves the files into the new layout.
	r3 := newTestRegistry(t, clk, Options{})
	c3 := newClient(t, r3, "p")
	s3 := c3.open(dir)
	r3.Close()
	if got := c3.lookup(s3, 0, 0, name("ns", "a", "")); got.Kind != cacheabi.KindHit {
		t.Errorf("after a change of levels: %v; want hit", got.Kind)
	}
	for _, f := range cacheFiles(t, dir) {
		rel, _ := filepath.Rel(dir, f)
		if parts := strings.Split(rel, "/"); len(parts) != 2 || len(parts[0]) != 2 {
			t.Errorf("file %s is not laid out with the default levels", rel)
		}
	}
}

func TestDiskEvictionRemovesFiles(t *testing.T) {
	dir := t.TempDir()
	clk := newClock()
	r := newTestRegistry(t, clk, Options{})
	c := newClient(t, r, "p")
	s := c.open(dir + "?max_size=50kb")
	body := strings.Repeat("z", 10_000)
	for i := range 10 {
		c.put(s, 0, name("", string(rune('a'+i)), ""), "", body, time.Hour, 0, 0)
		clk.Advance(time.Millisecond)
	}
	st := c.stats(s)
	if st.Size > 50_000 || st.Entries != 4 || st.Evictions != 6 {
		t.Errorf("stats = %+v; want 4 entries within 50kb", st)
	}
	if files := cacheFiles(t, dir); len(files) != 4 {
		t.Errorf("%d files; want 4", len(files))
	}
	if got := c.lookup(s, 0, 0, name("", "j", "")); got.Kind != cacheabi.KindHit {
		t.Errorf("newest: %v; want hit", got.Kind)
	}
	if got := c.lookup(s, 0, 0, name("", "a", "")); got.Kind != cacheabi.KindMiss {
		t.Errorf("oldest: %v; want evicted", got.Kind)
	}
	if n := c.purge(s, cacheabi.PurgeNamespace, name("", "", "")); n != 4 {
		t.Errorf("purge removed %d; want 4", n)
	}
	if files := cacheFiles(t, dir); len(files) != 0 {
		t.Errorf("%d files after purge; want 0", len(files))
	}
}

func TestDiskDamagedFiles(t *testing.T) {
	dir := t.TempDir()
	clk := newClock()
	r1 := newTestRegistry(t, clk, Options{})
	c1 := newClient(t, r1, "p")
	s1 := c1.open(dir)
	c1.put(s1, 0, name("", "good", ""), "m", "body", time.Hour, 0, 0)
	c1.put(s1, 0, name("", "cut", ""), "m", "a longer body", time.Hour, 0, 0)
	r1.Close()
	st, _ := r1.store(s1)
	cut := st.back.(*diskBackend).path(string(name("", "cut", "")))
	if err := os.Truncate(cut, 70); err != nil {
		t.Fatal(err)
	}
	stray := filepath.Join(dir, strings.Repeat("ab", 32))
	if err := os.WriteFile(stray, []byte("not a cache file"), 0o600); err != nil {
		t.Fatal(err)
	}

	r2 := newTestRegistry(t, clk, Options{})
	c2 := newClient(t, r2, "p")
	s2 := c2.open(dir)
	if got := c2.lookup(s2, 0, 0, name("", "cut", "")); got.Kind != cacheabi.KindMiss {
		t.Errorf("truncated entry: %v; want miss", got.Kind)
	}
	r2.Close()
	if got := c2.lookup(s2, 0, 0, name("", "good", "")); got.Kind != cacheabi.KindHit {
		t.Errorf("good entry: %v; want hit", got.Kind)
	}
	for _, p := range []string{cut, stray} {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("%s still there after the scan (%v)", p, err)
		}
	}
}

func TestDiskPurgeWhileScanning(t *testing.T) {
	dir := t.TempDir()
	clk := newClock()
	r1 := newTestRegistry(t, clk, Options{})
	c1 := newClient(t, r1, "p")
	s1 := c1.open(dir)
	c1.put(s1, 0, name("web", "k", ""), "", "old", time.Hour, 0, 0)
	r1.Close()

	// A store still scanning must not bring back what a purge removed
	// meanwhile.
	r2 := newTestRegistry(t, clk, Options{})
	c2 := newClient(t, r2, "p")
	s2 := c2.open(dir)
	r2.Close()
	st, _ := r2.store(s2)
	st.mu.Lock()
	for _, e := range st.entries {
		st.removeLocked(e, false) // forget the index, keep the file
	}
	st.scanning, st.scanRemoved = true, map[string]struct{}{}
	st.mu.Unlock()
	clk.Advance(time.Millisecond)
	c2.purge(s2, cacheabi.PurgeKey, name("web", "k", ""))
	if got := c2.lookup(s2, 0, 0, name("web", "k", "")); got.Kind != cacheabi.KindMiss {
		t.Errorf("purged entry found by probe: %v; want miss", got.Kind)
	}
	st.back.(*diskBackend).scan()
	if got := c2.lookup(s2, 0, 0, name("web", "k", "")); got.Kind != cacheabi.KindMiss {
		t.Errorf("purged entry found by scan: %v; want miss", got.Kind)
	}
}

func TestDiskUnusableDirectory(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	r := newTestRegistry(t, newClock(), Options{})
	_, err := newClient(t, r, "p").call(cacheabi.FuncOpen, []byte(file+"/cache"))
	if statusOf(err) != "BAD_ARGUMENT" || !strings.Contains(err.Error(), file) {
		t.Errorf("open under a file: %v; want BAD_ARGUMENT naming the path", err)
	}
}
