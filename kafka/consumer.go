package kafka

import (
	"time"

	ckafka "github.com/confluentinc/confluent-kafka-go/v2/kafka"
)

// Event is what Consumer.Poll returns: a *Message, a PartitionEOF, an
// *Error, or (to a rebalance callback) AssignedPartitions and
// RevokedPartitions.
type Event interface{ kafkaEvent() }

// PartitionEOF reports that the consumer reached the end of a partition
// (with the enable.partition.eof property only).
type PartitionEOF TopicPartition

func (PartitionEOF) kafkaEvent() {}

// AssignedPartitions is a consumer group handing partitions to this member.
type AssignedPartitions struct{ Partitions []TopicPartition }

func (AssignedPartitions) kafkaEvent() {}

// RevokedPartitions is a consumer group taking partitions away.
type RevokedPartitions struct{ Partitions []TopicPartition }

func (RevokedPartitions) kafkaEvent() {}

// Consumer reads only committed records (read_committed) and never commits
// offsets itself: a consumer of Cachet resumes from positions it keeps.
type Consumer struct{ c *ckafka.Consumer }

// NewConsumer builds a consumer from cfg's ConsumerConfig(group, offsetReset).
func NewConsumer(cfg Config, group, offsetReset string) (*Consumer, error) {
	m, err := cfg.ConsumerConfig(group, offsetReset)
	if err != nil {
		return nil, err
	}
	c, err := ckafka.NewConsumer(m.client())
	if err != nil {
		return nil, &ClientError{Kind: "consumer", Err: wrap(err)}
	}
	return &Consumer{c: c}, nil
}

// Assign reads exactly these partitions, from their offsets.
func (c *Consumer) Assign(tps []TopicPartition) error {
	return wrap(c.c.Assign(toClientPartitions(tps)))
}

// Subscribe joins the consumer group on topics. rebalance, if not nil, is
// called from Poll with AssignedPartitions and RevokedPartitions events,
// before the assignment changes.
func (c *Consumer) Subscribe(topics []string, rebalance func(Event)) error {
	var cb ckafka.RebalanceCb
	if rebalance != nil {
		cb = func(_ *ckafka.Consumer, ev ckafka.Event) error {
			if e := event(ev); e != nil {
				rebalance(e)
			}
			return nil
		}
	}
	return wrap(c.c.SubscribeTopics(topics, cb))
}

// AssignmentLost reports, during a rebalance, whether the partitions were
// lost (the session timed out) rather than handed over.
func (c *Consumer) AssignmentLost() bool { return c.c.AssignmentLost() }

// Poll waits up to timeout for the next event; nil when none came.
func (c *Consumer) Poll(timeout time.Duration) Event {
	return event(c.c.Poll(int(timeout.Milliseconds())))
}

func event(ev ckafka.Event) Event {
	switch e := ev.(type) {
	case *ckafka.Message:
		if err := e.TopicPartition.Error; err != nil {
			ke, ok := err.(ckafka.Error)
			if !ok {
				ke = ckafka.NewError(ckafka.ErrUnknown, err.Error(), false)
			}
			return newError(ke)
		}
		return fromClient(e)
	case ckafka.PartitionEOF:
		tp := fromClientPartitions([]ckafka.TopicPartition{ckafka.TopicPartition(e)})[0]
		return PartitionEOF(tp)
	case ckafka.Error:
		return newError(e)
	case ckafka.AssignedPartitions:
		return AssignedPartitions{Partitions: fromClientPartitions(e.Partitions)}
	case ckafka.RevokedPartitions:
		return RevokedPartitions{Partitions: fromClientPartitions(e.Partitions)}
	}
	return nil
}

// QueryWatermarkOffsets asks the partition's leader for its low and high
// watermarks (the first offset kept, the next offset to be written; for a
// read_committed consumer the last stable offset).
func (c *Consumer) QueryWatermarkOffsets(topic string, partition int32, timeout time.Duration) (low, high int64, err error) {
	low, high, err = c.c.QueryWatermarkOffsets(topic, partition, int(timeout.Milliseconds()))
	return low, high, wrap(err)
}

// GetWatermarkOffsets returns the watermarks last seen in fetch answers,
// without asking the broker.
func (c *Consumer) GetWatermarkOffsets(topic string, partition int32) (low, high int64, err error) {
	low, high, err = c.c.GetWatermarkOffsets(topic, partition)
	return low, high, wrap(err)
}

// Close leaves the group, if any, and releases the consumer.
func (c *Consumer) Close() error { return wrap(c.c.Close()) }
