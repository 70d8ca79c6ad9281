package sdk

import (
	"encoding/binary"
	"strings"

	"github.com/sluice-proxy/sluice/abi"
	"github.com/sluice-proxy/sluice/sdk/internal/hostcall"
)

// Property reads a host attribute by its dotted Envoy path, e.g.
// "source.address", "request.path", "plugin_name" or
// "request.headers.user-agent". In a stream handler it reads that stream's
// attributes. Strings come as their bytes, integers as 8 bytes
// little-endian (PropertyInt), maps serialized (PropertyMap). A missing
// attribute is ErrNotFound. Use PropertyPath when a segment contains a dot.
func Property(path string) ([]byte, error) {
	return getProperty(strings.ReplaceAll(path, ".", abi.PathSeparator), path)
}

// PropertyPath reads a host attribute by its path segments.
func PropertyPath(segments ...string) ([]byte, error) {
	p := abi.JoinPath(segments...)
	return getProperty(p, strings.Join(segments, "."))
}

func getProperty(path, name string) ([]byte, error) {
	b, st := hostcall.GetProperty(path)
	return b, statusErrArg("get property ", name, st)
}

// PropertyString reads a string attribute.
func PropertyString(path string) (string, error) {
	b, err := Property(path)
	return string(b), err
}

// PropertyInt reads an integer attribute (8 bytes little-endian).
func PropertyInt(path string) (int64, error) {
	b, err := Property(path)
	if err != nil {
		return 0, err
	}
	if len(b) != 8 {
		return 0, &StatusError{Op: "get property " + path + ": not an integer", Status: abi.StatusSerializationFailure}
	}
	return int64(binary.LittleEndian.Uint64(b)), nil
}

// PropertyMap reads a map attribute, such as "request.headers".
func PropertyMap(path string) ([][2]string, error) {
	b, err := Property(path)
	if err != nil {
		return nil, err
	}
	return decodePairs(nil, b)
}

// SetProperty stores value under the dotted path, readable later with
// Property (by this and other plugins) for the rest of the stream.
func SetProperty(path string, value []byte) error {
	p := strings.ReplaceAll(path, ".", abi.PathSeparator)
	return statusErrArg("set property ", path, hostcall.SetProperty(p, value))
}

// CallForeign calls a host extension by name, e.g. "compress".
func CallForeign(name string, args []byte) ([]byte, error) {
	b, st := hostcall.CallForeignFunction(name, args)
	return b, statusErrArg("call foreign function ", name, st)
}
