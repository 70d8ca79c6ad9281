package cachestore

import (
	"time"

	"github.com/sluice-proxy/sluice/abi/cacheabi"
)

// Func is a host function as plugins reach it: the calling plugin's name
// and the argument bytes (owned by the callee) in, the result out. The
// host's Wasm runtime adapts it (wasm.ErrorFunc): errors wrapping
// fs.ErrInvalid become BAD_ARGUMENT, fs.ErrNotExist NOT_FOUND, others
// INTERNAL_FAILURE.
type Func = func(plugin string, args []byte) ([]byte, error)

// Functions returns the registry's foreign functions by name
// (abi/cacheabi.Funcs), with the argument and result layouts documented
// in abi/cacheabi. Register each with the Wasm runtime.
func (r *Registry) Functions() map[string]Func {
	return map[string]Func{
		cacheabi.FuncOpen:    r.fnOpen,
		cacheabi.FuncLookup:  r.fnLookup,
		cacheabi.FuncBegin:   r.fnBegin,
		cacheabi.FuncAppend:  r.fnAppend,
		cacheabi.FuncCommit:  r.fnCommit,
		cacheabi.FuncAbort:   r.fnAbort,
		cacheabi.FuncRelease: r.fnRelease,
		cacheabi.FuncPurge:   r.fnPurge,
		cacheabi.FuncStats:   r.fnStats,
	}
}

func (r *Registry) fnOpen(_ string, args []byte) ([]byte, error) {
	s, err := r.Open(string(args))
	if err != nil {
		return nil, err
	}
	return cacheabi.AppendStore(nil, s.handle), nil
}

func (r *Registry) fnLookup(_ string, args []byte) ([]byte, error) {
	var a cacheabi.LookupArgs
	if err := a.Decode(args); err != nil {
		return nil, ErrMalformed
	}
	if _, _, _, err := a.Name.Split(); err != nil {
		return nil, ErrMalformed
	}
	s, err := r.store(a.Store)
	if err != nil {
		return nil, err
	}
	return s.lookup(a.Name, a.Flags, time.Duration(a.LockTimeout)*time.Millisecond, a.Waiter), nil
}

func (r *Registry) fnBegin(plugin string, args []byte) ([]byte, error) {
	var a cacheabi.BeginArgs
	if err := a.Decode(args); err != nil {
		return nil, ErrMalformed
	}
	res, err := r.begin(plugin, &a)
	if err != nil {
		return nil, err
	}
	return res.Append(nil), nil
}

func (r *Registry) fnAppend(plugin string, args []byte) ([]byte, error) {
	var a cacheabi.AppendArgs
	if err := a.Decode(args); err != nil {
		return nil, ErrMalformed
	}
	return nil, r.appendBody(plugin, a.Handle, a.Data)
}

func (r *Registry) fnCommit(plugin string, args []byte) ([]byte, error) {
	h, err := cacheabi.DecodeHandle(args)
	if err != nil {
		return nil, ErrMalformed
	}
	w, err := r.commit(plugin, h)
	if err != nil {
		return nil, err
	}
	return w.Append(nil), nil
}

func (r *Registry) fnAbort(plugin string, args []byte) ([]byte, error) {
	h, err := cacheabi.DecodeHandle(args)
	if err != nil {
		return nil, ErrMalformed
	}
	w, err := r.abort(plugin, h)
	if err != nil {
		return nil, err
	}
	return w.Append(nil), nil
}

func (r *Registry) fnRelease(_ string, args []byte) ([]byte, error) {
	var a cacheabi.ReleaseArgs
	if err := a.Decode(args); err != nil {
		return nil, ErrMalformed
	}
	s, err := r.store(a.Store)
	if err != nil {
		return nil, err
	}
	w := s.release(a.Token)
	return w.Append(nil), nil
}

func (r *Registry) fnPurge(_ string, args []byte) ([]byte, error) {
	var a cacheabi.PurgeArgs
	if err := a.Decode(args); err != nil {
		return nil, ErrMalformed
	}
	s, err := r.store(a.Store)
	if err != nil {
		return nil, err
	}
	m, err := newPurgeMatch(a.Scope, a.Name)
	if err != nil {
		return nil, ErrMalformed
	}
	return cacheabi.AppendCount(nil, s.purge(m)), nil
}

func (r *Registry) fnStats(_ string, args []byte) ([]byte, error) {
	h, err := cacheabi.DecodeStore(args)
	if err != nil {
		return nil, ErrMalformed
	}
	s, err := r.store(h)
	if err != nil {
		return nil, err
	}
	st := s.Stats()
	return st.Append(nil), nil
}
