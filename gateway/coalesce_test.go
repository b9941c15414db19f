package gateway_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cachetsync/cachet/cachekey"
	"github.com/cachetsync/cachet/gateway"
)

// fakeLedger answers InvalidateBatch like the contract: every known key
// gets a new version in state INVALIDATED, unknown keys are missing.
type fakeLedger struct {
	mu       sync.Mutex
	versions map[string]uint64
	txs      int
	maxKeys  int
	reasons  map[string]int
	fail     error
}

func newFakeLedger(keys ...string) *fakeLedger {
	l := &fakeLedger{versions: map[string]uint64{}, reasons: map[string]int{}}
	for _, k := range keys {
		l.versions[k] = 1
	}
	return l
}

func (l *fakeLedger) submit(_ context.Context, keys []string, reason string) (gateway.BatchResult, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.fail != nil {
		return gateway.BatchResult{}, l.fail
	}
	l.txs++
	l.reasons[reason]++
	l.maxKeys = max(l.maxKeys, len(keys))
	res := gateway.BatchResult{TxID: fmt.Sprintf("tx%d", l.txs), Block: uint64(l.txs), Keys: map[string]gateway.KeyResult{}}
	seen := map[string]bool{}
	for _, k := range keys {
		if seen[k] {
			return gateway.BatchResult{}, fmt.Errorf("duplicate key %s in one batch", k)
		}
		seen[k] = true
		v, ok := l.versions[k]
		switch {
		case !ok:
			res.Keys[k] = gateway.KeyResult{Status: gateway.KeyMissing}
		default:
			l.versions[k] = v + 1
			res.Keys[k] = gateway.KeyResult{Status: gateway.KeyInvalidated, Version: v + 1}
		}
	}
	return res, nil
}

func TestCoalescerThousandConcurrentCallers(t *testing.T) {
	const callers = 1000
	keys := make([]string, callers/2)
	for i := range keys {
		keys[i] = fmt.Sprintf("https://shop.example/item/%d", i)
	}
	ledger := newFakeLedger(keys[:len(keys)-10]...) // the last 10 keys were never published
	c := gateway.NewCoalescer(ledger.submit, gateway.CoalescerConfig{Window: 20 * time.Millisecond, MaxBatch: 100})
	defer c.Close()

	results := make([]gateway.InvalidateResult, callers)
	errs := make([]error, callers)
	var wg sync.WaitGroup
	for i := range callers {
		wg.Go(func() {
			// Every key is invalidated by two callers, one spelling it differently.
			key := keys[i%len(keys)]
			if i >= len(keys) {
				key = "HTTPS://Shop.Example:443/item/./" + fmt.Sprint(i%len(keys))
			}
			results[i], errs[i] = c.Invalidate(context.Background(), key, "price change")
		})
	}
	wg.Wait()

	byTx := map[string]int{}
	txsOf := map[string]map[string]bool{} // key → the transactions that carried it
	for i := range callers {
		if errs[i] != nil {
			t.Fatalf("caller %d: %v", i, errs[i])
		}
		r := results[i]
		want := keys[i%len(keys)]
		if r.Key != want {
			t.Fatalf("caller %d got the outcome of %s, want %s", i, r.Key, want)
		}
		missing := i%len(keys) >= len(keys)-10
		switch {
		case missing && r.Status != gateway.KeyMissing:
			t.Fatalf("caller %d: unpublished key reported %s", i, r.Status)
		case !missing && r.Status == gateway.KeyMissing:
			t.Fatalf("caller %d: published key reported missing", i)
		}
		if r.TxID == "" || r.Block == 0 {
			t.Fatalf("caller %d: no tx ID or block: %+v", i, r)
		}
		byTx[r.TxID]++
		if r.Status == gateway.KeyInvalidated {
			if txsOf[r.Key] == nil {
				txsOf[r.Key] = map[string]bool{}
			}
			txsOf[r.Key][r.TxID] = true
		}
	}
	ledger.mu.Lock()
	defer ledger.mu.Unlock()
	if ledger.maxKeys > 100 {
		t.Fatalf("a batch carried %d keys, limit 100", ledger.maxKeys)
	}
	if ledger.txs >= callers/4 {
		t.Fatalf("%d transactions for %d callers: not coalescing", ledger.txs, callers)
	}
	if len(txsOf) != len(keys)-10 {
		t.Fatalf("%d keys invalidated, want %d", len(txsOf), len(keys)-10)
	}
	for k, txs := range txsOf {
		if ledger.versions[k] != 1+uint64(len(txs)) {
			t.Fatalf("%s at version %d after %d transactions carried it, want one version each", k, ledger.versions[k], len(txs))
		}
	}
	t.Logf("%d callers answered by %d batch transactions", callers, ledger.txs)
}

func TestCoalescerRefusesMalformedKeyAlone(t *testing.T) {
	ledger := newFakeLedger("img:a")
	c := gateway.NewCoalescer(ledger.submit, gateway.CoalescerConfig{})
	defer c.Close()
	var wg sync.WaitGroup
	var goodErr error
	wg.Go(func() { _, goodErr = c.Invalidate(context.Background(), "img:a", "r") })
	_, err := c.Invalidate(context.Background(), "\x00bad", "r")
	var ke *cachekey.Error
	if !errors.As(err, &ke) || ke.Reason != cachekey.ReasonLeadingNUL {
		t.Fatalf("got %v, want a cachekey error", err)
	}
	wg.Wait()
	if goodErr != nil {
		t.Fatalf("a malformed key must not fail its neighbours: %v", goodErr)
	}
}

func TestCoalescerSeparatesReasons(t *testing.T) {
	ledger := newFakeLedger("img:a", "img:b")
	c := gateway.NewCoalescer(ledger.submit, gateway.CoalescerConfig{Window: 20 * time.Millisecond})
	var wg sync.WaitGroup
	wg.Go(func() { c.Invalidate(context.Background(), "img:a", "one") })
	wg.Go(func() { c.Invalidate(context.Background(), "img:b", "two") })
	wg.Wait()
	c.Close()
	if ledger.reasons["one"] != 1 || ledger.reasons["two"] != 1 {
		t.Fatalf("reasons %v: each reason needs its own transaction", ledger.reasons)
	}
}

func TestCoalescerSubmitErrorReachesEveryCaller(t *testing.T) {
	ledger := newFakeLedger("img:a", "img:b")
	boom := errors.New("endorsement refused")
	ledger.fail = boom
	c := gateway.NewCoalescer(ledger.submit, gateway.CoalescerConfig{Window: 10 * time.Millisecond})
	defer c.Close()
	var failed atomic.Int32
	var wg sync.WaitGroup
	for _, k := range []string{"img:a", "img:b", "img:a"} {
		wg.Go(func() {
			if _, err := c.Invalidate(context.Background(), k, "r"); errors.Is(err, boom) {
				failed.Add(1)
			}
		})
	}
	wg.Wait()
	if failed.Load() != 3 {
		t.Fatalf("%d of 3 callers saw the failure", failed.Load())
	}
}

func TestCoalescerMissingOutcomeIsAnError(t *testing.T) {
	c := gateway.NewCoalescer(func(context.Context, []string, string) (gateway.BatchResult, error) {
		return gateway.BatchResult{TxID: "tx1", Block: 1, Keys: map[string]gateway.KeyResult{}}, nil
	}, gateway.CoalescerConfig{})
	defer c.Close()
	_, err := c.Invalidate(context.Background(), "img:a", "r")
	var me *gateway.MissingResultError
	if !errors.As(err, &me) || me.Key != "img:a" {
		t.Fatalf("got %v, want MissingResultError", err)
	}
}

func TestCoalescerCloseFlushesAndRefuses(t *testing.T) {
	ledger := newFakeLedger("img:a")
	c := gateway.NewCoalescer(ledger.submit, gateway.CoalescerConfig{Window: time.Hour})
	done := make(chan error, 1)
	go func() { _, err := c.Invalidate(context.Background(), "img:a", "r"); done <- err }()
	for c.Pending() == 0 {
		time.Sleep(time.Millisecond)
	}
	c.Close() // flushes the hour-long window at once
	if err := <-done; err != nil {
		t.Fatalf("pending invalidation lost on Close: %v", err)
	}
	if c.Batches() != 1 || c.Pending() != 0 {
		t.Fatalf("after Close: %d batches, %d pending", c.Batches(), c.Pending())
	}
	if _, err := c.Invalidate(context.Background(), "img:a", "r"); !errors.Is(err, gateway.ErrCoalescerClosed) {
		t.Fatalf("after Close: %v", err)
	}
}

// TestCoalescerOneTransactionPerKeyInFlight holds the first transaction of
// a hot key in flight while more callers invalidate it: none of their keys
// is sent while it is in flight (a second write of the key would lose its
// MVCC check), all of them share the next transaction, and a key that is
// not in flight is not held back.
func TestCoalescerOneTransactionPerKeyInFlight(t *testing.T) {
	const hot, cold = "https://shop.example/hot", "https://shop.example/cold"
	ledger := newFakeLedger(hot, cold)
	release := make(chan struct{})
	var (
		mu      sync.Mutex
		flight  = map[string]int{}
		overlap []string
		sent    [][]string
	)
	submit := func(ctx context.Context, keys []string, reason string) (gateway.BatchResult, error) {
		mu.Lock()
		for _, k := range keys {
			if flight[k]++; flight[k] > 1 {
				overlap = append(overlap, k)
			}
		}
		sent = append(sent, keys)
		first := len(sent) == 1
		mu.Unlock()
		if first {
			<-release
		}
		res, err := ledger.submit(ctx, keys, reason)
		mu.Lock()
		for _, k := range keys {
			flight[k]--
		}
		mu.Unlock()
		return res, err
	}
	c := gateway.NewCoalescer(submit, gateway.CoalescerConfig{Window: time.Millisecond})
	defer c.Close()
	ctx := context.Background()

	first := make(chan gateway.InvalidateResult, 1)
	go func() {
		r, err := c.Invalidate(ctx, hot, "edit")
		if err != nil {
			t.Error(err)
		}
		first <- r
	}()
	for c.Batches() == 0 {
		time.Sleep(time.Millisecond)
	}
	const callers = 20
	results := make(chan gateway.InvalidateResult, callers)
	for range callers {
		go func() {
			r, err := c.Invalidate(ctx, hot, "edit")
			if err != nil {
				t.Error(err)
			}
			results <- r
		}()
	}
	for c.Pending() != 1 { // the 20 callers wait as one key
		time.Sleep(time.Millisecond)
	}
	if r, err := c.Invalidate(ctx, cold, "edit"); err != nil || r.Version != 2 {
		t.Fatalf("a key not in flight waited behind the hot one: %+v %v", r, err)
	}
	close(release)
	if r := <-first; r.Version != 2 {
		t.Fatalf("first invalidation: %+v", r)
	}
	var tx string
	for range callers {
		r := <-results
		if r.Version != 3 || (tx != "" && r.TxID != tx) {
			t.Fatalf("a caller that waited got %+v, want version 3 in one transaction (%s)", r, tx)
		}
		tx = r.TxID
	}
	mu.Lock()
	defer mu.Unlock()
	if len(overlap) > 0 {
		t.Fatalf("keys in two transactions in flight at once: %v", overlap)
	}
	if len(sent) != 3 {
		t.Fatalf("transactions %v, want the hot key's first, the cold key's and the hot key's second", sent)
	}
}
