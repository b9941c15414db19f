package advice_test

import (
	"context"
	"fmt"
	"time"

	"github.com/cachetsync/cachet/advice"
	"github.com/cachetsync/cachet/gateway"
	"github.com/cachetsync/cachet/record"
)

// A writer routes the invalidations of a key analytics advises to batch
// through one coalescer. Here the advice is applied by hand and the
// coalescer's transactions are a stand-in; a real writer follows the
// advice topic (Table.Follow) and submits through gateway.Client.SubmitBatch.
func ExampleRouter() {
	table := advice.NewTable()
	table.Apply(record.Advice{V: record.Version, Key: "https://shop.example/cart", At: time.Now(),
		ConflictRisk: 0.4, Action: record.ActionBatch, Engine: "cpu"})
	co := gateway.NewCoalescer(func(_ context.Context, keys []string, _ string) (gateway.BatchResult, error) {
		res := gateway.BatchResult{TxID: "tx1", Block: 9, Keys: map[string]gateway.KeyResult{}}
		for _, k := range keys {
			res.Keys[k] = gateway.KeyResult{Status: gateway.KeyInvalidated, Version: 2}
		}
		return res, nil
	}, gateway.CoalescerConfig{})
	defer co.Close()
	r := &advice.Router{Advice: table, Coalescer: co} // Client: a *gateway.Client for the other keys
	fmt.Println(r.Batched("https://shop.example/cart"), r.Batched("https://shop.example/home"))
	res, err := r.Invalidate(context.Background(), "https://shop.example/cart", "price change")
	fmt.Println(res.TxID, res.Version, err)
	// Output:
	// true false
	// tx1 2 <nil>
}
