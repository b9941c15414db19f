package daemon

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/cachetsync/cachet/coverage"
)

// EvictionLagBuckets are cachet_eviction_lag_seconds' buckets, 5 ms to 60 s.
var EvictionLagBuckets = []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60}

// coverageMetrics are the proof-of-propagation metrics: fed by the
// Tracker's acknowledgement callback, and read from its Stats at scrape.
type coverageMetrics struct {
	lag          prometheus.Histogram
	acknowledged prometheus.Counter
}

func newCoverageMetrics() *coverageMetrics {
	return &coverageMetrics{
		lag: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "cachet_eviction_lag_seconds",
			Help:    "Submit → eviction lag of each acknowledged eviction: the browser's receipt time minus the ledger transaction's timestamp (negative skew counted as 0).",
			Buckets: EvictionLagBuckets}),
		acknowledged: prometheus.NewCounter(prometheus.CounterOpts{Name: "cachet_evictions_acknowledged_total",
			Help: "Evictions acknowledged: a client's first receipt for a transition in the coverage window."}),
	}
}

func (m *coverageMetrics) observe(a coverage.Ack) {
	m.acknowledged.Inc()
	m.lag.Observe(a.Lag.Seconds())
}

// newCoverage builds the daemon's coverage tracker on cfg's clock, with
// cfg.Coverage's options, feeding m.
func newCoverage(cfg Config, m *coverageMetrics) (*coverage.Tracker, error) {
	opts := append([]coverage.Option{coverage.WithClock(cfg.Clock)}, cfg.Coverage...)
	return coverage.New(append(opts, coverage.WithOnAck(m.observe))...)
}

// Coverage is the daemon's proof-of-propagation tracker: which clients
// acknowledged each transition's eviction, and how late.
func (d *Daemon) Coverage() *coverage.Tracker { return d.cov }

// CoverageHandler serves GET /v1/coverage/{txid} (coverage.Tracker.Handler);
// mount it for "/v1/coverage/" on the ops listener.
func (d *Daemon) CoverageHandler() http.Handler { return d.cov.Handler() }

// coverageCollectors are the coverage metrics.
func (d *Daemon) coverageCollectors() []prometheus.Collector {
	return []prometheus.Collector{
		d.cm.lag, d.cm.acknowledged,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "cachet_coverage_transitions",
			Help: "Transitions in the coverage window."}, func() float64 { return float64(d.cov.Stats().Transitions) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "cachet_coverage_pending_receipts",
			Help: "Eviction receipts waiting for their transition."}, func() float64 { return float64(d.cov.Stats().Pending) }),
		receiptsCollector{d.cov},
	}
}

// receiptsCollector reports cachet_coverage_receipts_total by outcome for
// the receipts that were not counted as acknowledgements.
type receiptsCollector struct{ t *coverage.Tracker }

var receiptsDesc = prometheus.NewDesc("cachet_coverage_receipts_total",
	"Eviction receipts not counted as acknowledgements, by outcome: duplicate (the client had acknowledged), expired (older than the window, or its transition left it), unmatched (no transition arrived while it waited), invalid; and skewed: acknowledgements whose negative lag was clamped to 0.",
	[]string{"outcome"}, nil)

func (receiptsCollector) Describe(ch chan<- *prometheus.Desc) { ch <- receiptsDesc }

func (c receiptsCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.t.Stats()
	for _, o := range []struct {
		name string
		n    uint64
	}{{"duplicate", s.Duplicates}, {"expired", s.Expired}, {"unmatched", s.Unmatched}, {"invalid", s.Invalid}, {"skewed", s.Skewed}} {
		ch <- prometheus.MustNewConstMetric(receiptsDesc, prometheus.CounterValue, float64(o.n), o.name)
	}
}
