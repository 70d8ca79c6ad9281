package sdktest

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"io"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluice-proxy/sluice/abi"
	"github.com/sluice-proxy/sluice/sdk/internal/hostcall"
)

// one serializes Hosts: the SDK's state is global, as in a Wasm VM.
// holder is the test that holds it (guarded by holderMu), so that a second
// New in the same test fails instead of waiting for itself.
var (
	one      sync.Mutex
	holderMu sync.Mutex
	holder   testing.TB
)

// LogEntry is one message a plugin logged.
type LogEntry struct {
	Level   abi.LogLevel
	Message string
	// Context is the context id the plugin logged from.
	Context uint32
}

// Option configures a Host.
type Option func(*Host)

// WithProperty sets a host attribute by dotted path, e.g.
// WithProperty("plugin_name", []byte("auth")). Streams can override it
// (Stream.SetProperty).
func WithProperty(path string, value []byte) Option {
	return func(h *Host) { h.props[dotted(path)] = value }
}

// WithFileBodies makes the fake host stream files as sluice does: a local
// response sent after the plugin set "sluice.respond_file" to
// "PATH\x00OFFSET\x00LENGTH" gets that range, read with read, as its body.
// Without it the property is refused, as on a host that cannot.
func WithFileBodies(read func(path string, off, n int64) ([]byte, error)) Option {
	return func(h *Host) { h.fileBody = read }
}

// WithNow sets the host clock (default: the real time when New runs). The
// clock only moves with Host.Advance and Host.SetNow.
func WithNow(t time.Time) Option { return func(h *Host) { h.now = t } }

// WithLogLevel sets the level proxy_get_log_level reports (default trace).
func WithLogLevel(l abi.LogLevel) Option { return func(h *Host) { h.logLevel = l } }

// WithUpstreams restricts http calls to the named upstreams; a call to
// another name fails with BAD_ARGUMENT, as in sluice. By default every name
// is accepted.
func WithUpstreams(names ...string) Option {
	return func(h *Host) {
		h.upstreams = map[string]bool{}
		for _, n := range names {
			h.upstreams[n] = true
		}
	}
}

// WithForeignFunction registers a foreign function. "compress" and
// "uncompress" (zlib) are always there.
func WithForeignFunction(name string, fn func(args []byte) ([]byte, error)) Option {
	return func(h *Host) { h.foreign[name] = fn }
}

// Host is the fake proxy-wasm host. It has one VM and, after Configure, one
// plugin root context; Configure again to add more roots.
type Host struct {
	t     testing.TB
	guest hostcall.Guest

	nextID    uint32
	root      uint32
	roots     map[uint32]*rootState
	streams   map[uint32]*Stream
	depth     int    // nesting of callbacks (a hostcall never re-enters, but deferred ones run after)
	active    uint32 // context of the running callback
	effective uint32
	deferred  []func()

	now       time.Time
	logLevel  abi.LogLevel
	logs      []LogEntry
	props     map[string][]byte
	upstreams map[string]bool
	foreign   map[string]func([]byte) ([]byte, error)
	// fileBody reads the file range a local response names with
	// sluice.respond_file (WithFileBodies); nil: the host does not
	// stream files and refuses the property.
	fileBody func(path string, off, n int64) ([]byte, error)

	pluginConfig []byte // readable during OnConfigure only
	configuring  bool

	shared  map[string]sharedValue
	casNext uint32

	queues      []*queue
	queueByName map[string]uint32

	metrics      []*metric
	metricByName map[string]uint32

	calls       map[uint32]*Call
	callOrder   []*Call
	hostCalls   map[string]int // by ABI function name
	nextToken   uint32
	delivering  *Call // the call whose answer is being delivered
	callStatus  uint32
	callMessage string
}

type rootState struct {
	tick time.Duration
}

type sharedValue struct {
	value []byte
	cas   uint32
}

type queue struct {
	name     string
	consumer uint32
	items    [][]byte
}

type metric struct {
	name    string
	kind    abi.MetricType
	value   int64
	samples []int64
}

// New installs a fake host for the plugin linked into the test binary and
// gives it a fresh VM. It blocks while another Host is in use, and is
// released when the test ends.
func New(t testing.TB, opts ...Option) *Host {
	t.Helper()
	if !one.TryLock() {
		holderMu.Lock()
		same := holder != nil && holder.Name() == t.Name()
		holderMu.Unlock()
		if same {
			t.Fatal("sdktest: New called twice in one test; the first Host is released when its test ends (use subtests)")
		}
		one.Lock()
	}
	holderMu.Lock()
	holder = t
	holderMu.Unlock()
	g := hostcall.CurrentGuest()
	h := &Host{
		t:            t,
		guest:        g,
		roots:        map[uint32]*rootState{},
		streams:      map[uint32]*Stream{},
		now:          time.Now(),
		props:        map[string][]byte{"plugin_name": []byte("test"), "plugin_root_id": nil, "plugin_vm_id": nil},
		foreign:      map[string]func([]byte) ([]byte, error){"compress": compress, "uncompress": uncompress},
		shared:       map[string]sharedValue{},
		queueByName:  map[string]uint32{},
		metricByName: map[string]uint32{},
		calls:        map[uint32]*Call{},
		hostCalls:    map[string]int{},
	}
	for _, o := range opts {
		o(h)
	}
	if h.guest == nil {
		holderMu.Lock()
		holder = nil
		holderMu.Unlock()
		one.Unlock()
		t.Fatal("sdktest: no plugin SDK linked; import the plugin's package (which imports sdk)")
	}
	if r, ok := h.guest.(hostcall.Resetter); ok {
		r.Reset()
	}
	prev := hostcall.SetHost((*fake)(h))
	t.Cleanup(func() {
		hostcall.SetHost(prev)
		holderMu.Lock()
		holder = nil
		holderMu.Unlock()
		one.Unlock()
	})
	return h
}

// Start is New followed by Configure; it fails the test if the plugin
// refuses the configuration.
func Start(t testing.TB, config string, opts ...Option) *Host {
	t.Helper()
	h := New(t, opts...)
	if err := h.Configure(config); err != nil {
		t.Fatalf("sdktest: plugin refused configuration %s: %v", config, err)
	}
	return h
}

// ConfigError is a configuration the plugin refused; Messages are what it
// logged at error level while configuring.
type ConfigError struct {
	Messages []string
}

// Error implements error.
func (e *ConfigError) Error() string {
	if len(e.Messages) == 0 {
		return "plugin refused its configuration without a message"
	}
	return strings.Join(e.Messages, "; ")
}

// Configure creates a root context and configures it with config (the
// plugin's JSON), as sluice does when it loads a [plugins.X] table. It
// returns a *ConfigError with the plugin's messages if the plugin refuses.
// Streams created afterwards belong to the last root configured.
func (h *Host) Configure(config string) error {
	h.t.Helper()
	id := h.newID()
	h.roots[id] = &rootState{}
	h.callback(id, func() { h.guest.OnContextCreate(id, 0) })
	ok := false
	h.callback(id, func() { ok = h.guest.OnVMStart(id, 0) })
	if !ok {
		return &ConfigError{Messages: append([]string{"proxy_on_vm_start returned false"}, h.errorsFrom(0)...)}
	}
	mark := len(h.logs)
	h.pluginConfig, h.configuring = []byte(config), true
	h.callback(id, func() { ok = h.guest.OnConfigure(id, uint32(len(config))) })
	h.pluginConfig, h.configuring = nil, false
	if !ok {
		return &ConfigError{Messages: h.errorsFrom(mark)}
	}
	h.root = id
	return nil
}

func (h *Host) errorsFrom(mark int) []string {
	var out []string
	for _, l := range h.logs[mark:] {
		if l.Level >= abi.LogError {
			out = append(out, l.Message)
		}
	}
	return out
}

func (h *Host) newID() uint32 {
	h.nextID++
	return h.nextID
}

// callback runs fn as a host→guest call on context id, then runs the
// deliveries (queue notifications) it triggered, as a host does after the
// call returns.
func (h *Host) callback(id uint32, fn func()) {
	savedActive, savedEff := h.active, h.effective
	h.active, h.effective = id, id
	h.depth++
	fn()
	h.depth--
	h.active, h.effective = savedActive, savedEff
	if h.depth == 0 {
		for len(h.deferred) > 0 {
			d := h.deferred[0]
			h.deferred = h.deferred[1:]
			d()
		}
	}
}

// HostCalls returns how many times the plugin called each proxy-wasm host
// function (by its ABI name, e.g. "proxy_get_header_map_value") since New
// or the last ResetHostCalls: each is a crossing of the Wasm boundary.
func (h *Host) HostCalls() map[string]int {
	out := make(map[string]int, len(h.hostCalls))
	for k, v := range h.hostCalls {
		out[k] = v
	}
	return out
}

// ResetHostCalls zeroes the counts of HostCalls.
func (h *Host) ResetHostCalls() { clear(h.hostCalls) }

// Logs returns every message the plugin logged.
func (h *Host) Logs() []LogEntry { return append([]LogEntry(nil), h.logs...) }

// LogMessages returns the messages logged at level or above.
func (h *Host) LogMessages(level abi.LogLevel) []string {
	var out []string
	for _, l := range h.logs {
		if l.Level >= level {
			out = append(out, l.Message)
		}
	}
	return out
}

// Now returns the host clock.
func (h *Host) Now() time.Time { return h.now }

// SetNow sets the host clock without ticking.
func (h *Host) SetNow(t time.Time) { h.now = t }

// TickPeriod returns the tick period of the current root (0: no ticks).
func (h *Host) TickPeriod() time.Duration {
	if r := h.roots[h.root]; r != nil {
		return r.tick
	}
	return 0
}

// Tick calls OnTick once on every root that has a tick period.
func (h *Host) Tick() {
	for _, id := range h.rootIDs() {
		if h.roots[id].tick > 0 {
			h.callback(id, func() { h.guest.OnTick(id) })
		}
	}
}

// Advance moves the clock forward by d in steps of the current root's tick
// period, ticking at each step as a host would; without ticks it just
// moves the clock.
func (h *Host) Advance(d time.Duration) {
	end := h.now.Add(d)
	for {
		p := h.TickPeriod()
		if p <= 0 || h.now.Add(p).After(end) {
			break
		}
		h.now = h.now.Add(p)
		h.Tick()
	}
	h.now = end
}

func (h *Host) rootIDs() []uint32 {
	ids := make([]uint32, 0, len(h.roots))
	for id := range h.roots {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	return ids
}

// Metric returns the value of the counter or gauge name.
func (h *Host) Metric(name string) (int64, bool) {
	id, ok := h.metricByName[name]
	if !ok {
		return 0, false
	}
	return h.metrics[id].value, true
}

// HistogramSamples returns the samples recorded in the histogram name.
func (h *Host) HistogramSamples(name string) []int64 {
	id, ok := h.metricByName[name]
	if !ok {
		return nil
	}
	return append([]int64(nil), h.metrics[id].samples...)
}

// SharedData returns the shared value of key and its CAS token.
func (h *Host) SharedData(key string) ([]byte, uint32, bool) {
	v, ok := h.shared[key]
	return v.value, v.cas, ok
}

// SetSharedData stores a shared value as another VM would.
func (h *Host) SetSharedData(key string, value []byte) {
	h.casNext++
	h.shared[key] = sharedValue{value: append([]byte(nil), value...), cas: h.casNext}
}

// QueueItems returns the items waiting in the queue name.
func (h *Host) QueueItems(name string) [][]byte {
	id, ok := h.queueByName[name]
	if !ok {
		return nil
	}
	return h.queues[id-1].items
}

// Enqueue appends data to the queue name, as another VM would, and notifies
// its consumer. It fails the test if no plugin registered that queue.
func (h *Host) Enqueue(name string, data []byte) {
	h.t.Helper()
	id, ok := h.queueByName[name]
	if !ok {
		h.t.Fatalf("sdktest: queue %q was never registered", name)
	}
	(*fake)(h).EnqueueSharedQueue(id, data)
	h.hostCalls[abi.FuncEnqueueSharedQueue]-- // the test's call, not the plugin's
	h.callback(0, func() {})                  // run the notification, as after a host call
}

// HTTPCalls returns the http calls not answered yet, oldest first.
func (h *Host) HTTPCalls() []*Call {
	var out []*Call
	for _, c := range h.callOrder {
		if !c.done {
			out = append(out, c)
		}
	}
	return out
}

// Call is an http call a plugin made. Answer it with Respond or Fail.
type Call struct {
	h        *Host
	token    uint32
	root     uint32
	done     bool
	Upstream string
	Headers  [][2]string
	Body     []byte
	Trailers [][2]string
	Timeout  time.Duration

	respHeaders, respTrailers [][2]string
	respBody                  []byte
}

// Header returns the first value of the call's request header key.
func (c *Call) Header(key string) string { return get(c.Headers, key) }

// Respond delivers an answer; headers should include ":status".
func (c *Call) Respond(headers [][2]string, body []byte, trailers [][2]string) {
	c.h.t.Helper()
	if c.done {
		c.h.t.Fatalf("sdktest: http call %d answered twice", c.token)
	}
	c.done = true
	c.respHeaders, c.respBody, c.respTrailers = lowerPairs(headers), body, lowerPairs(trailers)
	c.h.callStatus, c.h.callMessage = uint32(abi.StatusOK), ""
	c.h.deliver(c, uint32(len(headers)), uint32(len(body)), uint32(len(trailers)))
}

// Fail delivers a failure (timeout, reset), as sluice reports it.
func (c *Call) Fail() {
	c.h.t.Helper()
	if c.done {
		c.h.t.Fatalf("sdktest: http call %d answered twice", c.token)
	}
	c.done = true
	c.h.callStatus, c.h.callMessage = uint32(abi.StatusBrokenConnection), "reset"
	c.h.deliver(c, 0, 0, 0)
}

func (h *Host) deliver(c *Call, nh, nb, nt uint32) {
	h.callback(c.root, func() {
		h.delivering = c
		h.guest.OnHTTPCallResponse(c.root, c.token, nh, nb, nt)
		h.delivering = nil
	})
}

func compress(in []byte) ([]byte, error) {
	var b bytes.Buffer
	w := zlib.NewWriter(&b)
	if _, err := w.Write(in); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

func uncompress(in []byte) ([]byte, error) {
	r, err := zlib.NewReader(bytes.NewReader(in))
	if err != nil {
		return nil, err
	}
	return io.ReadAll(r)
}

func dotted(path string) string { return strings.ReplaceAll(path, ".", abi.PathSeparator) }

func get(pairs [][2]string, key string) string {
	key = strings.ToLower(key)
	for _, p := range pairs {
		if p[0] == key {
			return p[1]
		}
	}
	return ""
}

func lowerPairs(pairs [][2]string) [][2]string {
	out := make([][2]string, len(pairs))
	for i, p := range pairs {
		out[i] = [2]string{strings.ToLower(p[0]), p[1]}
	}
	return out
}

// le64 encodes an integer property value.
func le64(v uint64) []byte { return binary.LittleEndian.AppendUint64(nil, v) }
