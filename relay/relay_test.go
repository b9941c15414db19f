package relay_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	ckafka "github.com/confluentinc/confluent-kafka-go/v2/kafka"

	"github.com/cachetsync/cachet/chaincode"
	"github.com/cachetsync/cachet/gateway"
	"github.com/cachetsync/cachet/kafka"
	"github.com/cachetsync/cachet/record"
	"github.com/cachetsync/cachet/relay"
)

const tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

func tx(block uint64, idx uint32, keys ...string) gateway.Transaction {
	ev := &chaincode.Event{TxID: fmt.Sprintf("tx-%d-%d", block, idx), Timestamp: "2026-11-25T06:41:00.5Z", Actor: "Org2MSP", Traceparent: tp}
	for i, k := range keys {
		ev.Transitions = append(ev.Transitions, chaincode.Transition{Op: chaincode.OpInvalidate, Key: k, Version: uint64(i + 2),
			State: record.StateInvalidated, Owner: "Org1MSP", Reason: "r", Tags: []string{"t"}})
	}
	return gateway.Transaction{Position: record.Position{Block: block, TxIndex: idx}, TxID: ev.TxID, Channel: "cachet", Valid: true, Event: ev}
}

func header(m *ckafka.Message, k string) string {
	for _, h := range m.Headers {
		if h.Key == k {
			return string(h.Value)
		}
	}
	return ""
}

func TestMessages(t *testing.T) {
	msgs, err := relay.Messages(tx(42, 3, "img:a", "img:b"))
	if err != nil || len(msgs) != 2 {
		t.Fatalf("%d messages, %v", len(msgs), err)
	}
	m := msgs[1]
	if string(m.Key) != "img:b" || *m.TopicPartition.Topic != record.TopicTransitions {
		t.Fatalf("record key %q topic %s", m.Key, *m.TopicPartition.Topic)
	}
	got, err := record.DecodeTransition(m.Value)
	if err != nil {
		t.Fatal(err)
	}
	if got.Position != (record.Position{Block: 42, TxIndex: 3}) || got.Version != 3 || got.Actor != "Org2MSP" || got.Owner != "Org1MSP" ||
		got.Traceparent != tp || !got.Timestamp.Equal(time.Date(2026, 11, 25, 6, 41, 0, 5e8, time.UTC)) {
		t.Fatalf("record %+v", got)
	}
	for k, want := range map[string]string{record.HeaderBlock: "42", record.HeaderTxIndex: "3", record.HeaderChannel: "cachet",
		record.HeaderOwner: "Org1MSP", record.HeaderTraceparent: tp} {
		if header(m, k) != want {
			t.Errorf("header %s = %q, want %q", k, header(m, k), want)
		}
	}
}

func TestMessagesDeadLetterAndNoEvent(t *testing.T) {
	bad := gateway.Transaction{Position: record.Position{Block: 7, TxIndex: 1}, TxID: "t7", Channel: "cachet", Valid: true, EventErr: errors.New("payload does not parse")}
	msgs, err := relay.Messages(bad)
	if err != nil || len(msgs) != 1 || *msgs[0].TopicPartition.Topic != record.TopicDeadLetter ||
		!strings.Contains(string(msgs[0].Value), `"block":7`) || !strings.Contains(string(msgs[0].Value), "does not parse") {
		t.Fatalf("dead letter: %v %v", msgs, err)
	}
	if msgs, err := relay.Messages(gateway.Transaction{Valid: true}); err != nil || len(msgs) != 0 {
		t.Fatalf("a transaction without a Cachet event must yield nothing: %v %v", msgs, err)
	}
	broken := tx(1, 0, "img:a")
	broken.Event.Timestamp = "yesterday"
	if _, err := relay.Messages(broken); err == nil {
		t.Fatal("an unreadable timestamp must be an error, not a zero time")
	}
}

// scripted replays transactions like gateway.Follow: from the checkpoint,
// saving each position after the handler succeeds.
type scripted struct{ txs []gateway.Transaction }

func (s scripted) Follow(ctx context.Context, cfg gateway.FollowConfig, h gateway.Handler) error {
	last, have := cfg.Checkpointer.Last()
	for _, tx := range s.txs {
		if have && !last.Less(tx.Position) {
			continue
		}
		if err := h(ctx, tx); err != nil {
			return err
		}
		if err := cfg.Checkpointer.Save(tx.Position); err != nil {
			return err
		}
	}
	<-ctx.Done()
	return ctx.Err()
}

func TestRelayDeliversBeforeCheckpointing(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	broker, err := kafka.StartEmbedded(ctx, kafka.WithPartitions(3))
	if err != nil {
		t.Fatal(err)
	}
	defer broker.Close()
	prod, err := kafka.NewProducer(broker.Config("relay-test"), "")
	if err != nil {
		t.Fatal(err)
	}
	defer prod.Close()
	src := scripted{txs: []gateway.Transaction{tx(5, 0, "img:a", "img:b"), tx(5, 1, "img:c"), tx(6, 0, "img:d")}}
	cp := &gateway.MemoryCheckpointer{}
	r, err := relay.New(relay.Config{Source: src, Producer: prod, Checkpointer: cp})
	if err != nil {
		t.Fatal(err)
	}
	rctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- r.Run(rctx) }()

	keys := consume(t, ctx, broker, 4)
	stop()
	<-done
	if fmt.Sprint(keys) != "map[img:a:1 img:b:1 img:c:1 img:d:1]" {
		t.Fatalf("records by key: %v", keys)
	}
	if pos, _ := cp.Last(); pos != (record.Position{Block: 6, TxIndex: 0}) || r.Stats.Records.Load() != 4 {
		t.Fatalf("checkpoint %v, %d records", pos, r.Stats.Records.Load())
	}
}

// consume reads n committed transition records and counts them by key.
func consume(t *testing.T, ctx context.Context, broker *kafka.Embedded, n int) map[string]int {
	t.Helper()
	c, err := kafka.NewConsumer(broker.Config("relay-check"), "relay-check", "earliest")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.SubscribeTopics([]string{record.TopicTransitions}, nil); err != nil {
		t.Fatal(err)
	}
	keys := map[string]int{}
	for total := 0; total < n; {
		if ctx.Err() != nil {
			t.Fatalf("read %d of %d records", total, n)
		}
		if m, ok := c.Poll(100).(*ckafka.Message); ok {
			keys[string(m.Key)]++
			total++
		}
	}
	return keys
}
