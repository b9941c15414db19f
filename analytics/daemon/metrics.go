package daemon

import (
	"context"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/cachetsync/cachet/analytics/model"
	"github.com/cachetsync/cachet/analytics/policy"
	"github.com/cachetsync/cachet/record"
)

// metrics are the daemon's Prometheus metrics. The model is the Run
// loop's alone, so what it counts is copied at each round (snapshot) and
// read from the copy at scrape time.
type metrics struct {
	consumed     *prometheus.CounterVec // records handled, by topic (transitions, conflicts, reads, other)
	rounds       prometheus.Counter
	roundSeconds prometheus.Histogram
	published    prometheus.Counter

	mu         sync.Mutex
	snap       model.Stats
	staleReads float64 // the engine's ExpectedStaleReads
	capped     int     // keys whose max-age the age rule shortened
	policy     policy.Stats

	running atomic.Bool
}

func newMetrics() *metrics {
	return &metrics{
		consumed: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "cachet_analytics_records_total",
			Help: "Records consumed, by topic (skipped ones included)."}, []string{"topic"}),
		rounds: prometheus.NewCounter(prometheus.CounterOpts{Name: "cachet_analytics_rounds_total",
			Help: "Scoring rounds: every key scored, changed advice published."}),
		roundSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "cachet_analytics_round_duration_seconds",
			Help: "Duration of a scoring round, publishing included.", Buckets: prometheus.ExponentialBuckets(0.001, 4, 9)}),
		published: prometheus.NewCounter(prometheus.CounterOpts{Name: "cachet_analytics_advice_published_total",
			Help: "Advice records produced to cachet.advice."}),
	}
}

// snapshot copies the model's counters for the next scrapes.
func (d *Daemon) snapshot() {
	s, stale, capped, ps := d.eng.Tracker.Stats(), d.eng.ExpectedStaleReads(), d.eng.Capped(), d.eng.Policy.Stats()
	d.m.mu.Lock()
	d.m.snap, d.m.staleReads, d.m.capped, d.m.policy = s, stale, capped, ps
	d.m.mu.Unlock()
}

// Collectors returns the daemon's Prometheus metrics: records consumed by
// topic, records skipped by reason, keys tracked (and how many are read
// only), read-only keys evicted, scoring rounds and their duration, advice
// published, the stale reads predicted over every key, the keys whose
// max-age the age rule capped, the policy chooser's answered questions and
// score, and the engine in use. The model's figures are as of the last round. Then the coverage metrics: cachet_eviction_lag_seconds,
// cachet_evictions_acknowledged_total, cachet_coverage_transitions,
// cachet_coverage_pending_receipts and cachet_coverage_receipts_total by
// outcome, current at scrape.
func (d *Daemon) Collectors() []prometheus.Collector {
	read := func(f func(s model.Stats) float64) func() float64 {
		return func() float64 {
			d.m.mu.Lock()
			defer d.m.mu.Unlock()
			return f(d.m.snap)
		}
	}
	cs := []prometheus.Collector{
		d.m.consumed, d.m.rounds, d.m.roundSeconds, d.m.published,
		skippedCollector{d},
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "cachet_analytics_keys", Help: "Keys tracked, as of the last round."},
			read(func(s model.Stats) float64 { return float64(s.Keys) })),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "cachet_analytics_read_only_keys", Help: "Keys read but not seen written, as of the last round."},
			read(func(s model.Stats) float64 { return float64(s.ReadOnly) })),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "cachet_analytics_evicted_keys_total", Help: "Read-only keys evicted to make room."},
			read(func(s model.Stats) float64 { return float64(s.Evicted) })),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "cachet_analytics_predicted_stale_reads",
			Help: "Stale reads predicted, summed over every tracked key as of the last round: each key's expectedStaleReads (reads expected to hit a stale copy within its current max-age)."},
			func() float64 {
				d.m.mu.Lock()
				defer d.m.mu.Unlock()
				return d.m.staleReads
			}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "cachet_analytics_age_rule_capped_keys",
			Help: "Keys whose recommended max-age the age rule shortened in the last round (package policy)."},
			func() float64 {
				d.m.mu.Lock()
				defer d.m.mu.Unlock()
				return float64(d.m.capped)
			}),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "cachet_analytics_policy_answers_total",
			Help: "Questions (will the key change within its advised max-age?) answered, each scoring the model against the age rule."},
			func() float64 {
				d.m.mu.Lock()
				defer d.m.mu.Unlock()
				return float64(d.m.policy.Answers)
			}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "cachet_analytics_policy_score",
			Help: "The stream's decayed Brier-score difference, model minus age rule: positive while the age rule predicts changes better."},
			func() float64 {
				d.m.mu.Lock()
				defer d.m.mu.Unlock()
				return d.m.policy.Score
			}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "cachet_analytics_engine", Help: "1 for the scorer in use.",
			ConstLabels: prometheus.Labels{"engine": d.EngineName()}}, func() float64 { return 1 }),
	}
	return append(cs, d.coverageCollectors()...)
}

// skippedCollector reports cachet_analytics_skipped_total by the model's
// reasons (records from a topic the daemon does not read are counted as
// consumed, topic "other").
type skippedCollector struct{ d *Daemon }

var skippedDesc = prometheus.NewDesc("cachet_analytics_skipped_total",
	"Records skipped, by reason, as of the last round.", []string{"reason"}, nil)

func (skippedCollector) Describe(ch chan<- *prometheus.Desc) { ch <- skippedDesc }

func (c skippedCollector) Collect(ch chan<- prometheus.Metric) {
	c.d.m.mu.Lock()
	defer c.d.m.mu.Unlock()
	for r, n := range c.d.m.snap.Skipped {
		ch <- prometheus.MustNewConstMetric(skippedDesc, prometheus.CounterValue, float64(n), string(r))
	}
}

// HealthHandler serves the health check (/healthz): 200 while Run
// consumes, 503 before it starts and from the moment its context ends. A
// fatal Kafka error ends Run, and with it the process.
func (d *Daemon) HealthHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		if !d.m.running.Load() {
			http.Error(w, "not running", http.StatusServiceUnavailable)
			return
		}
		w.Write([]byte("ok\n"))
	})
}

// markRunning marks the daemon running until ctx ends or the returned func
// is called.
func (d *Daemon) markRunning(ctx context.Context) (done func()) {
	d.m.running.Store(true)
	stop := context.AfterFunc(ctx, func() { d.m.running.Store(false) })
	return func() { stop(); d.m.running.Store(false) }
}

// count records one consumed record.
func (d *Daemon) count(m Message) {
	topic := m.Topic
	if topic != record.TopicTransitions && topic != record.TopicReads && topic != record.TopicConflicts {
		topic = "other"
	}
	d.m.consumed.WithLabelValues(topic).Inc()
}

// timeRound observes a round that began at start and published n records.
func (d *Daemon) timeRound(start time.Time, n int) {
	d.m.rounds.Inc()
	d.m.roundSeconds.Observe(time.Since(start).Seconds())
	d.m.published.Add(float64(n))
	d.snapshot()
}
