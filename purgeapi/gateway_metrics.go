package purgeapi

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/cachetsync/cachet/gateway"
)

// GatewayMetrics exports the gateway client's submits as Prometheus
// metrics: it is the gateway.Observer (gateway.Config.Observer) of the
// client a GatewayLedger adapts. Unlike cachet_purgeapi_submit_seconds,
// which times a whole purge (several transactions for several scopes), it
// counts each transaction once, with the ledger's error code.
type GatewayMetrics struct {
	seconds *prometheus.HistogramVec
	errors  *prometheus.CounterVec
}

var _ gateway.Observer = (*GatewayMetrics)(nil)

// NewGatewayMetrics registers cachet_gateway_submit_seconds{transaction}
// and cachet_gateway_submit_errors_total{code} on reg, every code of
// gateway.Codes at zero.
func NewGatewayMetrics(reg prometheus.Registerer) (*GatewayMetrics, error) {
	m := &GatewayMetrics{
		seconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "cachet_gateway_submit_seconds",
			Help:    "Time from a transaction's first proposal to its commit or final failure (retries included), by contract function.",
			Buckets: prometheus.ExponentialBuckets(0.005, 2, 14), // 5ms .. ~41s
		}, []string{"transaction"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "cachet_gateway_submit_errors_total",
			Help: "Submitted transactions that did not commit, by the ledger's error code of the last attempt (ENDORSEMENT_POLICY_FAILURE, CONFLICT once retries ran out, FORBIDDEN, UNAVAILABLE, ...).",
		}, []string{"code"}),
	}
	for _, c := range gateway.Codes() {
		m.errors.WithLabelValues(string(c))
	}
	for _, c := range []prometheus.Collector{m.seconds, m.errors} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// ObserveSubmit records one submitted transaction.
func (m *GatewayMetrics) ObserveSubmit(o gateway.SubmitObservation) {
	m.seconds.WithLabelValues(o.Transaction).Observe(o.Duration.Seconds())
	if o.Err != nil {
		m.errors.WithLabelValues(string(gateway.CodeOf(o.Err))).Inc()
	}
}
