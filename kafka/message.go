package kafka

import (
	"time"

	ckafka "github.com/confluentinc/confluent-kafka-go/v2/kafka"
)

// PartitionAny lets the producer pick the partition (by the key's hash).
const PartitionAny = int32(ckafka.PartitionAny)

// Logical offsets a consumer can be assigned at.
const (
	// OffsetBeginning is the partition's first record still kept.
	OffsetBeginning = int64(ckafka.OffsetBeginning)
	// OffsetEnd is the offset the next record written will get.
	OffsetEnd = int64(ckafka.OffsetEnd)
)

// Header is one record header.
type Header struct {
	Key   string
	Value []byte
}

// Message is one Kafka record: what a producer writes (Topic, Partition,
// Key, Value, Headers) and what a consumer reads (with its Offset and
// Timestamp).
type Message struct {
	Topic     string
	Partition int32
	Offset    int64
	Key       []byte
	Value     []byte
	Headers   []Header
	Timestamp time.Time
}

// Header returns the value of the first header named key, or nil.
func (m *Message) Header(key string) []byte {
	for _, h := range m.Headers {
		if h.Key == key {
			return h.Value
		}
	}
	return nil
}

func (*Message) kafkaEvent() {}

// TopicPartition names a partition and, where it matters, an offset in it.
type TopicPartition struct {
	Topic     string
	Partition int32
	Offset    int64
}

// toClient converts m for the client; opaque rides along to the delivery
// report.
func (m *Message) toClient(opaque any) *ckafka.Message {
	topic := m.Topic
	cm := &ckafka.Message{TopicPartition: ckafka.TopicPartition{Topic: &topic, Partition: m.Partition},
		Key: m.Key, Value: m.Value, Timestamp: m.Timestamp, Opaque: opaque}
	if len(m.Headers) > 0 {
		cm.Headers = make([]ckafka.Header, len(m.Headers))
		for i, h := range m.Headers {
			cm.Headers[i] = ckafka.Header(h)
		}
	}
	return cm
}

func fromClient(cm *ckafka.Message) *Message {
	m := &Message{Partition: cm.TopicPartition.Partition, Offset: int64(cm.TopicPartition.Offset),
		Key: cm.Key, Value: cm.Value, Timestamp: cm.Timestamp}
	if cm.TopicPartition.Topic != nil {
		m.Topic = *cm.TopicPartition.Topic
	}
	if len(cm.Headers) > 0 {
		m.Headers = make([]Header, len(cm.Headers))
		for i, h := range cm.Headers {
			m.Headers[i] = Header(h)
		}
	}
	return m
}

func toClientPartitions(tps []TopicPartition) []ckafka.TopicPartition {
	out := make([]ckafka.TopicPartition, len(tps))
	for i, tp := range tps {
		topic := tp.Topic
		out[i] = ckafka.TopicPartition{Topic: &topic, Partition: tp.Partition, Offset: ckafka.Offset(tp.Offset)}
	}
	return out
}

func fromClientPartitions(tps []ckafka.TopicPartition) []TopicPartition {
	out := make([]TopicPartition, len(tps))
	for i, tp := range tps {
		out[i] = TopicPartition{Partition: tp.Partition, Offset: int64(tp.Offset)}
		if tp.Topic != nil {
			out[i].Topic = *tp.Topic
		}
	}
	return out
}
