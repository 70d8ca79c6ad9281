package wasm

import (
	"context"

	"github.com/tetratelabs/wazero/api"

	"github.com/sluice-proxy/sluice/abi"
)

// hostSetEffectiveContext implements proxy_set_effective_context(id): the
// rest of the current callback's host calls act on context id (e.g. a
// stream resumed from its root's http-call response or tick). It resets
// when the callback returns.
//
// Statuses: OK; BAD_ARGUMENT for an unknown context.
func hostSetEffectiveContext(ctx context.Context, _ api.Module, stack []uint64) {
	v := vmFrom(ctx)
	h := v.contexts[u32(stack, 0)]
	if h == nil {
		ret(stack, abi.StatusBadArgument)
		return
	}
	v.eff = h
	ret(stack, abi.StatusOK)
}

// hostDone implements proxy_done(): a root context that answered false to
// proxy_on_done says it has finished; proxy_on_delete follows once the
// current callback returned.
//
// Statuses: OK; NOT_FOUND when the current context was not waiting to
// finish.
func hostDone(ctx context.Context, _ api.Module, stack []uint64) {
	v := vmFrom(ctx)
	h := v.current()
	if h == nil || !h.awaitDone {
		ret(stack, abi.StatusNotFound)
		return
	}
	h.awaitDone = false
	v.after = append(v.after, func() {
		_, _ = v.call(h, v.fns.onDelete, uint64(h.id))
		delete(v.contexts, h.id)
	})
	ret(stack, abi.StatusOK)
}
