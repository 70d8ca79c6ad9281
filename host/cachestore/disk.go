package cachestore

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
)

// A disk store keeps one file per entry, named by the SHA-256 of the
// entry's name (hex) under levels of sub-directories made of its first hex
// digits, as nginx's proxy_cache_path does. A file is written under tmp/
// and renamed into place when complete, so a reader never sees half of
// one. The file:
//
//	[0:4]    magic "SLC1"
//	[4:8]    header length h (u32): 56 + the name's length
//	[8:16]   stored (unix ms)
//	[16:24]  fresh until (unix ms)
//	[24:32]  stale until (unix ms)
//	[32:40]  keep until (unix ms)
//	[40:44]  meta length (u32)
//	[44:52]  body length (u64)
//	[52:56]  name length (u32)
//	[56:h]   the entry name
//	then the meta and the body
//
// The index lives in memory; a store opened on a directory that holds
// files indexes them in the background (scan), and meanwhile a lookup of a
// name the index does not know reads its file directly (probe).
const (
	fileMagic   = "SLC1"
	headerFixed = 56
	tmpDir      = "tmp"
)

// defaultLevels is the layout of a disk store whose directory does not say:
// 256 sub-directories.
var defaultLevels = []int{2}

var errBadFile = errors.New("not a cache file, or a damaged one")

type diskBackend struct {
	dir    string
	levels []int
	s      *Store
}

var _ backend = (*diskBackend)(nil)

// newDiskBackend prepares dir: created if missing, tmp/ emptied of what a
// previous process left, and writable.
func newDiskBackend(dir string, levels []int) (*diskBackend, error) {
	if levels == nil {
		levels = defaultLevels
	}
	tmp := filepath.Join(dir, tmpDir)
	if err := os.MkdirAll(tmp, 0o700); err != nil {
		return nil, err
	}
	if left, err := os.ReadDir(tmp); err == nil {
		for _, e := range left {
			os.Remove(filepath.Join(tmp, e.Name()))
		}
	}
	f, err := os.CreateTemp(tmp, "probe-*")
	if err != nil {
		return nil, fmt.Errorf("not writable: %w", err)
	}
	f.Close()
	os.Remove(f.Name())
	return &diskBackend{dir: dir, levels: levels}, nil
}

// path returns the file of an entry name.
func (d *diskBackend) path(name string) string {
	sum := sha256.Sum256([]byte(name))
	h := hex.EncodeToString(sum[:])
	b := make([]byte, 0, len(d.dir)+len(h)+8)
	b = append(b, d.dir...)
	off := 0
	for _, l := range d.levels {
		b = append(b, '/')
		b = append(b, h[off:off+l]...)
		off += l
	}
	b = append(b, '/')
	b = append(b, h...)
	return string(b)
}

// header encodes the file header of e.
func header(e *entry) []byte {
	h := make([]byte, headerFixed+len(e.name))
	copy(h, fileMagic)
	binary.LittleEndian.PutUint32(h[4:], uint32(len(h)))
	binary.LittleEndian.PutUint64(h[8:], uint64(e.stored))
	binary.LittleEndian.PutUint64(h[16:], uint64(e.fresh))
	binary.LittleEndian.PutUint64(h[24:], uint64(e.stale))
	binary.LittleEndian.PutUint64(h[32:], uint64(e.keep))
	binary.LittleEndian.PutUint32(h[40:], uint32(e.metaLen))
	binary.LittleEndian.PutUint64(h[44:], uint64(e.bodyLen))
	binary.LittleEndian.PutUint32(h[52:], uint32(len(e.name)))
	copy(h[headerFixed:], e.name)
	return h
}

// readHeader reads and checks the header of an open file of size bytes.
func readHeader(f *os.File, size int64) (*entry, int64, error) {
	var fixed [headerFixed]byte
	if _, err := f.ReadAt(fixed[:], 0); err != nil {
		return nil, 0, errBadFile
	}
	if string(fixed[:4]) != fileMagic {
		return nil, 0, errBadFile
	}
	hl := int64(binary.LittleEndian.Uint32(fixed[4:]))
	nl := int64(binary.LittleEndian.Uint32(fixed[52:]))
	e := &entry{
		stored:  int64(binary.LittleEndian.Uint64(fixed[8:])),
		fresh:   int64(binary.LittleEndian.Uint64(fixed[16:])),
		stale:   int64(binary.LittleEndian.Uint64(fixed[24:])),
		keep:    int64(binary.LittleEndian.Uint64(fixed[32:])),
		metaLen: int(binary.LittleEndian.Uint32(fixed[40:])),
		bodyLen: int64(binary.LittleEndian.Uint64(fixed[44:])),
	}
	if hl != headerFixed+nl || e.bodyLen < 0 || hl+int64(e.metaLen)+e.bodyLen != size {
		return nil, 0, errBadFile
	}
	name := make([]byte, nl)
	if _, err := f.ReadAt(name, headerFixed); err != nil {
		return nil, 0, errBadFile
	}
	e.name = string(name)
	e.size = size
	return e, hl, nil
}

func (d *diskBackend) load(snap *entry, dst []byte) error {
	f, err := os.Open(d.path(snap.name))
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	e, hl, err := readHeader(f, fi.Size())
	if err != nil {
		return err
	}
	// The file may have been replaced since the snapshot: it must be the
	// same entry.
	if e.name != snap.name || e.stored != snap.stored || e.metaLen != snap.metaLen || e.bodyLen != snap.bodyLen {
		return errBadFile
	}
	if _, err := f.ReadAt(dst, hl); err != nil {
		return err
	}
	return nil
}

func (d *diskBackend) begin(w *write, body []byte) error {
	f, err := os.CreateTemp(filepath.Join(d.dir, tmpDir), "w-*")
	if err != nil {
		return fmt.Errorf("creating cache file: %w", err)
	}
	w.f, w.tmp = f, f.Name()
	w.fixed = headerFixed + int64(len(w.name)) + int64(len(w.meta))
	// The header is written again, complete, by finish.
	buf := make([]byte, 0, int(w.fixed)+len(body))
	buf = append(buf, header(&entry{name: w.name})...)
	buf = append(buf, w.meta...)
	buf = append(buf, body...)
	if _, err := f.Write(buf); err != nil {
		d.discard(w)
		return fmt.Errorf("writing cache file: %w", err)
	}
	return nil
}

func (d *diskBackend) write(w *write, p []byte) error {
	if w.f == nil {
		return ErrSpoiled
	}
	_, err := w.f.Write(p)
	return err
}

func (d *diskBackend) finish(w *write) error {
	if w.f == nil {
		return ErrSpoiled
	}
	e := w.entry()
	if _, err := w.f.WriteAt(header(e), 0); err != nil {
		return err
	}
	err := w.f.Close()
	w.f = nil
	return err
}

func (d *diskBackend) install(w *write, e *entry) error {
	p := d.path(e.name)
	err := os.Rename(w.tmp, p)
	if errors.Is(err, fs.ErrNotExist) {
		if err = os.MkdirAll(filepath.Dir(p), 0o700); err == nil {
			err = os.Rename(w.tmp, p)
		}
	}
	if err != nil {
		return fmt.Errorf("installing cache file: %w", err)
	}
	w.tmp = ""
	return nil
}

func (d *diskBackend) discard(w *write) {
	if w.f != nil {
		w.f.Close()
		w.f = nil
	}
	if w.tmp != "" {
		os.Remove(w.tmp)
		w.tmp = ""
	}
}

func (d *diskBackend) drop(e *entry, unlink bool) {
	if unlink {
		if err := os.Remove(d.path(e.name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			d.s.reg.log.Warn("removing a cache file", "store", d.s.id, "error", err)
		}
	}
}

// probe reads the file of name, if an earlier process left one.
func (d *diskBackend) probe(name string, now int64) *entry {
	p := d.path(name)
	e := d.readFile(p)
	if e == nil || e.name != name {
		return nil
	}
	if e.keep <= now || d.s.purgedByScan(e) {
		os.Remove(p)
		return nil
	}
	e.access = now
	return e
}

// readFile reads the header of the cache file at p; nil if it is not one.
func (d *diskBackend) readFile(p string) *entry {
	f, err := os.Open(p)
	if err != nil {
		return nil
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		return nil
	}
	e, _, err := readHeader(f, fi.Size())
	if err != nil {
		return nil
	}
	return e
}

// scan indexes the files an earlier process left, least recently stored
// at the cold end of the recency list, and removes damaged or dead ones.
func (d *diskBackend) scan() {
	s := d.s
	now := s.nowMS()
	var found []*entry
	var damaged []string
	_ = filepath.WalkDir(d.dir, func(p string, de fs.DirEntry, err error) error {
		if err != nil {
			return nil // unreadable: skip it
		}
		if de.IsDir() {
			if p == filepath.Join(d.dir, tmpDir) {
				return filepath.SkipDir
			}
			return nil
		}
		if !isHexName(de.Name()) {
			return nil
		}
		e := d.readFile(p)
		switch {
		case e == nil || e.keep <= now:
			damaged = append(damaged, p)
		case d.path(e.name) != p:
			// Written with other levels: move it where lookups look.
			if d.move(p, d.path(e.name)) {
				found = append(found, e)
			} else {
				damaged = append(damaged, p)
			}
		default:
			found = append(found, e)
		}
		return nil
	})
	for _, p := range damaged {
		os.Remove(p)
	}
	// Most recently stored first, each pushed to the cold end: the oldest
	// ends coldest.
	sort.Slice(found, func(i, j int) bool { return found[i].stored > found[j].stored })
	s.mu.Lock()
	for _, e := range found {
		if _, gone := s.scanRemoved[e.name]; gone || s.entries[e.name] != nil {
			continue // written, probed or removed since
		}
		if s.purgedByScan(e) {
			os.Remove(d.path(e.name))
			continue
		}
		e.access = now
		s.insertLocked(e, false)
	}
	s.evictLocked(nil)
	s.scanning, s.scanPurges, s.scanRemoved = false, nil, nil
	n := len(s.entries)
	s.mu.Unlock()
	s.reg.log.Info("cache store indexed", "directory", s.id, "entries", n, "removed", len(damaged))
}

// move renames a cache file to its place in the layout, unless a file is
// there already (written since the layout changed, so newer).
func (d *diskBackend) move(from, to string) bool {
	if _, err := os.Lstat(to); err == nil {
		return false
	}
	if err := os.MkdirAll(filepath.Dir(to), 0o700); err != nil {
		return false
	}
	return os.Rename(from, to) == nil
}

func isHexName(n string) bool {
	if len(n) != 2*sha256.Size {
		return false
	}
	for i := 0; i < len(n); i++ {
		c := n[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}
