package wasm

import (
	"bytes"
	"compress/zlib"
	"context"
	"io"

	"github.com/tetratelabs/wazero/api"

	"github.com/sluice-proxy/sluice/abi"
)

// hostCallForeignFunction implements proxy_call_foreign_function(name_ptr,
// name_len, args_ptr, args_len, return_ptr, return_len): calls the host
// extension registered under name (Options.ForeignFunctions and the
// built-in "compress" and "uncompress") with a copy of the arguments. The
// result goes to a fresh guest allocation, or is dropped when return_ptr
// is 0.
//
// Statuses: OK; NOT_FOUND for an unknown name; the function's own status
// (SERIALIZATION_FAILURE for bad input to the built-ins);
// INVALID_MEMORY_ACCESS.
func hostCallForeignFunction(ctx context.Context, _ api.Module, stack []uint64) {
	v := vmFrom(ctx)
	name, ok1 := v.read(u32(stack, 0), u32(stack, 1))
	args, ok2 := v.read(u32(stack, 2), u32(stack, 3))
	if !ok1 || !ok2 {
		ret(stack, abi.StatusInvalidMemoryAccess)
		return
	}
	fn := v.rt.foreign[string(name)]
	if fn == nil {
		ret(stack, abi.StatusNotFound)
		return
	}
	// The function may keep or outlive the view; and the allocation below
	// may move memory.
	res, st := fn(v.pluginName(), bytes.Clone(args))
	if st != abi.StatusOK {
		ret(stack, st)
		return
	}
	if u32(stack, 4) == 0 {
		ret(stack, abi.StatusOK)
		return
	}
	ret(stack, v.returnBytes(res, u32(stack, 4), u32(stack, 5)))
}

// maxUncompressed bounds what "uncompress" produces, against zip bombs.
const maxUncompressed = 16 << 20

// foreignCompress is Envoy's "compress": zlib (RFC 1950) at the default
// level.
func foreignCompress(_ string, args []byte) ([]byte, abi.Status) {
	var b bytes.Buffer
	w := zlib.NewWriter(&b)
	if _, err := w.Write(args); err != nil {
		return nil, abi.StatusSerializationFailure
	}
	if err := w.Close(); err != nil {
		return nil, abi.StatusSerializationFailure
	}
	return b.Bytes(), abi.StatusOK
}

// foreignUncompress is Envoy's "uncompress": it reverses foreignCompress;
// input that is not zlib data, or output over 16 MiB, is
// SERIALIZATION_FAILURE.
func foreignUncompress(_ string, args []byte) ([]byte, abi.Status) {
	r, err := zlib.NewReader(bytes.NewReader(args))
	if err != nil {
		return nil, abi.StatusSerializationFailure
	}
	out, err := io.ReadAll(io.LimitReader(r, maxUncompressed+1))
	if err != nil || len(out) > maxUncompressed {
		return nil, abi.StatusSerializationFailure
	}
	return out, abi.StatusOK
}
