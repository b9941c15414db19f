package relay

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/cachetsync/cachet/gateway"
	"github.com/cachetsync/cachet/kafka"
	"github.com/cachetsync/cachet/ledger"
	"github.com/cachetsync/cachet/record"
	"github.com/cachetsync/cachet/telemetry"
)

// SpanName names the span the relay records for each transition.
const SpanName = "relay.transition"

// tracer looks the global provider up on each use: a package-level tracer
// stays bound to the first provider ever installed.
func tracer() trace.Tracer { return otel.Tracer("github.com/cachetsync/cachet/relay") }

// Messages turns one committed transaction into its Kafka records: one per
// transition on cachet.transitions and one per scope purge on cachet.purges
// (keyed by the scope, so a scope stays on one partition), or one dead letter carrying the position when the contract's
// event could not be read. An invalid transaction of the contract yields
// one record.Conflict on cachet.conflicts, keyed by its first key.
// Transactions without a Cachet event (or Refusal, when invalid) yield none.
//
// Each transition gets a "relay.transition" span whose parent is the
// traceparent of the contract's event; the record carries that span's
// traceparent (header and value), so the next hop links to the relay. The
// span is a PRODUCER span with the messaging attributes of a Kafka send
// (telemetry.KafkaSend) and the entry's cache.key and cache.version. The
// caller ends the spans once the records are committed or given up.
func Messages(ctx context.Context, tx gateway.Transaction) ([]*kafka.Message, []trace.Span, error) {
	if !tx.Valid {
		m, err := conflictMessage(tx)
		if m == nil || err != nil {
			return nil, nil, err
		}
		return []*kafka.Message{m}, nil, nil
	}
	topic := record.TopicTransitions
	if tx.EventErr != nil {
		v, err := record.DeadLetter{Channel: tx.Channel, Block: tx.Position.Block, TxIndex: tx.Position.TxIndex,
			TxID: tx.TxID, Error: tx.EventErr.Error()}.Marshal()
		if err != nil {
			return nil, nil, err
		}
		return []*kafka.Message{{Topic: record.TopicDeadLetter, Partition: kafka.PartitionAny,
			Key: []byte(tx.TxID), Value: v, Headers: positionHeaders(tx)}}, nil, nil
	}
	if tx.Event == nil {
		return nil, nil, nil
	}
	ts, err := time.Parse(time.RFC3339Nano, tx.Event.Timestamp)
	if err != nil {
		return nil, nil, fmt.Errorf("relay: transaction %s at %s has timestamp %q: %w", tx.TxID, tx.Position, tx.Event.Timestamp, err)
	}
	parent := telemetry.WithTraceparent(ctx, tx.Event.Traceparent)
	pos := positionHeaders(tx)
	n := len(tx.Event.Transitions) + len(tx.Event.Purges)
	msgs := make([]*kafka.Message, 0, n)
	spans := make([]trace.Span, 0, n)
	// With tracing off every span carries its parent's context: format the
	// traceparent once, not per transition.
	var lastSpan trace.SpanID
	var tp string
	var tpBytes []byte
	for _, t := range tx.Event.Transitions {
		sctx, span := tracer().Start(parent, SpanName, trace.WithSpanKind(trace.SpanKindProducer))
		if span.IsRecording() { // attributes cost allocations; skip them when tracing is off
			span.SetAttributes(append(telemetry.KafkaSend(topic, t.Key),
				telemetry.AttrCacheKey.String(t.Key), telemetry.AttrCacheVersion.Int64(int64(t.Version)),
				attribute.Int64("cachet.block", int64(tx.Position.Block)), attribute.Int64("cachet.tx_index", int64(tx.Position.TxIndex)))...)
		}
		spans = append(spans, span)
		if id := span.SpanContext().SpanID(); id != lastSpan || tp == "" {
			lastSpan, tp = id, telemetry.Traceparent(sctx)
			tpBytes = []byte(tp)
		}
		rec := Transition(tx, ts, t)
		if tp != "" {
			rec.Traceparent = tp
		}
		v, err := rec.Marshal()
		if err != nil {
			endSpans(spans, err)
			return nil, nil, err
		}
		h := make([]kafka.Header, len(pos), len(pos)+2)
		copy(h, pos)
		if t.Owner != "" {
			h = append(h, kafka.Header{Key: record.HeaderOwner, Value: []byte(t.Owner)})
		}
		if rec.Traceparent != "" {
			if tp == "" {
				tpBytes = []byte(rec.Traceparent)
			}
			h = append(h, kafka.Header{Key: record.HeaderTraceparent, Value: tpBytes})
		}
		msgs = append(msgs, &kafka.Message{Topic: topic, Partition: kafka.PartitionAny, Key: []byte(t.Key), Value: v, Headers: h})
	}
	for _, g := range tx.Event.Purges {
		sctx, span := tracer().Start(parent, SpanName, trace.WithSpanKind(trace.SpanKindProducer))
		if span.IsRecording() {
			span.SetAttributes(append(telemetry.KafkaSend(record.TopicPurges, g.Scope.String()),
				attribute.String("cachet.scope", g.Scope.String()), attribute.Int64("cachet.generation", int64(g.Generation)),
				attribute.Int64("cachet.block", int64(tx.Position.Block)), attribute.Int64("cachet.tx_index", int64(tx.Position.TxIndex)))...)
		}
		spans = append(spans, span)
		rec := Generation(tx, ts, g)
		if tp := telemetry.Traceparent(sctx); tp != "" {
			rec.Traceparent = tp
		}
		v, err := rec.Marshal()
		if err != nil {
			endSpans(spans, err)
			return nil, nil, err
		}
		h := make([]kafka.Header, len(pos), len(pos)+2)
		copy(h, pos)
		if g.Owner != "" {
			h = append(h, kafka.Header{Key: record.HeaderOwner, Value: []byte(g.Owner)})
		}
		if rec.Traceparent != "" {
			h = append(h, kafka.Header{Key: record.HeaderTraceparent, Value: []byte(rec.Traceparent)})
		}
		msgs = append(msgs, &kafka.Message{Topic: record.TopicPurges, Partition: kafka.PartitionAny,
			Key: []byte(g.Scope.String()), Value: v, Headers: h})
	}
	return msgs, spans, nil
}

// conflictMessage is the cachet.conflicts record of an invalid transaction,
// nil when it is not the contract's. It carries the submitter's
// traceparent, if its event had one, as a header.
func conflictMessage(tx gateway.Transaction) (*kafka.Message, error) {
	if tx.Refusal == nil {
		return nil, nil
	}
	rec := Conflict(tx)
	v, err := rec.Marshal()
	if err != nil {
		return nil, err
	}
	h := positionHeaders(tx)
	if rec.Traceparent != "" {
		h = append(h, kafka.Header{Key: record.HeaderTraceparent, Value: []byte(rec.Traceparent)})
	}
	return &kafka.Message{Topic: record.TopicConflicts, Partition: kafka.PartitionAny, Key: []byte(rec.Key()), Value: v, Headers: h}, nil
}

// Conflict is the record of an invalid transaction with a Refusal.
func Conflict(tx gateway.Transaction) record.Conflict {
	c := record.Conflict{
		V: record.Version, Channel: tx.Channel, Position: tx.Position, TxID: tx.TxID, Code: tx.Code.String(),
		Timestamp: tx.Refusal.Timestamp.UTC(), Keys: tx.Refusal.Keys, Creator: tx.Refusal.Creator,
	}
	if ev := tx.Refusal.Event; ev != nil {
		c.Traceparent = ev.Traceparent
	}
	return c
}

// Generation is the record of one scope purge of a committed transaction.
func Generation(tx gateway.Transaction, ts time.Time, g ledger.Generation) record.Generation {
	return record.Generation{
		V: record.Version, Channel: tx.Channel, Position: tx.Position, TxID: tx.TxID, Timestamp: ts.UTC(),
		Purge: g.Purge, Actor: tx.Event.Actor, Traceparent: tx.Event.Traceparent,
	}
}

// Transition is the record of one transition of a committed transaction.
func Transition(tx gateway.Transaction, ts time.Time, t ledger.Transition) record.Transition {
	return record.Transition{
		V: record.Version, Channel: tx.Channel, Position: tx.Position, TxID: tx.TxID, Timestamp: ts.UTC(),
		Key: t.Key, Version: t.Version, State: t.State, ETag: t.ETag, MaxAge: t.MaxAge, Tags: t.Tags,
		Owner: t.Owner, Actor: tx.Event.Actor, Reason: t.Reason, Traceparent: tx.Event.Traceparent,
	}
}

// positionHeaders are the headers every record of tx carries; their values
// may be shared, the producer copies them.
func positionHeaders(tx gateway.Transaction) []kafka.Header {
	return []kafka.Header{
		{Key: record.HeaderChannel, Value: []byte(tx.Channel)},
		{Key: record.HeaderBlock, Value: strconv.AppendUint(nil, tx.Position.Block, 10)},
		{Key: record.HeaderTxIndex, Value: strconv.AppendUint(nil, uint64(tx.Position.TxIndex), 10)},
	}
}

func endSpans(spans []trace.Span, err error) {
	for _, s := range spans {
		if err != nil {
			s.RecordError(err)
			s.SetStatus(codes.Error, err.Error())
		}
		s.End()
	}
}
