package sdk

import (
	"time"

	"github.com/sluice-proxy/sluice/abi"
	"github.com/sluice-proxy/sluice/sdk/internal/hostcall"
)

// LogLevel is the level of a log message.
type LogLevel = abi.LogLevel

// The log levels.
const (
	LevelTrace    = abi.LogTrace
	LevelDebug    = abi.LogDebug
	LevelInfo     = abi.LogInfo
	LevelWarn     = abi.LogWarn
	LevelError    = abi.LogError
	LevelCritical = abi.LogCritical
)

// Log writes msg to the host's log at level; sluice tags it with the plugin's
// name.
func Log(level LogLevel, msg string) { hostcall.Log(level, msg) }

// Debug logs msg at debug level.
func Debug(msg string) { hostcall.Log(LevelDebug, msg) }

// Info logs msg at info level.
func Info(msg string) { hostcall.Log(LevelInfo, msg) }

// Warn logs msg at warn level.
func Warn(msg string) { hostcall.Log(LevelWarn, msg) }

// Error logs msg at error level.
func Error(msg string) { hostcall.Log(LevelError, msg) }

// LogEnabled reports whether the host keeps messages at level, so that a
// plugin can skip building a message nobody will read. The host's level is
// asked at most once per callback.
func LogEnabled(level LogLevel) bool {
	if vm.logLevelEpoch != vm.epoch {
		l, st := hostcall.GetLogLevel()
		if st != abi.StatusOK {
			l = LevelTrace // unknown: keep everything
		}
		vm.logLevel, vm.logLevelEpoch = l, vm.epoch
	}
	return level >= vm.logLevel
}

// SetTickPeriod makes the host call the plugin instance's OnTick every d
// (rounded up to a millisecond); 0 stops the ticks. From a stream handler it
// applies to the stream's plugin instance.
func SetTickPeriod(d time.Duration) error {
	if d < 0 {
		return &StatusError{Op: "set tick period: negative", Status: abi.StatusBadArgument}
	}
	ms := (d + time.Millisecond - 1) / time.Millisecond
	if ms > 1<<32-1 {
		ms = 1<<32 - 1
	}
	return statusErr("set tick period", hostcall.SetTickPeriodMilliseconds(uint32(ms)))
}

// Now returns the host's wall clock. Prefer it to time.Now in plugin code:
// sdktest can set it, which makes delays and timestamps testable.
func Now() time.Time {
	ns, st := hostcall.GetCurrentTimeNanoseconds()
	if st != abi.StatusOK {
		return time.Now()
	}
	return time.Unix(0, int64(ns))
}
