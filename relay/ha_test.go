package relay_test

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/cachetsync/cachet/kafka"
	"github.com/cachetsync/cachet/kafka/embedded"
	"github.com/cachetsync/cachet/record"
	"github.com/cachetsync/cachet/relay"
)

// TestZombieLeaderIsFenced runs a leader, then a second relay that takes
// the transactional.id over (as a new leader does after the lease moved)
// while the first still believes it leads: the first one's next commit
// fails as fenced and it steps down; every transition is read once.
func TestZombieLeaderIsFenced(t *testing.T) {
	b := startBroker(t)
	l := newLedger()
	keys := l.add(20, "img:z")
	zombie, _ := start(t, relay.Config{Source: l, Kafka: b.Config("zombie"), MaxBackoff: time.Hour})
	waitFor(t, "the first leader's commits", func() bool { return zombie.Stats.Relayed.Load() == 20 })

	leader, _ := start(t, relay.Config{Source: l, Kafka: b.Config("leader")})
	waitFor(t, "the new leader", func() bool { return leader.Stats.Leader.Load() })
	keys = append(keys, l.add(20, "img:z")...) // both relays see these
	waitFor(t, "the zombie to be fenced", func() bool { return zombie.Stats.Fenced.Load() == 1 })
	if zombie.Stats.Leader.Load() {
		t.Fatal("the fenced relay still claims to lead")
	}
	if got := zombie.Stats.Relayed.Load(); got != 20 {
		t.Fatalf("the fenced relay committed up to block %d after it was fenced", got)
	}
	want := ids(l, keys)
	exactlyOnce(t, readCommitted(t, b.Config("check"), record.TopicTransitions, want, 500*time.Millisecond), want)
	if leader.Stats.Records.Load() != 20 {
		t.Fatalf("the new leader produced %d records, want the 20 after the takeover", leader.Stats.Records.Load())
	}
}

// TestGroupLeaseHandsOver: of two relays in one group exactly one leads;
// when it leaves, the other takes over and resumes from the committed
// position.
func TestGroupLeaseHandsOver(t *testing.T) {
	b := startBroker(t)
	l := newLedger()
	keys := l.add(30, "img:h")
	lease := func(name string) *relay.GroupLease {
		gl, err := relay.NewGroupLease(b.Config(name), relay.TransactionalID("cachet"), "", quiet)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { gl.Close() })
		return gl
	}
	la, lb := lease("a"), lease("b")
	a, stopA := start(t, relay.Config{Source: l, Kafka: b.Config("a"), Lease: la})
	bb, stopB := start(t, relay.Config{Source: l, Kafka: b.Config("b"), Lease: lb})
	waitFor(t, "a leader's commits", func() bool { return a.Stats.Relayed.Load() == 30 || bb.Stats.Relayed.Load() == 30 })
	first, second, stopFirst, firstLease := a, bb, stopA, la
	if bb.Stats.Relayed.Load() == 30 {
		first, second, stopFirst, firstLease = bb, a, stopB, lb
	}
	time.Sleep(200 * time.Millisecond) // a second leader would show up within this
	if !first.Stats.Leader.Load() || second.Stats.Leader.Load() || second.Stats.Records.Load() != 0 {
		t.Fatal("both relays lead at once")
	}
	if err := stopFirst(); err != nil {
		t.Fatal(err)
	}
	firstLease.Close() // the process exits: it leaves the group
	keys = append(keys, l.add(30, "img:h")...)
	waitFor(t, "the standby to take over", func() bool { return second.Stats.Relayed.Load() == 60 })
	want := ids(l, keys)
	exactlyOnce(t, readCommitted(t, b.Config("check"), record.TopicTransitions, want, 500*time.Millisecond), want)
}

// TestKafkaOutage stops the broker while the ledger grows: the relay stops
// reading the ledger (memory stays bounded to its buffer), retries, and
// when the broker is back on the same data folder it resumes with nothing
// lost or doubled.
func TestKafkaOutage(t *testing.T) {
	dir := t.TempDir()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	opts := []embedded.Option{embedded.WithPort(port), embedded.WithDataDir(dir)}
	b := startBroker(t, opts...)
	l := newLedger()
	keys := l.add(50, "img:o")
	const buffer = 8
	r, _ := start(t, relay.Config{Source: l, Kafka: b.Config("relay"), Buffer: buffer, MaxRecords: 10,
		OpTimeout: 2 * time.Second, MinBackoff: 50 * time.Millisecond, MaxBackoff: 500 * time.Millisecond})
	waitFor(t, "the first records", func() bool { return r.Stats.Relayed.Load() == 50 })

	b.Close()
	keys = append(keys, l.add(500, "img:o")...)
	waitFor(t, "a retry", func() bool { return r.Stats.Retries.Load() >= 2 })
	delivered := l.delivered.Load()
	time.Sleep(time.Second)
	if l.delivered.Load() > delivered+2*(buffer+10) {
		t.Fatalf("the relay kept reading the ledger while Kafka was down: %d, then %d transactions", delivered, l.delivered.Load())
	}
	if delivered > 50+2*(buffer+10) {
		t.Fatalf("%d ledger transactions read with Kafka down; the buffer is %d", delivered-50, buffer)
	}

	b = startBroker(t, opts...)
	waitFor(t, "the relay to catch up", func() bool { return r.Stats.Relayed.Load() == 550 })
	want := ids(l, keys)
	exactlyOnce(t, readCommitted(t, b.Config("check"), record.TopicTransitions, want, 500*time.Millisecond), want)
	t.Logf("%d retries while the broker was down", r.Stats.Retries.Load())
}

func TestMetrics(t *testing.T) {
	b := startBroker(t)
	l := newLedger()
	l.add(5, "img:m")
	l.append(tx(l.next(), 0)) // no transitions: still a ledger transaction
	l.append(purgeTx(l.next(), 0, "catalog", 1))
	l.append(conflictTx(l.next(), 0, "img:m-1"))
	r, _ := start(t, relay.Config{Source: l, Kafka: b.Config("relay"),
		Height: func(context.Context) (uint64, error) { return 12, nil }})
	waitFor(t, "the records", func() bool { return r.Stats.Relayed.Load() == 8 })
	reg := prometheus.NewRegistry()
	for _, c := range r.Collectors() {
		reg.MustRegister(c)
	}
	waitFor(t, "the height", func() bool { return r.Stats.LedgerHeight.Load() == 12 })
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, mf := range mfs {
		m := mf.GetMetric()[0]
		got[mf.GetName()] = m.GetCounter().GetValue() + m.GetGauge().GetValue()
	}
	for name, want := range map[string]float64{"cachet_relay_lag_blocks": 3, "cachet_relay_leader": 1, "cachet_relay_records_total": 5,
		"cachet_relay_purges_total": 1, "cachet_relay_ledger_transactions_total": 7, "cachet_relay_ledger_height": 12, "cachet_relay_retries_total": 0,
		"cachet_relay_invalid_skipped_total": 1, "cachet_relay_conflicts_total": 1} {
		if got[name] != want {
			t.Errorf("%s = %v, want %v", name, got[name], want)
		}
	}
	if len(got) != 13 || got["cachet_relay_kafka_transactions_total"] < 1 || got["cachet_relay_lag_seconds"] < 60 {
		t.Errorf("metrics %v", got)
	}
	// The fixture's transactions are from 2026-11-25 06:41: hours old.
	if lag := time.Duration(r.Stats.LagNanos.Load()); lag < time.Minute {
		t.Fatalf("lag %v, want the age of the transactions", lag)
	}
}

// TestPositionAfterAForeignOpenTransaction: another channel's relay holds a
// transaction open on cachet.positions while this channel commits after it.
// A new leader must not take the older position it can see before the open
// transaction (that would repeat records): it waits for the transaction to
// end and resumes from the newest position.
func TestPositionAfterAForeignOpenTransaction(t *testing.T) {
	b := startBroker(t)
	l := newLedger()
	keys := l.add(10, "img:f")
	r, stop := start(t, relay.Config{Source: l, Kafka: b.Config("relay")})
	waitFor(t, "the first commits", func() bool { return r.Stats.Relayed.Load() == 10 })

	foreign, err := kafka.NewTransactionalProducer(b.Config("foreign"), relay.TransactionalID("other"))
	if err != nil {
		t.Fatal(err)
	}
	defer foreign.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := foreign.Init(ctx); err != nil {
		t.Fatal(err)
	}
	foreign.Begin()
	foreign.Produce(&kafka.Message{Topic: record.TopicPositions, Partition: 0, Key: []byte("other"), Value: []byte(`{"v":1,"channel":"other","block":1,"txIndex":0}`)})
	if n := foreign.Flush(time.Minute); n != 0 {
		t.Fatalf("%d records not delivered", n)
	}
	keys = append(keys, l.add(10, "img:f")...) // committed after the open transaction
	waitFor(t, "the later commits", func() bool { return r.Stats.Relayed.Load() == 20 })
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	go func() {
		time.Sleep(time.Second)
		foreign.Commit(ctx)
	}()
	r2, _ := start(t, relay.Config{Source: l, Kafka: b.Config("relay")})
	waitFor(t, "the new leader", func() bool { return r2.Stats.Leader.Load() })
	want := ids(l, keys)
	exactlyOnce(t, readCommitted(t, b.Config("check"), record.TopicTransitions, want, 500*time.Millisecond), want)
	if r2.Stats.Relayed.Load() != 20 || r2.Stats.Records.Load() != 0 {
		t.Fatalf("the new leader resumed at block %d and produced %d records, want 20 and none", r2.Stats.Relayed.Load(), r2.Stats.Records.Load())
	}
}
