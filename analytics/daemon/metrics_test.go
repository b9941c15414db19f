package daemon

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/cachetsync/cachet/analytics/engine"
	"github.com/cachetsync/cachet/record"
)

// TestMetricsAndHealth runs the daemon over a few records and scrapes its
// /metrics and /healthz as `cachet analytics run --listen` serves them.
func TestMetricsAndHealth(t *testing.T) {
	t0 := time.Now().Add(-time.Hour)
	d, err := New(Config{Engine: engine.KindCPU, Interval: 20 * time.Millisecond, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	reg := prometheus.NewRegistry()
	reg.MustRegister(d.Collectors()...)
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.Handle("GET /healthz", d.HealthHandler())
	srv := httptest.NewServer(mux)
	defer srv.Close()
	get := func(path string) (int, string) {
		t.Helper()
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, _ := get("/healthz"); code != http.StatusServiceUnavailable {
		t.Fatalf("healthz before Run: %d, want 503", code)
	}

	in := make(chanConsumer, 100)
	for v := 1; v <= 10; v++ {
		b, _ := record.Transition{TxID: "t", Key: "https://a.example/m", Version: uint64(v), State: record.StateValid,
			Timestamp: t0.Add(time.Duration(v) * time.Minute), Owner: "Org1MSP", Actor: "Org1MSP", MaxAge: 600}.Marshal()
		in <- Message{record.TopicTransitions, b}
	}
	r, _ := record.Read{Kind: record.ReadHit, Key: "https://a.example/r", Client: "c", At: t0}.Marshal()
	in <- Message{record.TopicReads, r}
	in <- Message{record.TopicTransitions, []byte("{not json")}
	in <- Message{"cachet.elsewhere", []byte("{}")}
	ctx, cancel := context.WithCancel(context.Background())
	out := &memProducer{}
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx, in, out) }()

	want := []string{
		`cachet_analytics_records_total{topic="cachet.transitions"} 11`,
		`cachet_analytics_records_total{topic="cachet.reads"} 1`,
		`cachet_analytics_records_total{topic="other"} 1`,
		`cachet_analytics_skipped_total{reason="malformed record"} 1`,
		`cachet_analytics_keys 2`,
		`cachet_analytics_read_only_keys 1`,
		`cachet_analytics_engine{engine="cpu"} 1`,
		`cachet_analytics_predicted_stale_reads `,
		`cachet_analytics_age_rule_capped_keys `,
		`cachet_analytics_policy_answers_total 0`,
		`cachet_analytics_policy_score 0`,
		`cachet_analytics_advice_published_total 2`,
		`cachet_analytics_round_duration_seconds_count`,
	}
	var body string
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		_, body = get("/metrics")
		missing := ""
		for _, w := range want {
			if !strings.Contains(body, w) {
				missing = w
			}
		}
		if missing == "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/metrics lacks %q:\n%s", missing, body)
		}
	}
	if code, text := get("/healthz"); code != http.StatusOK || text != "ok\n" {
		t.Fatalf("healthz while running: %d %q", code, text)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if code, _ := get("/healthz"); code != http.StatusServiceUnavailable {
		t.Fatalf("healthz after Run: %d, want 503", code)
	}
}
