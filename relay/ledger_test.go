package relay_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cachetsync/cachet/gateway"
	"github.com/cachetsync/cachet/kafka"
	"github.com/cachetsync/cachet/kafka/embedded"
	"github.com/cachetsync/cachet/ledger"
	"github.com/cachetsync/cachet/record"
	"github.com/hyperledger/fabric-protos-go-apiv2/peer"
)

const tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

// tx is a valid committed transaction invalidating keys, each at version
// block+1 (so a key's versions grow with the ledger).
func tx(block uint64, idx uint32, keys ...string) gateway.Transaction {
	ev := &ledger.Event{TxID: fmt.Sprintf("tx-%d-%d", block, idx), Timestamp: "2026-11-25T06:41:00.5Z", Actor: "Org2MSP", Traceparent: tp}
	for _, k := range keys {
		ev.Transitions = append(ev.Transitions, ledger.Transition{Op: ledger.OpInvalidate, Key: k, Version: block + 1,
			State: record.StateInvalidated, Owner: "Org1MSP", Reason: "r", Tags: []string{"t"}})
	}
	return gateway.Transaction{Position: record.Position{Block: block, TxIndex: idx}, TxID: ev.TxID, Channel: "cachet", Valid: true, Event: ev}
}

// purgeTx is a valid committed transaction purging tag scope tag at
// generation gen: one generation record, no transitions.
func purgeTx(block uint64, idx uint32, tag string, gen uint64) gateway.Transaction {
	ev := &ledger.Event{TxID: fmt.Sprintf("tx-%d-%d", block, idx), Timestamp: "2026-11-25T06:41:00.5Z", Actor: "Org1MSP", Traceparent: tp,
		Purges: []ledger.Generation{{Purge: record.Purge{Scope: record.Scope{Kind: record.ScopeTag, Value: tag}, Owner: "Org1MSP",
			Generation: gen, Soft: gen%2 == 0, Reason: "r"}, TxID: fmt.Sprintf("tx-%d-%d", block, idx), Timestamp: "2026-11-25T06:41:00.5Z"}}}
	return gateway.Transaction{Position: record.Position{Block: block, TxIndex: idx}, TxID: ev.TxID, Channel: "cachet", Valid: true, Event: ev}
}

// conflictTx is an invalid transaction of the contract at (block, idx): a
// write of key by Org2MSP that lost an MVCC race, its ID "conflict-block-idx".
func conflictTx(block uint64, idx uint32, key string) gateway.Transaction {
	id := fmt.Sprintf("conflict-%d-%d", block, idx)
	ev := &ledger.Event{TxID: id, Timestamp: "2026-11-25T06:41:00.25Z", Actor: "Org2MSP", Traceparent: tp,
		Transitions: []ledger.Transition{{Op: ledger.OpInvalidate, Key: key, Version: block, State: record.StateInvalidated, Owner: "Org1MSP"}}}
	return gateway.Transaction{Position: record.Position{Block: block, TxIndex: idx}, TxID: id, Channel: "cachet",
		Code: peer.TxValidationCode_MVCC_READ_CONFLICT, Refusal: &gateway.Refusal{
			Timestamp: time.Date(2026, 11, 25, 6, 41, 0, 25e7, time.UTC), Creator: "Org2MSP", Keys: []string{key}, Event: ev}}
}

// fakeLedger is a fake Source: a growing list of committed transactions that
// every follower reads from its checkpoint on, waiting for more at the end.
type fakeLedger struct {
	mu        sync.Mutex
	txs       []gateway.Transaction
	grew      chan struct{}
	delivered atomic.Int64 // transactions handed to handlers, over all followers
}

func newLedger() *fakeLedger { return &fakeLedger{grew: make(chan struct{})} }

// add appends n transactions of one key each, in new blocks, and returns
// the keys.
func (l *fakeLedger) add(n int, prefix string) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var keys []string
	for range n {
		block := l.nextBlock()
		k := fmt.Sprintf("%s-%d", prefix, block)
		l.txs = append(l.txs, tx(block, 0, k))
		keys = append(keys, k)
	}
	close(l.grew)
	l.grew = make(chan struct{})
	return keys
}

// addMixed appends n blocks alternating one key's transition and a purge
// of tag scope prefix (generations counting up from 1); it returns the
// keys and the purges' ids (scope:value@generation).
func (l *fakeLedger) addMixed(n int, prefix string, gen *uint64) (keys, purges []string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for range n {
		block := l.nextBlock()
		if block%2 == 0 {
			*gen++
			l.txs = append(l.txs, purgeTx(block, 0, prefix, *gen))
			purges = append(purges, fmt.Sprintf("tag:%s@%d", prefix, *gen))
			continue
		}
		k := fmt.Sprintf("%s-%d", prefix, block)
		l.txs = append(l.txs, tx(block, 0, k))
		keys = append(keys, k)
	}
	close(l.grew)
	l.grew = make(chan struct{})
	return keys, purges
}

// addContended appends n blocks; every other one holds a write of a key
// and, after it, a write of the same key that lost the MVCC race. It
// returns the keys written and the losers' transaction IDs.
func (l *fakeLedger) addContended(n int, prefix string) (keys, conflicts []string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for range n {
		block := l.nextBlock()
		k := fmt.Sprintf("%s-%d", prefix, block)
		l.txs = append(l.txs, tx(block, 0, k))
		keys = append(keys, k)
		if block%2 == 0 {
			c := conflictTx(block, 1, k)
			l.txs = append(l.txs, c)
			conflicts = append(conflicts, c.TxID)
		}
	}
	close(l.grew)
	l.grew = make(chan struct{})
	return keys, conflicts
}

func (l *fakeLedger) append(t gateway.Transaction) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.txs = append(l.txs, t)
	close(l.grew)
	l.grew = make(chan struct{})
}

func (l *fakeLedger) next() uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.nextBlock()
}

// nextBlock is the number of the block after the last; l.mu held.
func (l *fakeLedger) nextBlock() uint64 {
	if len(l.txs) == 0 {
		return 1
	}
	return l.txs[len(l.txs)-1].Position.Block + 1
}

func (l *fakeLedger) Follow(ctx context.Context, cfg gateway.FollowConfig, h gateway.Handler) error {
	last, have := cfg.Checkpointer.Last()
	for i := 0; ; {
		l.mu.Lock()
		txs, grew := l.txs, l.grew
		l.mu.Unlock()
		for ; i < len(txs); i++ {
			t := txs[i]
			if have && !last.Less(t.Position) || t.Position.Block < cfg.StartBlock {
				continue
			}
			if !t.Valid && !cfg.IncludeInvalid {
				continue
			}
			l.delivered.Add(1)
			if err := h(ctx, t); err != nil {
				return err
			}
			if err := cfg.Checkpointer.Save(t.Position); err != nil {
				return err
			}
		}
		select {
		case <-grew:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func startBroker(t testing.TB, opts ...embedded.Option) *embedded.Broker {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	b, err := embedded.Start(ctx, append([]embedded.Option{embedded.WithPartitions(3)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	return b
}

// seen is what a read_committed consumer read of one topic.
type seen struct {
	count   map[string]int // by key@version
	records int
	order   map[string][]uint64 // versions by key, in arrival order
	msgs    []*kafka.Message
}

// readCommitted reads topic until every id in want arrived (or the
// deadline), then for quiet more to catch repeats.
func readCommitted(t *testing.T, cfg kafka.Config, topic string, want []string, quiet time.Duration) seen {
	t.Helper()
	c, err := kafka.NewConsumer(cfg, fmt.Sprintf("check-%d", time.Now().UnixNano()), "earliest")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Subscribe([]string{topic}, nil); err != nil {
		t.Fatal(err)
	}
	s := seen{count: map[string]int{}, order: map[string][]uint64{}}
	missing := map[string]bool{}
	for _, id := range want {
		missing[id] = true
	}
	deadline := time.Now().Add(time.Minute)
	var quietUntil time.Time
	for {
		if len(missing) == 0 && quietUntil.IsZero() {
			quietUntil = time.Now().Add(quiet)
		}
		if !quietUntil.IsZero() && time.Now().After(quietUntil) {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d records never arrived on %s", len(missing), len(want), topic)
		}
		m, ok := c.Poll(100 * time.Millisecond).(*kafka.Message)
		if !ok {
			continue
		}
		s.records++
		s.msgs = append(s.msgs, m)
		id := string(m.Key)
		if topic == record.TopicPurges {
			g, err := record.DecodeGeneration(m.Value)
			if err != nil {
				t.Fatal(err)
			}
			id = fmt.Sprintf("%s@%d", g.Scope, g.Generation)
			s.order[g.Scope.String()] = append(s.order[g.Scope.String()], g.Generation)
		}
		if topic == record.TopicConflicts {
			c, err := record.DecodeConflict(m.Value)
			if err != nil {
				t.Fatal(err)
			}
			id = c.TxID
		}
		if topic == record.TopicTransitions {
			tr, err := record.DecodeTransition(m.Value)
			if err != nil {
				t.Fatal(err)
			}
			id = fmt.Sprintf("%s@%d", tr.Key, tr.Version)
			s.order[tr.Key] = append(s.order[tr.Key], tr.Version)
		}
		s.count[id]++
		delete(missing, id)
	}
}

// ids names the transitions of the given keys as tx() writes them.
func ids(l *fakeLedger, keys []string) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	want := map[string]bool{}
	for _, k := range keys {
		want[k] = true
	}
	var out []string
	for _, t := range l.txs {
		if t.Event == nil {
			continue
		}
		for _, tr := range t.Event.Transitions {
			if want[tr.Key] {
				out = append(out, fmt.Sprintf("%s@%d", tr.Key, tr.Version))
			}
		}
	}
	return out
}

func exactlyOnce(t *testing.T, s seen, want []string) {
	t.Helper()
	for _, id := range want {
		if s.count[id] != 1 {
			t.Errorf("%s read %d times, want once", id, s.count[id])
		}
	}
	if s.records != len(want) {
		t.Errorf("read %d records, want %d", s.records, len(want))
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); !cond(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}
