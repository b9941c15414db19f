//go:build e2e

package e2e

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cachetsync/cachet/gateway"
	"github.com/cachetsync/cachet/kafka"
	"github.com/cachetsync/cachet/record"
	"github.com/cachetsync/cachet/relay"
	"github.com/cachetsync/cachet/telemetry/telemetrytest"
)

// TestRelayHAFailover runs two relays for the channel; exactly one leads.
// The leader is killed with -9 while transitions commit: the standby takes
// over once the lease's session times out, and nothing is lost or doubled.
func TestRelayHAFailover(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	broker := startBroker(t)
	pub, inv := client(t, "org1", "publisher"), client(t, "org1", "invalidator")
	start := publishN(t, ctx, pub, "img:ha-start", 0, 1)
	common := []string{"--brokers", broker.Addr(), "--from", fmt.Sprint(start), "--partitions", "3"}
	a := newRelayProc(t, "relay-a", append(common, "--instance-id", "a")...)
	b := newRelayProc(t, "relay-b", append(common, "--instance-id", "b")...)
	a.start()
	b.start()
	leader, standby := waitOneLeader(t, a, b)

	loaded := make(chan map[string]bool, 1)
	go func() { loaded <- commitLoad(t, ctx, pub, inv, "img:ha", 1500) }()
	time.Sleep(2 * time.Second) // mid-stream
	leader.kill()
	killed := time.Now()
	standby.waitLeads(1)
	takeover := time.Since(killed)
	want := <-loaded
	if t.Failed() {
		t.FailNow()
	}
	records, dups := checkExactlyOnce(t, broker.Config("relay-e2e-check"), want, 2*time.Second)
	t.Logf("%d transitions; leader %s killed -9 mid-stream, %s led %v later; %d records read, %d duplicates",
		len(want), leader.name, standby.name, takeover.Round(100*time.Millisecond), records, dups)
}

// waitOneLeader waits until exactly one of the relays leads, and stays so.
func waitOneLeader(t *testing.T, ps ...*relayProc) (leader, other *relayProc) {
	t.Helper()
	stable := 0
	for deadline := time.Now().Add(90 * time.Second); stable < 10; time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("no single leader emerged")
		}
		var leading []*relayProc
		for _, p := range ps {
			if p.leading() {
				leading = append(leading, p)
			}
		}
		if len(leading) == 1 && (leader == nil || leader == leading[0]) {
			leader = leading[0]
			stable++
		} else {
			leader, stable = nil, 0
		}
	}
	for _, p := range ps {
		if p != leader {
			other = p
		}
	}
	return leader, other
}

// TestRelayPeerFailover kills the peer the relay follows while transitions
// commit; the relay moves to the org's other peer and misses nothing.
func TestRelayPeerFailover(t *testing.T) {
	ctx := ctxT(t)
	broker := startBroker(t)
	pub := client(t, "org1", "publisher")
	start := publishN(t, ctx, pub, "img:rp-start", 0, 1)
	p := newRelayProc(t, "relay", "--brokers", broker.Addr(), "--from", fmt.Sprint(start), "--partitions", "3")
	p.start()
	p.waitLeads(1)
	want := map[string]bool{}
	publish := func(from, to int) {
		for i := from; i < to; i++ {
			e, _, err := pub.Publish(ctx, gateway.PublishRequest{Key: fmt.Sprintf("img:rp-%d", i)})
			if err != nil {
				t.Fatalf("publish %d: %v", i, err)
			}
			want[fmt.Sprintf("%s@%d", e.Key, e.Version)] = true
		}
	}
	publish(0, 20)
	killNode(t, "org1-peer0") // the relay's first peer
	publish(20, 40)
	records, dups := checkExactlyOnce(t, broker.Config("relay-e2e-check"), want, time.Second)
	if !strings.Contains(p.output(), "ledger stream lost") {
		t.Error("the relay never noticed the peer's death")
	}
	t.Logf("peer killed after 20 of 40 transitions: %d records read, %d duplicates", records, dups)
}

// TestRelayBrokerOutage runs the embedded broker as its own process
// (`cachet dev --data-dir`), kills it with -9 while transitions commit and
// starts it again on the same folder: the relay waits, resumes, and
// nothing is lost or doubled.
func TestRelayBrokerOutage(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	dataDir := t.TempDir()
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	var dev *exec.Cmd
	startDev := func() {
		dev = exec.Command(cachetBinary(t), "dev", "--port", fmt.Sprint(port), "--data-dir", dataDir, "--partitions", "3")
		out, err := dev.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		dev.Stderr = os.Stderr
		if err := dev.Start(); err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(out)
		for sc.Scan() && !strings.Contains(sc.Text(), "embedded broker on") {
		}
		go func() {
			for sc.Scan() {
			}
		}()
	}
	startDev()
	t.Cleanup(func() { dev.Process.Signal(syscall.SIGTERM); dev.Wait() })

	pub, inv := client(t, "org1", "publisher"), client(t, "org1", "invalidator")
	start := publishN(t, ctx, pub, "img:bo-start", 0, 1)
	p := newRelayProc(t, "relay", "--brokers", addr, "--from", fmt.Sprint(start), "--partitions", "3", "--instance-id", "bo")
	p.start()
	p.waitLeads(1)
	loaded := make(chan map[string]bool, 1)
	go func() { loaded <- commitLoad(t, ctx, pub, inv, "img:bo", 1200) }()
	time.Sleep(2 * time.Second)
	dev.Process.Signal(syscall.SIGKILL)
	dev.Wait()
	time.Sleep(3 * time.Second) // transitions commit while Kafka is gone
	startDev()
	want := <-loaded
	if t.Failed() {
		t.FailNow()
	}
	records, dups := checkExactlyOnce(t, kafka.Config{Brokers: addr, ClientID: "relay-e2e-check"}, want, 2*time.Second)
	t.Logf("broker killed -9 mid-stream for 3 s and restarted on its data folder: %d transitions, %d records read, %d duplicates, relay led %d times",
		len(want), records, dups, p.leads())
}

// TestRelayBadInputMetricsAndTraces: an oversized transition is refused by
// the contract with a typed error and the relay carries on; transactions
// that fail the key's endorsement policy commit as invalid and are skipped
// and counted;
// /metrics shows it; the relay's span joins the submitter's trace and the
// record names it.
func TestRelayBadInputMetricsAndTraces(t *testing.T) {
	ctx := ctxT(t)
	tr := startTracing(t)
	tp, receiver := tr.tp, tr.recv

	broker := startBroker(t)
	pub := client(t, "org1", "publisher")
	start := publishN(t, ctx, pub, "img:rb-start", 0, 1)
	p := newRelayProc(t, "relay", "--brokers", broker.Addr(), "--from", fmt.Sprint(start), "--partitions", "3",
		"--metrics-listen", "127.0.0.1:0", "--otlp-endpoint", tr.otlp)
	p.start()
	p.waitLeads(1)

	_, _, refused := pub.Publish(ctx, gateway.PublishRequest{Key: "img:rb-big", ETag: strings.Repeat("e", 300)})
	if !errors.Is(refused, gateway.ErrLimitExceeded) && !errors.Is(refused, gateway.ErrInvalidArgument) {
		t.Fatalf("oversized etag: %v, want a typed refusal", refused)
	}
	// Org2 alone invalidating an Org1 key: the contract agrees, the key's
	// endorsement policy does not, and the transaction commits as invalid.
	if _, _, err := pub.Publish(ctx, gateway.PublishRequest{Key: "img:rb-sbe"}); err != nil {
		t.Fatal(err)
	}
	if out, err := invoke(t, "org2", "invalidator", nil, "Invalidate", "img:rb-sbe", "org2 alone", "0"); err == nil || !strings.Contains(out, "ENDORSEMENT_POLICY_FAILURE") {
		t.Fatalf("org2-only invalidation: %v\n%s", err, out)
	}
	sctx, span := tp.Tracer("e2e").Start(ctx, "operator publishes")
	e, _, err := pub.Publish(sctx, gateway.PublishRequest{Key: "img:rb-traced"})
	span.End()
	if err != nil {
		t.Fatal(err)
	}
	traceID := span.SpanContext().TraceID().String()
	checkExactlyOnce(t, broker.Config("relay-e2e-check"), map[string]bool{fmt.Sprintf("%s@%d", e.Key, e.Version): true}, 0)

	metrics := metricsURL(t, p)
	var body string
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		body = httpGet(t, metrics)
		if metric(body, "cachet_relay_invalid_skipped_total") > 0 && metric(body, "cachet_relay_lag_blocks") == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no invalid transaction counted, or lag stays:\n%s", body)
		}
	}
	for _, name := range []string{"cachet_relay_leader", "cachet_relay_records_total", "cachet_relay_kafka_transactions_total"} {
		if metric(body, name) < 1 {
			t.Errorf("%s = %v", name, metric(body, name))
		}
	}

	// The record of the traced publish names the relay's span, which is a
	// child in the submitter's trace.
	c, err := kafka.NewConsumer(broker.Config("trace-check"), "trace-check", "earliest")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Subscribe([]string{record.TopicTransitions}, nil)
	var header string
	for deadline := time.Now().Add(30 * time.Second); header == "" && time.Now().Before(deadline); {
		if m, ok := c.Poll(100 * time.Millisecond).(*kafka.Message); ok && string(m.Key) == e.Key {
			for _, h := range m.Headers {
				if h.Key == record.HeaderTraceparent {
					header = string(h.Value)
				}
			}
		}
	}
	p.stop() // flushes the relay's spans
	var relaySpan *telemetrytest.Span
	for _, s := range receiver.Trace(traceID) {
		if s.Name == relay.SpanName && s.Service == "cachet-relay" {
			relaySpan = &s
		}
	}
	if relaySpan == nil || relaySpan.ParentSpanID == "" {
		t.Fatalf("no relay span with a parent in trace %s: %+v", traceID, receiver.Spans())
	}
	if want := "00-" + traceID + "-" + relaySpan.SpanID + "-01"; header != want {
		t.Fatalf("record traceparent %q, want the relay span's %q", header, want)
	}
	t.Logf("refused oversized etag (%v); invalid skipped %v; relay span %s child of %s in trace %s",
		refused, metric(body, "cachet_relay_invalid_skipped_total"), relaySpan.SpanID, relaySpan.ParentSpanID, traceID)
}

func metricsURL(t *testing.T, p *relayProc) string {
	t.Helper()
	re := regexp.MustCompile(`metrics on (http://\S+/metrics)`)
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if m := re.FindStringSubmatch(p.output()); m != nil {
			return m[1]
		}
	}
	t.Fatal("the relay printed no metrics address")
	return ""
}

func httpGet(t testing.TB, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var sb strings.Builder
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		sb.WriteString(sc.Text() + "\n")
	}
	return sb.String()
}

// metric returns a sample's value in a Prometheus text exposition, summed
// over its label sets (-1 if absent).
func metric(body, name string) float64 {
	sum, found := 0.0, false
	for _, line := range strings.Split(body, "\n") {
		f := strings.Fields(line)
		if len(f) < 2 || (f[0] != name && !strings.HasPrefix(f[0], name+"{")) {
			continue
		}
		var v float64
		fmt.Sscan(f[len(f)-1], &v)
		sum, found = sum+v, true
	}
	if !found {
		return -1
	}
	return sum
}
