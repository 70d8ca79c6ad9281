package cachestore

import (
	"github.com/prometheus/client_golang/prometheus"
)

// The metrics of this package, read from the stores at each scrape; the
// directory label is the store's identity (memory://NAME or its path).
var (
	entriesDesc   = desc("cache_entries", "Entries the cache store holds.")
	sizeDesc      = desc("cache_size_bytes", "Bytes the cache store holds (memory: with per-entry overhead; disk: file sizes).")
	maxSizeDesc   = desc("cache_max_size_bytes", "The cache store's size bound.")
	lookupsDesc   = desc("cache_lookups_total", "Cache lookups by result: hit, stale (served while refreshed), expired, miss, wait (coalesced behind another request).", "result")
	writesDesc    = desc("cache_writes_total", "Entries stored.")
	evictionsDesc = desc("cache_evictions_total", "Entries dropped to stay under the size bound, or past their time.")
	purgedDesc    = desc("cache_purged_total", "Entries removed by PURGE requests.")
)

func desc(name, help string, labels ...string) *prometheus.Desc {
	return prometheus.NewDesc(prometheus.BuildFQName("sluice", "", name), help, append([]string{"directory"}, labels...), nil)
}

// Collector returns a Prometheus collector of the stores' figures, for
// the host's metrics registry: sluice_cache_entries, _size_bytes,
// _max_size_bytes, _lookups_total{result}, _writes_total,
// _evictions_total and _purged_total, each labelled with the store's
// directory.
func (r *Registry) Collector() prometheus.Collector { return collector{r} }

type collector struct{ r *Registry }

var _ prometheus.Collector = collector{}

func (c collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{entriesDesc, sizeDesc, maxSizeDesc, lookupsDesc, writesDesc, evictionsDesc, purgedDesc} {
		ch <- d
	}
}

func (c collector) Collect(ch chan<- prometheus.Metric) {
	for _, s := range c.r.Stores() {
		st := s.Stats()
		id := s.ID()
		gauge := func(d *prometheus.Desc, v uint64) {
			ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, float64(v), id)
		}
		counter := func(d *prometheus.Desc, v uint64, labels ...string) {
			ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), append([]string{id}, labels...)...)
		}
		gauge(entriesDesc, st.Entries)
		gauge(sizeDesc, st.Size)
		gauge(maxSizeDesc, st.MaxSize)
		counter(lookupsDesc, st.Hits, "hit")
		counter(lookupsDesc, st.Stale, "stale")
		counter(lookupsDesc, st.Expired, "expired")
		counter(lookupsDesc, st.Misses, "miss")
		counter(lookupsDesc, st.Waits, "wait")
		counter(writesDesc, st.Writes)
		counter(evictionsDesc, st.Evictions)
		counter(purgedDesc, st.Purged)
	}
}
