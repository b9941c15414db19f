package advice_test

import (
	"context"
	"testing"
	"time"

	"github.com/cachetsync/cachet/advice"
	"github.com/cachetsync/cachet/kafka"
	"github.com/cachetsync/cachet/kafka/embedded"
	"github.com/cachetsync/cachet/record"
)

// TestFollowReadsTheAdviceTopic writes advice, before and while Follow
// runs, and a record that does not decode: the table ends with each key's
// newest advice and the bad record counted.
func TestFollowReadsTheAdviceTopic(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	b, err := embedded.Start(ctx, embedded.WithPartitions(2))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	p, err := kafka.NewProducer(b.Config("advice-test"))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	send := func(key string, value []byte) {
		t.Helper()
		if _, err := p.Send(ctx, &kafka.Message{Topic: record.TopicAdvice, Partition: kafka.PartitionAny, Key: []byte(key), Value: value}); err != nil {
			t.Fatal(err)
		}
	}
	write := func(a record.Advice) {
		t.Helper()
		v, err := a.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		send(a.Key, v)
	}
	const hot, cold = "https://shop.example/hot", "https://shop.example/cold"
	write(adv(hot, 1, record.ActionNone))
	send(hot, []byte(`{"v":1,"key":`))

	tb := advice.NewTable()
	fctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- tb.Follow(fctx, b.Config("advice-follow")) }()
	write(adv(hot, 2, record.ActionBatch))
	write(adv(cold, 2, record.ActionPin))
	for tb.Len() < 2 || tb.Bad() < 1 || !(&advice.Router{Advice: tb}).Batched(hot) {
		if ctx.Err() != nil {
			t.Fatalf("table after a minute: %d keys, %d bad, hot batched %v", tb.Len(), tb.Bad(), (&advice.Router{Advice: tb}).Batched(hot))
		}
		time.Sleep(20 * time.Millisecond)
	}
	stop()
	if err := <-done; err != context.Canceled {
		t.Errorf("Follow returned %v, want context.Canceled", err)
	}
	if a, _ := tb.Get(cold); a.Action != record.ActionPin || tb.Bad() != 1 {
		t.Errorf("cold: %+v, bad %d", a, tb.Bad())
	}
}
