//go:build e2e

package e2e

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/cachetsync/cachet/gateway"
)

// client connects to the test network as org's role through the gateway
// package, with the connection profile network.sh writes.
func client(t testing.TB, org, role string) *gateway.Client {
	t.Helper()
	return clientWith(t, org, role, nil)
}

// clientWith is client with the profile's Config changed by edit (if not
// nil) before connecting.
func clientWith(t testing.TB, org, role string, edit func(*gateway.Config)) *gateway.Client {
	t.Helper()
	prof, err := network("profile", org, role)
	if err != nil {
		t.Fatalf("profile: %v\n%s", err, prof)
	}
	path := filepath.Join(t.TempDir(), org+"-"+role+".json")
	if err := os.WriteFile(path, []byte(prof), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := gateway.LoadProfile(path)
	if err != nil {
		t.Fatal(err)
	}
	if edit != nil {
		edit(&cfg)
	}
	cl, err := gateway.Connect(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cl.Close() })
	return cl
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func TestGatewayOperationsAndTypedErrors(t *testing.T) {
	ctx := ctxT(t)
	pub, inv, aud := client(t, "org1", "publisher"), client(t, "org2", "invalidator"), client(t, "org1", "auditor")
	key := "https://shop.example/gw/item?b=1&a=2"
	e, done, err := pub.Publish(ctx, gateway.PublishRequest{Key: key, ETag: `"v1"`, MaxAge: 60, Tags: []string{"gw"}})
	if err != nil || e.Version != 1 || done.TxID == "" || done.Block == 0 {
		t.Fatalf("publish: %+v %+v %v", e, done, err)
	}
	canon := e.Key
	if got, err := aud.Get(ctx, canon); err != nil || got.Version != 1 {
		t.Fatalf("get: %+v %v", got, err)
	}
	// Org2 invalidates an Org1 key: the gateway gathers Org1's endorsement.
	if e, _, err := inv.Invalidate(ctx, key, "partner", 1); err != nil || e.Version != 2 {
		t.Fatalf("cross-org invalidate: %+v %v", e, err)
	}
	// Invalidating an INVALIDATED entry commits a new version; the same
	// idempotency key again commits nothing and answers the first result.
	again, first, err := inv.Invalidate(ctx, key, "refilled", 2, gateway.WithIdempotencyKey("gw-refill-1"))
	if err != nil || again.Version != 3 || again.State != "INVALIDATED" {
		t.Fatalf("invalidate an invalidated entry: %+v %v", again, err)
	}
	if replay, done, err := inv.Invalidate(ctx, key, "refilled", 2, gateway.WithIdempotencyKey("gw-refill-1")); err != nil || replay.Version != 3 || replay.TxID != first.TxID || done.TxID == first.TxID {
		t.Fatalf("replay with the same idempotency key: %+v (tx %s) %v, want the first answer (tx %s)", replay, done.TxID, err, first.TxID)
	}
	tests := []struct {
		name string
		err  func() error
		want error
	}{
		{"not found", func() error { _, err := aud.Get(ctx, "img:gw-missing"); return err }, gateway.ErrNotFound},
		{"stale version", func() error {
			_, _, err := pub.Publish(ctx, gateway.PublishRequest{Key: key, ExpectedVersion: 1})
			return err
		}, gateway.ErrStaleVersion},
		{"stale expected version", func() error { _, _, err := inv.Invalidate(ctx, key, "", 2); return err }, gateway.ErrStaleVersion},
		{"forbidden", func() error { _, _, err := aud.Publish(ctx, gateway.PublishRequest{Key: "img:gw-x"}); return err }, gateway.ErrForbidden},
		{"invalid key", func() error { _, _, err := pub.Publish(ctx, gateway.PublishRequest{Key: "ftp://x/"}); return err }, gateway.ErrInvalidArgument},
	}
	for _, tt := range tests {
		err := tt.err()
		var ge *gateway.Error
		if !errors.Is(err, tt.want) || !errors.As(err, &ge) || ge.Message == "" {
			t.Errorf("%s: got %v, want %v", tt.name, err, tt.want)
		}
		if ge != nil && ge.Stage != gateway.StageEvaluate && ge.TxID == "" {
			t.Errorf("%s: a submitted transaction's error must carry its ID", tt.name)
		}
	}
	for i := range 5 {
		if _, _, err := pub.Publish(ctx, gateway.PublishRequest{Key: fmt.Sprintf("img:gw-tag-%d", i), Tags: []string{"gw-tag"}}); err != nil {
			t.Fatal(err)
		}
	}
	pages := 0
	n, err := inv.InvalidateTag(ctx, "gw-tag", "", 2, func(gateway.TagProgress) { pages++ })
	if err != nil || n != 5 || pages != 3 {
		t.Fatalf("invalidate-tag: %d keys in %d pages, %v", n, pages, err)
	}
	if p, _, err := pub.Purge(ctx, canon, 0); err != nil || p.State != "PURGED" {
		t.Fatalf("purge: %+v %v", p, err)
	}
	h, err := aud.History(ctx, canon)
	if err != nil || len(h) != 4 || !h[3].IsDelete || h[0].Entry.Version != 1 || h[2].Entry.Version != 3 {
		t.Fatalf("history: %+v %v", h, err)
	}
	page, err := aud.ListByTag(ctx, "gw-tag", "", 10)
	if err != nil || len(page.Entries) != 5 {
		t.Fatalf("list by tag: %d entries, %v", len(page.Entries), err)
	}
}

func TestCoalescerUnderThousandCallers(t *testing.T) {
	ctx := ctxT(t)
	pub, inv := client(t, "org1", "publisher"), client(t, "org1", "invalidator")
	const keys, callers = 250, 1000
	var wg sync.WaitGroup
	sem := make(chan struct{}, 32)
	for i := range keys {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			if _, _, err := pub.Publish(ctx, gateway.PublishRequest{Key: fmt.Sprintf("img:co-%d", i)}); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	co := gateway.NewCoalescer(inv.SubmitBatch, gateway.CoalescerConfig{Window: 10 * time.Millisecond})
	results := make([]gateway.InvalidateResult, callers)
	errs := make([]error, callers)
	start := time.Now()
	for i := range callers {
		wg.Go(func() { results[i], errs[i] = co.Invalidate(ctx, fmt.Sprintf("img:co-%d", i%keys), "bulk") })
	}
	wg.Wait()
	elapsed := time.Since(start)
	co.Close()
	statuses := map[gateway.KeyStatus]int{}
	txsOf := map[string]map[string]bool{} // key → the transactions that invalidated it
	for i := range callers {
		r := results[i]
		if errs[i] != nil {
			t.Fatalf("caller %d: %v", i, errs[i])
		}
		if r.TxID == "" || r.Block == 0 {
			t.Fatalf("caller %d got no transaction", i)
		}
		statuses[r.Status]++
		switch r.Status {
		case gateway.KeyInvalidated:
			if txsOf[r.Key] == nil {
				txsOf[r.Key] = map[string]bool{}
			}
			txsOf[r.Key][r.TxID] = true
		default:
			t.Fatalf("caller %d: %s", i, r.Status)
		}
	}
	if len(txsOf) != keys {
		t.Fatalf("%d keys reported invalidated, want %d (outcomes %v)", len(txsOf), keys, statuses)
	}
	// Callers of one key in one batch share its transaction; every batch
	// that carried a key gave it a new version.
	for i := range keys {
		k := fmt.Sprintf("img:co-%d", i)
		e, err := inv.Get(ctx, k)
		if err != nil || e.Version != 1+uint64(len(txsOf[k])) || e.State != "INVALIDATED" {
			t.Fatalf("%s: %+v %v (want version %d: one per transaction that carried it)", k, e, err, 1+len(txsOf[k]))
		}
	}
	t.Logf("%d callers (%d keys) answered by %d batch transactions in %v (%v)", callers, keys, co.Batches(), elapsed.Round(time.Millisecond), statuses)
}

func TestMVCCConflictsAreRetried(t *testing.T) {
	ctx := ctxT(t)
	const writers, each = 12, 3
	key := "img:mvcc-hot"
	pub := client(t, "org1", "publisher")
	if _, _, err := pub.Publish(ctx, gateway.PublishRequest{Key: key}); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	succeeded, retried, exhausted := 0, 0, 0
	start := make(chan struct{})
	for range writers {
		cl := client(t, "org1", "publisher")
		wg.Go(func() {
			<-start // all writers read the same version at once
			for range each {
				_, done, err := cl.Publish(ctx, gateway.PublishRequest{Key: key})
				mu.Lock()
				switch {
				case err == nil:
					succeeded++
					if done.Attempts > 1 {
						retried++
					}
				case errors.Is(err, gateway.ErrConflict):
					exhausted++ // every attempt lost the race: a typed, retryable error
				default:
					t.Errorf("publish: %v", err)
				}
				mu.Unlock()
			}
		})
	}
	close(start)
	wg.Wait()
	e, err := pub.Get(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	if e.Version != uint64(1+succeeded) {
		t.Fatalf("final version %d, want 1 + %d successful writes", e.Version, succeeded)
	}
	if retried == 0 {
		t.Fatalf("no write needed a retry: %d writers never conflicted, the retry path went untested", writers)
	}
	t.Logf("%d concurrent writes of one key: %d committed (%d after MVCC retries), %d gave up after every attempt conflicted; final version %d",
		writers*each, succeeded, retried, exhausted, e.Version)
}
