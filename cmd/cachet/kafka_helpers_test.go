package main

import (
	"context"
	"testing"

	ckafka "github.com/confluentinc/confluent-kafka-go/v2/kafka"

	"github.com/cachetsync/cachet/kafka"
)

// testBroker starts an embedded broker with partitions partitions; it
// stops when the test ends.
func testBroker(t *testing.T, partitions int) *kafka.Embedded {
	t.Helper()
	b, err := kafka.StartEmbedded(context.Background(), kafka.WithPartitions(partitions))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	return b
}

// testProducer opens a producer on b; it closes when the test ends.
func testProducer(t *testing.T, b *kafka.Embedded) *ckafka.Producer {
	t.Helper()
	p, err := kafka.NewProducer(b.Config("test"), "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p
}

// produceRecord writes one record to topic (no key when key is empty) and
// waits until Kafka acknowledged it.
func produceRecord(t *testing.T, p *ckafka.Producer, topic, key string, value []byte) {
	t.Helper()
	m := &ckafka.Message{TopicPartition: ckafka.TopicPartition{Topic: &topic, Partition: ckafka.PartitionAny}, Value: value}
	if key != "" {
		m.Key = []byte(key)
	}
	done := make(chan ckafka.Event, 1)
	if err := p.Produce(m, done); err != nil {
		t.Fatal(err)
	}
	if m := (<-done).(*ckafka.Message); m.TopicPartition.Error != nil {
		t.Fatal(m.TopicPartition.Error)
	}
}
