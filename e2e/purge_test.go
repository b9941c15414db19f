//go:build e2e

package e2e

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/cachetsync/cachet/gateway"
	"github.com/cachetsync/cachet/ledger"
	"github.com/cachetsync/cachet/record"
)

// Scope purges on the real network: 200 keys under a tag purged by one
// transaction, a prefix purge that leaves the keys outside it alone, soft
// purges and soft invalidations giving STALE, and a claimed host refusing
// another org's publish.
func TestScopePurges(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	admin, pub, aud := client(t, "org1", "admin"), client(t, "org1", "publisher"), client(t, "org1", "auditor")
	pub2 := client(t, "org2", "publisher")
	const host, tag = "purge-e2e.example", "purge-e2e"
	if c, _, err := admin.ClaimHost(ctx, host); err != nil || c.Owner != "Org1MSP" {
		t.Fatalf("claim by org1's admin (NodeOU): %+v %v", c, err)
	}
	keys := make([]string, 200)
	for i := range keys {
		keys[i] = fmt.Sprintf("https://%s/t/%d", host, i)
	}
	outside := "https://" + host + "/keep/1"
	reqs := []gateway.PublishRequest{{Key: outside, MaxAge: 60, Tags: []string{"keep-e2e"}}}
	for _, k := range keys {
		reqs = append(reqs, gateway.PublishRequest{Key: k, ETag: `"v1"`, MaxAge: 60, Tags: []string{tag}})
	}
	var (
		wg   sync.WaitGroup
		errs = make(chan error, len(reqs))
		sem  = make(chan struct{}, 16)
	)
	for _, r := range reqs {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			if _, _, err := pub.Publish(ctx, r); err != nil {
				errs <- fmt.Errorf("publish %s: %w", r.Key, err)
			}
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		t.Fatal(err)
	}

	purge, done, err := pub.PurgeScope(ctx, gateway.PurgeRequest{Scope: gateway.Scope{Kind: ledger.ScopeTag, Value: tag}, Reason: "e2e"})
	if err != nil || purge.Generation != 1 || purge.TxID != done.TxID {
		t.Fatalf("purge tag: %+v %+v %v", purge, done, err)
	}
	entries, err := aud.GetMany(ctx, keys)
	if err != nil || len(entries) != len(keys) {
		t.Fatalf("GetMany: %d entries, %v", len(entries), err)
	}
	for _, e := range entries {
		if e.State != record.StateValid || e.Effective == nil || e.Effective.State != record.StateInvalidated ||
			e.Effective.Purge == nil || e.Effective.Purge.TxID != done.TxID || e.Effective.Purge.Scope != purge.Scope {
			t.Fatalf("%s after the tag purge: %+v, want effective INVALIDATED by tx %s", e.Key, e.Effective, done.TxID)
		}
	}
	if e, err := aud.Get(ctx, keys[7]); err != nil || e.Effective.Purge == nil || e.Effective.Purge.TxID != done.TxID {
		t.Fatalf("Get after the tag purge: %+v %v", e, err)
	}

	// Republish one key, then purge the prefix it is under: it is purged
	// again, the key outside the prefix stays VALID.
	if _, _, err := pub.Publish(ctx, gateway.PublishRequest{Key: keys[0], MaxAge: 60, Tags: []string{tag}}); err != nil {
		t.Fatal(err)
	}
	if e, err := aud.Get(ctx, keys[0]); err != nil || e.Effective.State != record.StateValid || e.Effective.Purge != nil {
		t.Fatalf("republished: %+v %v", e, err)
	}
	prefix, done, err := pub.PurgeScope(ctx, gateway.PurgeRequest{Scope: gateway.Scope{Kind: ledger.ScopePrefix, Value: "https://" + host + "/t/"}})
	if err != nil {
		t.Fatalf("purge prefix: %v", err)
	}
	if e, err := aud.Get(ctx, keys[0]); err != nil || e.Effective.State != record.StateInvalidated || e.Effective.Purge.TxID != done.TxID {
		t.Fatalf("%s after the prefix purge %+v: %+v %v", keys[0], prefix, e.Effective, err)
	}
	if e, err := aud.Get(ctx, outside); err != nil || e.Effective.State != record.StateValid || e.Effective.Purge != nil {
		t.Fatalf("%s is outside the prefix: %+v %v", outside, e.Effective, err)
	}

	// Soft: a soft purge and a soft invalidation make VALID entries STALE.
	if _, _, err := pub.PurgeScope(ctx, gateway.PurgeRequest{Scope: gateway.Scope{Kind: ledger.ScopeTag, Value: "keep-e2e"}, Soft: true}); err != nil {
		t.Fatalf("soft purge: %v", err)
	}
	if e, err := aud.Get(ctx, outside); err != nil || e.Effective.State != record.StateStale || !e.Effective.Purge.Soft {
		t.Fatalf("after a soft purge: %+v %v", e.Effective, err)
	}
	soft := "https://" + host + "/soft/1"
	if _, _, err := pub.Publish(ctx, gateway.PublishRequest{Key: soft, MaxAge: 60}); err != nil {
		t.Fatal(err)
	}
	if e, _, err := pub.InvalidateSoft(ctx, soft, "revalidate", 1); err != nil || e.State != record.StateStale || e.Version != 2 {
		t.Fatalf("InvalidateSoft: %+v %v", e, err)
	}

	// Org2 may not publish under Org1's host.
	if _, _, err := pub2.Publish(ctx, gateway.PublishRequest{Key: "https://" + host + "/org2"}); !errors.Is(err, gateway.ErrHostClaimed) {
		t.Fatalf("org2 publish under a claimed host: %v, want ErrHostClaimed", err)
	}
	if _, _, err := admin.ReleaseHost(ctx, host); err != nil {
		t.Fatalf("release: %v", err)
	}
}
