package wasm

import (
	"context"
	"errors"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/sluice-proxy/sluice/abi"
)

// Options configure a Runtime. The zero value is usable: every field has a
// default, given on the field.
type Options struct {
	// CacheDir is where compiled machine code is kept across restarts (keyed
	// by wazero version, CPU and module content). Empty means "sluice/wasm"
	// under os.UserCacheDir(), or no disk cache if that is unknown.
	// NoCacheDir disables the disk cache. The directory is created 0700: it
	// holds executable code.
	CacheDir string
	// VMs is the number of VMs (instances) per module. Default GOMAXPROCS.
	VMs int
	// MemoryLimitPages caps each VM's linear memory, in 64 KiB pages.
	// Default 2048 (128 MiB); at most 65536.
	MemoryLimitPages uint32
	// CallTimeout is the time budget of one callback into a plugin; a VM
	// whose callback runs longer is stopped and replaced. Default 1s. A
	// negative value disables the budget, which removes its cost (see
	// "Sandbox" in the package doc) but lets a looping plugin hold a CPU
	// for good.
	CallTimeout time.Duration
	// BodyLimit caps a body buffered for a plugin (one that pauses on body
	// chunks): beyond it the request gets 413, the response 500. Default
	// 1 MiB, Envoy's per-connection buffer limit.
	BodyLimit int
	// RestartBackoff and MaxRestartBackoff bound the wait before a failed VM
	// is replaced: the first replacement waits RestartBackoff, each
	// replacement of a VM that lived less than a minute doubles it up to
	// MaxRestartBackoff. Defaults 100ms and 30s.
	RestartBackoff    time.Duration
	MaxRestartBackoff time.Duration
	// CompileWorkers is the number of goroutines compiling one module.
	// Default GOMAXPROCS.
	CompileWorkers int
	// Logger receives the runtime's logs and the plugins' (proxy_log,
	// stdout, stderr) with a "plugin" attribute. Default slog.Default().
	Logger *slog.Logger
	// HTTPCaller sends plugins' http callouts (proxy_http_call). Nil makes
	// every callout fail with BAD_ARGUMENT (unknown upstream).
	HTTPCaller HTTPCaller
	// Observer is told about VM failures, for metrics. Optional.
	Observer Observer
	// ForeignFunctions are host extensions plugins may call by name with
	// proxy_call_foreign_function, in addition to (or replacing) the
	// built-in "compress" and "uncompress".
	ForeignFunctions map[string]ForeignFunc
	// TrustedModules names modules (a file name without ".wasm", i.e. a
	// plugin category) whose callbacks run without the time budget. The
	// budget makes every loop iteration in a guest return to Go (about
	// 40 ns), which is most of the cost of a plugin that loops a lot
	// (signature checks, cache hits, the guest's own garbage collector).
	// A trusted module that loops forever holds its VM, and a CPU, until
	// the process restarts: list only modules you vouch for.
	TrustedModules []string
	// NodeID and Version answer the properties xds.node.id (default: the
	// host name) and xds.node.user_agent_version (the sluice version).
	NodeID, Version string
	// NoWatch disables the watcher of the plugin directory (hot replacement
	// of .wasm files). Commands that only inspect plugins set it.
	NoWatch bool

	// ticks, when set, replaces the watchdog's ticker (tests drive the
	// budget's clock through it).
	ticks <-chan time.Time
}

// NoCacheDir as Options.CacheDir disables the on-disk compilation cache.
const NoCacheDir = "-"

// HTTPCaller sends an http callout to a named upstream, on behalf of a
// plugin. The app implements it with its upstreams. headers include the
// pseudo-headers :method, :path and :authority (always present) and maybe
// :scheme. timeout 0 means none (ctx still ends it when the runtime closes).
// A non-nil err (unreachable, reset, timeout) is reported to the plugin as
// a failed call. Call runs on its own goroutine and may block.
type HTTPCaller interface {
	Call(ctx context.Context, upstream string, headers [][2]string, body []byte, trailers [][2]string,
		timeout time.Duration) (status int, respHeaders [][2]string, respBody []byte, respTrailers [][2]string, err error)
}

// UpstreamChecker may be implemented by an HTTPCaller to let
// proxy_http_call refuse an unknown upstream synchronously with
// BAD_ARGUMENT, as Envoy does for an unknown cluster. Without it, such a
// call fails asynchronously.
type UpstreamChecker interface {
	HasUpstream(name string) bool
}

// Observer is told what happens to VMs, so that the app can count it.
// Its methods are called from runtime goroutines and must not block.
type Observer interface {
	// VMFailed reports that a VM of module (its file) was stopped because
	// of cause: ReasonTrap, ReasonTimeout or ReasonStart.
	VMFailed(module string, reason FailureReason)
}

// FailureReason classifies why a VM was stopped.
type FailureReason string

// Failure reasons.
const (
	// ReasonTrap: the plugin trapped, panicked, exited or broke the ABI.
	ReasonTrap FailureReason = "trap"
	// ReasonTimeout: a callback exceeded Options.CallTimeout.
	ReasonTimeout FailureReason = "timeout"
	// ReasonStart: a replacement VM could not be started or configured.
	ReasonStart FailureReason = "start"
)

// ForeignFunc is a host extension callable by plugins. It gets the calling
// plugin's name and the argument bytes (borrowed for the call), and returns
// the result (which may be nil) and a status: abi.StatusOK, or the status
// the plugin should see (e.g. abi.StatusSerializationFailure for bad
// input). It runs while the plugin's VM is busy, so it must be quick.
type ForeignFunc func(plugin string, args []byte) ([]byte, abi.Status)

// Defaults.
const (
	defaultMemoryLimitPages = 2048
	defaultCallTimeout      = time.Second
	defaultBodyLimit        = 1 << 20
	defaultRestartBackoff   = 100 * time.Millisecond
	defaultMaxBackoff       = 30 * time.Second
)

// withDefaults returns o with every zero field set to its default.
func (o Options) withDefaults() Options {
	if o.CacheDir == "" {
		if dir, err := os.UserCacheDir(); err == nil {
			o.CacheDir = filepath.Join(dir, "sluice", "wasm")
		} else {
			o.CacheDir = NoCacheDir
		}
	}
	if o.NodeID == "" {
		o.NodeID, _ = os.Hostname()
	}
	if o.VMs <= 0 {
		o.VMs = runtime.GOMAXPROCS(0)
	}
	if o.MemoryLimitPages == 0 {
		o.MemoryLimitPages = defaultMemoryLimitPages
	}
	if o.MemoryLimitPages > 65536 {
		o.MemoryLimitPages = 65536
	}
	if o.CallTimeout == 0 {
		o.CallTimeout = defaultCallTimeout
	}
	if o.BodyLimit <= 0 {
		o.BodyLimit = defaultBodyLimit
	}
	if o.RestartBackoff <= 0 {
		o.RestartBackoff = defaultRestartBackoff
	}
	if o.MaxRestartBackoff < o.RestartBackoff {
		o.MaxRestartBackoff = max(defaultMaxBackoff, o.RestartBackoff)
	}
	if o.CompileWorkers <= 0 {
		o.CompileWorkers = runtime.GOMAXPROCS(0)
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o
}

// ErrorFunc adapts a host function written without the ABI (packages below
// host/wasm may not import abi) to a ForeignFunc. Its error becomes the
// status the plugin sees: fs.ErrNotExist is NOT_FOUND, fs.ErrInvalid is
// BAD_ARGUMENT, anything else INTERNAL_FAILURE; wrap one of the first two to
// choose it.
func ErrorFunc(f func(plugin string, args []byte) ([]byte, error)) ForeignFunc {
	return func(plugin string, args []byte) ([]byte, abi.Status) {
		out, err := f(plugin, args)
		switch {
		case err == nil:
			return out, abi.StatusOK
		case errors.Is(err, fs.ErrNotExist):
			return nil, abi.StatusNotFound
		case errors.Is(err, fs.ErrInvalid):
			return nil, abi.StatusBadArgument
		default:
			return nil, abi.StatusInternalFailure
		}
	}
}
