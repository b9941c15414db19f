package advice_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/cachetsync/cachet/advice"
	"github.com/cachetsync/cachet/cachekey"
	"github.com/cachetsync/cachet/gateway"
	"github.com/cachetsync/cachet/record"
)

func adv(key string, at int, action record.Action) record.Advice {
	return record.Advice{V: record.Version, Key: key, At: time.Unix(int64(at), 0), Action: action, Engine: "cpu"}
}

func TestTableKeepsNewestAdvice(t *testing.T) {
	const k = "https://shop.example/a"
	for _, tc := range []struct {
		name    string
		applied []record.Advice
		want    record.Action
		kept    []bool
	}{
		{"one", []record.Advice{adv(k, 1, record.ActionBatch)}, record.ActionBatch, []bool{true}},
		{"newer replaces", []record.Advice{adv(k, 1, record.ActionBatch), adv(k, 2, record.ActionNone)}, record.ActionNone, []bool{true, true}},
		{"older is ignored", []record.Advice{adv(k, 2, record.ActionNone), adv(k, 1, record.ActionBatch)}, record.ActionNone, []bool{true, false}},
		{"same time: the later record", []record.Advice{adv(k, 2, record.ActionNone), adv(k, 2, record.ActionBatch)}, record.ActionBatch, []bool{true, true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tb := advice.NewTable()
			for i, a := range tc.applied {
				if got := tb.Apply(a); got != tc.kept[i] {
					t.Errorf("Apply #%d = %v, want %v", i, got, tc.kept[i])
				}
			}
			if a, ok := tb.Get(k); !ok || a.Action != tc.want || tb.Len() != 1 {
				t.Errorf("Get = %+v %v (len %d), want action %s", a, ok, tb.Len(), tc.want)
			}
		})
	}
}

// direct is an Invalidator that counts its calls.
type direct struct {
	mu   sync.Mutex
	keys []string
}

func (d *direct) Invalidate(_ context.Context, key, _ string, _ uint64, _ ...gateway.InvalidateOption) (gateway.Entry, gateway.Committed, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.keys = append(d.keys, key)
	return gateway.Entry{Key: key, Version: 7}, gateway.Committed{TxID: "direct", Block: 1}, nil
}

func TestRouterFollowsTheBatchAdvice(t *testing.T) {
	const hot, cold, other = "https://shop.example/hot", "https://shop.example/cold", "https://shop.example/other"
	tb := advice.NewTable()
	tb.Apply(adv(hot, 1, record.ActionBatch))
	tb.Apply(adv(other, 1, record.ActionInvalidateEarly))
	var batched [][]string
	co := gateway.NewCoalescer(func(_ context.Context, keys []string, _ string) (gateway.BatchResult, error) {
		batched = append(batched, keys)
		res := gateway.BatchResult{TxID: "batch", Block: 2, Keys: map[string]gateway.KeyResult{}}
		for _, k := range keys {
			res.Keys[k] = gateway.KeyResult{Status: gateway.KeyInvalidated, Version: 3}
		}
		return res, nil
	}, gateway.CoalescerConfig{MaxInFlight: 1})
	defer co.Close()
	d := &direct{}
	r := &advice.Router{Advice: tb, Client: d, Coalescer: co}
	for _, tc := range []struct {
		key, tx string
		version uint64
	}{
		{hot, "batch", 3},
		{"HTTPS://SHOP.EXAMPLE:443/hot", "batch", 3}, // the advice's key is canonical
		{cold, "direct", 7},                          // no advice
		{other, "direct", 7},                         // advice, not to batch
	} {
		res, err := r.Invalidate(context.Background(), tc.key, "edit")
		if err != nil || res.TxID != tc.tx || res.Version != tc.version {
			t.Errorf("Invalidate(%s) = %+v, %v; want tx %s version %d", tc.key, res, err, tc.tx, tc.version)
		}
	}
	if fmt.Sprint(d.keys) != fmt.Sprint([]string{cold, other}) || len(batched) != 2 {
		t.Errorf("direct %v, batched %v", d.keys, batched)
	}
	var kerr *cachekey.Error
	if _, err := r.Invalidate(context.Background(), "ftp://shop.example/x", "edit"); !errors.As(err, &kerr) {
		t.Errorf("a malformed key: %v, want a *cachekey.Error", err)
	}
}
