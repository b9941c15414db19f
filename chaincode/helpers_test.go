package chaincode_test

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/cachetsync/cachet/chaincode"
	"github.com/cachetsync/cachet/chaincode/chaincodetest"
	"github.com/cachetsync/cachet/ledger"
)

var (
	org1Pub   = chaincodetest.Identity{MSPID: "Org1MSP", Role: "publisher"}
	org1Inv   = chaincodetest.Identity{MSPID: "Org1MSP", Role: "invalidator"}
	org1Aud   = chaincodetest.Identity{MSPID: "Org1MSP", Role: "auditor"}
	org1Plain = chaincodetest.Identity{MSPID: "Org1MSP"}
	org2Pub   = chaincodetest.Identity{MSPID: "Org2MSP", Role: "publisher"}
	org2Inv   = chaincodetest.Identity{MSPID: "Org2MSP", Role: "invalidator"}
)

var epoch = time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)

type env struct {
	t  testing.TB
	l  *chaincodetest.Ledger
	cc *chaincode.Chaincode
}

func newEnv(t testing.TB) *env {
	t.Helper()
	cc, err := chaincode.New()
	if err != nil {
		t.Fatal(err)
	}
	return &env{t: t, l: chaincodetest.NewLedger(epoch), cc: cc}
}

func (e *env) call(id chaincodetest.Identity, args ...string) chaincodetest.Result {
	return e.l.Invoke(e.cc, id, nil, args...)
}

// ok runs a transaction that must succeed and decodes its payload into out.
func (e *env) ok(id chaincodetest.Identity, out any, args ...string) chaincodetest.Result {
	e.t.Helper()
	r := e.call(id, args...)
	if r.Status != 200 {
		e.t.Fatalf("%s as %s/%s: status %d: %s", args[0], id.MSPID, id.Role, r.Status, r.Message)
	}
	if out != nil {
		if err := json.Unmarshal(r.Payload, out); err != nil {
			e.t.Fatalf("%s payload %s: %v", args[0], r.Payload, err)
		}
	}
	return r
}

// refused runs a transaction that must fail with code, naming want in its
// message, and leave the ledger exactly as it was.
func (e *env) refused(id chaincodetest.Identity, code ledger.Code, want string, args ...string) chaincodetest.Result {
	e.t.Helper()
	before := e.l.Snapshot()
	r := e.call(id, args...)
	if r.Status == 200 {
		e.t.Fatalf("%v as %s/%s succeeded, want %s", args, id.MSPID, id.Role, code)
	}
	if code != "" && !strings.HasPrefix(r.Message, string(code)+": ") {
		e.t.Fatalf("%s: message %q, want code %s", args[0], r.Message, code)
	}
	if !strings.Contains(r.Message, want) {
		e.t.Fatalf("%s: message %q should name %q", args[0], r.Message, want)
	}
	if r.Committed || r.Writes != 0 {
		e.t.Fatalf("%s: a refused transaction committed %d writes", args[0], r.Writes)
	}
	if after := e.l.Snapshot(); !reflect.DeepEqual(before, after) {
		e.t.Fatalf("%s: ledger state changed by a refused transaction", args[0])
	}
	return r
}

func (e *env) publish(id chaincodetest.Identity, key string, tags ...string) ledger.Entry {
	e.t.Helper()
	var entry ledger.Entry
	tj, _ := json.Marshal(append([]string{}, tags...))
	e.ok(id, &entry, "Publish", key, "e1", "60", string(tj), "0")
	return entry
}

func event(t testing.TB, r chaincodetest.Result) ledger.Event {
	t.Helper()
	if r.Events != 1 || r.Event == nil || r.Event.Name != ledger.EventName {
		t.Fatalf("want exactly one %s event, got %d (%v)", ledger.EventName, r.Events, r.Event)
	}
	var ev ledger.Event
	if err := json.Unmarshal(r.Event.Payload, &ev); err != nil {
		t.Fatal(err)
	}
	return ev
}
