package wasm

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"

	"github.com/tetratelabs/wazero/api"
)

// procExit is how proc_exit ends a guest call: the host function panics
// with it, wazero turns the panic into an error of the call, and the VM
// code recognizes it (errors.As). Unlike wazero's own proc_exit, this does
// not close the module, so that a WASI command whose _start exits with 0
// after registering its contexts (TinyGo) stays usable.
type procExit struct{ code uint32 }

func (e *procExit) Error() string { return fmt.Sprintf("plugin called proc_exit(%d)", e.code) }

func wasiProcExit(_ context.Context, _ api.Module, stack []uint64) {
	panic(&procExit{code: uint32(stack[0])})
}

// logWriter turns a guest's stdout or stderr into log lines of the plugin
// whose context is current, one line per '\n' (a partial line is kept until
// its end, up to 4 KiB).
type logWriter struct {
	v     *vm
	level slog.Level
	buf   []byte
}

func (w *logWriter) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			w.buf = append(w.buf, p...)
			if len(w.buf) >= 4096 {
				w.flush()
			}
			break
		}
		w.buf = append(w.buf, p[:i]...)
		w.flush()
		p = p[i+1:]
	}
	return n, nil
}

func (w *logWriter) flush() {
	w.v.guestLog(w.level, string(w.buf))
	w.buf = w.buf[:0]
}
