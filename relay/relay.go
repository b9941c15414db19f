// Package relay turns committed ledger transitions into Kafka records: one
// record per transition on cachet.transitions, keyed by the cache key so a
// key stays on one partition, in ledger order.
//
// Delivery is at-least-once and never lossy: the relay saves a transaction's
// ledger position only after Kafka acknowledged every record of it (the
// producer is idempotent with acks=all). A crash between the two re-sends
// that transaction's records on restart; consumers drop the duplicates by
// (key, version), which versions make safe. While Kafka is unreachable the
// relay stops reading the ledger and retries with backoff, so memory stays
// bounded to one transaction.
package relay

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strconv"
	"sync/atomic"
	"time"

	ckafka "github.com/confluentinc/confluent-kafka-go/v2/kafka"

	"github.com/cachetsync/cachet/chaincode"
	"github.com/cachetsync/cachet/gateway"
	"github.com/cachetsync/cachet/record"
)

// Source delivers committed transactions from a durable position;
// *gateway.Client is one.
type Source interface {
	Follow(ctx context.Context, cfg gateway.FollowConfig, h gateway.Handler) error
}

// Config wires a relay. Zero durations take defaults.
type Config struct {
	Source       Source
	Producer     *ckafka.Producer
	Checkpointer gateway.Checkpointer
	StartBlock   uint64 // where to begin with an empty checkpoint
	Log          *slog.Logger
	// MinBackoff and MaxBackoff bound the wait between attempts to deliver
	// a transaction's records while Kafka refuses them (100ms, 10s).
	MinBackoff, MaxBackoff time.Duration
}

// Stats counts what a relay did.
type Stats struct {
	Transactions atomic.Uint64 // transactions whose records were delivered
	Records      atomic.Uint64 // transition records delivered
	Invalid      atomic.Uint64 // invalid transactions skipped
	DeadLetters  atomic.Uint64 // unreadable events sent to cachet.deadletter
	Retries      atomic.Uint64 // delivery attempts that failed and were retried
}

// Relay follows the ledger and produces its transitions.
type Relay struct {
	cfg   Config
	Stats Stats
}

// New checks cfg and returns a Relay.
func New(cfg Config) (*Relay, error) {
	switch {
	case cfg.Source == nil:
		return nil, errors.New("relay: Config.Source is required")
	case cfg.Producer == nil:
		return nil, errors.New("relay: Config.Producer is required")
	case cfg.Checkpointer == nil:
		return nil, errors.New("relay: Config.Checkpointer is required")
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.MinBackoff <= 0 {
		cfg.MinBackoff = 100 * time.Millisecond
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = 10 * time.Second
	}
	return &Relay{cfg: cfg}, nil
}

// Run relays until ctx ends or the source fails for good.
func (r *Relay) Run(ctx context.Context) error {
	return r.cfg.Source.Follow(ctx, gateway.FollowConfig{
		Checkpointer: r.cfg.Checkpointer,
		StartBlock:   r.cfg.StartBlock,
		OnReconnect: func(err error, attempt int) {
			r.cfg.Log.Warn("ledger stream lost, reconnecting", "err", err, "attempt", attempt)
		},
		OnInvalid: func(tx gateway.Transaction) {
			r.Stats.Invalid.Add(1)
			r.cfg.Log.Debug("skipped invalid transaction", "position", tx.Position.String(), "code", tx.Code.String())
		},
	}, r.handle)
}

// handle delivers one transaction's records, retrying until Kafka
// acknowledges all of them or ctx ends.
func (r *Relay) handle(ctx context.Context, tx gateway.Transaction) error {
	msgs, err := Messages(tx)
	if err != nil {
		return err
	}
	if len(msgs) == 0 {
		return nil
	}
	for attempt := 0; ; attempt++ {
		err := r.deliver(ctx, msgs)
		if err == nil {
			r.Stats.Transactions.Add(1)
			if tx.EventErr != nil {
				r.Stats.DeadLetters.Add(1)
			} else {
				r.Stats.Records.Add(uint64(len(msgs)))
			}
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		r.Stats.Retries.Add(1)
		wait := min(r.cfg.MaxBackoff, r.cfg.MinBackoff<<min(attempt, 16))
		r.cfg.Log.Warn("kafka refused records, retrying", "position", tx.Position.String(), "err", err, "wait", wait)
		select {
		case <-time.After(wait/2 + rand.N(wait/2+1)):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func (r *Relay) deliver(ctx context.Context, msgs []*ckafka.Message) error {
	reports := make(chan ckafka.Event, len(msgs))
	for _, m := range msgs {
		if err := r.cfg.Producer.Produce(m, reports); err != nil {
			return fmt.Errorf("produce: %w", err)
		}
	}
	var first error
	for range msgs {
		select {
		case ev := <-reports:
			if m, ok := ev.(*ckafka.Message); ok && m.TopicPartition.Error != nil && first == nil {
				first = m.TopicPartition.Error
			}
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return first
}

// Messages turns one committed transaction into its Kafka records: one per
// transition, or one dead letter carrying the position when the contract's
// event could not be read. Transactions without a Cachet event yield none.
func Messages(tx gateway.Transaction) ([]*ckafka.Message, error) {
	topic := record.TopicTransitions
	if tx.EventErr != nil {
		dl := record.TopicDeadLetter
		v, err := json.Marshal(map[string]any{"v": record.Version, "channel": tx.Channel, "block": tx.Position.Block,
			"txIndex": tx.Position.TxIndex, "txId": tx.TxID, "error": tx.EventErr.Error()})
		if err != nil {
			return nil, err
		}
		return []*ckafka.Message{{TopicPartition: ckafka.TopicPartition{Topic: &dl, Partition: ckafka.PartitionAny}, Key: []byte(tx.TxID), Value: v, Headers: positionHeaders(tx, "")}}, nil
	}
	if tx.Event == nil {
		return nil, nil
	}
	ts, err := time.Parse(time.RFC3339Nano, tx.Event.Timestamp)
	if err != nil {
		return nil, fmt.Errorf("relay: transaction %s at %s has timestamp %q: %w", tx.TxID, tx.Position, tx.Event.Timestamp, err)
	}
	msgs := make([]*ckafka.Message, 0, len(tx.Event.Transitions))
	for _, t := range tx.Event.Transitions {
		v, err := Transition(tx, ts, t).Marshal()
		if err != nil {
			return nil, err
		}
		msgs = append(msgs, &ckafka.Message{
			TopicPartition: ckafka.TopicPartition{Topic: &topic, Partition: ckafka.PartitionAny},
			Key:            []byte(t.Key), Value: v, Headers: positionHeaders(tx, t.Owner),
		})
	}
	return msgs, nil
}

// Transition is the record of one transition of a committed transaction.
func Transition(tx gateway.Transaction, ts time.Time, t chaincode.Transition) record.Transition {
	return record.Transition{
		V: record.Version, Channel: tx.Channel, Position: tx.Position, TxID: tx.TxID, Timestamp: ts.UTC(),
		Key: t.Key, Version: t.Version, State: t.State, ETag: t.ETag, MaxAge: t.MaxAge, Tags: t.Tags,
		Owner: t.Owner, Actor: tx.Event.Actor, Reason: t.Reason, Traceparent: tx.Event.Traceparent,
	}
}

func positionHeaders(tx gateway.Transaction, owner string) []ckafka.Header {
	h := []ckafka.Header{
		{Key: record.HeaderChannel, Value: []byte(tx.Channel)},
		{Key: record.HeaderBlock, Value: []byte(strconv.FormatUint(tx.Position.Block, 10))},
		{Key: record.HeaderTxIndex, Value: []byte(strconv.FormatUint(uint64(tx.Position.TxIndex), 10))},
	}
	if owner != "" {
		h = append(h, ckafka.Header{Key: record.HeaderOwner, Value: []byte(owner)})
	}
	if tx.Event != nil && tx.Event.Traceparent != "" {
		h = append(h, ckafka.Header{Key: record.HeaderTraceparent, Value: []byte(tx.Event.Traceparent)})
	}
	return h
}
