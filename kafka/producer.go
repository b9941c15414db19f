package kafka

import (
	"context"
	"errors"
	"time"

	ckafka "github.com/confluentinc/confluent-kafka-go/v2/kafka"
)

// Delivery is a producer's report on one message: written (Err nil, the
// Message with its partition and offset) or given up.
type Delivery struct {
	Message *Message
	Err     error
}

// ProducerOption configures NewProducer and NewTransactionalProducer.
type ProducerOption func(*producerOptions)

type producerOptions struct{ onError func(error) }

// WithErrorHandler has f called with the client's error events (brokers
// down, a connection refused); the client retries those itself. Without
// it they are dropped.
func WithErrorHandler(f func(error)) ProducerOption {
	return func(o *producerOptions) { o.onError = f }
}

// client is what both producers share: the librdkafka handle and the
// goroutine that routes its events.
type client struct {
	p    *ckafka.Producer
	done chan struct{}
}

func newClient(m ConfigMap, opts []ProducerOption) (*client, error) {
	var o producerOptions
	for _, opt := range opts {
		opt(&o)
	}
	p, err := ckafka.NewProducer(m.client())
	if err != nil {
		return nil, &ClientError{Kind: "producer", Err: wrap(err)}
	}
	c := &client{p: p, done: make(chan struct{})}
	go c.events(o.onError)
	return c, nil
}

// events routes delivery reports to the channel given to Produce and
// error events to onError, until the producer is closed.
func (c *client) events(onError func(error)) {
	defer close(c.done)
	for ev := range c.p.Events() {
		switch e := ev.(type) {
		case *ckafka.Message:
			if ch, ok := e.Opaque.(chan<- Delivery); ok && ch != nil {
				ch <- Delivery{Message: fromClient(e), Err: wrap(e.TopicPartition.Error)}
			}
		case ckafka.Error:
			if onError != nil {
				onError(newError(e))
			}
		}
	}
}

func (c *client) produce(m *Message, done chan<- Delivery) error {
	var opaque any
	if done != nil {
		opaque = done
	}
	return wrap(c.p.Produce(m.toClient(opaque), nil))
}

// Producer is an idempotent producer (acks=all, no duplicates on retry)
// with delivery reports.
type Producer struct{ c *client }

// NewProducer builds a producer from cfg's ProducerConfig.
func NewProducer(cfg Config, opts ...ProducerOption) (*Producer, error) {
	m, err := cfg.ProducerConfig("")
	if err != nil {
		return nil, err
	}
	c, err := newClient(m, opts)
	if err != nil {
		return nil, err
	}
	return &Producer{c: c}, nil
}

// Produce queues m. Its delivery report goes to done when done is not nil
// (the producer blocks on a full done, so size it); an error here means m
// was not queued (a full queue: *Error with CodeQueueFull).
func (p *Producer) Produce(m *Message, done chan<- Delivery) error { return p.c.produce(m, done) }

// Send produces m and waits for its delivery report or ctx's end.
func (p *Producer) Send(ctx context.Context, m *Message) (*Message, error) {
	done := make(chan Delivery, 1)
	if err := p.Produce(m, done); err != nil {
		return nil, err
	}
	select {
	case d := <-done:
		return d.Message, d.Err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Flush waits up to timeout for the queued messages' delivery and returns
// how many are still waiting.
func (p *Producer) Flush(timeout time.Duration) int { return p.c.p.Flush(int(timeout.Milliseconds())) }

// Close drops what is still queued and releases the producer; Flush first
// to wait for it.
func (p *Producer) Close() {
	p.c.p.Close()
	<-p.c.done
}

// TxProducer is a transactional producer: what it writes between Begin
// and Commit becomes visible to read_committed consumers at once or not
// at all. Producers sharing a transactional.id fence each other: the one
// that called Init last wins, the others' calls fail with an *Error whose
// Fenced is true.
type TxProducer struct{ c *client }

// NewTransactionalProducer builds a transactional producer from cfg's
// ProducerConfig(transactionalID); call Init before the first Begin.
func NewTransactionalProducer(cfg Config, transactionalID string, opts ...ProducerOption) (*TxProducer, error) {
	if transactionalID == "" {
		return nil, &ConfigError{Field: "transactional.id", Reason: "empty"}
	}
	m, err := cfg.ProducerConfig(transactionalID)
	if err != nil {
		return nil, err
	}
	c, err := newClient(m, opts)
	if err != nil {
		return nil, err
	}
	return &TxProducer{c: c}, nil
}

// Init registers the transactional.id with the brokers, fencing earlier
// producers with it and settling any transaction they left open.
func (p *TxProducer) Init(ctx context.Context) error { return p.fatal(p.c.p.InitTransactions(ctx)) }

// Begin starts a transaction.
func (p *TxProducer) Begin() error { return p.fatal(p.c.p.BeginTransaction()) }

// Produce queues m in the open transaction; failed deliveries surface
// through Commit.
func (p *TxProducer) Produce(m *Message) error { return p.fatal(p.c.produce(m, nil)) }

// Commit flushes and commits the open transaction.
func (p *TxProducer) Commit(ctx context.Context) error {
	return p.fatal(p.c.p.CommitTransaction(ctx))
}

// Flush waits up to timeout for the queued messages to reach the brokers
// (still uncommitted) and returns how many are still waiting.
func (p *TxProducer) Flush(timeout time.Duration) int {
	return p.c.p.Flush(int(timeout.Milliseconds()))
}

// Abort aborts the open transaction.
func (p *TxProducer) Abort(ctx context.Context) error { return p.fatal(p.c.p.AbortTransaction(ctx)) }

// Close drops what is queued or in flight, without waiting, and releases
// the producer.
func (p *TxProducer) Close() {
	p.c.p.Purge(ckafka.PurgeQueue | ckafka.PurgeInFlight | ckafka.PurgeNonBlocking)
	p.c.p.Close()
	<-p.c.done
}

// fatal wraps err; a producer's "fatal error" is replaced by its cause, so
// fencing is recognized.
func (p *TxProducer) fatal(err error) error {
	var ke ckafka.Error
	if errors.As(err, &ke) && (ke.IsFatal() || ke.Code() == ckafka.ErrFatal) {
		if fe := p.c.p.GetFatalError(); fe != nil {
			err = fe
		}
	}
	return wrap(err)
}
