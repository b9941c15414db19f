package chaincode_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/cachetsync/cachet/chaincode/chaincodetest"
	"github.com/cachetsync/cachet/ledger"
	"github.com/cachetsync/cachet/record"
)

// A browser may refill its copy after an invalidation, so invalidating an
// INVALIDATED entry commits a new version, with its own transition.
func TestInvalidateTwiceCommitsTwoVersions(t *testing.T) {
	e := newEnv(t)
	e.publish(org1Pub, "img:a")
	for _, want := range []uint64{2, 3} {
		var got ledger.Entry
		r := e.ok(org1Inv, &got, "Invalidate", "img:a", "refilled", "0")
		if got.Version != want || got.State != record.StateInvalidated {
			t.Fatalf("answer %+v, want version %d INVALIDATED", got, want)
		}
		tr := event(t, r).Transitions
		if len(tr) != 1 || tr[0].Op != ledger.OpInvalidate || tr[0].Version != want || tr[0].Reason != "refilled" {
			t.Fatalf("event %+v, want one invalidate at version %d", tr, want)
		}
	}
	var h []ledger.HistoryItem
	e.ok(org1Aud, &h, "History", "img:a")
	if len(h) != 3 || h[2].Entry.Version != 3 {
		t.Fatalf("history %+v, want publish and two invalidations", h)
	}
}

// An expected version that is not the entry's is a stale view or a replay:
// STALE_VERSION, which a client reads back as a typed *ledger.Error.
func TestInvalidateExpectedVersionMismatchIsStale(t *testing.T) {
	e := newEnv(t)
	e.publish(org1Pub, "img:a")
	e.ok(org1Inv, nil, "Invalidate", "img:a", "", "1")
	r := e.refused(org1Inv, ledger.CodeStaleVersion, "img:a is at version 2, the transaction expected 1", "Invalidate", "img:a", "", "1")
	var le *ledger.Error
	if parsed, ok := ledger.ParseError(r.Message); !ok || !errors.As(fmt.Errorf("invalidate: %w", parsed), &le) || le.Code != ledger.CodeStaleVersion {
		t.Fatalf("%q: want a STALE_VERSION *ledger.Error, got %+v", r.Message, le)
	}
	var got ledger.Entry
	e.ok(org1Inv, &got, "Invalidate", "img:a", "", "2")
	if got.Version != 3 {
		t.Fatalf("the current expected version must commit: %+v", got)
	}
}

// Keys already invalidated in a batch get new versions like the others.
func TestInvalidateBatchOfInvalidatedKeys(t *testing.T) {
	e := newEnv(t)
	keys := []string{"img:a", "img:b", "img:c"}
	for _, k := range keys {
		e.publish(org1Pub, k)
	}
	e.ok(org1Inv, nil, "InvalidateBatch", `["img:a","img:b","img:c"]`, "first")
	var res ledger.BatchResult
	r := e.ok(org1Inv, &res, "InvalidateBatch", `["img:a","img:b","img:c"]`, "second")
	if fmt.Sprint(res.Invalidated) != "[{img:a 3 INVALIDATED} {img:b 3 INVALIDATED} {img:c 3 INVALIDATED}]" || len(res.Missing) != 0 {
		t.Fatalf("second batch %+v, want every key at version 3", res)
	}
	if tr := event(t, r).Transitions; len(tr) != 3 || tr[2].Reason != "second" {
		t.Fatalf("event %+v, want three transitions", tr)
	}
}

func withKey(k string) map[string][]byte {
	return map[string][]byte{ledger.TransientIdempotencyKey: []byte(k)}
}

// The same idempotency key twice commits once: the second call writes
// nothing, emits no transition and answers the first result.
func TestIdempotencyKey(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"Invalidate", []string{"Invalidate", "img:a", "deploy", "0"}},
		{"InvalidateBatch", []string{"InvalidateBatch", `["img:a","img:b","img:zz"]`, "deploy"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			e.publish(org1Pub, "img:a")
			e.publish(org1Pub, "img:b")
			first := e.l.Invoke(e.cc, org1Inv, withKey("deploy-42"), tc.args...)
			if first.Status != 200 || first.Writes == 0 {
				t.Fatalf("first: %d %s, %d writes", first.Status, first.Message, first.Writes)
			}
			before := e.l.Snapshot()
			again := e.l.Invoke(e.cc, org1Inv, withKey("deploy-42"), tc.args...)
			if again.Status != 200 || string(again.Payload) != string(first.Payload) {
				t.Fatalf("replay answered %d %s %s, want the first answer %s", again.Status, again.Message, again.Payload, first.Payload)
			}
			if again.Writes != 0 || len(event(t, again).Transitions) != 0 || fmt.Sprint(e.l.Snapshot()) != fmt.Sprint(before) {
				t.Fatalf("replay wrote %d keys or emitted transitions", again.Writes)
			}
			// Another key, or the same key from another org, commits.
			var a ledger.Entry
			e.ok(org1Aud, &a, "Get", "img:a")
			for _, other := range []struct {
				id  chaincodetest.Identity
				key string
			}{{org1Inv, "deploy-43"}, {org2Inv, "deploy-42"}} {
				r := e.l.Invoke(e.cc, other.id, withKey(other.key), tc.args...)
				if r.Status != 200 || r.Writes == 0 || string(r.Payload) == string(first.Payload) {
					t.Fatalf("%s/%s: %d %s %s, want a new commit", other.id.MSPID, other.key, r.Status, r.Message, r.Payload)
				}
			}
			var after ledger.Entry
			e.ok(org1Aud, &after, "Get", "img:a")
			if after.Version != a.Version+2 {
				t.Fatalf("img:a at version %d after two new keys, want %d", after.Version, a.Version+2)
			}
		})
	}
}

func TestIdempotencyKeyRefusals(t *testing.T) {
	e := newEnv(t)
	e.publish(org1Pub, "img:a")
	e.l.Invoke(e.cc, org1Inv, withKey("k1"), "Invalidate", "img:a", "", "0")
	for _, tc := range []struct {
		name, key, want string
		args            []string
	}{
		{"used by another transaction", "k1", "used by Invalidate", []string{"InvalidateBatch", `["img:a"]`, ""}},
		{"empty", "", "idempotency key", []string{"Invalidate", "img:a", "", "0"}},
		{"control byte", "k\x00", "idempotency key", []string{"Invalidate", "img:a", "", "0"}},
		{"too long", strings.Repeat("k", ledger.MaxIdempotencyKeyBytes+1), "idempotency key", []string{"Invalidate", "img:a", "", "0"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := e.l.Snapshot()
			r := e.l.Invoke(e.cc, org1Inv, withKey(tc.key), tc.args...)
			if r.Status == 200 || !strings.HasPrefix(r.Message, string(ledger.CodeInvalidArgument)+": ") || !strings.Contains(r.Message, tc.want) {
				t.Fatalf("%d %q, want INVALID_ARGUMENT naming %q", r.Status, r.Message, tc.want)
			}
			if r.Writes != 0 || fmt.Sprint(e.l.Snapshot()) != fmt.Sprint(before) {
				t.Fatal("a refused transaction changed the ledger")
			}
		})
	}
}
