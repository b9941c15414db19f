package chaincode_test

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/cachetsync/cachet/chaincode"
	"github.com/cachetsync/cachet/chaincode/chaincodetest"
	"github.com/cachetsync/cachet/ledger"
	"github.com/cachetsync/cachet/record"
	"github.com/hyperledger/fabric-chaincode-go/v2/pkg/statebased"
)

func TestPublishCreatesOwnedEntryWithKeyLevelPolicy(t *testing.T) {
	e := newEnv(t)
	entry := e.publish(org1Pub, "HTTPS://Shop.Example:443/cart?b=2&a=1#top", "catalog", "eu", "catalog")
	want := ledger.Entry{Key: "https://shop.example/cart?a=1&b=2", Version: 1, State: record.StateValid, ETag: "e1", MaxAge: 60,
		Tags: []string{"catalog", "eu"}, Owner: "Org1MSP", UpdatedAt: "2026-11-25T00:00:00.001Z", TxID: "tx000001"}
	if fmt.Sprint(entry) != fmt.Sprint(want) {
		t.Fatalf("got %+v\nwant %+v", entry, want)
	}
	ep, err := statebased.NewStateEP(e.l.ValidationParameter(want.Key))
	if err != nil {
		t.Fatal(err)
	}
	if orgs := ep.ListOrgs(); len(orgs) != 1 || orgs[0] != "Org1MSP" {
		t.Fatalf("key-level policy names %v, want the owner org only", orgs)
	}
}

func TestVersionsStayMonotonicThroughEveryTransition(t *testing.T) {
	e := newEnv(t)
	key := "img:logo"
	steps := []struct {
		id    chaincodetest.Identity
		args  []string
		op    ledger.Op
		state record.State
	}{
		{org1Pub, []string{"Publish", key, "a", "10", "[]", "0"}, ledger.OpPublish, record.StateValid},
		{org1Inv, []string{"Invalidate", key, "changed", "1"}, ledger.OpInvalidate, record.StateInvalidated},
		{org1Pub, []string{"Publish", key, "b", "10", "[]", "2"}, ledger.OpPublish, record.StateValid},
		{org1Pub, []string{"Purge", key, "3"}, ledger.OpPurge, record.StatePurged},
		{org1Pub, []string{"Publish", key, "c", "10", "[]", "4"}, ledger.OpPublish, record.StateValid},
	}
	for i, s := range steps {
		r := e.ok(s.id, nil, s.args...)
		ev := event(t, r)
		if len(ev.Transitions) != 1 {
			t.Fatalf("step %d: %d transitions", i, len(ev.Transitions))
		}
		tr := ev.Transitions[0]
		if tr.Version != uint64(i+1) || tr.Op != s.op || tr.State != s.state || tr.Key != key || tr.Owner != "Org1MSP" {
			t.Fatalf("step %d: transition %+v", i, tr)
		}
		if ev.TxID != r.TxID || ev.Actor != s.id.MSPID || ev.Timestamp == "" {
			t.Fatalf("step %d: event header %+v", i, ev)
		}
	}
	if e.l.State(key) == nil {
		t.Fatal("republished entry missing")
	}
}

func TestTraceparentFromTransientMap(t *testing.T) {
	const tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	tests := []struct{ in, want string }{
		{tp, tp},
		{"", ""},
		{"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7", ""},
		{"00-00000000000000000000000000000000-00f067aa0ba902b7-01", ""},
		{"00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01", ""},
	}
	for i, tt := range tests {
		e := newEnv(t)
		r := e.l.Invoke(e.cc, org1Pub, map[string][]byte{"traceparent": []byte(tt.in)}, "Publish", fmt.Sprintf("img:%d", i), "", "0", "[]", "0")
		if got := event(t, r).Traceparent; got != tt.want {
			t.Errorf("traceparent %q: event carries %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestBadInputIsRefusedAndChangesNothing(t *testing.T) {
	tooManyTags, _ := json.Marshal(strings.Split(strings.Repeat("t,", 17)[:33], ","))
	longTag, _ := json.Marshal([]string{strings.Repeat("t", 65)})
	batch := make([]string, ledger.MaxBatchKeys+1)
	for i := range batch {
		batch[i] = fmt.Sprintf("img:%d", i)
	}
	bigBatch, _ := json.Marshal(batch)
	tests := []struct {
		name string
		id   chaincodetest.Identity
		code ledger.Code
		want string
		args []string
	}{
		{"empty key", org1Pub, ledger.CodeInvalidArgument, "empty", []string{"Publish", "", "", "0", "[]", "0"}},
		{"leading NUL", org1Pub, ledger.CodeInvalidArgument, "leading-nul", []string{"Publish", "\x00img:a", "", "0", "[]", "0"}},
		{"invalid UTF-8", org1Inv, ledger.CodeInvalidArgument, "invalid-utf8", []string{"Invalidate", "img:\xff", "", "0"}},
		{"key too long", org1Pub, ledger.CodeLimitExceeded, "too-long", []string{"Publish", "img:" + strings.Repeat("k", 1100), "", "0", "[]", "0"}},
		{"unknown state", org1Inv, ledger.CodeInvalidArgument, "unknown state", []string{"Invalidate", "img:corrupt", "", "0"}},
		{"stale version", org1Inv, ledger.CodeStaleVersion, "at version 1, the transaction expected 7", []string{"Invalidate", "img:a", "", "7"}},
		{"replayed transition", org1Inv, ledger.CodeStaleVersion, "expected 1", []string{"Invalidate", "img:done", "", "1"}},
		{"not found", org1Inv, ledger.CodeNotFound, "img:nope", []string{"Invalidate", "img:nope", "", "0"}},
		{"batch over limit", org1Inv, ledger.CodeLimitExceeded, "batch of 1001 keys", []string{"InvalidateBatch", string(bigBatch), ""}},
		{"empty batch", org1Inv, ledger.CodeInvalidArgument, "at least one key", []string{"InvalidateBatch", "[]", ""}},
		{"malformed key in batch", org1Inv, ledger.CodeInvalidArgument, "key 1", []string{"InvalidateBatch", `["img:a","nope"]`, ""}},
		{"too many tags", org1Pub, ledger.CodeLimitExceeded, "17 tags", []string{"Publish", "img:t", "", "0", string(tooManyTags), "0"}},
		{"tag too long", org1Pub, ledger.CodeLimitExceeded, "bad-tag", []string{"Publish", "img:t", "", "0", string(longTag), "0"}},
		{"malformed tag", org1Pub, ledger.CodeInvalidArgument, "bad-tag", []string{"Publish", "img:t", "", "0", `["Upper"]`, "0"}},
		{"etag too long", org1Pub, ledger.CodeLimitExceeded, "etag", []string{"Publish", "img:t", strings.Repeat("e", 257), "0", "[]", "0"}},
		{"max-age too long", org1Pub, ledger.CodeLimitExceeded, "maxAge", []string{"Publish", "img:t", "", "40000000", "[]", "0"}},
		{"reason too long", org1Inv, ledger.CodeLimitExceeded, "reason", []string{"Invalidate", "img:a", strings.Repeat("r", 257), "0"}},
		{"page size too large", org1Inv, ledger.CodeLimitExceeded, "page size", []string{"InvalidateTag", "catalog", "", "5000", ""}},
		{"forged bookmark", org1Inv, ledger.CodeInvalidArgument, "bookmark", []string{"InvalidateTag", "catalog", "x\x00y", "10", ""}},
		{"tags JSON does not parse", org1Pub, ledger.CodeInvalidArgument, "param", []string{"Publish", "img:t", "", "0", `["a",`, "0"}},
		{"tags JSON is not a list of strings", org1Pub, ledger.CodeInvalidArgument, "param", []string{"Publish", "img:t", "", "0", `{"a":1}`, "0"}},
		{"maxAge not a number", org1Pub, ledger.CodeInvalidArgument, "param", []string{"Publish", "img:t", "", "sixty", "[]", "0"}},
		{"maxAge over uint32", org1Pub, ledger.CodeInvalidArgument, "param", []string{"Publish", "img:t", "", "4294967296", "[]", "0"}},
		{"negative expectedVersion", org1Inv, ledger.CodeInvalidArgument, "param", []string{"Invalidate", "img:a", "", "-1"}},
		{"too few arguments", org1Pub, ledger.CodeInvalidArgument, "Publish takes 5 arguments, got 1", []string{"Publish", "img:t"}},
		{"surplus argument", org1Inv, ledger.CodeInvalidArgument, "Invalidate takes 3 arguments, got 4", []string{"Invalidate", "img:a", "", "0", "extra"}},
		{"unknown function", org1Pub, ledger.CodeInvalidArgument, "Steal", []string{"Steal", "img:t"}},
		{"GetMany with a malformed key", org1Aud, ledger.CodeInvalidArgument, "leading-nul", []string{"GetMany", `["img:a","\u0000x"]`}},
		{"GetMany over limit", org1Aud, ledger.CodeLimitExceeded, "1001 keys", []string{"GetMany", string(bigBatch)}},
		{"ListByTag with a malformed bookmark", org1Aud, ledger.CodeInvalidArgument, "bookmark", []string{"ListByTag", "catalog", "\x01tomb", "10"}},
		{"no role", org1Plain, ledger.CodeForbidden, "has none", []string{"Invalidate", "img:a", "", "0"}},
		{"auditor writes", org1Aud, ledger.CodeForbidden, `role "auditor"`, []string{"Invalidate", "img:a", "", "0"}},
		{"invalidator publishes", org1Inv, ledger.CodeForbidden, "Publish needs role", []string{"Publish", "img:new", "", "0", "[]", "0"}},
		{"other org republishes", org2Pub, ledger.CodeForbidden, "owned by Org1MSP", []string{"Publish", "img:a", "", "0", "[]", "0"}},
		{"other org purges", org2Pub, ledger.CodeForbidden, "owned by Org1MSP", []string{"Purge", "img:a", "0"}},
		{"other org republishes a purged key", org2Pub, ledger.CodeForbidden, "owned by Org1MSP", []string{"Publish", "img:gone", "", "0", "[]", "0"}},
		{"history without role", org1Plain, ledger.CodeForbidden, "History", []string{"History", "img:a"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			e.publish(org1Pub, "img:a", "catalog")
			e.publish(org1Pub, "img:done")
			e.ok(org1Inv, nil, "Invalidate", "img:done", "", "1")
			e.publish(org1Pub, "img:gone")
			e.ok(org1Pub, nil, "Purge", "img:gone", "0")
			e.l.SetState("img:corrupt", []byte(`{"key":"img:corrupt","version":3,"state":"MELTED","owner":"Org1MSP"}`))
			e.refused(tt.id, tt.code, tt.want, tt.args...)
		})
	}
}

func TestOtherOrgMayInvalidateButOwnerMustEndorse(t *testing.T) {
	e := newEnv(t)
	e.publish(org1Pub, "img:a")
	r := e.ok(org2Inv, nil, "Invalidate", "img:a", "partner saw a change", "0")
	ev := event(t, r)
	if ev.Actor != "Org2MSP" || ev.Transitions[0].Owner != "Org1MSP" {
		t.Fatalf("event %+v: actor and owner must both be recorded", ev)
	}
	ep, _ := statebased.NewStateEP(e.l.ValidationParameter("img:a"))
	if orgs := ep.ListOrgs(); len(orgs) != 1 || orgs[0] != "Org1MSP" {
		t.Fatalf("the owner's endorsement requirement must survive another org's change: %v", orgs)
	}
}

func TestInvalidateBatch(t *testing.T) {
	e := newEnv(t)
	for _, k := range []string{"img:a", "img:b", "img:c"} {
		e.publish(org1Pub, k)
	}
	e.ok(org1Inv, nil, "Invalidate", "img:c", "", "0")
	var res ledger.BatchResult
	r := e.ok(org1Inv, &res, "InvalidateBatch", `["img:a","img:b","img:a","img:c","img:zz"]`, "deploy 42")
	// img:c was invalidated already: it gets a new version all the same.
	if fmt.Sprint(res.Invalidated) != "[{img:a 2 INVALIDATED} {img:b 2 INVALIDATED} {img:c 3 INVALIDATED}]" {
		t.Fatalf("invalidated %+v", res.Invalidated)
	}
	if fmt.Sprint(res.Missing) != "[img:zz]" {
		t.Fatalf("missing %v", res.Missing)
	}
	ev := event(t, r)
	if len(ev.Transitions) != 3 || ev.Transitions[1].Reason != "deploy 42" || ev.Transitions[2].Version != 3 {
		t.Fatalf("one event must carry every transition of the batch: %+v", ev.Transitions)
	}
}

func TestInvalidateTagPagesThroughTheIndex(t *testing.T) {
	e := newEnv(t)
	for i := range 25 {
		e.publish(org1Pub, fmt.Sprintf("https://shop.example/p/%02d", i), "catalog")
	}
	e.publish(org1Pub, "https://shop.example/other", "blog")
	e.ok(org1Inv, nil, "Invalidate", "https://shop.example/p/03", "", "0")

	var all []string
	bookmark, pages := "", 0
	for {
		var page ledger.TagPage
		r := e.ok(org1Inv, &page, "InvalidateTag", "catalog", bookmark, "10", "")
		if len(event(t, r).Transitions) != page.Invalidated {
			t.Fatal("the event must list exactly the page's transitions")
		}
		all = append(all, page.Keys...)
		pages++
		if bookmark = page.Bookmark; bookmark == "" {
			break
		}
	}
	if pages != 3 || len(all) != 25 {
		t.Fatalf("%d pages, %d keys invalidated; want 3 pages and 25 keys (the one already invalid too)", pages, len(all))
	}
	var p03 ledger.Entry
	e.ok(org1Aud, &p03, "Get", "https://shop.example/p/03")
	if p03.Version != 3 || p03.State != record.StateInvalidated {
		t.Fatalf("the key invalidated before the tag: %+v, want version 3 INVALIDATED", p03)
	}
	var other ledger.Entry
	e.ok(org1Aud, &other, "Get", "https://shop.example/other")
	if other.State != record.StateValid {
		t.Fatal("a key without the tag was invalidated")
	}
}

func TestListings(t *testing.T) {
	e := newEnv(t)
	for i := range 7 {
		e.publish(org1Pub, fmt.Sprintf("img:%d", i), "t1")
	}
	e.publish(org2Pub, "img:org2", "t1")
	collect := func(fn, attr string) []string {
		var keys []string
		bookmark := ""
		for {
			var p ledger.Page
			e.ok(org1Aud, &p, fn, attr, bookmark, "3")
			for _, en := range p.Entries {
				keys = append(keys, en.Key)
			}
			if bookmark = p.Bookmark; bookmark == "" {
				return keys
			}
		}
	}
	if got := collect("ListByTag", "t1"); len(got) != 8 {
		t.Fatalf("ListByTag: %v", got)
	}
	if got := collect("ListByOwner", "Org2MSP"); fmt.Sprint(got) != "[img:org2]" {
		t.Fatalf("ListByOwner: %v", got)
	}
	// Republishing with other tags moves the key between tag indexes.
	e.ok(org2Pub, nil, "Publish", "img:org2", "", "0", `["t2"]`, "0")
	if got := collect("ListByTag", "t2"); fmt.Sprint(got) != "[img:org2]" {
		t.Fatalf("after retagging, t2: %v", got)
	}
	if got := collect("ListByTag", "t1"); len(got) != 7 {
		t.Fatalf("after retagging, t1 still lists %d", len(got))
	}
	// Purging removes the key from every index.
	e.ok(org2Pub, nil, "Purge", "img:org2", "0")
	if got := collect("ListByOwner", "Org2MSP"); len(got) != 0 {
		t.Fatalf("purged key still listed: %v", got)
	}
}

func TestHistoryKeepsPurges(t *testing.T) {
	e := newEnv(t)
	e.publish(org1Pub, "img:a")
	e.ok(org1Inv, nil, "Invalidate", "img:a", "", "0")
	e.ok(org1Pub, nil, "Purge", "img:a", "0")
	var h []ledger.HistoryItem
	e.ok(org1Aud, &h, "History", "img:a")
	if len(h) != 3 || h[0].Entry.Version != 1 || h[1].Entry.State != record.StateInvalidated || !h[2].IsDelete || h[2].Entry != nil {
		t.Fatalf("history %+v", h)
	}
	var got []ledger.Entry
	e.refused(org1Aud, ledger.CodeNotFound, "img:a", "Get", "img:a")
	e.ok(org1Aud, &got, "GetMany", `["img:a","img:b"]`)
	if len(got) != 0 {
		t.Fatalf("GetMany returned purged or unknown keys: %+v", got)
	}
}

// TestEventPayload pins the JSON the relay decodes: field names, the
// transaction header and every transition field.
func TestEventPayload(t *testing.T) {
	e := newEnv(t)
	const tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	r := e.l.Invoke(e.cc, org1Pub, map[string][]byte{"traceparent": []byte(tp)}, "Publish", "https://shop.example/cart", `"v7"`, "300", `["catalog","eu"]`, "0")
	want := `{"txId":"tx000001","timestamp":"2026-11-25T00:00:00.001Z","actor":"Org1MSP","traceparent":"` + tp + `",` +
		`"transitions":[{"op":"publish","key":"https://shop.example/cart","version":1,"state":"VALID","etag":"\"v7\"","maxAge":300,"tags":["catalog","eu"],"owner":"Org1MSP"}]}`
	if event(t, r); string(r.Event.Payload) != want {
		t.Fatalf("publish event\n%s\nwant\n%s", r.Event.Payload, want)
	}
	r = e.ok(org2Inv, nil, "Invalidate", "https://shop.example/cart", "price change", "1")
	want = `{"txId":"tx000002","timestamp":"2026-11-25T00:00:00.002Z","actor":"Org2MSP",` +
		`"transitions":[{"op":"invalidate","key":"https://shop.example/cart","version":2,"state":"INVALIDATED","etag":"\"v7\"","maxAge":300,"tags":["catalog","eu"],"owner":"Org1MSP","reason":"price change"}]}`
	if event(t, r); string(r.Event.Payload) != want {
		t.Fatalf("invalidate event\n%s\nwant\n%s", r.Event.Payload, want)
	}
	r = e.ok(org1Pub, nil, "Purge", "https://shop.example/cart", "2")
	if tr := event(t, r).Transitions; len(tr) != 1 || tr[0].Op != ledger.OpPurge || tr[0].State != record.StatePurged || tr[0].Version != 3 {
		t.Fatalf("purge transitions %+v", tr)
	}
	var batch ledger.BatchResult
	r = e.ok(org1Inv, &batch, "InvalidateBatch", `["img:none"]`, "")
	if ev := event(t, r); len(ev.Transitions) != 0 || r.Events != 1 {
		t.Fatalf("a batch that changes nothing still emits one event with no transitions, got %+v", ev)
	}
}

// TestOwnerPolicyCoversIndexesAndTombstones checks that every key a
// transaction creates for an entry (the entry, its owner and tag index
// entries, its tombstone after a purge) requires the owner org's peer, so no
// other org can change any of them on its own endorsement.
func TestOwnerPolicyCoversIndexesAndTombstones(t *testing.T) {
	e := newEnv(t)
	everyKeyOwnedBy := func(stage, org string, wantKeys int) {
		t.Helper()
		snap := e.l.Snapshot()
		if len(snap) != wantKeys {
			t.Fatalf("%s: %d keys on the ledger, want %d", stage, len(snap), wantKeys)
		}
		for k := range snap {
			ep, err := statebased.NewStateEP(e.l.ValidationParameter(k))
			if err != nil {
				t.Fatalf("%s: %q: %v", stage, k, err)
			}
			if orgs := ep.ListOrgs(); len(orgs) != 1 || orgs[0] != org {
				t.Fatalf("%s: key %q requires %v, want only %s", stage, k, orgs, org)
			}
		}
	}
	e.publish(org2Pub, "img:a", "t1", "t2")
	everyKeyOwnedBy("publish", "Org2MSP", 4) // entry, owner index, two tag index entries
	e.ok(org2Pub, nil, "Publish", "img:a", "", "0", `["t2","t3"]`, "0")
	everyKeyOwnedBy("retag", "Org2MSP", 4)
	e.ok(org1Inv, nil, "Invalidate", "img:a", "", "0")
	everyKeyOwnedBy("another org's invalidation", "Org2MSP", 4)
	e.ok(org2Pub, nil, "Purge", "img:a", "0")
	everyKeyOwnedBy("purge", "Org2MSP", 1) // the tombstone
	var revived ledger.Entry
	e.ok(org2Pub, &revived, "Publish", "img:a", "", "0", `[]`, "4")
	if revived.Version != 5 {
		t.Fatalf("revived at version %d, want 5", revived.Version)
	}
	everyKeyOwnedBy("revival", "Org2MSP", 2) // tombstone deleted: entry and owner index
}

// The transaction names clients invoke are the contract's functions.
func TestTransactionNamesAreContractMethods(t *testing.T) {
	ct := reflect.TypeFor[*chaincode.Contract]()
	for _, name := range []string{ledger.TxPublish, ledger.TxInvalidate, ledger.TxInvalidateBatch, ledger.TxInvalidateTag,
		ledger.TxPurge, ledger.TxGet, ledger.TxGetMany, ledger.TxHistory, ledger.TxListByTag, ledger.TxListByOwner} {
		if _, ok := ct.MethodByName(name); !ok {
			t.Errorf("ledger names %s, the contract has no such function", name)
		}
	}
}

// The API token's ID in the transient map is recorded in the event, the
// same on every endorser; a malformed one is refused and writes nothing.
func TestTokenIDFromTransientMap(t *testing.T) {
	tests := []struct {
		name, id, want string
		status         int32
	}{
		{"recorded", "0f1e2d3c4b5a6978", "0f1e2d3c4b5a6978", 200},
		{"empty", "", "", 400},
		{"control byte", "0f1e\n2d3c", "", 400},
		{"too long", strings.Repeat("a", ledger.MaxTokenIDBytes+1), "", 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			e.publish(org1Pub, "img:a")
			tm := map[string][]byte{ledger.TransientTokenID: []byte(tt.id)}
			r := e.l.Invoke(e.cc, org1Pub, tm, "PurgeScope", "tag", "catalog", "", "false", "")
			if tt.status != 200 {
				if r.Status == 200 || r.Writes != 0 || !strings.Contains(r.Message, "token ID") {
					t.Fatalf("answered %d %q with %d writes, want a refusal naming the token ID", r.Status, r.Message, r.Writes)
				}
				return
			}
			if r.Status != 200 {
				t.Fatalf("answered %d %s", r.Status, r.Message)
			}
			if got := event(t, r).TokenID; got != tt.want {
				t.Fatalf("event token ID %q, want %q", got, tt.want)
			}
		})
	}
	// Without a token ID the event has no tokenId field at all.
	e := newEnv(t)
	r := e.l.Invoke(e.cc, org1Pub, nil, "Publish", "img:b", "", "0", "[]", "0")
	if strings.Contains(string(r.Event.Payload), "tokenId") {
		t.Fatalf("event without a token ID: %s", r.Event.Payload)
	}
}
