package daemon

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/cachetsync/cachet/kafka"
	"github.com/cachetsync/cachet/record"
)

// RunKafka runs the daemon on cfg's brokers until ctx ends: group's members
// share cachet.transitions, cachet.conflicts and cachet.reads, and advice
// goes to cachet.advice.
func (d *Daemon) RunKafka(ctx context.Context, cfg kafka.Config, group string) error {
	c, err := NewKafkaConsumer(cfg, group)
	if err != nil {
		return err
	}
	defer c.Close()
	p, err := NewKafkaProducer(cfg, d.cfg.Log)
	if err != nil {
		return err
	}
	defer p.Close()
	return d.Run(ctx, c, p)
}

// KafkaConsumer is a Consumer of cachet.transitions, cachet.conflicts and
// cachet.reads in a consumer group, from the earliest records when the group has no offsets.
type KafkaConsumer struct{ c *kafka.Consumer }

// NewKafkaConsumer joins group on cfg's brokers.
func NewKafkaConsumer(cfg kafka.Config, group string) (*KafkaConsumer, error) {
	c, err := kafka.NewConsumer(cfg, group, "earliest")
	if err != nil {
		return nil, fmt.Errorf("kafka consumer: %w", err)
	}
	if err := c.Subscribe([]string{record.TopicTransitions, record.TopicConflicts, record.TopicReads}, nil); err != nil {
		c.Close()
		return nil, fmt.Errorf("subscribe: %w", err)
	}
	return &KafkaConsumer{c: c}, nil
}

// Poll implements Consumer; only a fatal client error is returned.
func (k *KafkaConsumer) Poll(ctx context.Context) (Message, bool, error) {
	if err := ctx.Err(); err != nil {
		return Message{}, false, err
	}
	switch ev := k.c.Poll(100 * time.Millisecond).(type) {
	case *kafka.Message:
		return Message{Topic: ev.Topic, Value: ev.Value}, true, nil
	case *kafka.Error:
		if ev.Fatal {
			return Message{}, false, ev
		}
	}
	return Message{}, false, nil
}

// Close leaves the group.
func (k *KafkaConsumer) Close() error { return k.c.Close() }

// KafkaProducer is a Producer to cachet.advice; advice it could not
// deliver is logged and dropped (the next change publishes it again).
type KafkaProducer struct {
	p   *kafka.Producer
	log *slog.Logger
}

// NewKafkaProducer builds an idempotent producer on cfg's brokers.
func NewKafkaProducer(cfg kafka.Config, log *slog.Logger) (*KafkaProducer, error) {
	if log == nil {
		log = slog.Default()
	}
	p, err := kafka.NewProducer(cfg)
	if err != nil {
		return nil, fmt.Errorf("kafka producer: %w", err)
	}
	return &KafkaProducer{p: p, log: log}, nil
}

// Produce implements Producer.
func (k *KafkaProducer) Produce(ctx context.Context, key string, value []byte) error {
	done := make(chan kafka.Delivery, 1)
	err := k.p.Produce(&kafka.Message{Topic: record.TopicAdvice, Partition: kafka.PartitionAny, Key: []byte(key), Value: value}, done)
	if err != nil {
		return err
	}
	go func() {
		if d := <-done; d.Err != nil {
			k.log.Warn("advice not delivered", "key", key, "err", d.Err)
		}
	}()
	return nil
}

// Flush implements Producer.
func (k *KafkaProducer) Flush(ctx context.Context) error {
	for k.p.Flush(100*time.Millisecond) > 0 {
		if err := ctx.Err(); err != nil {
			return err
		}
	}
	return nil
}

// Close releases the producer.
func (k *KafkaProducer) Close() { k.p.Close() }

// ReadAdvice reads cachet.advice from the start, in a consumer group of its
// own, until wait passes without a record written before the read began, or
// ctx ends. It returns each key's latest advice and how many records could
// not be decoded.
func ReadAdvice(ctx context.Context, cfg kafka.Config, wait time.Duration) (latest map[string]record.Advice, bad int, err error) {
	c, err := kafka.NewConsumer(cfg, fmt.Sprintf("cachet-top-%d", time.Now().UnixNano()), "earliest")
	if err != nil {
		return nil, 0, fmt.Errorf("kafka consumer: %w", err)
	}
	defer c.Close()
	if err := c.Subscribe([]string{record.TopicAdvice}, nil); err != nil {
		return nil, 0, fmt.Errorf("subscribe: %w", err)
	}
	latest = map[string]record.Advice{}
	// Only records written before the read began keep it going: a running
	// analytics daemon publishes advice every round, so waiting for the
	// topic to fall quiet would never end.
	start := time.Now()
	last := start
	for time.Since(last) < wait && ctx.Err() == nil {
		m, ok := c.Poll(100 * time.Millisecond).(*kafka.Message)
		if !ok {
			continue
		}
		if m.Timestamp.Before(start) {
			last = time.Now()
		}
		a, err := record.DecodeAdvice(m.Value)
		if err != nil {
			bad++
			continue
		}
		if prev, ok := latest[a.Key]; !ok || !a.At.Before(prev.At) {
			latest[a.Key] = a
		}
	}
	return latest, bad, nil
}
