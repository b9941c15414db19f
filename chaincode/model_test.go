package chaincode_test

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/cachetsync/cachet/chaincode/chaincodetest"
	"github.com/cachetsync/cachet/ledger"
	"github.com/cachetsync/cachet/record"
)

// model is the plain reference: what the contract should do, written as
// simply as possible.
type model struct {
	entries map[string]*ledger.Entry
	tomb    map[string]ledger.Entry // last version and owner of purged keys
}

type outcome struct {
	code        ledger.Code // "" for success
	transitions []ledger.Transition
}

func writer(id chaincodetest.Identity, roles ...string) bool {
	for _, r := range roles {
		if id.Role == r {
			return true
		}
	}
	return false
}

func (m *model) apply(id chaincodetest.Identity, op string, key string, tags []string, expected uint64) outcome {
	e := m.entries[key]
	switch op {
	case "Publish":
		if !writer(id, "publisher") {
			return outcome{code: ledger.CodeForbidden}
		}
		var version uint64
		owner := id.MSPID
		if e != nil {
			version, owner = e.Version, e.Owner
		} else if ts, ok := m.tomb[key]; ok {
			version, owner = ts.Version, ts.Owner
		}
		if owner != id.MSPID {
			return outcome{code: ledger.CodeForbidden}
		}
		if expected != 0 && expected != version {
			return outcome{code: ledger.CodeStaleVersion}
		}
		n := &ledger.Entry{Key: key, Version: version + 1, State: record.StateValid, Owner: owner, Tags: tags}
		m.entries[key] = n
		return outcome{transitions: []ledger.Transition{{Op: ledger.OpPublish, Key: key, Version: n.Version, State: n.State, Owner: owner, Tags: tags}}}
	case "Invalidate":
		if !writer(id, "publisher", "invalidator") {
			return outcome{code: ledger.CodeForbidden}
		}
		if e == nil {
			return outcome{code: ledger.CodeNotFound}
		}
		if expected != 0 && expected != e.Version {
			return outcome{code: ledger.CodeStaleVersion}
		}
		e.Version++
		e.State = record.StateInvalidated
		return outcome{transitions: []ledger.Transition{{Op: ledger.OpInvalidate, Key: key, Version: e.Version, State: e.State, Owner: e.Owner, Tags: e.Tags}}}
	case "Purge":
		if !writer(id, "publisher") {
			return outcome{code: ledger.CodeForbidden}
		}
		if e == nil {
			return outcome{code: ledger.CodeNotFound}
		}
		if e.Owner != id.MSPID {
			return outcome{code: ledger.CodeForbidden}
		}
		if expected != 0 && expected != e.Version {
			return outcome{code: ledger.CodeStaleVersion}
		}
		delete(m.entries, key)
		m.tomb[key] = ledger.Entry{Version: e.Version + 1, Owner: e.Owner}
		return outcome{transitions: []ledger.Transition{{Op: ledger.OpPurge, Key: key, Version: e.Version + 1, State: record.StatePurged, Owner: e.Owner, Tags: e.Tags}}}
	}
	panic(op)
}

// batch is InvalidateBatch in the model: keys are canonical already.
func (m *model) batch(id chaincodetest.Identity, keys []string) (outcome, ledger.BatchResult) {
	var res ledger.BatchResult
	if !writer(id, "publisher", "invalidator") {
		return outcome{code: ledger.CodeForbidden}, res
	}
	var out outcome
	for i, key := range keys {
		if slices.Contains(keys[:i], key) {
			continue
		}
		e := m.entries[key]
		if e == nil {
			res.Missing = append(res.Missing, key)
			continue
		}
		e.Version++
		e.State = record.StateInvalidated
		res.Invalidated = append(res.Invalidated, ledger.Summary{Key: key, Version: e.Version, State: e.State})
		out.transitions = append(out.transitions, ledger.Transition{Op: ledger.OpInvalidate, Key: key, Version: e.Version, State: e.State, Owner: e.Owner, Tags: e.Tags})
	}
	return out, res
}

// TestContractMatchesModel runs random operations (publish, invalidate,
// batch invalidate, purge) from several orgs and roles against the contract
// and the model; codes, transitions, batch results, versions and final
// states must agree.
func TestContractMatchesModel(t *testing.T) {
	ids := []chaincodetest.Identity{org1Pub, org1Pub, org1Pub, org1Inv, org1Aud, org2Pub, org2Pub, org2Inv, org1Plain}
	keys := []string{"img:a", "img:b", "https://shop.example/x", "https://shop.example/y?b=1&a=2"}
	allTags := []string{"t1", "t2", "t3"}
	ops := []string{"Publish", "Publish", "Invalidate", "Invalidate", "Purge", "InvalidateBatch"}
	canonical := func(key string) string {
		if strings.HasPrefix(key, "https://shop.example/y") {
			return "https://shop.example/y?a=2&b=1"
		}
		return key
	}
	for seed := range uint64(8) {
		t.Run(fmt.Sprintf("seed%d", seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 0xcac4e7))
			e := newEnv(t)
			m := &model{entries: map[string]*ledger.Entry{}, tomb: map[string]ledger.Entry{}}
			accepted, refused := 0, 0
			for step := range 300 {
				id := ids[rng.IntN(len(ids))]
				op := ops[rng.IntN(len(ops))]
				key := keys[rng.IntN(len(keys))]
				var tags []string
				for _, tag := range allTags {
					if rng.IntN(2) == 0 {
						tags = append(tags, tag)
					}
				}
				var expected uint64
				if rng.IntN(3) == 0 {
					expected = uint64(rng.IntN(6))
				}
				var args []string
				var batchKeys []string
				switch op {
				case "InvalidateBatch":
					raw := make([]string, 1+rng.IntN(4))
					for i := range raw {
						raw[i] = keys[rng.IntN(len(keys))]
						batchKeys = append(batchKeys, canonical(raw[i]))
					}
					kj, _ := json.Marshal(raw)
					args = []string{op, string(kj), "batch"}
				case "Publish":
					tj, _ := json.Marshal(append([]string{}, tags...))
					args = []string{op, key, "", "0", string(tj), fmt.Sprint(expected)}
				case "Invalidate":
					args = []string{op, key, "", fmt.Sprint(expected)}
				case "Purge":
					args = []string{op, key, fmt.Sprint(expected)}
				}
				var want outcome
				var wantBatch ledger.BatchResult
				if op == "InvalidateBatch" {
					want, wantBatch = m.batch(id, batchKeys)
				} else {
					want = m.apply(id, op, canonical(key), tags, expected)
				}
				r := e.call(id, args...)
				if want.code != "" {
					if r.Status == 200 || !strings.HasPrefix(r.Message, string(want.code)+":") {
						t.Fatalf("step %d %v as %v: got %d %q, model says %s", step, args, id, r.Status, r.Message, want.code)
					}
					refused++
					continue
				}
				if r.Status != 200 {
					t.Fatalf("step %d %v as %v: refused %q, model accepts", step, args, id, r.Message)
				}
				accepted++
				if op == "InvalidateBatch" {
					var res ledger.BatchResult
					json.Unmarshal(r.Payload, &res)
					if fmt.Sprint(res.Invalidated) != fmt.Sprint(wantBatch.Invalidated) || fmt.Sprint(res.Missing) != fmt.Sprint(wantBatch.Missing) {
						t.Fatalf("step %d %v: batch result %+v, model %+v", step, args, res, wantBatch)
					}
				}
				got := event(t, r).Transitions
				if len(got) != len(want.transitions) {
					t.Fatalf("step %d: %d transitions, want %d", step, len(got), len(want.transitions))
				}
				for i := range got {
					g, w := got[i], want.transitions[i]
					if g.Op != w.Op || g.Key != w.Key || g.Version != w.Version || g.State != w.State || g.Owner != w.Owner || fmt.Sprint(g.Tags) != fmt.Sprint(w.Tags) {
						t.Fatalf("step %d: transition %+v, model %+v", step, g, w)
					}
				}
			}
			if accepted < 25 || refused < 25 {
				t.Fatalf("%d accepted, %d refused: the sequence does not exercise both paths", accepted, refused)
			}
			for _, key := range []string{"img:a", "img:b", "https://shop.example/x", "https://shop.example/y?a=2&b=1"} {
				var got ledger.Entry
				b := e.l.State(key)
				w := m.entries[key]
				if (b == nil) != (w == nil) {
					t.Fatalf("%s: ledger has %s, model %v", key, b, w)
				}
				if b == nil {
					continue
				}
				json.Unmarshal(b, &got)
				if got.Version != w.Version || got.State != w.State || got.Owner != w.Owner {
					t.Fatalf("%s: ledger %+v, model %+v", key, got, *w)
				}
			}
		})
	}
}
