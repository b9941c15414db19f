package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cachetsync/cachet/coverage"
	"github.com/cachetsync/cachet/kafka"
	"github.com/cachetsync/cachet/record"
)

// TestDevCoverage runs `cachet dev --analytics-listen`, produces a
// transition and three eviction receipts on the dev broker (one dated
// before the commit), and checks that `cachet coverage TXID` reports the
// three clients and their lags, as text and as JSON, and that an unknown
// transaction exits 1 with the daemon's explanation.
func TestDevCoverage(t *testing.T) {
	ctx, out := startDev(t, "--port", "0", "--push-listen", "", "--origin-listen", "", "--analytics-engine", "cpu", "--analytics-listen", "127.0.0.1:0")
	brokerRe := regexp.MustCompile(`embedded broker on (127\.0\.0\.1:\d+)`)
	covRe := regexp.MustCompile(`coverage on (http://\S+)/v1/coverage/`)
	var addr, base string
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline) && (addr == "" || base == ""); time.Sleep(50 * time.Millisecond) {
		if m := brokerRe.FindStringSubmatch(out.String()); m != nil {
			addr = m[1]
		}
		if m := covRe.FindStringSubmatch(out.String()); m != nil {
			base = m[1]
		}
	}
	if addr == "" || base == "" {
		t.Fatalf("no broker or coverage address: %q", out.String())
	}
	p, err := kafka.NewProducer(kafka.Config{Brokers: addr})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	const key = "https://shop.example/coverage"
	tx := strings.Repeat("ab", 32)
	committed := time.Now().Add(-time.Minute).UTC().Truncate(time.Millisecond)
	send := func(topic string, v []byte) {
		t.Helper()
		if _, err := p.Send(ctx, &kafka.Message{Topic: topic, Partition: kafka.PartitionAny, Key: []byte(key), Value: v}); err != nil {
			t.Fatal(err)
		}
	}
	tr, err := record.Transition{TxID: tx, Key: key, Version: 2, State: record.StateInvalidated, Timestamp: committed, Owner: "Org1MSP", Actor: "Org1MSP"}.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	send(record.TopicTransitions, tr)
	for client, lag := range map[string]time.Duration{"c1": time.Second, "c2": 2 * time.Second, "c3": -time.Second} {
		rd, err := record.Read{Kind: record.ReadEvict, Key: key, Version: 2, Origin: "https://shop.example", Client: client, At: committed.Add(lag)}.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		send(record.TopicReads, rd)
	}

	want := key + "@2 committed " + committed.Format(time.RFC3339Nano) + "  clients 3 (skewed 1)  lag p50 1s p99 2s max 2s"
	var got string
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		var code int
		got, _, code = runCachet(t, "coverage", tx, "--analytics", base)
		if code == 0 && strings.Contains(got, want) {
			break
		}
	}
	lines := strings.Split(strings.TrimSpace(got), "\n")
	if len(lines) != 2 || lines[0] != want || !strings.HasPrefix(lines[1], "window: 1 transitions of at most 100000, none older than 1h0m0s") {
		t.Fatalf("cachet coverage:\n%s\nwant\n%s\nwindow: 1 transitions …", got, want)
	}

	t.Setenv(envAnalyticsURL, base)
	stdout, stderr, code := runCachet(t, "coverage", tx, "--json")
	var rep coverage.Report
	if code != 0 || json.Unmarshal([]byte(stdout), &rep) != nil || len(rep.Transitions) != 1 || rep.Transitions[0].Clients != 3 || rep.Transitions[0].Lag.Max != 2*time.Second {
		t.Errorf("cachet coverage --json: exit %d, %s%s", code, stdout, stderr)
	}
	stdout, stderr, code = runCachet(t, "coverage", strings.Repeat("cd", 32))
	if code != exitFailure || stdout != "" || !strings.Contains(stderr, "is not in the coverage window") {
		t.Errorf("unknown transaction: exit %d, stdout %q, stderr %q; want exit 1 and the daemon's message", code, stdout, stderr)
	}
}

// Bad input exits 2 before any request is made.
func TestCoverageBadInput(t *testing.T) {
	var requests atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { requests.Add(1) }))
	defer srv.Close()
	tx := strings.Repeat("0f", 32)
	tests := []struct {
		name string
		args []string
		err  string
	}{
		{"short txid", []string{"coverage", "abc123", "--analytics", srv.URL}, "64 hex digits"},
		{"non-hex txid", []string{"coverage", strings.Repeat("zz", 32), "--analytics", srv.URL}, "64 hex digits"},
		{"long txid", []string{"coverage", tx + "00", "--analytics", srv.URL}, "64 hex digits"},
		{"no txid", []string{"coverage", "--analytics", srv.URL}, "TXID"},
		{"no url", []string{"coverage", tx, "--analytics", ""}, "--analytics"},
		{"not a url", []string{"coverage", tx, "--analytics", "127.0.0.1:9465"}, "http://"},
		{"zero timeout", []string{"coverage", tx, "--analytics", srv.URL, "--timeout", "0s"}, "--timeout"},
		{"max transitions", []string{"analytics", "run", "--coverage-max-transitions", "0"}, "--coverage-max-transitions"},
		{"max age", []string{"analytics", "run", "--coverage-max-age", "-1s"}, "--coverage-max-age"},
		{"max acks", []string{"analytics", "run", "--coverage-max-acks", "0"}, "--coverage-max-acks"},
		{"max pending", []string{"analytics", "run", "--coverage-max-pending", "-1"}, "--coverage-max-pending"},
		{"pending age", []string{"analytics", "run", "--coverage-pending-age", "0s"}, "--coverage-pending-age"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, stderr, code := runCachet(t, tt.args...)
			if code != exitUsage || !strings.Contains(stderr, tt.err) {
				t.Errorf("cachet %q: exit %d, stderr %q; want exit 2 mentioning %q", tt.args, code, stderr, tt.err)
			}
		})
	}
	if n := requests.Load(); n != 0 {
		t.Errorf("%d requests made for bad input", n)
	}
}
