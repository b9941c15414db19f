package main

import (
	"context"
	"testing"

	"github.com/cachetsync/cachet/kafka"
	"github.com/cachetsync/cachet/kafka/embedded"
)

// testBroker starts an embedded broker with partitions partitions; it
// stops when the test ends.
func testBroker(t *testing.T, partitions int) *embedded.Broker {
	t.Helper()
	b, err := embedded.Start(context.Background(), embedded.WithPartitions(partitions))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	return b
}

// testProducer opens a producer on b; it closes when the test ends.
func testProducer(t *testing.T, b *embedded.Broker) *kafka.Producer {
	t.Helper()
	p, err := kafka.NewProducer(b.Config("test"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p
}

// produceRecord writes one record to topic (no key when key is empty) and
// waits until Kafka acknowledged it.
func produceRecord(t *testing.T, p *kafka.Producer, topic, key string, value []byte) {
	t.Helper()
	m := &kafka.Message{Topic: topic, Partition: kafka.PartitionAny, Value: value}
	if key != "" {
		m.Key = []byte(key)
	}
	done := make(chan kafka.Delivery, 1)
	if err := p.Produce(m, done); err != nil {
		t.Fatal(err)
	}
	if d := <-done; d.Err != nil {
		t.Fatal(d.Err)
	}
}
