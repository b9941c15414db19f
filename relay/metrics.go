package relay

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Collectors returns the relay's Prometheus metrics, read from Stats at
// scrape time: lag in blocks and seconds, what was produced, Kafka
// transactions, retries, invalid transactions and the conflict records
// relayed of them, dead letters and whether this relay leads.
func (r *Relay) Collectors() []prometheus.Collector {
	counter := func(name, help string, v func() uint64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help}, func() float64 { return float64(v()) })
	}
	gauge := func(name, help string, v func() float64) prometheus.Collector {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, v)
	}
	s := &r.Stats
	return []prometheus.Collector{
		counter("cachet_relay_records_total", "Transition records committed to cachet.transitions.", s.Records.Load),
		counter("cachet_relay_purges_total", "Generation records (scope purges) committed to cachet.purges.", s.Purges.Load),
		counter("cachet_relay_ledger_transactions_total", "Ledger transactions whose records were committed.", s.Transactions.Load),
		counter("cachet_relay_kafka_transactions_total", "Kafka transactions committed.", s.KafkaTransactions.Load),
		counter("cachet_relay_retries_total", "Leading sessions ended by a Kafka failure and retried.", s.Retries.Load),
		counter("cachet_relay_fenced_total", "Times a newer leader fenced this relay.", s.Fenced.Load),
		counter("cachet_relay_invalid_skipped_total", "Invalid ledger transactions (refused at validation): no transitions relayed.", s.Invalid.Load),
		counter("cachet_relay_conflicts_total", "Conflict records (the contract's invalid transactions) committed to cachet.conflicts.", s.Conflicts.Load),
		counter("cachet_relay_dead_letters_total", "Unreadable contract events sent to cachet.deadletter.", s.DeadLetters.Load),
		gauge("cachet_relay_leader", "1 while this relay leads its channel, else 0.", func() float64 {
			if s.Leader.Load() {
				return 1
			}
			return 0
		}),
		gauge("cachet_relay_lag_blocks", "Ledger height minus one minus the last relayed block.", func() float64 {
			h, b := s.LedgerHeight.Load(), s.Relayed.Load()
			if h == 0 || h <= b+1 {
				return 0
			}
			return float64(h - 1 - b)
		}),
		gauge("cachet_relay_lag_seconds", "Commit time minus the timestamp of the newest relayed transaction, at the last commit.", func() float64 {
			return time.Duration(s.LagNanos.Load()).Seconds()
		}),
		gauge("cachet_relay_ledger_height", "Ledger height as last seen.", func() float64 { return float64(s.LedgerHeight.Load()) }),
	}
}
