package daemon_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/cachetsync/cachet/analytics/daemon"
	"github.com/cachetsync/cachet/analytics/engine"
	"github.com/cachetsync/cachet/coverage"
	"github.com/cachetsync/cachet/kafka"
	"github.com/cachetsync/cachet/kafka/embedded"
	"github.com/cachetsync/cachet/record"
)

// TestCoverageOverKafka is proof of propagation end to end without Fabric:
// a transition and eviction receipts from three browsers (one sent twice,
// one produced before the transition and dated 3 s after the commit) go
// through the embedded broker to the daemon's Kafka consumption path; the
// coverage endpoint and /metrics report them as the ops listener serves
// them.
func TestCoverageOverKafka(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	b, err := embedded.Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	cfg := b.Config("coverage-test")

	d, err := daemon.New(daemon.Config{Engine: engine.KindCPU, Interval: 50 * time.Millisecond,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	reg := prometheus.NewRegistry()
	reg.MustRegister(d.Collectors()...)
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.Handle("/v1/coverage/", d.CoverageHandler())
	srv := httptest.NewServer(mux)
	defer srv.Close()
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- d.RunKafka(runCtx, cfg, "coverage-test") }()
	defer func() {
		stop()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()

	p, err := kafka.NewProducer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	const key, tx = "https://shop.example/cart", "c0ffee01"
	committed := time.Now().Add(-10 * time.Second).UTC()
	send := func(topic string, v []byte) {
		t.Helper()
		if _, err := p.Send(ctx, &kafka.Message{Topic: topic, Partition: kafka.PartitionAny, Key: []byte(key), Value: v}); err != nil {
			t.Fatal(err)
		}
	}
	receipt := func(client string, lag time.Duration) {
		t.Helper()
		v, err := record.Read{Kind: record.ReadEvict, Key: key, Version: 2, Origin: "https://shop.example",
			Client: client, At: committed.Add(lag)}.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		send(record.TopicReads, v)
	}
	scrape := func() string {
		t.Helper()
		resp, err := http.Get(srv.URL + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return string(body)
	}
	waitMetrics := func(want ...string) string {
		t.Helper()
		for deadline := time.Now().Add(90 * time.Second); ; time.Sleep(50 * time.Millisecond) {
			body, missing := scrape(), ""
			for _, w := range want {
				if !strings.Contains(body, w+"\n") {
					missing = w
				}
			}
			if missing == "" {
				return body
			}
			if time.Now().After(deadline) {
				t.Fatalf("/metrics lacks %q:\n%s", missing, body)
			}
		}
	}

	// The late browser's receipt is consumed before the transition exists.
	receipt("late", 3*time.Second)
	waitMetrics("cachet_coverage_pending_receipts 1")
	tr, err := record.Transition{TxID: tx, Timestamp: committed, Key: key, Version: 2, State: record.StateInvalidated,
		Owner: "Org1MSP", Actor: "Org1MSP"}.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	send(record.TopicTransitions, tr)
	receipt("fast", 20*time.Millisecond)
	receipt("twice", 150*time.Millisecond)
	receipt("twice", 150*time.Millisecond)

	waitMetrics(
		"cachet_evictions_acknowledged_total 3",
		`cachet_coverage_receipts_total{outcome="duplicate"} 1`,
		"cachet_coverage_transitions 1",
		"cachet_coverage_pending_receipts 0",
		"cachet_eviction_lag_seconds_count 3",
		`cachet_eviction_lag_seconds_bucket{le="0.01"} 0`,
		`cachet_eviction_lag_seconds_bucket{le="0.025"} 1`,
		`cachet_eviction_lag_seconds_bucket{le="0.25"} 2`,
		`cachet_eviction_lag_seconds_bucket{le="2.5"} 2`,
		`cachet_eviction_lag_seconds_bucket{le="5"} 3`,
		`cachet_coverage_receipts_total{outcome="unmatched"} 0`,
		`cachet_analytics_records_total{topic="cachet.reads"} 4`,
	)

	c := &coverage.Client{Base: srv.URL}
	rep, err := c.Tx(ctx, tx)
	if err != nil {
		t.Fatal(err)
	}
	want := coverage.TransitionCoverage{Key: key, Version: 2, CommittedAt: committed, Clients: 3,
		Lag: coverage.Lag{P50: 150 * time.Millisecond, P99: 3 * time.Second, Max: 3 * time.Second}}
	if rep.TxID != tx || len(rep.Transitions) != 1 || !rep.Transitions[0].CommittedAt.Equal(committed) {
		t.Fatalf("report %+v", rep)
	}
	got := rep.Transitions[0]
	got.CommittedAt = committed
	if got != want {
		t.Fatalf("coverage %+v, want %+v", got, want)
	}
	if rep.Window.Transitions != 1 || rep.Window.MaxTransitions != coverage.DefaultMaxTransitions {
		t.Errorf("window %+v", rep.Window)
	}
	var nf *coverage.NotFoundError
	if _, err := c.Tx(ctx, "not-a-tx"); !errors.As(err, &nf) {
		t.Errorf("unknown tx: %v, want a *coverage.NotFoundError", err)
	}
}
