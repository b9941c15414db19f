package relay_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"reflect"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/cachetsync/cachet/gateway"
	"github.com/cachetsync/cachet/kafka"
	"github.com/cachetsync/cachet/record"
	"github.com/cachetsync/cachet/relay"
)

func header(m *kafka.Message, k string) string {
	for _, h := range m.Headers {
		if h.Key == k {
			return string(h.Value)
		}
	}
	return ""
}

func TestMessagesCarryTheRelaySpan(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	tprov := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	prev := otel.GetTracerProvider()
	otel.SetTracerProvider(tprov)
	t.Cleanup(func() { otel.SetTracerProvider(prev) })

	msgs, spans, err := relay.Messages(context.Background(), tx(42, 3, "img:a", "img:b"))
	if err != nil || len(msgs) != 2 || len(spans) != 2 {
		t.Fatalf("%d messages, %d spans, %v", len(msgs), len(spans), err)
	}
	for _, s := range spans {
		s.End()
	}
	m := msgs[1]
	if string(m.Key) != "img:b" || m.Topic != record.TopicTransitions {
		t.Fatalf("record key %q topic %s", m.Key, m.Topic)
	}
	got, err := record.DecodeTransition(m.Value)
	if err != nil {
		t.Fatal(err)
	}
	if got.Position != (record.Position{Block: 42, TxIndex: 3}) || got.Version != 43 || got.Actor != "Org2MSP" || got.Owner != "Org1MSP" ||
		!got.Timestamp.Equal(time.Date(2026, 11, 25, 6, 41, 0, 5e8, time.UTC)) {
		t.Fatalf("record %+v", got)
	}
	ended := exp.GetSpans()
	if len(ended) != 2 {
		t.Fatalf("%d spans exported, want 2", len(ended))
	}
	span := ended[1]
	// The span continues the submitter's trace, as a child of its span...
	if span.Name != relay.SpanName || span.SpanContext.TraceID().String() != tp[3:35] || span.Parent.SpanID().String() != tp[36:52] {
		t.Fatalf("span %s trace %s parent %s, want a child of %s", span.Name, span.SpanContext.TraceID(), span.Parent.SpanID(), tp)
	}
	// It is a Kafka producer span in OpenTelemetry's messaging terms, and
	// names the cache key as push and the browser do.
	attrs := map[string]string{}
	for _, kv := range span.Attributes {
		attrs[string(kv.Key)] = kv.Value.String()
	}
	if span.SpanKind != trace.SpanKindProducer {
		t.Errorf("span kind %s, want producer", span.SpanKind)
	}
	for k, want := range map[string]string{"messaging.system": "kafka", "messaging.operation.type": "send",
		"messaging.destination.name": record.TopicTransitions, "messaging.kafka.message.key": "img:b", "cache.key": "img:b", "cache.version": "43"} {
		if attrs[k] != want {
			t.Errorf("span attribute %s = %q, want %q", k, attrs[k], want)
		}
	}
	// ...and the record names the relay's span, so the next hop links to it.
	want := "00-" + tp[3:35] + "-" + span.SpanContext.SpanID().String() + "-01"
	if header(m, record.HeaderTraceparent) != want || got.Traceparent != want {
		t.Fatalf("traceparent header %q, value %q, want the relay span %q", header(m, record.HeaderTraceparent), got.Traceparent, want)
	}
	for k, want := range map[string]string{record.HeaderBlock: "42", record.HeaderTxIndex: "3", record.HeaderChannel: "cachet", record.HeaderOwner: "Org1MSP"} {
		if header(m, k) != want {
			t.Errorf("header %s = %q, want %q", k, header(m, k), want)
		}
	}
}

// TestMessagesScopePurge checks that a scope purge yields one generation
// record on cachet.purges keyed by its scope, with the transitions' headers,
// however many keys it covers.
func TestMessagesScopePurge(t *testing.T) {
	ptx := purgeTx(43, 2, "catalog", 4)
	mixed := tx(43, 2, "img:a")
	mixed.Event.Purges, mixed.Event.Actor = ptx.Event.Purges, ptx.Event.Actor
	for _, c := range []struct {
		name     string
		tx       gateway.Transaction
		wantMsgs int
	}{
		{"purge alone", ptx, 1},
		{"purge after a transition", mixed, 2},
	} {
		t.Run(c.name, func(t *testing.T) {
			msgs, spans, err := relay.Messages(context.Background(), c.tx)
			if err != nil || len(msgs) != c.wantMsgs || len(spans) != c.wantMsgs {
				t.Fatalf("%d messages, %d spans, %v; want %d", len(msgs), len(spans), err, c.wantMsgs)
			}
			m := msgs[len(msgs)-1]
			if m.Topic != record.TopicPurges || string(m.Key) != "tag:catalog" {
				t.Fatalf("record topic %s key %q, want %s keyed tag:catalog", m.Topic, m.Key, record.TopicPurges)
			}
			g, err := record.DecodeGeneration(m.Value)
			if err != nil {
				t.Fatal(err)
			}
			if g.Position != (record.Position{Block: 43, TxIndex: 2}) || g.TxID != "tx-43-2" || g.Generation != 4 || !g.Soft ||
				g.Owner != "Org1MSP" || g.Actor != "Org1MSP" || g.Scope != (record.Scope{Kind: record.ScopeTag, Value: "catalog"}) ||
				g.Channel != "cachet" || !g.Timestamp.Equal(time.Date(2026, 11, 25, 6, 41, 0, 5e8, time.UTC)) {
				t.Fatalf("record %+v", g)
			}
			for k, want := range map[string]string{record.HeaderBlock: "43", record.HeaderTxIndex: "2", record.HeaderChannel: "cachet",
				record.HeaderOwner: "Org1MSP", record.HeaderTraceparent: g.Traceparent} {
				if header(m, k) != want || want == "" {
					t.Errorf("header %s = %q, want %q", k, header(m, k), want)
				}
			}
			for _, s := range spans {
				s.End()
			}
		})
	}
}

func TestMessagesDeadLetterAndNoEvent(t *testing.T) {
	ctx := context.Background()
	bad := gateway.Transaction{Position: record.Position{Block: 7, TxIndex: 1}, TxID: "t7", Channel: "cachet", Valid: true, EventErr: errors.New("payload does not parse")}
	msgs, _, err := relay.Messages(ctx, bad)
	if err != nil || len(msgs) != 1 || msgs[0].Topic != record.TopicDeadLetter ||
		!strings.Contains(string(msgs[0].Value), `"block":7`) || !strings.Contains(string(msgs[0].Value), "does not parse") {
		t.Fatalf("dead letter: %v %v", msgs, err)
	}
	if msgs, _, err := relay.Messages(ctx, gateway.Transaction{Valid: true}); err != nil || len(msgs) != 0 {
		t.Fatalf("a transaction without a Cachet event must yield nothing: %v %v", msgs, err)
	}
	broken := tx(1, 0, "img:a")
	broken.Event.Timestamp = "yesterday"
	if _, _, err := relay.Messages(ctx, broken); err == nil {
		t.Fatal("an unreadable timestamp must be an error, not a zero time")
	}
}

// TestMessagesConflict checks that an invalid transaction of the contract
// yields one conflict record keyed by its first key, with the position
// headers and the submitter's traceparent, and that one of another
// chaincode (no Refusal) yields nothing.
func TestMessagesConflict(t *testing.T) {
	ctx := context.Background()
	c := conflictTx(9, 2, "img:a")
	c.Refusal.Keys = append(c.Refusal.Keys, "img:b")
	msgs, spans, err := relay.Messages(ctx, c)
	if err != nil || len(msgs) != 1 || len(spans) != 0 {
		t.Fatalf("%d messages, %d spans, %v; want one record and no span", len(msgs), len(spans), err)
	}
	m := msgs[0]
	if m.Topic != record.TopicConflicts || string(m.Key) != "img:a" {
		t.Fatalf("record topic %s key %q, want %s keyed img:a", m.Topic, m.Key, record.TopicConflicts)
	}
	got, err := record.DecodeConflict(m.Value)
	if err != nil {
		t.Fatal(err)
	}
	want := record.Conflict{V: record.Version, Channel: "cachet", Position: record.Position{Block: 9, TxIndex: 2}, TxID: "conflict-9-2",
		Timestamp: time.Date(2026, 11, 25, 6, 41, 0, 25e7, time.UTC), Code: record.CodeMVCCReadConflict,
		Keys: []string{"img:a", "img:b"}, Creator: "Org2MSP", Traceparent: tp}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("record %+v\nwant   %+v", got, want)
	}
	for k, want := range map[string]string{record.HeaderBlock: "9", record.HeaderTxIndex: "2", record.HeaderChannel: "cachet", record.HeaderTraceparent: tp} {
		if header(m, k) != want {
			t.Errorf("header %s = %q, want %q", k, header(m, k), want)
		}
	}
	other := gateway.Transaction{Position: record.Position{Block: 9, TxIndex: 3}, TxID: "other", Channel: "cachet", Code: c.Code}
	if msgs, _, err := relay.Messages(ctx, other); err != nil || len(msgs) != 0 {
		t.Fatalf("an invalid transaction of another chaincode must yield nothing: %v %v", msgs, err)
	}
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// start runs a relay until the returned stop is called; stop returns Run's
// error.
func start(t testing.TB, cfg relay.Config) (*relay.Relay, func() error) {
	t.Helper()
	if cfg.Channel == "" {
		cfg.Channel = "cachet"
	}
	if cfg.Lease == nil {
		cfg.Lease = relay.Solo{}
	}
	if cfg.Log == nil {
		cfg.Log = quiet
	}
	r, err := relay.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	stopped := false
	var result error
	stop := func() error {
		if !stopped {
			stopped = true
			cancel()
			result = <-done
		}
		return result
	}
	t.Cleanup(func() { stop() })
	return r, stop
}

// TestExactlyOnceAcrossRestarts stops the relay at arbitrary points while
// the ledger grows: each new relay resumes from the committed position, and
// a read_committed consumer sees every transition once, in order per key.
func TestExactlyOnceAcrossRestarts(t *testing.T) {
	b := startBroker(t)
	l := newLedger()
	var keys []string
	for round := range 6 {
		r, stop := start(t, relay.Config{Source: l, Kafka: b.Config("relay"), StartBlock: 1, MaxRecords: 7})
		keys = append(keys, l.add(40, "img:r")...)
		// Stop in the middle of the stream: some rounds with a transaction
		// open, some between two.
		waitFor(t, "progress", func() bool { return r.Stats.Records.Load() >= uint64(10+round*5) })
		if err := stop(); err != nil {
			t.Fatal(err)
		}
	}
	// The last relay finds whatever the stopped ones left, plus 10 more
	// (the sixth may have finished its round before it was stopped).
	r, _ := start(t, relay.Config{Source: l, Kafka: b.Config("relay")})
	keys = append(keys, l.add(10, "img:r")...)
	want := ids(l, keys)
	s := readCommitted(t, b.Config("check"), record.TopicTransitions, want, time.Second)
	exactlyOnce(t, s, want)
	pos, ok, err := relay.ReadPosition(context.Background(), b.Config("check"), "cachet")
	if err != nil || !ok || pos.Block != 250 {
		t.Fatalf("position %v %v %v, want block 250", pos, ok, err)
	}
	if r.Stats.Records.Load() < 10 || r.Stats.Records.Load() >= 250 {
		t.Fatalf("the last relay produced %d records: it did not resume from the committed position", r.Stats.Records.Load())
	}
}

// TestPurgesExactlyOnceAcrossRestarts stops the relay at arbitrary points
// while the ledger grows with transitions and scope purges: every
// generation record reaches cachet.purges once, in generation order, and
// the metrics count both kinds apart.
func TestPurgesExactlyOnceAcrossRestarts(t *testing.T) {
	b := startBroker(t)
	l := newLedger()
	var keys, purges []string
	var gen uint64
	var committed uint64
	for round := range 4 {
		r, stop := start(t, relay.Config{Source: l, Kafka: b.Config("relay"), StartBlock: 1, MaxRecords: 5})
		k, p := l.addMixed(40, "catalog", &gen)
		keys, purges = append(keys, k...), append(purges, p...)
		waitFor(t, "progress", func() bool { return r.Stats.Purges.Load() >= uint64(5+round*3) })
		if err := stop(); err != nil {
			t.Fatal(err)
		}
		committed += r.Stats.Purges.Load()
	}
	r, _ := start(t, relay.Config{Source: l, Kafka: b.Config("relay")})
	k, p := l.addMixed(10, "catalog", &gen)
	keys, purges = append(keys, k...), append(purges, p...)
	s := readCommitted(t, b.Config("check"), record.TopicPurges, purges, time.Second)
	exactlyOnce(t, s, purges)
	for i, g := range s.order["tag:catalog"] {
		if g != uint64(i+1) {
			t.Fatalf("generations arrived in order %v, want 1..%d", s.order["tag:catalog"], len(purges))
		}
	}
	want := ids(l, keys)
	exactlyOnce(t, readCommitted(t, b.Config("check"), record.TopicTransitions, want, time.Second), want)
	waitFor(t, "the last relay to finish", func() bool { return r.Stats.Relayed.Load() == 170 })
	if committed+r.Stats.Purges.Load() != uint64(len(purges)) || r.Stats.Records.Load()+r.Stats.Purges.Load() == 0 {
		t.Fatalf("relays counted %d purges committed, want %d", committed+r.Stats.Purges.Load(), len(purges))
	}
}

// TestBatchesLedgerTransactions checks that many small ledger transactions
// share Kafka transactions, and that a large one is never split.
func TestBatchesLedgerTransactions(t *testing.T) {
	b := startBroker(t)
	l := newLedger()
	keys := l.add(300, "img:b")
	big := make([]string, 1200)
	for i := range big {
		big[i] = "img:big-" + string(rune('a'+i%26)) + "-" + strings.Repeat("x", i%7) + "-" + time.Duration(i).String()
	}
	l.append(tx(l.next(), 0, big...))
	r, _ := start(t, relay.Config{Source: l, Kafka: b.Config("relay"), MaxRecords: 100, Linger: time.Second})
	want := ids(l, append(keys, big...))
	s := readCommitted(t, b.Config("check"), record.TopicTransitions, want, 500*time.Millisecond)
	exactlyOnce(t, s, want)
	kt := r.Stats.KafkaTransactions.Load()
	// 300 one-record transactions in groups of 100, then the big one alone.
	if kt != 4 || r.Stats.Transactions.Load() != 301 || r.Stats.Records.Load() != 1500 {
		t.Fatalf("%d Kafka transactions for %d ledger transactions and %d records, want 4, 301, 1500",
			kt, r.Stats.Transactions.Load(), r.Stats.Records.Load())
	}
}

// TestInvalidSkippedAndDeadLettered puts invalid transactions (one of
// another chaincode, one of the contract) and one whose event does not
// parse in the stream: both invalid ones are counted, the contract's lands
// on cachet.conflicts, the unreadable one on cachet.deadletter with its
// position, and the transitions flow.
func TestInvalidSkippedAndDeadLettered(t *testing.T) {
	b := startBroker(t)
	l := newLedger()
	keys := l.add(3, "img:d")
	l.append(gateway.Transaction{Position: record.Position{Block: l.next()}, TxID: "bad-mvcc", Channel: "cachet", Valid: false})
	l.append(gateway.Transaction{Position: record.Position{Block: l.next()}, TxID: "garbled", Channel: "cachet", Valid: true, EventErr: errors.New("event payload of garbled: invalid character")})
	lost := conflictTx(l.next(), 0, keys[0])
	l.append(lost)
	keys = append(keys, l.add(3, "img:d")...)
	r, _ := start(t, relay.Config{Source: l, Kafka: b.Config("relay")})
	want := ids(l, keys)
	exactlyOnce(t, readCommitted(t, b.Config("check"), record.TopicTransitions, want, 200*time.Millisecond), want)
	dl := readCommitted(t, b.Config("check"), record.TopicDeadLetter, []string{"garbled"}, 200*time.Millisecond)
	if dl.records != 1 || !strings.Contains(string(dl.msgs[0].Value), `"block":5`) || header(dl.msgs[0], record.HeaderBlock) != "5" {
		t.Fatalf("dead letters: %d, first %s", dl.records, dl.msgs[0].Value)
	}
	cf := readCommitted(t, b.Config("check"), record.TopicConflicts, []string{lost.TxID}, 200*time.Millisecond)
	exactlyOnce(t, cf, []string{lost.TxID})
	if header(cf.msgs[0], record.HeaderBlock) != "6" || string(cf.msgs[0].Key) != keys[0] {
		t.Fatalf("conflict record keyed %q at block %s, want %s at 6", cf.msgs[0].Key, header(cf.msgs[0], record.HeaderBlock), keys[0])
	}
	waitFor(t, "stats", func() bool { return r.Stats.Relayed.Load() == 9 })
	if r.Stats.Invalid.Load() != 2 || r.Stats.Conflicts.Load() != 1 || r.Stats.DeadLetters.Load() != 1 || r.Stats.Records.Load() != 6 {
		t.Fatalf("invalid %d, conflicts %d, dead letters %d, records %d; want 2, 1, 1, 6",
			r.Stats.Invalid.Load(), r.Stats.Conflicts.Load(), r.Stats.DeadLetters.Load(), r.Stats.Records.Load())
	}
}

// TestConflictsExactlyOnceAcrossRestarts stops the relay at arbitrary
// points while the ledger grows with blocks in which a write of a key is
// followed by a write of the same key that lost the MVCC race: every
// conflict record reaches cachet.conflicts once, and every transition
// cachet.transitions once, whatever Kafka transaction they fell in.
func TestConflictsExactlyOnceAcrossRestarts(t *testing.T) {
	b := startBroker(t)
	l := newLedger()
	var keys, conflicts []string
	var committed uint64
	for round := range 4 {
		r, stop := start(t, relay.Config{Source: l, Kafka: b.Config("relay"), StartBlock: 1, MaxRecords: 5})
		k, c := l.addContended(40, "hot")
		keys, conflicts = append(keys, k...), append(conflicts, c...)
		waitFor(t, "progress", func() bool { return r.Stats.Conflicts.Load() >= uint64(5+round*3) })
		if err := stop(); err != nil {
			t.Fatal(err)
		}
		committed += r.Stats.Conflicts.Load()
	}
	r, _ := start(t, relay.Config{Source: l, Kafka: b.Config("relay")})
	k, c := l.addContended(10, "hot")
	keys, conflicts = append(keys, k...), append(conflicts, c...)
	exactlyOnce(t, readCommitted(t, b.Config("check"), record.TopicConflicts, conflicts, time.Second), conflicts)
	want := ids(l, keys)
	exactlyOnce(t, readCommitted(t, b.Config("check"), record.TopicTransitions, want, time.Second), want)
	waitFor(t, "the last relay to finish", func() bool { return r.Stats.Relayed.Load() == 170 })
	if committed+r.Stats.Conflicts.Load() != uint64(len(conflicts)) {
		t.Fatalf("relays counted %d conflicts committed, want %d", committed+r.Stats.Conflicts.Load(), len(conflicts))
	}
}

// TestSourceFailureEndsRun: a ledger that cannot be read is not retried
// forever in silence; Run returns the error.
func TestSourceFailureEndsRun(t *testing.T) {
	b := startBroker(t)
	l := newLedger()
	l.add(2, "img:s")
	broken := tx(l.next(), 0, "img:s-broken")
	broken.Event.Timestamp = "yesterday"
	l.append(broken)
	r, err := relay.New(relay.Config{Source: l, Kafka: b.Config("relay"), Channel: "cachet", Lease: relay.Solo{}, Log: quiet})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := r.Run(ctx); err == nil || ctx.Err() != nil || !strings.Contains(err.Error(), "yesterday") {
		t.Fatalf("Run returned %v, want the timestamp error", err)
	}
	if r.Stats.Records.Load() > 2 {
		t.Fatalf("%d records relayed past the unreadable transaction", r.Stats.Records.Load())
	}
}

func TestConfigRequired(t *testing.T) {
	for _, cfg := range []relay.Config{
		{Kafka: kafka.Config{Brokers: "x:1"}, Channel: "c"},
		{Source: newLedger(), Kafka: kafka.Config{Brokers: "x:1"}},
		{Source: newLedger(), Channel: "c"},
	} {
		if _, err := relay.New(cfg); err == nil {
			t.Errorf("New(%+v) accepted an incomplete config", cfg)
		}
	}
}
