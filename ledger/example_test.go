package ledger_test

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/cachetsync/cachet/ledger"
)

// The contract's one event per transaction lists every transition; a
// follower decodes it without any Fabric dependency.
func ExampleEvent() {
	payload := []byte(`{"txId":"9f2c","timestamp":"2026-11-25T06:41:00.123Z","actor":"Org2MSP",
	 "transitions":[{"op":"invalidate","key":"https://shop.example/cart","version":4,"state":"INVALIDATED","owner":"Org1MSP","reason":"price change"}]}`)
	var ev ledger.Event
	if err := json.Unmarshal(payload, &ev); err != nil {
		panic(err)
	}
	for _, t := range ev.Transitions {
		fmt.Println(ev.Actor, t.Op, t.Key, t.Version, t.State)
	}
	// Output: Org2MSP invalidate https://shop.example/cart 4 INVALIDATED
}

// A peer passes the contract's refusal on inside its own message;
// ParseError finds the code, for errors.As and a switch on Code.
func ExampleParseError() {
	msg := "chaincode response 500, STALE_VERSION: img:a is at version 3, the transaction expected 2"
	le, ok := ledger.ParseError(msg)
	if !ok {
		panic("no code")
	}
	err := fmt.Errorf("invalidate img:a: %w", le)

	var refusal *ledger.Error
	if errors.As(err, &refusal) && refusal.Code == ledger.CodeStaleVersion {
		fmt.Println("stale:", refusal.Message)
	}
	// Output: stale: img:a is at version 3, the transaction expected 2
}

// InvalidateBatch answers each key's new version, and the keys it has no
// entry for.
func ExampleBatchResult() {
	var r ledger.BatchResult
	if err := json.Unmarshal([]byte(`{"invalidated":[{"key":"img:a","version":3,"state":"INVALIDATED"}],"missing":["img:zz"]}`), &r); err != nil {
		panic(err)
	}
	fmt.Println(r.Invalidated[0].Key, r.Invalidated[0].Version, r.Missing)
	// Output: img:a 3 [img:zz]
}

// Get answers an entry's effective state: its own state is VALID, but a
// tag purge made after it was written covers it, and names itself.
func ExampleEffective() {
	var e ledger.Entry
	if err := json.Unmarshal([]byte(`{"key":"https://shop.example/p/42","version":1,"state":"VALID","owner":"Org1MSP",
	 "updatedAt":"2026-11-25T06:41:00Z","txId":"a1","generations":{"tag:catalog":3},
	 "effective":{"state":"INVALIDATED","purge":{"scope":"tag","value":"catalog","owner":"Org1MSP","generation":4,
	 "txId":"b7","timestamp":"2026-11-25T07:00:00Z"}}}`), &e); err != nil {
		panic(err)
	}
	p := e.Effective.Purge
	fmt.Println(e.State, "->", e.Effective.State, "by", p.Scope, "generation", p.Generation, "tx", p.TxID)
	// Output: VALID -> INVALIDATED by tag:catalog generation 4 tx b7
}
