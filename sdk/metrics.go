package sdk

import (
	"math"

	"github.com/sluice-proxy/sluice/abi"
	"github.com/sluice-proxy/sluice/sdk/internal/hostcall"
)

// Metrics are defined by name, usually when the plugin is configured, and
// exported by sluice under the plugin's name. Defining the same name again
// (in another VM or configuration) refers to the same metric.

// Counter is a monotonically increasing metric.
type Counter struct{ id uint32 }

// Gauge is a metric that goes up and down.
type Gauge struct{ id uint32 }

// Histogram is a metric that records a distribution of values.
type Histogram struct{ id uint32 }

func define(t abi.MetricType, name string) (uint32, error) {
	id, st := hostcall.DefineMetric(t, name)
	return id, statusErr("define "+t.String()+" "+name, st)
}

// DefineCounter defines (or finds) the counter name.
func DefineCounter(name string) (Counter, error) {
	id, err := define(abi.MetricCounter, name)
	return Counter{id}, err
}

// Add adds delta to the counter; 0 is a no-op.
func (c Counter) Add(delta uint64) error {
	if delta == 0 {
		return nil // the host refuses 0 (Envoy's rule)
	}
	if delta > math.MaxInt64 {
		delta = math.MaxInt64
	}
	return statusErr("increment counter", hostcall.IncrementMetric(c.id, int64(delta)))
}

// Inc adds 1 to the counter.
func (c Counter) Inc() error { return c.Add(1) }

// Value returns the counter's value.
func (c Counter) Value() (uint64, error) {
	v, st := hostcall.GetMetric(c.id)
	return v, statusErr("read counter", st)
}

// DefineGauge defines (or finds) the gauge name.
func DefineGauge(name string) (Gauge, error) {
	id, err := define(abi.MetricGauge, name)
	return Gauge{id}, err
}

// Set sets the gauge.
func (g Gauge) Set(v int64) error { return statusErr("set gauge", hostcall.RecordMetric(g.id, v)) }

// Add adds delta (which may be negative) to the gauge.
func (g Gauge) Add(delta int64) error {
	return statusErr("add to gauge", hostcall.IncrementMetric(g.id, delta))
}

// Value returns the gauge's value.
func (g Gauge) Value() (int64, error) {
	v, st := hostcall.GetMetric(g.id)
	return int64(v), statusErr("read gauge", st)
}

// DefineHistogram defines (or finds) the histogram name.
func DefineHistogram(name string) (Histogram, error) {
	id, err := define(abi.MetricHistogram, name)
	return Histogram{id}, err
}

// Record records one sample.
func (h Histogram) Record(v uint64) error {
	if v > math.MaxInt64 {
		v = math.MaxInt64
	}
	return statusErr("record histogram", hostcall.RecordMetric(h.id, int64(v)))
}
