package coverage_test

import (
	"fmt"
	"log"
	"time"

	"github.com/cachetsync/cachet/coverage"
	"github.com/cachetsync/cachet/record"
)

// A transition, and eviction receipts from three browsers: one arrives
// before the transition (the topics are not ordered), one twice.
func Example() {
	committed := time.Now().Add(-time.Minute)
	t, err := coverage.New(coverage.WithMaxTransitions(1000))
	if err != nil {
		log.Fatal(err)
	}
	receipt := func(client string, lag time.Duration) {
		o, err := t.AddReceipt(record.Read{Kind: record.ReadEvict, Key: "https://shop.example/cart", Version: 7,
			Client: client, At: committed.Add(lag)})
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(client, o)
	}
	receipt("early", 30*time.Millisecond)
	if _, err := t.AddTransition(record.Transition{TxID: "f00d", Key: "https://shop.example/cart", Version: 7,
		State: record.StateInvalidated, Timestamp: committed, Owner: "Org1MSP", Actor: "Org1MSP"}); err != nil {
		log.Fatal(err)
	}
	receipt("twice", 80*time.Millisecond)
	receipt("twice", 90*time.Millisecond)
	receipt("late", 4*time.Second)

	rep, _ := t.Tx("f00d")
	for _, c := range rep.Transitions {
		fmt.Printf("%s@%d: %d clients, lag p50 %s, max %s\n", c.Key, c.Version, c.Clients, c.Lag.P50, c.Lag.Max)
	}
	// Output:
	// early pending
	// twice acknowledged
	// twice duplicate
	// late acknowledged
	// https://shop.example/cart@7: 3 clients, lag p50 80ms, max 4s
}
