package wasm

import (
	"context"
	"log/slog"
	"time"

	"github.com/tetratelabs/wazero/api"

	"github.com/sluice-proxy/sluice/abi"
)

// Levels of plugin logs: proxy-wasm's trace and critical sit beyond slog's
// debug and error.
const (
	levelTrace    = slog.LevelDebug - 4
	levelCritical = slog.LevelError + 4
)

var slogLevels = [...]slog.Level{levelTrace, slog.LevelDebug, slog.LevelInfo, slog.LevelWarn, slog.LevelError, levelCritical}

// hostLog implements proxy_log(level, message_ptr, message_len): it logs
// the message with the plugin's name.
//
// Statuses: OK; BAD_ARGUMENT for a level above abi.LogCritical;
// INVALID_MEMORY_ACCESS for an unreadable message.
func hostLog(ctx context.Context, _ api.Module, stack []uint64) {
	v := vmFrom(ctx)
	level := abi.LogLevel(u32(stack, 0))
	if !level.Valid() {
		ret(stack, abi.StatusBadArgument)
		return
	}
	msg, ok := v.read(u32(stack, 1), u32(stack, 2))
	if !ok {
		ret(stack, abi.StatusInvalidMemoryAccess)
		return
	}
	v.guestLog(slogLevels[level], string(msg))
	ret(stack, abi.StatusOK)
}

// hostGetLogLevel implements proxy_get_log_level(return_level): it writes
// the most verbose level the host logger records, as a u32.
//
// Statuses: OK; INVALID_MEMORY_ACCESS.
func hostGetLogLevel(ctx context.Context, _ api.Module, stack []uint64) {
	v := vmFrom(ctx)
	level := abi.LogCritical
	for l := abi.LogTrace; l <= abi.LogCritical; l++ {
		if v.rt.opts.Logger.Enabled(ctx, slogLevels[l]) {
			level = l
			break
		}
	}
	if !v.putU32(u32(stack, 0), uint32(level)) {
		ret(stack, abi.StatusInvalidMemoryAccess)
		return
	}
	ret(stack, abi.StatusOK)
}

// hostGetCurrentTime implements
// proxy_get_current_time_nanoseconds(return_time): it writes the wall
// clock as u64 nanoseconds since the Unix epoch.
//
// Statuses: OK; INVALID_MEMORY_ACCESS.
func hostGetCurrentTime(ctx context.Context, _ api.Module, stack []uint64) {
	v := vmFrom(ctx)
	if !v.putU64(u32(stack, 0), uint64(time.Now().UnixNano())) {
		ret(stack, abi.StatusInvalidMemoryAccess)
		return
	}
	ret(stack, abi.StatusOK)
}

// hostSetTickPeriod implements proxy_set_tick_period_milliseconds(period):
// the current context's root gets proxy_on_tick every period, re-armed
// after each tick; 0 stops the ticks.
//
// Statuses: always OK.
func hostSetTickPeriod(ctx context.Context, _ api.Module, stack []uint64) {
	v := vmFrom(ctx)
	if h := v.current(); h != nil {
		v.setTick(h.rootOf(), time.Duration(u32(stack, 0))*time.Millisecond)
	}
	ret(stack, abi.StatusOK)
}

// setTick (re)arms the tick timer of root h. v.mu is held.
func (v *vm) setTick(h *hctx, period time.Duration) {
	h.tickGen++
	if h.tickTimer != nil {
		h.tickTimer.Stop()
		h.tickTimer = nil
	}
	h.tickPeriod = period
	if period > 0 {
		v.armTick(h, h.tickGen)
	}
}

func (v *vm) armTick(h *hctx, gen uint64) {
	h.tickTimer = time.AfterFunc(h.tickPeriod, func() {
		v.post(func() { v.tick(h, gen) })
	})
}

// tick delivers one proxy_on_tick, serialized with the vm's other calls,
// and re-arms the timer unless the period changed meanwhile.
func (v *vm) tick(h *hctx, gen uint64) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.dead.Load() || h.tickGen != gen || v.contexts[h.id] != h {
		return
	}
	if _, err := v.call(h, v.fns.onTick, uint64(h.id)); err != nil {
		return
	}
	if h.tickGen == gen && h.tickPeriod > 0 && !v.dead.Load() && v.contexts[h.id] == h {
		v.armTick(h, gen)
	}
}
