package sdk

import (
	"errors"
	"time"

	"github.com/sluice-proxy/sluice/abi"
	"github.com/sluice-proxy/sluice/abi/filesabi"
	"github.com/sluice-proxy/sluice/sdk/internal/hostcall"
)

// FileInfo describes a file under the plugin's granted root directory (the
// sluice.files.* foreign functions of abi/filesabi).
type FileInfo struct {
	Dir     bool
	Regular bool
	Size    int64
	ModTime time.Time
}

// DirEntry is one entry of ListDir.
type DirEntry struct {
	Name string
	FileInfo
}

// MaxFileRead is the most ReadFile returns in one call.
const MaxFileRead = filesabi.MaxRead

// ValidFilePath reports whether path is one the host resolves: relative,
// slash-separated, without empty, "." or ".." segments ("" is the root).
func ValidFilePath(path string) bool { return filesabi.ValidPath(path) }

// FilesAvailable reports whether the host provides the file functions.
func FilesAvailable() bool {
	_, st := hostcall.CallForeignFunction(filesabi.FuncRead, nil)
	return st != abi.StatusNotFound
}

func fileInfo(i filesabi.Info) FileInfo {
	return FileInfo{Dir: i.Kind == filesabi.KindDir, Regular: i.Kind == filesabi.KindFile, Size: i.Size, ModTime: time.Unix(0, i.MTime)}
}

// StatFile describes path under the plugin's root. A missing file (or a
// plugin with no root granted) is ErrNotFound; a path that is not valid or
// leads out of the root (through a symbolic link) is ErrBadArgument.
func StatFile(path string) (FileInfo, error) {
	res, st := hostcall.CallForeignFunction(filesabi.FuncStat, []byte(path))
	if st != abi.StatusOK {
		return FileInfo{}, statusErrArg("stat file ", path, st)
	}
	i, err := filesabi.DecodeInfo(res)
	if err != nil {
		return FileInfo{}, err
	}
	return fileInfo(i), nil
}

// ReadFile reads up to n bytes (at most MaxFileRead) of path from offset;
// fewer at the end of the file. Errors as StatFile.
func ReadFile(path string, offset int64, n int) ([]byte, error) {
	if n < 0 || n > MaxFileRead || offset < 0 {
		return nil, errors.New("sluice sdk: read file " + path + ": bad offset or length")
	}
	res, st := hostcall.CallForeignFunction(filesabi.FuncRead, filesabi.AppendRead(nil, offset, n, path))
	if st != abi.StatusOK {
		return nil, statusErrArg("read file ", path, st)
	}
	return res, nil
}

// ListDir lists the directory path, sorted by name; entries that lead out
// of the root are left out. Errors as StatFile.
func ListDir(path string) ([]DirEntry, error) {
	res, st := hostcall.CallForeignFunction(filesabi.FuncList, []byte(path))
	if st != abi.StatusOK {
		return nil, statusErrArg("list directory ", path, st)
	}
	ents, err := filesabi.DecodeEntries(res)
	if err != nil {
		return nil, err
	}
	out := make([]DirEntry, len(ents))
	for i, e := range ents {
		out[i] = DirEntry{Name: e.Name, FileInfo: fileInfo(e.Info)}
	}
	return out, nil
}
