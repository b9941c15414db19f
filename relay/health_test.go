package relay_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/cachetsync/cachet/relay"
)

// gate is a Lease held once open is closed.
type gate struct{ open chan struct{} }

func (g gate) Acquire(ctx context.Context) (context.Context, context.CancelFunc, error) {
	select {
	case <-g.open:
		lead, release := context.WithCancel(ctx)
		return lead, release, nil
	case <-ctx.Done():
		return nil, nil, ctx.Err()
	}
}

func (gate) Close() error { return nil }

// healthz returns the health check's status and body.
func healthz(r *relay.Relay) (int, string) {
	rec := httptest.NewRecorder()
	r.HealthHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/healthz", nil))
	return rec.Code, strings.TrimSpace(rec.Body.String())
}

// TestHealthThroughALife follows /healthz from start to stop: 503 while
// starting, 200 standing by and leading, 503 once Kafka has failed for
// longer than UnhealthyAfter, 503 while stopping.
func TestHealthThroughALife(t *testing.T) {
	b := startBroker(t)
	l := newLedger()
	l.add(3, "img:h")
	g := gate{open: make(chan struct{})}
	r, err := relay.New(relay.Config{Source: l, Kafka: b.Config("relay"), Channel: "cachet", Lease: g, Log: quiet,
		OpTimeout: time.Second, MinBackoff: 20 * time.Millisecond, MaxBackoff: 200 * time.Millisecond, UnhealthyAfter: 500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	expect := func(what string, code int, body string) {
		t.Helper()
		var c int
		var got string
		waitFor(t, what, func() bool { c, got = healthz(r); return c == code && strings.HasPrefix(got, body) })
		t.Logf("%s: %d %q", what, c, got)
	}
	expect("starting", http.StatusServiceUnavailable, "starting")

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	defer func() { cancel(); <-done }()
	expect("standby", http.StatusOK, "standby")

	close(g.open)
	waitFor(t, "the records", func() bool { return r.Stats.Relayed.Load() == 3 })
	expect("leading", http.StatusOK, "leading")
	if h := r.Health(); h.State != relay.StateLeading || h.KafkaFailingFor != 0 {
		t.Fatalf("health %+v", h)
	}

	b.Close()
	l.add(3, "img:h") // something to commit, so the session finds Kafka gone
	expect("kafka failing", http.StatusServiceUnavailable, "leading, kafka failing for")

	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	done <- nil
	expect("stopping", http.StatusServiceUnavailable, "stopping")
}

func TestHealthy(t *testing.T) {
	for _, tc := range []struct {
		h    relay.Health
		want bool
	}{
		{relay.Health{State: relay.StateStarting}, false},
		{relay.Health{State: relay.StateStandby}, true},
		{relay.Health{State: relay.StateLeading}, true},
		{relay.Health{State: relay.StateLeading, KafkaFailingFor: 30 * time.Second}, true},
		{relay.Health{State: relay.StateLeading, KafkaFailingFor: 61 * time.Second}, false},
		{relay.Health{State: relay.StateStopping}, false},
	} {
		if got := tc.h.Healthy(time.Minute); got != tc.want {
			t.Errorf("%+v: healthy %v, want %v", tc.h, got, tc.want)
		}
	}
}
