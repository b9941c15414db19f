package gateway_test

import (
	"context"
	"errors"
	"fmt"
	"log"

	"github.com/cachetsync/cachet/gateway"
	"github.com/cachetsync/cachet/ledger"
)

// connect reaches a network through a connection profile, as
// `network/network.sh profile org1 publisher > org1-publisher.json` writes
// one for the local network: the peers to try in order and the caller's
// identity. The examples need a running network, so they have no output.
func connect() *gateway.Client {
	cfg, err := gateway.LoadProfile("org1-publisher.json")
	if err != nil {
		log.Fatal(err)
	}
	cl, err := gateway.Connect(cfg)
	if err != nil {
		log.Fatal(err)
	}
	return cl
}

// Publish creates an entry; the first publisher's org owns it.
func ExampleClient_Publish() {
	cl := connect()
	defer cl.Close()
	e, done, err := cl.Publish(context.Background(), gateway.PublishRequest{
		Key: "https://shop.example/cart", ETag: `"v7"`, MaxAge: 300, Tags: []string{"catalog"},
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(e.Key, e.Version, e.State, "in block", done.Block)
}

// Invalidate gives the entry a new version in state INVALIDATED. An
// expected version turns a stale view into ErrStaleVersion; an idempotency
// key makes a second submission answer the first result.
func ExampleClient_Invalidate() {
	cl := connect()
	defer cl.Close()
	ctx := context.Background()
	e, _, err := cl.Invalidate(ctx, "https://shop.example/cart", "price change", 1,
		gateway.WithIdempotencyKey("price-change-2026-11-25"))
	switch {
	case errors.Is(err, gateway.ErrStaleVersion):
		fmt.Println("someone changed it first; read it again")
	case err != nil:
		var ge *gateway.Error
		if errors.As(err, &ge) && ge.Retryable() {
			fmt.Println("retry later:", ge.Code)
		}
		log.Fatal(err)
	default:
		fmt.Println("invalidated at version", e.Version)
	}
}

// A Coalescer merges concurrent invalidations into InvalidateBatch
// transactions; every caller learns its own key's outcome.
func ExampleCoalescer() {
	cl := connect()
	defer cl.Close()
	co := gateway.NewCoalescer(cl.SubmitBatch, gateway.CoalescerConfig{})
	defer co.Close()
	r, err := co.Invalidate(context.Background(), "img:logo", "deploy 42")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(r.Key, r.Status, r.Version, r.TxID)
}

// Follow delivers every committed transaction of the contract in ledger
// order from a durable checkpoint, reconnecting through the configured
// peers; a restarted follower resumes after the last position it saved.
func ExampleClient_Follow() {
	cl := connect()
	defer cl.Close()
	cp, err := gateway.OpenFileCheckpointer("follow.checkpoint")
	if err != nil {
		log.Fatal(err)
	}
	err = cl.Follow(context.Background(), gateway.FollowConfig{Checkpointer: cp}, func(_ context.Context, tx gateway.Transaction) error {
		if tx.Event == nil {
			return nil // another chaincode's transaction
		}
		for _, t := range tx.Event.Transitions {
			fmt.Println(tx.Position, t.Op, t.Key, t.Version, t.State)
		}
		return nil
	})
	log.Fatal(err)
}

// PurgeScope purges a whole tag in one write; Get then names the purge.
func ExampleClient_PurgeScope() {
	cl := connect()
	defer cl.Close()
	ctx := context.Background()
	g, _, err := cl.PurgeScope(ctx, gateway.PurgeRequest{
		Scope: gateway.Scope{Kind: ledger.ScopeTag, Value: "catalog"}, Soft: true, Reason: "price list",
	}, gateway.WithIdempotencyKey("price-list-2026-12"))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(g.Scope, "generation", g.Generation)
	e, err := cl.Get(ctx, "https://shop.example/p/42")
	if err != nil {
		log.Fatal(err)
	}
	if p := e.Effective.Purge; p != nil {
		fmt.Println(e.Key, e.Effective.State, "by", p.Scope, "in tx", p.TxID)
	}
}

// ClaimHost (as an org admin) keeps other orgs from publishing under a
// host and lets the org purge its prefixes, host and origins.
func ExampleClient_ClaimHost() {
	cl := connect() // an admin's profile
	defer cl.Close()
	ctx := context.Background()
	if _, _, err := cl.ClaimHost(ctx, "shop.example"); err != nil && !errors.Is(err, gateway.ErrHostClaimed) {
		log.Fatal(err)
	}
	_, _, err := cl.PurgeScope(ctx, gateway.PurgeRequest{Scope: gateway.Scope{Kind: ledger.ScopePrefix, Value: "https://shop.example/p/"}})
	if errors.Is(err, gateway.ErrHostClaimed) {
		fmt.Println("another org claims shop.example")
	}
}
