package push_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel"

	"github.com/cachetsync/cachet/kafka"
	"github.com/cachetsync/cachet/push"
	"github.com/cachetsync/cachet/record"
	"github.com/cachetsync/cachet/telemetry"
	"github.com/cachetsync/cachet/telemetry/telemetrytest"
)

// tracing installs a global tracer provider exporting to an in-process
// OTLP receiver; flush exports what was recorded (call it once, at the end).
func tracing(t *testing.T) (recv *telemetrytest.Receiver, flush func()) {
	t.Helper()
	prev := otel.GetTracerProvider()
	recv = telemetrytest.NewReceiver(0)
	hs := httptest.NewServer(recv)
	shutdown, err := telemetry.Setup(context.Background(), telemetry.Config{Service: "cachet-push-test", Endpoint: hs.URL})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		otel.SetTracerProvider(prev)
		hs.Close()
	})
	return recv, func() {
		if err := shutdown(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
}

func spanFrame(tp, name string, startMs, endMs float64, attrs map[string]string) map[string]any {
	return map[string]any{"t": "span", "traceparent": tp, "name": name, "startMs": startMs, "endMs": endMs, "attributes": attrs}
}

// TestBrowserSpanExported: a span frame (WebSocket) and a POST /spans body
// become spans of the push server's service with the given parent, name,
// times and attributes, plus cachet.reported_by=sdk.
func TestBrowserSpanExported(t *testing.T) {
	recv, flush := tracing(t)
	b := startBroker(t, 1)
	srv := startServer(t, b, nil)
	c := subscribe(t, srv.url, "", shopCh)
	c.next()
	now := float64(time.Now().UnixMilli())
	start, end := now+0.25, now+1.5
	const trace = "4bf92f3577b34da6a3ce929d0e0e4736"
	attrs := map[string]string{"cache.key": "https://shop.example/a", "cache.version": "7", "cache.evicted": "2"}
	c.sendJSON(spanFrame("00-"+trace+"-00f067aa0ba902b7-01", "cachet.sdk.evict", start, end, attrs))
	body, _ := json.Marshal([]any{spanFrame("00-"+trace+"-1111111111111111-01", "cachet.sdk.evict", start, end, nil)})
	if resp, out := post(t, srv, "/spans", token(t, []string{shopCh}, nil), "", body); resp.StatusCode != 200 || string(out) != `{"exported":1,"dropped":0}` {
		t.Fatalf("POST /spans: %d %s", resp.StatusCode, out)
	}
	eventually(t, "two spans exported", func() bool { return metricValue(t, srv, "cachet_push_spans_exported_total") == 2 })
	flush()
	spans := recv.Trace(trace)
	if len(spans) != 2 {
		t.Fatalf("receiver holds %d spans of the trace, want 2: %+v", len(spans), recv.Spans())
	}
	parents := map[string]telemetrytest.Span{}
	for _, s := range spans {
		parents[s.ParentSpanID] = s
	}
	s, ok := parents["00f067aa0ba902b7"]
	if !ok {
		t.Fatalf("no span with the WebSocket frame's parent: %+v", spans)
	}
	wantStart := time.UnixMilli(int64(now)).Add(250 * time.Microsecond)
	if s.Name != "cachet.sdk.evict" || s.Service != "cachet-push-test" || !s.Start.Equal(wantStart) ||
		!s.End.Equal(wantStart.Add(1250*time.Microsecond)) {
		t.Errorf("span %+v, want start %v and a 1.25 ms duration", s, wantStart)
	}
	for k, v := range attrs {
		if s.Attributes[k] != v {
			t.Errorf("attribute %s = %q, want %q", k, s.Attributes[k], v)
		}
	}
	if s.Attributes["cachet.reported_by"] != "sdk" {
		t.Errorf("attributes %v lack cachet.reported_by=sdk", s.Attributes)
	}
	if p, ok := parents["1111111111111111"]; !ok || p.Attributes["cachet.reported_by"] != "sdk" {
		t.Errorf("POST /spans span missing or wrong: %+v", spans)
	}
}

// TestBrowserSpanBounds: out-of-bounds spans are dropped and counted by
// reason, and the connection stays open.
func TestBrowserSpanBounds(t *testing.T) {
	_, flush := tracing(t)
	defer flush()
	b := startBroker(t, 1)
	srv := startServer(t, b, nil)
	c := subscribe(t, srv.url, "", shopCh)
	c.next()
	now := float64(time.Now().UnixMilli())
	const tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	tooMany := map[string]string{}
	for i := range push.MaxSpanAttributes + 1 {
		tooMany[fmt.Sprint("k", i)] = "v"
	}
	for _, tc := range []struct {
		reason string
		frame  map[string]any
	}{
		{push.SpanDropName, spanFrame(tp, "evict", now, now+1, nil)},
		{push.SpanDropName, spanFrame(tp, "cachet.sdk."+strings.Repeat("x", 60), now, now+1, nil)},
		{push.SpanDropTraceparent, spanFrame("00-zz-00f067aa0ba902b7-01", "cachet.sdk.evict", now, now+1, nil)},
		{push.SpanDropTraceparent, spanFrame("00-00000000000000000000000000000000-00f067aa0ba902b7-01", "cachet.sdk.evict", now, now+1, nil)},
		{push.SpanDropAttributes, spanFrame(tp, "cachet.sdk.evict", now, now+1, tooMany)},
		{push.SpanDropAttributes, spanFrame(tp, "cachet.sdk.evict", now, now+1, map[string]string{strings.Repeat("k", 65): "v"})},
		{push.SpanDropAttributes, spanFrame(tp, "cachet.sdk.evict", now, now+1, map[string]string{"k": strings.Repeat("v", 257)})},
		{push.SpanDropTime, spanFrame(tp, "cachet.sdk.evict", now, now-1, nil)},
		{push.SpanDropTime, spanFrame(tp, "cachet.sdk.evict", now, now+float64(11*time.Minute/time.Millisecond), nil)},
		{push.SpanDropTime, spanFrame(tp, "cachet.sdk.evict", now-float64(25*time.Hour/time.Millisecond), now-float64(25*time.Hour/time.Millisecond)+1, nil)},
		{push.SpanDropTime, spanFrame(tp, "cachet.sdk.evict", 0, 1, nil)},
		{push.SpanDropUnsampled, spanFrame("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00", "cachet.sdk.evict", now, now+1, nil)},
	} {
		c.sendJSON(tc.frame)
	}
	c.sendJSON(map[string]any{"t": "ping"})
	if m := c.nextRaw(); !strings.Contains(string(m), `"pong"`) {
		t.Fatalf("got %s, want pong: the connection must survive dropped spans", m)
	}
	for reason, n := range map[string]float64{push.SpanDropName: 2, push.SpanDropTraceparent: 2, push.SpanDropAttributes: 3,
		push.SpanDropTime: 4, push.SpanDropUnsampled: 1} {
		if got := metricValue(t, srv, `cachet_push_spans_dropped_total{reason="`+reason+`"}`); got != n {
			t.Errorf("spans dropped{%s} = %v, want %v", reason, got, n)
		}
	}
	if got := metricValue(t, srv, "cachet_push_spans_exported_total"); got != 0 {
		t.Errorf("exported %v spans, want 0", got)
	}
	// A non-string attribute is a frame of the wrong shape.
	c.sendJSON(map[string]any{"t": "span", "traceparent": tp, "name": "cachet.sdk.evict", "startMs": now, "endMs": now,
		"attributes": map[string]any{"n": 2}})
	if got := c.closeCode(); int(got) != int(push.CodeProtocol) {
		t.Fatalf("close %d, want %d", got, push.CodeProtocol)
	}
}

// TestFanoutSpan: each transition with a trace context gets a push.fanout
// span, a child of the record's traceparent header (or field), and the
// frame carries the fan-out span's traceparent.
func TestFanoutSpan(t *testing.T) {
	recv, flush := tracing(t)
	b := startBroker(t, 1)
	srv := startServer(t, b, nil)
	c := subscribe(t, srv.url, "", shopCh)
	c.next()
	const (
		fieldTrace  = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		headerTrace = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
	)
	p := newProducer(t, b)
	produce := func(key, field, header string) {
		tr := record.Transition{TxID: "tx-" + key, Key: key, Version: 1, State: record.StateInvalidated, Owner: "Org1MSP",
			Actor: "Org1MSP", Timestamp: time.Now().UTC(), Traceparent: field}
		v, _ := tr.Marshal()
		topic := record.TopicTransitions
		m := &kafka.Message{Topic: topic, Partition: kafka.PartitionAny, Key: []byte(key), Value: v}
		if header != "" {
			m.Headers = []kafka.Header{{Key: record.HeaderTraceparent, Value: []byte(header)}}
		}
		done := make(chan kafka.Delivery, 1)
		if err := p.p.Produce(m, done); err != nil {
			t.Fatal(err)
		}
		if d := <-done; d.Err != nil {
			t.Fatal(d.Err)
		}
	}
	produce("https://shop.example/field", "00-"+fieldTrace+"-1000000000000001-01", "")
	produce("https://shop.example/header", "00-"+fieldTrace+"-1000000000000002-01", "00-"+headerTrace+"-2000000000000002-01")
	produce("https://shop.example/none", "", "")
	got := c.collect(3)
	flush()
	for i, tc := range []struct{ trace, parent string }{{fieldTrace, "1000000000000001"}, {headerTrace, "2000000000000002"}} {
		parts := strings.Split(got[i].Trace, "-")
		if len(parts) != 4 || parts[1] != tc.trace || parts[2] == tc.parent {
			t.Fatalf("%s: frame traceparent %q, want trace %s with the fan-out span as parent", got[i].Key, got[i].Trace, tc.trace)
		}
		spans := recv.Trace(tc.trace)
		if len(spans) != 1 {
			t.Fatalf("trace %s has %d spans, want 1: %+v", tc.trace, len(spans), recv.Spans())
		}
		s := spans[0]
		if s.Name != "push.fanout" || s.ParentSpanID != tc.parent || s.SpanID != parts[2] || s.Attributes["cache.key"] != got[i].Key ||
			s.Attributes["cachet.push.deliveries"] != "1" {
			t.Errorf("span %+v, want push.fanout under %s with span id %s", s, tc.parent, parts[2])
		}
		// OpenTelemetry's messaging conventions: a Kafka consumer processing
		// the record at its topic, partition and offset (the i-th produced
		// to the topic's one partition), keyed by the cache key.
		if s.Kind != "consumer" {
			t.Errorf("span kind %q, want consumer", s.Kind)
		}
		for k, want := range map[string]string{
			"messaging.system": "kafka", "messaging.operation.type": "process", "messaging.operation.name": "process",
			"messaging.destination.name": record.TopicTransitions, "messaging.destination.partition.id": "0",
			"messaging.kafka.offset": strconv.Itoa(i), "messaging.kafka.message.key": got[i].Key,
		} {
			if s.Attributes[k] != want {
				t.Errorf("%s: attribute %s = %q, want %q", got[i].Key, k, s.Attributes[k], want)
			}
		}
	}
	if got[2].Trace != "" {
		t.Errorf("a transition without trace context got traceparent %q", got[2].Trace)
	}
	if n := len(recv.Spans()); n != 2 {
		t.Errorf("%d spans exported, want 2", n)
	}
}
