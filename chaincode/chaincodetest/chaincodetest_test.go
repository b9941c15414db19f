package chaincodetest_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cachetsync/cachet/chaincode/chaincodetest"
	"github.com/hyperledger/fabric-chaincode-go/v2/pkg/cid"
	"github.com/hyperledger/fabric-chaincode-go/v2/shim"
	"github.com/hyperledger/fabric-protos-go-apiv2/peer"
)

// fn is a chaincode made of one function, to drive the stub directly.
type fn func(stub shim.ChaincodeStubInterface) error

func (f fn) Init(shim.ChaincodeStubInterface) *peer.Response { return shim.Success(nil) }
func (f fn) Invoke(stub shim.ChaincodeStubInterface) *peer.Response {
	if err := f(stub); err != nil {
		return shim.Error(err.Error())
	}
	return shim.Success(nil)
}

var (
	start = time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)
	pub   = chaincodetest.Identity{MSPID: "Org1MSP", Role: "publisher"}
)

func mustCommit(t *testing.T, l *chaincodetest.Ledger, f fn) chaincodetest.Result {
	t.Helper()
	r := l.Invoke(f, pub, nil, "f")
	if r.Status != shim.OK {
		t.Fatalf("transaction failed: %s", r.Message)
	}
	return r
}

func TestCompositeKeysPageWithBookmarks(t *testing.T) {
	l := chaincodetest.NewLedger(start)
	mustCommit(t, l, func(stub shim.ChaincodeStubInterface) error {
		for i := range 25 {
			for _, tag := range []string{"t1", "t10"} {
				k, err := stub.CreateCompositeKey("tag~key", []string{tag, fmt.Sprintf("img:%02d", i)})
				if err != nil {
					return err
				}
				if err := stub.PutState(k, []byte{0}); err != nil {
					return err
				}
			}
		}
		return nil
	})
	var got []string
	bookmark, pages := "", 0
	for {
		r := l.Invoke(fn(func(stub shim.ChaincodeStubInterface) error {
			it, meta, err := stub.GetStateByPartialCompositeKeyWithPagination("tag~key", []string{"t1"}, 10, bookmark)
			if err != nil {
				return err
			}
			defer it.Close()
			n := 0
			for it.HasNext() {
				kv, err := it.Next()
				if err != nil {
					return err
				}
				typ, attrs, err := stub.SplitCompositeKey(kv.GetKey())
				if err != nil || typ != "tag~key" || len(attrs) != 2 || attrs[0] != "t1" {
					return fmt.Errorf("split %q: %s %v %v", kv.GetKey(), typ, attrs, err)
				}
				got = append(got, attrs[1])
				n++
			}
			if int(meta.GetFetchedRecordsCount()) != n {
				return fmt.Errorf("metadata counts %d records, iterator gave %d", meta.GetFetchedRecordsCount(), n)
			}
			bookmark = meta.GetBookmark()
			return nil
		}), pub, nil, "f")
		if r.Status != shim.OK {
			t.Fatal(r.Message)
		}
		if pages++; bookmark == "" {
			break
		}
	}
	if pages != 3 || len(got) != 25 || !slices.IsSorted(got) || got[0] != "img:00" || got[24] != "img:24" {
		t.Fatalf("%d pages, keys %v; want 3 pages of t1's 25 keys in order, none of t10's", pages, got)
	}
}

func TestPeerRulesForQueries(t *testing.T) {
	l := chaincodetest.NewLedger(start)
	tests := []struct {
		name string
		f    fn
		want string
	}{
		{"write after a paginated query", func(stub shim.ChaincodeStubInterface) error {
			if _, _, err := stub.GetStateByRangeWithPagination("a", "z", 5, ""); err != nil {
				return err
			}
			return stub.PutState("a", []byte("x"))
		}, "paginated query"},
		{"range query into the composite namespace", func(stub shim.ChaincodeStubInterface) error {
			_, err := stub.GetStateByRange("\x00tag~key\x00", "\x00tag~key\x00\U0010FFFF")
			return err
		}, "null character"},
		{"reserved rune in a composite key", func(stub shim.ChaincodeStubInterface) error {
			_, err := stub.CreateCompositeKey("tag~key", []string{"a\x00b"})
			return err
		}, "reserved"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := l.Invoke(tt.f, pub, nil, "f")
			if r.Status == shim.OK || !strings.Contains(r.Message, tt.want) || r.Writes != 0 {
				t.Fatalf("status %d %q (%d writes), want a refusal naming %q", r.Status, r.Message, r.Writes, tt.want)
			}
		})
	}
}

func TestTransactionSemantics(t *testing.T) {
	l := chaincodetest.NewLedger(start)
	first := mustCommit(t, l, func(stub shim.ChaincodeStubInterface) error {
		if err := stub.PutState("k", []byte("v1")); err != nil {
			return err
		}
		if b, _ := stub.GetState("k"); b != nil {
			return fmt.Errorf("a transaction read its own write %q", b)
		}
		stub.SetEvent("first", []byte("1"))
		stub.SetEvent("last", []byte("2"))
		return stub.SetStateValidationParameter("k", []byte("policy"))
	})
	if first.Events != 2 || first.Event.Name != "last" || string(first.Event.Payload) != "2" {
		t.Fatalf("event %+v after %d SetEvent calls; Fabric keeps the last", first.Event, first.Events)
	}
	if string(l.ValidationParameter("k")) != "policy" {
		t.Fatal("validation parameter not committed")
	}
	failed := l.Invoke(fn(func(stub shim.ChaincodeStubInterface) error {
		stub.PutState("k", []byte("v2"))
		return fmt.Errorf("refused")
	}), pub, nil, "f")
	if failed.Committed || string(l.State("k")) != "v1" {
		t.Fatalf("a failed transaction changed state to %q", l.State("k"))
	}
	second := mustCommit(t, l, func(stub shim.ChaincodeStubInterface) error { return stub.DelState("k") })
	mustCommit(t, l, func(stub shim.ChaincodeStubInterface) error {
		it, err := stub.GetHistoryForKey("k")
		if err != nil {
			return err
		}
		var mods []string
		for it.HasNext() {
			m, _ := it.Next()
			mods = append(mods, fmt.Sprintf("%s:%v:%s", m.GetTxId(), m.GetIsDelete(), m.GetValue()))
		}
		if want := []string{second.TxID + ":true:", first.TxID + ":false:v1"}; !slices.Equal(mods, want) {
			return fmt.Errorf("history %v, want newest first %v", mods, want)
		}
		return nil
	})
	if l.ValidationParameter("k") != nil {
		t.Fatal("a deleted key kept its validation parameter")
	}
}

func TestIdentityAndHeader(t *testing.T) {
	l := chaincodetest.NewLedger(start)
	var seen []string
	f := fn(func(stub shim.ChaincodeStubInterface) error {
		id, err := cid.New(stub)
		if err != nil {
			return err
		}
		msp, _ := id.GetMSPID()
		role, found, err := id.GetAttributeValue("cachet.role")
		if err != nil {
			return err
		}
		ts, _ := stub.GetTxTimestamp()
		tm, _ := stub.GetTransient()
		seen = append(seen, fmt.Sprintf("%s|%s|%v|%s|%s|%s", msp, role, found, stub.GetTxID(), ts.AsTime().Format(time.RFC3339Nano), tm["traceparent"]))
		return nil
	})
	l.Invoke(f, pub, map[string][]byte{"traceparent": []byte("tp")}, "f")
	l.Invoke(f, chaincodetest.Identity{MSPID: "Org2MSP"}, nil, "f")
	want := []string{
		"Org1MSP|publisher|true|tx000001|2026-11-25T00:00:00.001Z|tp",
		"Org2MSP||false|tx000002|2026-11-25T00:00:00.002Z|",
	}
	if !slices.Equal(seen, want) {
		t.Fatalf("the real cid package read\n%v\nwant\n%v", seen, want)
	}
}
