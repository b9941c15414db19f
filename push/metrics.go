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
	drops       *prometheus.CounterVec // connections closed by the server, by reason
	resumes     *prometheus.CounterVec // subscribe outcomes
	consumed    prometheus.Counter
	badRecords  prometheus.Counter
	lag         prometheus.Gauge
	refused     *prometheus.CounterVec // upgrades refused before a session, by reason
}

func newMetrics() *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		connections: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "cachet_push_connections",
			Help: "Open subscriber connections."}, []string{"transport"}),
		deliveries: prometheus.NewCounter(prometheus.CounterOpts{Name: "cachet_push_deliveries_total",
			Help: "Transition frames queued to subscribers."}),
		drops: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "cachet_push_drops_total",
			Help: "Connections the server closed, by close reason."}, []string{"reason"}),
		resumes: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "cachet_push_resumes_total",
			Help: "Subscriptions by outcome: fresh, window, kafka, ahead, reset-<reason>."}, []string{"outcome"}),
		consumed: prometheus.NewCounter(prometheus.CounterOpts{Name: "cachet_push_consumed_total",
			Help: "Records consumed from the transitions topic."}),
		badRecords: prometheus.NewCounter(prometheus.CounterOpts{Name: "cachet_push_bad_records_total",
			Help: "Records that did not decode as transitions (skipped)."}),
		lag: prometheus.NewGauge(prometheus.GaugeOpts{Name: "cachet_push_consume_lag",
			Help: "Records behind the high watermark, summed over partitions."}),
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "cachet_push_refused_total",
			Help: "Requests refused before a session started, by reason."}, []string{"reason"}),
	}
	m.reg.MustRegister(m.connections, m.deliveries, m.drops, m.resumes, m.consumed, m.badRecords, m.lag, m.refused,
		collectors.NewGoCollector())
	return m
}
