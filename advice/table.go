package advice

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/cachetsync/cachet/kafka"
	"github.com/cachetsync/cachet/record"
)

// Table holds the newest advice record of each key. It is safe for
// concurrent use.
type Table struct {
	mu     sync.RWMutex
	latest map[string]record.Advice
	bad    int
}

// NewTable returns an empty table.
func NewTable() *Table { return &Table{latest: map[string]record.Advice{}} }

// Apply keeps a if it is the key's newest advice (by At) and reports
// whether it did.
func (t *Table) Apply(a record.Advice) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if prev, ok := t.latest[a.Key]; ok && a.At.Before(prev.At) {
		return false
	}
	t.latest[a.Key] = a
	return true
}

// Get returns key's newest advice; key is canonical, as records carry it.
func (t *Table) Get(key string) (record.Advice, bool) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	a, ok := t.latest[key]
	return a, ok
}

// Len returns how many keys have advice.
func (t *Table) Len() int {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return len(t.latest)
}

// Bad returns how many records Follow could not decode (skipped).
func (t *Table) Bad() int {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.bad
}

// Follow reads record.TopicAdvice from its oldest kept record on every
// partition into t until ctx ends; records that do not decode are counted
// (Bad) and skipped. It returns ctx's error, or the error that kept it
// from reading the topic.
func (t *Table) Follow(ctx context.Context, cfg kafka.Config) error {
	info, err := kafka.DescribeTopic(ctx, cfg, record.TopicAdvice)
	if err != nil {
		return fmt.Errorf("advice: %w", err)
	}
	c, err := kafka.NewConsumer(cfg, "", "earliest")
	if err != nil {
		return fmt.Errorf("advice: consumer: %w", err)
	}
	defer c.Close()
	tps := make([]kafka.TopicPartition, info.Partitions)
	for p := range tps {
		tps[p] = kafka.TopicPartition{Topic: record.TopicAdvice, Partition: int32(p), Offset: kafka.OffsetBeginning}
	}
	if err := c.Assign(tps); err != nil {
		return fmt.Errorf("advice: assign %s: %w", record.TopicAdvice, err)
	}
	for ctx.Err() == nil {
		m, ok := c.Poll(100 * time.Millisecond).(*kafka.Message)
		if !ok {
			continue
		}
		a, err := record.DecodeAdvice(m.Value)
		if err != nil {
			t.mu.Lock()
			t.bad++
			t.mu.Unlock()
			continue
		}
		t.Apply(a)
	}
	return ctx.Err()
}
