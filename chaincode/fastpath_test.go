package chaincode

import (
	"reflect"
	"testing"
	"time"

	"github.com/cachetsync/cachet/chaincode/chaincodetest"
	"github.com/cachetsync/cachet/ledger"
)

// TestFastPathMatchesContractAPI runs the same transactions on two ledgers,
// one through the fast path and one through contractapi alone, and wants
// the same answers, refusals, events and state from both.
func TestFastPathMatchesContractAPI(t *testing.T) {
	pub := chaincodetest.Identity{MSPID: "Org1MSP", Role: "publisher"}
	inv := chaincodetest.Identity{MSPID: "Org2MSP", Role: "invalidator"}
	aud := chaincodetest.Identity{MSPID: "Org1MSP", Role: "auditor"}
	none := chaincodetest.Identity{MSPID: "Org1MSP"}
	type call struct {
		id   chaincodetest.Identity
		args []string
	}
	calls := []call{
		{pub, []string{"Publish", "img:a", "", "60", `["t"]`, "0"}},
		{pub, []string{"Publish", "img:b", "", "60", `[]`, "0"}},
		{pub, []string{"Publish", "img:c", "", "60", `[]`, "0"}},
		{pub, []string{"Publish", "img:d", "", "60", `[]`, "0"}},
		{inv, []string{"Invalidate", "img:a", "stale", "7"}},
		{inv, []string{"Invalidate", "img:a", "bad number", "x7"}},
		{inv, []string{"Invalidate", "img:a", "negative", "-1"}},
		{inv, []string{"Invalidate", "img:a", "too big", "18446744073709551616"}},
		{inv, []string{"Invalidate", "img:a", "signed", "+1"}},
		{aud, []string{"Invalidate", "img:a", "auditor", "0"}},
		{none, []string{"Invalidate", "img:a", "no role", "0"}},
		{inv, []string{"Invalidate", "ftp://x/", "bad key", "0"}},
		{inv, []string{"Invalidate", "img:zz", "missing", "0"}},
		{inv, []string{"Invalidate", "img:a", string(make([]byte, ledger.MaxReasonBytes+1)), "0"}},
		{inv, []string{"Invalidate", "img:a", "ok", "1"}},
		{inv, []string{"Invalidate", "img:a", "again", ""}},
		{inv, []string{"Invalidate", "img:b", "empty version", ""}},
		{inv, []string{"invalidate", "img:c", "lower case", "0"}},
		{inv, []string{"Invalidate", "img:c", "surplus", "0", "x"}},
		{pub, []string{"PurgeScope", "tag", "t", "", "true", "soft"}},
		{inv, []string{"InvalidateSoft", "img:a", "covered by a soft purge", "0"}},
		{inv, []string{"InvalidateSoft", "img:b", "bad number", "x"}},
		{aud, []string{"InvalidateSoft", "img:b", "auditor", "0"}},
		{inv, []string{"InvalidateSoft", "img:b", "soft", "1"}},
		{inv, []string{"InvalidateBatch", "null", ""}},
		{inv, []string{"InvalidateBatch", "[]", ""}},
		{inv, []string{"InvalidateBatch", "[1]", ""}},
		{inv, []string{"InvalidateBatch", `{"a":1}`, ""}},
		{inv, []string{"InvalidateBatch", "not json", ""}},
		{inv, []string{"InvalidateBatch", `["img:d","ftp://x/"]`, ""}},
		{aud, []string{"InvalidateBatch", `["img:d"]`, ""}},
		{inv, []string{"InvalidateBatch", `["img:d","IMG:d","img:a","img:zz"," img:c "]`, "batch"}},
		{inv, []string{"InvalidateBatch", `["img:d"]`}},
	}
	run := func(fast bool) ([]chaincodetest.Result, map[string]string) {
		saved := fastTx
		if !fast {
			fastTx = nil
		}
		defer func() { fastTx = saved }()
		cc, err := New()
		if err != nil {
			t.Fatal(err)
		}
		l := chaincodetest.NewLedger(time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC))
		var out []chaincodetest.Result
		for _, c := range calls {
			out = append(out, l.Invoke(cc, c.id, nil, c.args...))
		}
		return out, l.Snapshot()
	}
	fast, fastState := run(true)
	slow, slowState := run(false)
	ok := 0
	for i := range calls {
		if !reflect.DeepEqual(fast[i], slow[i]) {
			t.Errorf("%v as %s/%s:\nfast path   %+v\ncontractapi %+v", calls[i].args, calls[i].id.MSPID, calls[i].id.Role, fast[i], slow[i])
		}
		if fast[i].Status == 200 {
			ok++
		}
	}
	if ok < 7 {
		t.Errorf("only %d transactions succeeded: the sequence no longer exercises the contract", ok)
	}
	if !reflect.DeepEqual(fastState, slowState) {
		t.Errorf("state differs:\nfast path   %v\ncontractapi %v", fastState, slowState)
	}
}

func TestIdentityCacheKeepsCallersApart(t *testing.T) {
	cc, err := New()
	if err != nil {
		t.Fatal(err)
	}
	l := chaincodetest.NewLedger(time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC))
	pub := chaincodetest.Identity{MSPID: "Org1MSP", Role: "publisher"}
	if r := l.Invoke(cc, pub, nil, "Publish", "img:a", "", "60", "[]", "0"); r.Status != 200 {
		t.Fatal(r.Message)
	}
	// The same key, alternately by a caller without the role and one with
	// it: each answer must follow its own certificate.
	for i, id := range []chaincodetest.Identity{{MSPID: "Org1MSP", Role: "auditor"}, {MSPID: "Org1MSP", Role: "auditor"}, {MSPID: "Org2MSP", Role: "invalidator"}} {
		r := l.Invoke(cc, id, nil, "Invalidate", "img:a", "", "1")
		if want := int32(500); i == 2 {
			if r.Status != 200 {
				t.Fatalf("invalidator: %d %s", r.Status, r.Message)
			}
		} else if r.Status != want {
			t.Fatalf("auditor %d: status %d, want a refusal", i, r.Status)
		}
	}
	if n := len(cc.ids.m); n != 2 {
		t.Fatalf("%d cached identities, want 2", n)
	}
}
