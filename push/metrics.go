package push

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// metrics are the server's Prometheus metrics, on a registry of its own so
// several servers can live in one process.
type metrics struct {
	reg         *prometheus.Registry
	connections *prometheus.GaugeVec   // by transport
	deliveries  prometheus.Counter     // transition frames queued
	latency     prometheus.Histogram   // transaction timestamp → frames queued
	drops       *prometheus.CounterVec // connections closed by the server, by reason
	resumes     *prometheus.CounterVec // subscribe outcomes
	consumed    prometheus.Counter
	badRecords  prometheus.Counter
	lag         prometheus.Gauge
	refused     *prometheus.CounterVec // upgrades refused before a session, by reason

	readsAccepted   prometheus.Counter     // reads produced to cachet.reads
	readsDropped    *prometheus.CounterVec // reads not produced, by reason
	spansExported   prometheus.Counter     // browser spans handed to the tracer provider
	spansDropped    *prometheus.CounterVec // browser spans not exported, by reason
	adviceDelivered prometheus.Counter     // advice frames queued to subscribers
	adviceBad       prometheus.Counter     // advice records that did not decode
	retentionSkips  prometheus.Counter     // times the consumer found its next records deleted
}

func newMetrics() *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		connections: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "cachet_push_connections",
			Help: "Open subscriber connections."}, []string{"transport"}),
		deliveries: prometheus.NewCounter(prometheus.CounterOpts{Name: "cachet_push_deliveries_total",
			Help: "Transition frames queued to subscribers."}),
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "cachet_push_delivery_latency_seconds",
			Help:    "From a transition's transaction timestamp to its frames queued to subscribers (records queued to none are not observed).",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 15)}),
		drops: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "cachet_push_drops_total",
			Help: "Connections the server closed, by close reason."}, []string{"reason"}),
		resumes: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "cachet_push_resumes_total",
			Help: "Subscriptions by outcome: fresh, window, kafka, ahead, reset-<reason>."}, []string{"outcome"}),
		consumed: prometheus.NewCounter(prometheus.CounterOpts{Name: "cachet_push_consumed_total",
			Help: "Records consumed from the transitions topic."}),
		badRecords: prometheus.NewCounter(prometheus.CounterOpts{Name: "cachet_push_bad_records_total",
			Help: "Records that did not decode as transitions (skipped)."}),
		lag: prometheus.NewGauge(prometheus.GaugeOpts{Name: "cachet_push_consume_lag_records",
			Help: "Records behind the high watermark, summed over partitions."}),
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "cachet_push_refused_total",
			Help: "Requests refused before a session started, by reason."}, []string{"reason"}),
		readsAccepted: prometheus.NewCounter(prometheus.CounterOpts{Name: "cachet_push_reads_accepted_total",
			Help: "Browser reads and eviction receipts produced to cachet.reads."}),
		readsDropped: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "cachet_push_reads_dropped_total",
			Help: "Browser reads not produced, by reason: malformed, version, invalid, key, forbidden, unavailable."}, []string{"reason"}),
		spansExported: prometheus.NewCounter(prometheus.CounterOpts{Name: "cachet_push_spans_exported_total",
			Help: "Browser spans exported through OpenTelemetry."}),
		spansDropped: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "cachet_push_spans_dropped_total",
			Help: "Browser spans not exported, by reason: name, traceparent, attributes, time, unsampled."}, []string{"reason"}),
		adviceDelivered: prometheus.NewCounter(prometheus.CounterOpts{Name: "cachet_push_advice_delivered_total",
			Help: "Advice frames queued to subscribers."}),
		adviceBad: prometheus.NewCounter(prometheus.CounterOpts{Name: "cachet_push_bad_advice_total",
			Help: "Records on the advice topic that did not decode (skipped)."}),
		retentionSkips: prometheus.NewCounter(prometheus.CounterOpts{Name: "cachet_push_retention_resets_total",
			Help: "Times the consumer found records deleted before it read them and reset every subscriber."}),
	}
	m.reg.MustRegister(m.connections, m.deliveries, m.latency, m.drops, m.resumes, m.consumed, m.badRecords, m.lag, m.refused,
		m.readsAccepted, m.readsDropped, m.spansExported, m.spansDropped, m.adviceDelivered, m.adviceBad, m.retentionSkips,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}
