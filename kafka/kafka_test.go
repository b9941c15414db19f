package kafka_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/cachetsync/cachet/kafka"
	"github.com/cachetsync/cachet/kafka/embedded"
	"github.com/cachetsync/cachet/record"
)

func startBroker(t *testing.T, opts ...embedded.Option) *embedded.Broker {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	b, err := embedded.Start(ctx, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	return b
}

// consumeAll reads partition 0 of topic from the start until want values
// arrived or the deadline passed, returning what it read.
func consumeAll(t *testing.T, cfg kafka.Config, topic string, want int, quiet time.Duration) []string {
	t.Helper()
	c, err := kafka.NewConsumer(cfg, "", "earliest")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Assign([]kafka.TopicPartition{{Topic: topic, Partition: 0, Offset: kafka.OffsetBeginning}}); err != nil {
		t.Fatal(err)
	}
	var got []string
	deadline := time.Now().Add(time.Minute)
	lastNew := time.Now()
	for time.Now().Before(deadline) {
		if len(got) >= want && time.Since(lastNew) > quiet {
			break
		}
		switch ev := c.Poll(100 * time.Millisecond).(type) {
		case *kafka.Message:
			got = append(got, string(ev.Value))
		case *kafka.Error:
			t.Fatal(ev)
		default:
			continue
		}
		lastNew = time.Now()
	}
	return got
}

func TestRoundTripReadCommitted(t *testing.T) {
	b := startBroker(t, embedded.WithTopics(kafka.TopicSpec{Name: "rt", Partitions: 1, ReplicationFactor: 1}))
	cfg := b.Config("test")
	p, err := kafka.NewProducer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	topic := "rt"
	delivered := make(chan kafka.Delivery, 10)
	for i := range 10 {
		tr, err := record.Transition{TxID: fmt.Sprint("tx", i), Key: "https://shop.example/a", Version: uint64(i + 1),
			State: record.StateInvalidated, Owner: "Org1MSP", Actor: "Org1MSP"}.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		if err := p.Produce(&kafka.Message{Topic: topic, Partition: 0, Value: tr}, delivered); err != nil {
			t.Fatal(err)
		}
	}
	for range 10 {
		if d := <-delivered; d.Err != nil {
			t.Fatal(d.Err)
		}
	}
	got := consumeAll(t, cfg, topic, 10, 0)
	if len(got) != 10 {
		t.Fatalf("read %d records, want 10", len(got))
	}
	for i, v := range got {
		tr, err := record.DecodeTransition([]byte(v))
		if err != nil {
			t.Fatal(err)
		}
		if tr.Version != uint64(i+1) {
			t.Fatalf("record %d has version %d: order lost", i, tr.Version)
		}
	}
}

func TestAbortedTransactionHidden(t *testing.T) {
	b := startBroker(t, embedded.WithTopics(kafka.TopicSpec{Name: "txn", Partitions: 1, ReplicationFactor: 1}))
	cfg := b.Config("test")
	p, err := kafka.NewTransactionalProducer(cfg, "cachet-test-txn")
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := p.Init(ctx); err != nil {
		t.Fatal(err)
	}
	topic := "txn"
	batch := func(prefix string, commit bool) {
		if err := p.Begin(); err != nil {
			t.Fatal(err)
		}
		for i := range 3 {
			v := fmt.Sprintf("%s-%d", prefix, i)
			if err := p.Produce(&kafka.Message{Topic: topic, Partition: 0, Value: []byte(v)}); err != nil {
				t.Fatal(err)
			}
		}
		// Every record reaches the broker before the outcome is decided,
		// so hiding the aborted ones is the consumer's doing.
		if n := p.Flush(30 * time.Second); n != 0 {
			t.Fatalf("%d records not delivered", n)
		}
		if commit {
			err = p.Commit(ctx)
		} else {
			err = p.Abort(ctx)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	batch("committed1", true)
	batch("aborted", false)
	batch("committed2", true)
	got := consumeAll(t, cfg, topic, 6, 2*time.Second)
	want := []string{"committed1-0", "committed1-1", "committed1-2", "committed2-0", "committed2-1", "committed2-2"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("read %v, want %v", got, want)
	}
	// The aborted records are on the log: read_uncommitted sees them.
	cfg.Extra = kafka.ConfigMap{"isolation.level": "read_uncommitted"}
	if all := consumeAll(t, cfg, topic, 9, 2*time.Second); len(all) != 9 {
		t.Fatalf("read_uncommitted read %d records, want 9: %v", len(all), all)
	}
}

func TestEnsureTopicsAndDescribe(t *testing.T) {
	b := startBroker(t, embedded.WithPartitions(4))
	cfg := b.Config("test")
	ctx := context.Background()
	info, err := kafka.DescribeTopic(ctx, cfg, record.TopicTransitions)
	if err != nil {
		t.Fatal(err)
	}
	if info.Partitions != 4 || info.ID == "" {
		t.Fatalf("described %+v, want 4 partitions and an ID", info)
	}
	// Same spec again: nothing to do.
	if err := kafka.EnsureTopics(ctx, cfg, kafka.CachetTopics(4, 1)); err != nil {
		t.Fatal(err)
	}
	err = kafka.EnsureTopics(ctx, cfg, []kafka.TopicSpec{{Name: record.TopicTransitions, Partitions: 3, ReplicationFactor: 1}})
	var pm *kafka.PartitionMismatchError
	if !errors.As(err, &pm) || pm.Got != 4 || pm.Want != 3 {
		t.Fatalf("err = %v, want PartitionMismatchError 4 vs 3", err)
	}
	_, err = kafka.DescribeTopic(ctx, cfg, "no.such.topic")
	var te *kafka.TopicError
	if !errors.As(err, &te) || te.Topic != "no.such.topic" {
		t.Fatalf("err = %v, want TopicError for no.such.topic", err)
	}
}

func TestConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		name  string
		build func() error
		field string
	}{
		{"no brokers", func() error { _, err := kafka.Config{}.ProducerConfig(""); return err }, "brokers"},
		{"empty broker entry", func() error { _, err := kafka.Config{Brokers: "a:1,,b:2"}.AdminConfig(); return err }, "brokers"},
		{"bad offset reset", func() error {
			_, err := kafka.Config{Brokers: "a:1"}.ConsumerConfig("g", "middle")
			return err
		}, "auto.offset.reset"},
		{"zero partitions", func() error {
			return kafka.EnsureTopics(context.Background(), kafka.Config{Brokers: "a:1"}, []kafka.TopicSpec{{Name: "x", ReplicationFactor: 1}})
		}, "topic x"},
		{"bad port", func() error { _, err := embedded.Start(context.Background(), embedded.WithPort(70000)); return err }, "port"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var ce *kafka.ConfigError
			if err := tc.build(); !errors.As(err, &ce) || ce.Field != tc.field {
				t.Fatalf("err = %v, want ConfigError on %s", err, tc.field)
			}
		})
	}
}

func TestConfigGuarantees(t *testing.T) {
	cfg := kafka.Config{Brokers: "127.0.0.1:1", ClientID: "c", Extra: kafka.ConfigMap{"linger.ms": 1}}
	p, err := cfg.ProducerConfig("tx")
	if err != nil {
		t.Fatal(err)
	}
	c, err := cfg.ConsumerConfig("", "")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		m    kafka.ConfigMap
		key  string
		want any
	}{
		{p, "enable.idempotence", true}, {p, "acks", "all"}, {p, "transactional.id", "tx"}, {p, "linger.ms", 1},
		{c, "isolation.level", "read_committed"}, {c, "enable.auto.commit", false}, {c, "group.id", "c-assign"},
		{c, "auto.offset.reset", "earliest"},
	} {
		if got := tc.m[tc.key]; got != tc.want {
			t.Errorf("%s = %v, want %v", tc.key, got, tc.want)
		}
	}
}

// TestErrorsAreTyped: a failed delivery and a broker's refusal reach the
// caller as *kafka.Error, through errors.As, with the code to act on.
func TestErrorsAreTyped(t *testing.T) {
	b := startBroker(t, embedded.WithTopics(kafka.TopicSpec{Name: "typed", Partitions: 1, ReplicationFactor: 1}))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	p, err := kafka.NewProducer(b.Config("test"))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	_, err = p.Send(ctx, &kafka.Message{Topic: "typed", Partition: 7, Value: []byte("no such partition")})
	var ke *kafka.Error
	if !errors.As(err, &ke) || ke.Code == 0 {
		t.Fatalf("send to partition 7 of 1: err = %v, want a *kafka.Error with a code", err)
	}
	t.Logf("send: code %v: %v", ke.Code, err)
	_, err = kafka.DescribeTopic(ctx, b.Config("test"), "no.such.topic")
	var te *kafka.TopicError
	if !errors.As(err, &te) || !errors.As(err, &ke) || ke.Code != kafka.CodeUnknownTopicOrPart {
		t.Fatalf("describe: err = %v, want a TopicError wrapping a *kafka.Error %v", err, kafka.CodeUnknownTopicOrPart)
	}
}
