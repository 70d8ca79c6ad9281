package wasm

import (
	"context"
	"sort"
	"sync"
	"sync/atomic"

	"github.com/tetratelabs/wazero/api"

	"github.com/sluice-proxy/sluice/abi"
)

// metric is a plugin-defined metric. It is process-wide: every VM of every
// generation defining the same (plugin, name, type) updates the same value,
// so counters survive reloads and VM replacements.
type metric struct {
	plugin, name string
	typ          abi.MetricType
	value        atomic.Int64
	hist         *histogram
}

// metricRegistry holds every metric plugins defined.
type metricRegistry struct {
	mu sync.Mutex
	m  map[string]*metric
}

func (r *metricRegistry) init() { r.m = map[string]*metric{} }

func (r *metricRegistry) get(plugin, name string, t abi.MetricType) *metric {
	key := plugin + "\x00" + name + "\x00" + t.String()
	r.mu.Lock()
	defer r.mu.Unlock()
	m := r.m[key]
	if m == nil {
		m = &metric{plugin: plugin, name: name, typ: t}
		if t == abi.MetricHistogram {
			m.hist = &histogram{}
		}
		r.m[key] = m
	}
	return m
}

// histogramBounds are the upper bounds of histogram buckets: 1, 2, 5, 10,
// ... 5e9, whatever unit the plugin records in.
var histogramBounds = func() []int64 {
	var b []int64
	for d := int64(1); d <= 1e9; d *= 10 {
		b = append(b, d, 2*d, 5*d)
	}
	return b
}()

type histogram struct {
	count   atomic.Uint64
	sum     atomic.Int64
	buckets [31]atomic.Uint64 // len(histogramBounds) + 1 for +Inf
}

func (h *histogram) record(v int64) {
	i := sort.Search(len(histogramBounds), func(i int) bool { return v <= histogramBounds[i] })
	h.buckets[i].Add(1)
	h.count.Add(1)
	h.sum.Add(v)
}

// MetricSample is one plugin metric as EachMetric reports it.
type MetricSample struct {
	// Plugin is the plugin that defined it (the module's name for metrics
	// defined outside any plugin context).
	Plugin string
	// Name is the name the plugin gave it.
	Name string
	Type abi.MetricType
	// Value is a counter's total or a gauge's value.
	Value int64
	// Histogram is set for histograms.
	Histogram *HistogramSample
}

// HistogramSample is a snapshot of a histogram.
type HistogramSample struct {
	Count uint64
	Sum   int64
	// Buckets are cumulative counts per upper bound, in increasing order,
	// the last being +Inf (math.MaxInt64).
	Buckets []Bucket
}

// Bucket is one cumulative histogram bucket.
type Bucket struct {
	UpperBound int64
	Count      uint64
}

// EachMetric calls fn for every metric plugins have defined, sorted by
// plugin and name. It is the exporter seam: the app maps samples to
// Prometheus (e.g. sluice_plugin_<name>{plugin="..."}).
func (rt *Runtime) EachMetric(fn func(MetricSample)) {
	rt.metrics.mu.Lock()
	ms := make([]*metric, 0, len(rt.metrics.m))
	for _, m := range rt.metrics.m {
		ms = append(ms, m)
	}
	rt.metrics.mu.Unlock()
	sort.Slice(ms, func(i, j int) bool {
		if ms[i].plugin != ms[j].plugin {
			return ms[i].plugin < ms[j].plugin
		}
		if ms[i].name != ms[j].name {
			return ms[i].name < ms[j].name
		}
		return ms[i].typ < ms[j].typ
	})
	for _, m := range ms {
		s := MetricSample{Plugin: m.plugin, Name: m.name, Type: m.typ, Value: m.value.Load()}
		if h := m.hist; h != nil {
			hs := &HistogramSample{Count: h.count.Load(), Sum: h.sum.Load(), Buckets: make([]Bucket, len(h.buckets))}
			var cum uint64
			for i := range h.buckets {
				cum += h.buckets[i].Load()
				bound := int64(1<<63 - 1)
				if i < len(histogramBounds) {
					bound = histogramBounds[i]
				}
				hs.Buckets[i] = Bucket{UpperBound: bound, Count: cum}
			}
			s.Histogram = hs
		}
		fn(s)
	}
}

// metricByID returns the metric behind an id of this vm. Ids carry the
// metric type in their low two bits, as in Envoy; the rest indexes the
// vm's table from 1.
func (v *vm) metricByID(id uint32) *metric {
	i := int(id>>2) - 1
	if i < 0 || i >= len(v.metrics) || v.metrics[i].typ != abi.MetricType(id&3) {
		return nil
	}
	return v.metrics[i]
}

// hostDefineMetric implements proxy_define_metric(type, name_ptr,
// name_len, return_metric_id): defines (or finds) the metric of the
// current plugin with that name and type and writes its id (the same id
// every time in a VM).
//
// Statuses: OK; BAD_ARGUMENT for a type above 2; INVALID_MEMORY_ACCESS.
func hostDefineMetric(ctx context.Context, _ api.Module, stack []uint64) {
	v := vmFrom(ctx)
	t := abi.MetricType(u32(stack, 0))
	if !t.Valid() {
		ret(stack, abi.StatusBadArgument)
		return
	}
	name, ok := v.read(u32(stack, 1), u32(stack, 2))
	if !ok {
		ret(stack, abi.StatusInvalidMemoryAccess)
		return
	}
	m := v.rt.metrics.get(v.pluginName(), string(name), t)
	// The same metric keeps its id, so that a plugin defining its metrics
	// per request does not grow the table.
	id, ok := v.metricIDs[m]
	if !ok {
		v.metrics = append(v.metrics, m)
		id = uint32(len(v.metrics))<<2 | uint32(t)
		if v.metricIDs == nil {
			v.metricIDs = map[*metric]uint32{}
		}
		v.metricIDs[m] = id
	}
	if !v.putU32(u32(stack, 3), id) {
		ret(stack, abi.StatusInvalidMemoryAccess)
		return
	}
	ret(stack, abi.StatusOK)
}

// scalarMetric finds a counter or gauge by id: BAD_ARGUMENT when the id's
// type bits name anything else, NOT_FOUND when it is not defined.
func (v *vm) scalarMetric(id uint32) (*metric, abi.Status) {
	switch abi.MetricType(id & 3) {
	case abi.MetricCounter, abi.MetricGauge:
	default:
		return nil, abi.StatusBadArgument
	}
	m := v.metricByID(id)
	if m == nil {
		return nil, abi.StatusNotFound
	}
	return m, abi.StatusOK
}

// hostIncrementMetric implements proxy_increment_metric(metric_id, delta
// i64): adds delta to a counter (delta must be positive) or a gauge.
//
// Statuses: OK; NOT_FOUND for an unknown counter or gauge id; BAD_ARGUMENT
// for a histogram, a non-positive counter delta or a bad type.
func hostIncrementMetric(ctx context.Context, _ api.Module, stack []uint64) {
	m, st := vmFrom(ctx).scalarMetric(u32(stack, 0))
	if st != abi.StatusOK {
		ret(stack, st)
		return
	}
	delta := int64(stack[1])
	if m.typ == abi.MetricCounter && delta <= 0 {
		ret(stack, abi.StatusBadArgument)
		return
	}
	m.value.Add(delta)
	ret(stack, abi.StatusOK)
}

// hostRecordMetric implements proxy_record_metric(metric_id, value i64):
// adds to a counter, sets a gauge, records a histogram sample.
//
// Statuses: OK; NOT_FOUND for an unknown id.
func hostRecordMetric(ctx context.Context, _ api.Module, stack []uint64) {
	v := vmFrom(ctx)
	m := v.metricByID(u32(stack, 0))
	if m == nil {
		ret(stack, abi.StatusNotFound)
		return
	}
	val := int64(stack[1])
	switch m.typ {
	case abi.MetricCounter:
		m.value.Add(val)
	case abi.MetricGauge:
		m.value.Store(val)
	case abi.MetricHistogram:
		m.hist.record(val)
	}
	ret(stack, abi.StatusOK)
}

// hostGetMetric implements proxy_get_metric(metric_id, return_value): a
// counter's or gauge's value as u64.
//
// Statuses: OK; NOT_FOUND for an unknown counter or gauge id; BAD_ARGUMENT
// for a histogram or a bad type; INVALID_MEMORY_ACCESS.
func hostGetMetric(ctx context.Context, _ api.Module, stack []uint64) {
	v := vmFrom(ctx)
	m, st := v.scalarMetric(u32(stack, 0))
	if st != abi.StatusOK {
		ret(stack, st)
		return
	}
	if !v.putU64(u32(stack, 1), uint64(m.value.Load())) {
		ret(stack, abi.StatusInvalidMemoryAccess)
		return
	}
	ret(stack, abi.StatusOK)
}
