// Package filesabi declares, once for the host (host/files) and the guests
// (through sdk), the foreign functions with which a plugin reads static
// files: their names and the byte layout of their arguments and results.
//
// A Wasm guest has no filesystem. The host grants each plugin (by its
// [plugins.NAME]) one root directory, and these functions resolve paths
// under that root only: the guest never names the root, so it cannot ask
// for another. Paths are relative, slash-separated, without "." or ".."
// segments (ValidPath); the host resolves them with os.Root, which also
// refuses symbolic links that lead out of the root.
//
// All integers are little-endian.
//
// # Stat (FuncStat)
//
//	args:   path ("" is the root itself)
//	result: Info (InfoSize bytes; AppendInfo / DecodeInfo)
//
// # Read (FuncRead)
//
//	args:   [0:8]  offset
//	        [8:12] length (at most MaxRead)
//	        [12:]  path
//	result: up to length bytes from offset (fewer at the end of the file)
//
// # List (FuncList)
//
//	args:   path of a directory
//	result: entries sorted by name, each an Info followed by
//	        [2 bytes] name length, [name]; at most MaxEntries entries
//
// # Errors
//
// A path that is not valid or leaves the root is BAD_ARGUMENT (the plugin
// answers 403); a missing file, or a plugin without a root, is NOT_FOUND
// (404); anything else (permissions, I/O) is INTERNAL_FAILURE.
package filesabi

import (
	"encoding/binary"
	"errors"
	"strings"
)

// The foreign function names.
const (
	FuncStat = "sluice.files.stat"
	FuncRead = "sluice.files.read"
	FuncList = "sluice.files.list"
)

// Limits of one call.
const (
	// MaxRead bounds the length of one read.
	MaxRead = 4 << 20
	// MaxEntries bounds a directory listing.
	MaxEntries = 10000
)

// Kind is what a path names.
type Kind byte

// Kinds.
const (
	KindFile  Kind = 1
	KindDir   Kind = 2
	KindOther Kind = 3 // a device, socket, pipe: never served
)

// Info describes a file.
type Info struct {
	Kind Kind
	Size int64
	// MTime is the modification time in Unix nanoseconds.
	MTime int64
}

// InfoSize is the encoded size of an Info.
const InfoSize = 17

// ErrShort is returned by the decoders for input too short for its header.
var ErrShort = errors.New("filesabi: arguments too short")

// AppendInfo appends the encoding of i to dst.
func AppendInfo(dst []byte, i Info) []byte {
	dst = append(dst, byte(i.Kind))
	dst = binary.LittleEndian.AppendUint64(dst, uint64(i.Size))
	return binary.LittleEndian.AppendUint64(dst, uint64(i.MTime))
}

// DecodeInfo decodes an Info from the start of b.
func DecodeInfo(b []byte) (Info, error) {
	if len(b) < InfoSize {
		return Info{}, ErrShort
	}
	return Info{Kind: Kind(b[0]), Size: int64(binary.LittleEndian.Uint64(b[1:])), MTime: int64(binary.LittleEndian.Uint64(b[9:]))}, nil
}

// AppendRead appends the arguments of FuncRead to dst.
func AppendRead(dst []byte, offset int64, length int, path string) []byte {
	dst = binary.LittleEndian.AppendUint64(dst, uint64(offset))
	dst = binary.LittleEndian.AppendUint32(dst, uint32(length))
	return append(dst, path...)
}

// DecodeRead decodes the arguments of FuncRead.
func DecodeRead(b []byte) (offset int64, length int, path string, err error) {
	if len(b) < 12 {
		return 0, 0, "", ErrShort
	}
	return int64(binary.LittleEndian.Uint64(b)), int(binary.LittleEndian.Uint32(b[8:])), string(b[12:]), nil
}

// Entry is one entry of a directory listing.
type Entry struct {
	Name string
	Info
}

// AppendEntry appends one listing entry to dst.
func AppendEntry(dst []byte, e Entry) []byte {
	dst = AppendInfo(dst, e.Info)
	dst = binary.LittleEndian.AppendUint16(dst, uint16(len(e.Name)))
	return append(dst, e.Name...)
}

// DecodeEntries decodes a listing.
func DecodeEntries(b []byte) ([]Entry, error) {
	var out []Entry
	for len(b) > 0 {
		i, err := DecodeInfo(b)
		if err != nil || len(b) < InfoSize+2 {
			return nil, ErrShort
		}
		n := int(binary.LittleEndian.Uint16(b[InfoSize:]))
		b = b[InfoSize+2:]
		if len(b) < n {
			return nil, ErrShort
		}
		out = append(out, Entry{Name: string(b[:n]), Info: i})
		b = b[n:]
	}
	return out, nil
}

// ValidPath reports whether p is a path the host resolves: relative,
// slash-separated, without empty, "." or ".." segments, backslashes or NUL
// bytes. "" (the root) is valid.
func ValidPath(p string) bool {
	if p == "" {
		return true
	}
	if strings.ContainsAny(p, "\\\x00") {
		return false
	}
	for seg := range strings.SplitSeq(p, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return false
		}
	}
	return true
}
