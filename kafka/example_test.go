package kafka_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"time"

	"github.com/cachetsync/cachet/kafka"
	"github.com/cachetsync/cachet/record"
)

// A producer writes a record and waits for the broker's acknowledgement; a
// consumer reads the partition back from its start.
func Example() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cfg := kafka.Config{Brokers: "127.0.0.1:9092", ClientID: "example"}
	p, err := kafka.NewProducer(cfg)
	if err != nil {
		log.Fatal(err)
	}
	defer p.Close()
	m, err := p.Send(ctx, &kafka.Message{Topic: record.TopicAdvice, Partition: kafka.PartitionAny,
		Key: []byte("https://shop.example/cart"), Value: []byte(`{"v":1}`)})
	if err != nil {
		log.Fatal(err)
	}
	c, err := kafka.NewConsumer(cfg, "", "earliest")
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	if err := c.Assign([]kafka.TopicPartition{{Topic: m.Topic, Partition: m.Partition, Offset: kafka.OffsetBeginning}}); err != nil {
		log.Fatal(err)
	}
	for ctx.Err() == nil {
		switch ev := c.Poll(100 * time.Millisecond).(type) {
		case *kafka.Message:
			fmt.Printf("%s at offset %d\n", ev.Key, ev.Offset)
			return
		case *kafka.Error:
			if ev.Fatal {
				log.Fatal(ev)
			}
		}
	}
}

// A transactional producer that another took over from learns it from the
// *Error it gets back.
func ExampleTxProducer() {
	ctx := context.Background()
	p, err := kafka.NewTransactionalProducer(kafka.Config{Brokers: "127.0.0.1:9092"}, "cachet-relay.cachet")
	if err != nil {
		log.Fatal(err)
	}
	defer p.Close()
	if err := p.Init(ctx); err != nil {
		log.Fatal(err)
	}
	if err := p.Begin(); err != nil {
		log.Fatal(err)
	}
	if err := p.Produce(&kafka.Message{Topic: record.TopicTransitions, Partition: kafka.PartitionAny, Value: []byte(`{}`)}); err != nil {
		log.Fatal(err)
	}
	var ke *kafka.Error
	if err := p.Commit(ctx); errors.As(err, &ke) && ke.Fenced() {
		fmt.Println("another producer took over: step down")
	}
}
