// Command advice writes record.Advice records (JSON lines on stdin, "v"
// optional) to cachet.advice keyed by cache key, waits for the broker's
// acknowledgement and prints "ok <partition> <offset>" per line, as
// analytics would publish them. The SDK's browser tests use it to send
// advice frames through a real push server.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"

	"github.com/cachetsync/cachet/kafka"
	"github.com/cachetsync/cachet/record"
)

func main() {
	brokers := flag.String("brokers", os.Getenv("CACHET_BROKERS"), "Kafka bootstrap servers")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, *brokers); err != nil {
		fmt.Fprintln(os.Stderr, "advice:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, brokers string) error {
	p, err := kafka.NewProducer(kafka.Config{Brokers: brokers, ClientID: "cachet-e2e-advice"})
	if err != nil {
		return err
	}
	defer p.Close()
	topic := record.TopicAdvice
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		var a record.Advice
		if err := json.Unmarshal(in.Bytes(), &a); err != nil {
			return err
		}
		a.V = record.Version
		v, err := a.Marshal()
		if err != nil {
			return err
		}
		done := make(chan kafka.Delivery, 1)
		msg := &kafka.Message{Topic: topic, Partition: kafka.PartitionAny, Key: []byte(a.Key), Value: v}
		if err := p.Produce(msg, done); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case d := <-done:
			if d.Err != nil {
				return fmt.Errorf("not acknowledged: %w", d.Err)
			}
			fmt.Printf("ok %d %d\n", d.Message.Partition, d.Message.Offset)
		}
	}
	return in.Err()
}
