package push_test

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cachetsync/cachet/kafka"
	"github.com/cachetsync/cachet/kafka/embedded"
	"github.com/cachetsync/cachet/record"
)

// metricValue reads one sample from /metrics (0 when absent).
func metricValue(t testing.TB, srv *server, sample string) float64 {
	t.Helper()
	resp, err := http.Get(srv.http.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), sample+" "); ok {
			v, err := strconv.ParseFloat(rest, 64)
			if err != nil {
				t.Fatal(err)
			}
			return v
		}
	}
	return 0
}

// eventually polls cond until it holds or the wait runs out.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(wait); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}

// deleteRecordsBefore removes a partition's records below offset, as
// retention would.
func deleteRecordsBefore(t testing.TB, b *embedded.Broker, part int32, offset int64) {
	t.Helper()
	a, err := kafka.NewAdmin(b.Config("test-admin"))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	topic := record.TopicTransitions
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := a.DeleteRecords(ctx, []kafka.TopicPartition{{Topic: topic, Partition: part, Offset: offset}}); err != nil {
		t.Fatal(err)
	}
}

func TestHealthAndMetrics(t *testing.T) {
	b := startBroker(t, 2)
	srv := startServer(t, b, nil)
	resp, err := http.Get(srv.http.URL + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != "ok\n" {
		t.Fatalf("healthz: %d %q", resp.StatusCode, body)
	}
	c := subscribe(t, srv.url, "", "tag:x")
	c.next()
	eventually(t, "connection gauge", func() bool { return metricValue(t, srv, `cachet_push_connections{transport="ws"}`) == 1 })
	newProducer(t, b).sendMany([]string{"https://a.example/1", "https://a.example/2"}, "x")
	c.collect(2)
	if n := metricValue(t, srv, "cachet_push_deliveries_total"); n != 2 {
		t.Fatalf("deliveries = %v, want 2", n)
	}
	eventually(t, "consumed", func() bool { return metricValue(t, srv, "cachet_push_consumed_total") == 2 })
}
