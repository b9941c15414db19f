package chaincode_test

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strconv"
	"testing"

	"github.com/cachetsync/cachet/chaincode/chaincodetest"
	"github.com/cachetsync/cachet/ledger"
	"github.com/cachetsync/cachet/record"
)

var (
	org1Admin   = chaincodetest.Identity{MSPID: "Org1MSP", Role: "admin"}
	org1NodeOU  = chaincodetest.Identity{MSPID: "Org1MSP", OU: "admin"} // Fabric's admin NodeOU, no role
	org2Admin   = chaincodetest.Identity{MSPID: "Org2MSP", Role: "admin"}
	genKeyOrg1  = "\x01gen\x00Org1MSP\x00tag:catalog\x00"
	claimedHost = "shop.example"
)

func (e *env) purgeScope(id chaincodetest.Identity, kind, value string, soft bool) (ledger.Generation, chaincodetest.Result) {
	e.t.Helper()
	var g ledger.Generation
	r := e.ok(id, &g, "PurgeScope", kind, value, "", strconv.FormatBool(soft), "bulk")
	return g, r
}

func (e *env) get(key string) ledger.Entry {
	e.t.Helper()
	var got ledger.Entry
	e.ok(org1Aud, &got, "Get", key)
	if got.Effective == nil {
		e.t.Fatalf("Get %s answered no effective state", key)
	}
	return got
}

// Every scope kind purges the entries it covers with one write, and leaves
// the others alone; Get names the purge.
func TestPurgeScopeEveryKind(t *testing.T) {
	tests := []struct {
		kind, value        string
		covered, untouched []string
	}{
		{"tag", "catalog", []string{"https://shop.example/p/1", "img:cat"}, []string{"https://shop.example/p/2", "img:dog"}},
		{"prefix", "https://shop.example/p/", []string{"https://shop.example/p/1", "https://shop.example/p/2", "https://shop.example/p/a/b?x=/q/"},
			[]string{"https://shop.example/q/1", "https://shop.example/p", "https://shop.example/pp/1", "http://shop.example/p/1"}},
		{"host", "Shop.Example", []string{"https://shop.example/p/1", "http://shop.example/p/1", "https://shop.example:8443/x"},
			[]string{"https://cdn.example/p/1", "img:cat"}},
		{"origin", "https://shop.example", []string{"https://shop.example/p/1", "https://shop.example/"},
			[]string{"http://shop.example/p/1", "https://shop.example:8443/p/1", "https://cdn.example/"}},
	}
	for _, tt := range tests {
		t.Run(tt.kind, func(t *testing.T) {
			e := newEnv(t)
			e.ok(org1Admin, nil, "ClaimHost", claimedHost)
			for _, k := range append(append([]string{}, tt.covered...), tt.untouched...) {
				tags := []string{"other"}
				if k == "https://shop.example/p/1" || k == "img:cat" {
					tags = []string{"catalog"}
				}
				e.publish(org1Pub, k, tags...)
			}
			g, r := e.purgeScope(org1Pub, tt.kind, tt.value, false)
			if r.Writes != 1 {
				t.Fatalf("a scope purge wrote %d keys, want 1 (the generation record)", r.Writes)
			}
			if g.Generation != 1 || g.Owner != "Org1MSP" || g.Kind != ledger.ScopeKind(tt.kind) || g.TxID != r.TxID {
				t.Fatalf("answer %+v", g)
			}
			ev := event(t, r)
			if len(ev.Transitions) != 0 || len(ev.Purges) != 1 || !reflect.DeepEqual(ev.Purges[0], g) {
				t.Fatalf("event %+v, want the purge and no transitions", ev)
			}
			for _, k := range tt.covered {
				got := e.get(k)
				if got.State != record.StateValid || got.Effective.State != record.StateInvalidated ||
					got.Effective.Purge == nil || got.Effective.Purge.TxID != r.TxID || got.Effective.Purge.Scope != g.Scope {
					t.Errorf("%s: %+v effective %+v, want INVALIDATED by %s", k, got, got.Effective, g.Scope)
				}
			}
			for _, k := range tt.untouched {
				if got := e.get(k); got.Effective.State != record.StateValid || got.Effective.Purge != nil {
					t.Errorf("%s outside %s: effective %+v, want VALID", k, g.Scope, got.Effective)
				}
			}
		})
	}
}

// A republished entry is VALID again; the next purge of the scope has the
// next generation and covers it once more.
func TestRepublishAfterScopePurge(t *testing.T) {
	e := newEnv(t)
	e.publish(org1Pub, "img:a", "catalog")
	e.purgeScope(org1Pub, "tag", "catalog", false)
	if got := e.get("img:a"); got.Effective.State != record.StateInvalidated {
		t.Fatalf("after the purge: %+v", got.Effective)
	}
	re := e.publish(org1Pub, "img:a", "catalog")
	if re.Version != 2 || !reflect.DeepEqual(re.Generations, map[string]uint64{"tag:catalog": 1}) {
		t.Fatalf("republish %+v, want version 2 stamped with tag:catalog generation 1", re)
	}
	if got := e.get("img:a"); got.Effective.State != record.StateValid || got.Effective.Purge != nil {
		t.Fatalf("after republishing: %+v", got.Effective)
	}
	g, r := e.purgeScope(org1Pub, "tag", "catalog", false)
	if g.Generation != 2 {
		t.Fatalf("second purge %+v, want generation 2", g)
	}
	if got := e.get("img:a"); got.Effective.State != record.StateInvalidated || got.Effective.Purge.TxID != r.TxID {
		t.Fatalf("after the second purge: %+v", got.Effective)
	}
	var many []ledger.Entry
	e.ok(org1Aud, &many, "GetMany", `["img:a"]`)
	var page ledger.Page
	e.ok(org1Aud, &page, "ListByTag", "catalog", "", "0")
	var hist []ledger.HistoryItem
	e.ok(org1Aud, &hist, "History", "img:a")
	if len(many) != 1 || many[0].Effective.Purge.Generation != 2 || len(page.Entries) != 1 || page.Entries[0].Effective.Purge.Generation != 2 {
		t.Fatalf("GetMany %+v, ListByTag %+v: want the second purge named", many, page)
	}
	if len(hist) != 2 || hist[0].Entry.Effective.Purge.Generation != 2 || hist[1].Entry.Effective.Purge.Generation != 2 {
		t.Fatalf("history %+v: both versions are covered by the second purge", hist)
	}
}

// Soft purges and soft invalidations give STALE, never over an entry that
// is INVALIDATED; a hard one after them gives INVALIDATED.
func TestSoftPurgeAndInvalidateSoft(t *testing.T) {
	e := newEnv(t)
	e.publish(org1Pub, "img:a", "catalog")
	e.publish(org1Pub, "img:b", "catalog")
	e.ok(org1Inv, nil, "Invalidate", "img:b", "", "0")
	g, _ := e.purgeScope(org1Pub, "tag", "catalog", true)
	if !g.Soft {
		t.Fatalf("answer %+v, want soft", g)
	}
	if got := e.get("img:a"); got.Effective.State != record.StateStale || !got.Effective.Purge.Soft {
		t.Fatalf("VALID under a soft purge: %+v", got.Effective)
	}
	if got := e.get("img:b"); got.Effective.State != record.StateInvalidated {
		t.Fatalf("INVALIDATED under a soft purge: %+v", got.Effective)
	}
	var soft ledger.Entry
	r := e.ok(org1Inv, &soft, "InvalidateSoft", "img:a", "revalidate", "0")
	if soft.State != record.StateStale || soft.Version != 2 {
		t.Fatalf("InvalidateSoft answered %+v", soft)
	}
	if tr := event(t, r).Transitions; len(tr) != 1 || tr[0].State != record.StateStale || tr[0].Op != ledger.OpInvalidate {
		t.Fatalf("InvalidateSoft event %+v", tr)
	}
	hard, _ := e.purgeScope(org1Pub, "tag", "catalog", false)
	if got := e.get("img:a"); got.Effective.State != record.StateInvalidated || got.Effective.Purge.Generation != hard.Generation {
		t.Fatalf("STALE under a hard purge: %+v", got.Effective)
	}
	e.ok(org1Inv, &soft, "InvalidateSoft", "img:a", "", "0")
	if soft.State != record.StateInvalidated || soft.Version != 3 {
		t.Fatalf("a soft invalidation must not weaken a hard purge: %+v", soft)
	}
	e.publish(org1Pub, "img:a", "catalog")
	e.ok(org1Inv, &soft, "InvalidateSoft", "img:a", "", "0")
	if got := e.get("img:a"); soft.State != record.StateStale || got.Effective.State != record.StateStale || got.Effective.Purge != nil {
		t.Fatalf("a republished entry invalidated softly: %+v %+v", soft, got.Effective)
	}
}

// InvalidateBatchSoft marks each key STALE in one transaction, keeps an
// INVALIDATED one INVALIDATED, and reports keys without an entry missing.
func TestInvalidateBatchSoft(t *testing.T) {
	e := newEnv(t)
	e.publish(org1Pub, "img:a")
	e.publish(org1Pub, "img:b")
	e.ok(org1Inv, nil, "Invalidate", "img:b", "", "0")
	var res ledger.BatchResult
	r := e.ok(org2Inv, &res, "InvalidateBatchSoft", `["img:a","img:b","img:none","img:a"]`, "price feed")
	want := []ledger.Summary{{Key: "img:a", Version: 2, State: record.StateStale}, {Key: "img:b", Version: 3, State: record.StateInvalidated}}
	if !reflect.DeepEqual(res.Invalidated, want) || len(res.Missing) != 1 || res.Missing[0] != "img:none" {
		t.Fatalf("answer %+v", res)
	}
	if tr := event(t, r).Transitions; len(tr) != 2 || tr[0].State != record.StateStale || tr[0].Reason != "price feed" {
		t.Fatalf("event %+v", tr)
	}
	if got := e.get("img:a"); got.State != record.StateStale || got.Effective.State != record.StateStale {
		t.Fatalf("img:a after the soft batch: %+v", got)
	}
	e.refused(org1Aud, ledger.CodeForbidden, "", "InvalidateBatchSoft", `["img:a"]`, "")
	e.refused(org1Inv, ledger.CodeInvalidArgument, "InvalidateBatchSoft needs at least one key", "InvalidateBatchSoft", `[]`, "")
}

// Scopes are owned: an org purges only its own tags and the scopes of the
// hosts it claims; only admins claim, and a claimed host refuses other
// orgs' publishes.
func TestScopeOwnership(t *testing.T) {
	e := newEnv(t)
	e.publish(org1Pub, "img:a", "catalog")
	e.publish(org2Pub, "https://shop.example/early", "catalog") // before the claim
	e.refused(org1Pub, ledger.CodeForbidden, "needs an admin", "ClaimHost", claimedHost)
	e.refused(org1Pub, ledger.CodeForbidden, "not claimed", "PurgeScope", "host", claimedHost, "", "false", "")
	var claim ledger.HostClaim
	e.ok(org1NodeOU, &claim, "ClaimHost", "SHOP.example")
	if claim.Host != claimedHost || claim.Owner != "Org1MSP" || !claim.Claimed {
		t.Fatalf("claim %+v", claim)
	}
	e.ok(org1Admin, nil, "ClaimHost", claimedHost) // again: answers the claim
	e.refused(org2Admin, ledger.CodeHostClaimed, "claimed by Org1MSP", "ClaimHost", claimedHost)
	e.refused(org2Pub, ledger.CodeHostClaimed, "claimed by Org1MSP", "Publish", "http://shop.example:81/x", "e", "60", "[]", "0")
	e.refused(org2Pub, ledger.CodeHostClaimed, "claimed by Org1MSP", "Publish", "https://shop.example/early", "e", "60", "[]", "0")
	e.refused(org2Pub, ledger.CodeForbidden, "belongs to Org1MSP", "PurgeScope", "tag", "catalog", "Org1MSP", "false", "")
	e.refused(org2Pub, ledger.CodeHostClaimed, "claimed by Org1MSP", "PurgeScope", "prefix", "https://shop.example/", "", "false", "")
	e.refused(org1Inv, ledger.CodeForbidden, "PurgeScope needs role", "PurgeScope", "tag", "catalog", "", "false", "")
	e.refused(org2Admin, ledger.CodeHostClaimed, "claimed by Org1MSP", "ReleaseHost", claimedHost)

	// Org2's own tag "catalog" is another scope: Org1's entries stay VALID.
	e.purgeScope(org2Pub, "tag", "catalog", false)
	if got := e.get("img:a"); got.Effective.State != record.StateValid {
		t.Fatalf("org2's tag purge reached org1's entry: %+v", got.Effective)
	}
	if got := e.get("https://shop.example/early"); got.Effective.State != record.StateInvalidated || got.Effective.Purge.Owner != "Org2MSP" {
		t.Fatalf("org2's tag purge must cover org2's entry: %+v", got.Effective)
	}
	// The generation record carries its owner's key-level policy, as entries do.
	e.purgeScope(org1Pub, "tag", "catalog", false)
	if p := e.l.ValidationParameter(genKeyOrg1); p == nil || !bytes.Equal(p, e.l.ValidationParameter("img:a")) {
		t.Fatal("the generation record must carry Org1's key-level endorsement policy")
	}
	e.ok(org1Admin, &claim, "ReleaseHost", claimedHost)
	if claim.Claimed {
		t.Fatalf("release answered %+v", claim)
	}
	e.publish(org2Pub, "https://shop.example/late")
}

// An idempotency key makes a replayed purge answer the first generation
// and write nothing.
func TestPurgeScopeIdempotent(t *testing.T) {
	e := newEnv(t)
	tm := map[string][]byte{ledger.TransientIdempotencyKey: []byte("purge-1")}
	first := e.l.Invoke(e.cc, org1Pub, tm, "PurgeScope", "tag", "catalog", "", "false", "")
	again := e.l.Invoke(e.cc, org1Pub, tm, "PurgeScope", "tag", "catalog", "", "false", "")
	if first.Status != 200 || again.Status != 200 || !bytes.Equal(first.Payload, again.Payload) || again.Writes != 0 {
		t.Fatalf("first %s (%d writes), replay %s (%d writes)", first.Payload, first.Writes, again.Payload, again.Writes)
	}
}

// The same transactions on two ledgers give the same answers, events and
// state: nothing in a purge depends on map order or a clock.
func TestScopePurgesAreDeterministic(t *testing.T) {
	run := func() (map[string]string, []string) {
		e := newEnv(t)
		var out []string
		calls := [][]string{
			{"ClaimHost", claimedHost},
			{"Publish", "https://shop.example/a/b/c?z=1", "e", "60", `["t1","t2","t3"]`, "0"},
			{"PurgeScope", "tag", "t2", "", "true", "r"},
			{"PurgeScope", "prefix", "https://shop.example/a/", "", "false", "r"},
			{"PurgeScope", "origin", "https://shop.example", "", "true", "r"},
			{"Invalidate", "https://shop.example/a/b/c?z=1", "", "0"},
			{"PurgeScope", "host", claimedHost, "", "false", "r"},
			{"Get", "https://shop.example/a/b/c?z=1"},
			{"History", "https://shop.example/a/b/c?z=1"},
		}
		for _, c := range calls {
			id := org1Pub
			if c[0] == "ClaimHost" {
				id = org1Admin
			}
			r := e.ok(id, nil, c...)
			ev := ""
			if r.Event != nil {
				ev = string(r.Event.Payload)
			}
			out = append(out, string(r.Payload), ev)
		}
		return e.l.Snapshot(), out
	}
	s1, o1 := run()
	s2, o2 := run()
	if !reflect.DeepEqual(s1, s2) || !reflect.DeepEqual(o1, o2) {
		t.Fatal("the same transactions gave different state, answers or events")
	}
	var got ledger.Entry
	if err := json.Unmarshal([]byte(o1[len(o1)-4]), &got); err != nil || got.Effective.Purge == nil || got.Effective.Purge.Kind != ledger.ScopeHost {
		t.Fatalf("Get after the host purge: %+v %v", got.Effective, err)
	}
}

// Malformed scopes are refused with a code and change nothing.
func TestPurgeScopeRefusesBadScopes(t *testing.T) {
	e := newEnv(t)
	e.ok(org1Admin, nil, "ClaimHost", claimedHost)
	tests := []struct {
		kind, value string
		code        ledger.Code
		want        string
	}{
		{"path", "x", ledger.CodeInvalidArgument, "none of tag, prefix, host, origin"},
		{"tag", "Not A Tag", ledger.CodeInvalidArgument, "tag scope"},
		{"prefix", "https://shop.example/p", ledger.CodeInvalidArgument, "must end in '/'"},
		{"prefix", "https://shop.example/p/?q=1", ledger.CodeInvalidArgument, "must end in '/'"},
		{"prefix", "img:a/", ledger.CodeInvalidArgument, "not an http or https URL"},
		{"prefix", "https://shop.example/1/2/3/4/5/6/7/8/9/10/11/12/13/14/15/16/", ledger.CodeLimitExceeded, "deeper than 16"},
		{"origin", "https://shop.example/p", ledger.CodeInvalidArgument, "has a path or query"},
		{"host", "shop.example:80", ledger.CodeInvalidArgument, "host scope"},
	}
	for _, tt := range tests {
		e.refused(org1Pub, tt.code, tt.want, "PurgeScope", tt.kind, tt.value, "", "false", "")
	}
}

// ScopePurges lists every purge that covered a key while it had an entry,
// across republishes, and none of the purges before its first write or of
// scopes that do not cover it.
func TestScopePurgesOfAKey(t *testing.T) {
	e := newEnv(t)
	e.publish(org1Pub, "img:a", "catalog")
	e.publish(org1Pub, "img:b", "other")
	first, _ := e.purgeScope(org1Pub, "tag", "catalog", false)
	e.purgeScope(org1Pub, "tag", "other", false)
	e.purgeScope(org1Pub, "tag", "late", false)
	e.publish(org1Pub, "img:a", "catalog")
	e.publish(org1Pub, "img:c", "late")
	second, _ := e.purgeScope(org1Pub, "tag", "catalog", true)

	var got []ledger.Generation
	e.ok(org1Aud, &got, "ScopePurges", "img:a")
	if len(got) != 2 || got[0].TxID != first.TxID || got[1].TxID != second.TxID || !got[1].Soft || got[1].Generation != 2 {
		t.Fatalf("ScopePurges(img:a) = %+v, want the two catalog purges, oldest first", got)
	}
	e.ok(org1Aud, &got, "ScopePurges", "img:c")
	if len(got) != 0 {
		t.Fatalf("ScopePurges(img:c) = %+v, want none: the late purge came before its first write", got)
	}
	e.ok(org1Aud, &got, "ScopePurges", "img:unknown")
	if len(got) != 0 {
		t.Fatalf("ScopePurges of a key never written = %+v", got)
	}
	e.refused(org1Aud, ledger.CodeInvalidArgument, "", "ScopePurges", "ftp://x/")
}
