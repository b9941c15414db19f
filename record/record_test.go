package record_test

import (
	"bytes"
	"errors"
	"flag"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/cachetsync/cachet/record"
)

var update = flag.Bool("update", false, "rewrite the golden encodings in testdata/records")

var ts = time.Date(2026, 11, 25, 6, 41, 0, 123456789, time.UTC)

func samples() map[string]interface{ Marshal() ([]byte, error) } {
	return map[string]interface{ Marshal() ([]byte, error) }{
		"transition.v1.json": record.Transition{
			Channel: "cachet", Position: record.Position{Block: 42, TxIndex: 3}, TxID: "9f2c…tx",
			Timestamp: ts, Key: "https://shop.example/cart", Version: 7, State: record.StateInvalidated,
			ETag: `"abc"`, MaxAge: 300, Tags: []string{"catalog", "eu"}, Owner: "Org1MSP", Actor: "Org1MSP",
			Reason: "price change", Traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
		},
		"generation.v1.json": record.Generation{
			Channel: "cachet", Position: record.Position{Block: 43, TxIndex: 0}, TxID: "a71e…tx", Timestamp: ts,
			Purge: record.Purge{Scope: record.Scope{Kind: record.ScopeTag, Value: "catalog"}, Owner: "Org1MSP",
				Generation: 4, Soft: true, Reason: "price list"},
			Actor: "Org1MSP", Traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
		},
		"read.v1.json": record.Read{
			Kind: record.ReadStale, Key: "https://shop.example/cart", Version: 6,
			Origin: "https://shop.example", Client: "c-81f2", At: ts,
		},
		"advice.v1.json": record.Advice{
			Key: "https://shop.example/cart", At: ts, WriteRate: 0.05, ReadRate: 12.5, PStale: 0.9502129316321360,
			ExpectedStaleReads: 3.2, ConflictRisk: 0.01, RecommendedMaxAge: 1, Action: record.ActionInvalidateEarly, Engine: "cpu",
		},
		"conflict.v1.json": record.Conflict{
			Channel: "cachet", Position: record.Position{Block: 42, TxIndex: 4}, TxID: "c4d1…tx", Timestamp: ts,
			Code: record.CodeMVCCReadConflict, Keys: []string{"https://shop.example/cart", "https://shop.example/p/42"},
			Creator: "Org2MSP", Traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
		},
		"position.v1.json": record.RelayPosition{Channel: "cachet", Position: record.Position{Block: 42, TxIndex: 3}},
		"deadletter.v1.json": record.DeadLetter{Channel: "cachet", Block: 42, TxIndex: 3, TxID: "9f2c…tx",
			Error: "chaincode event: payload does not parse"},
	}
}

func TestGoldenEncodings(t *testing.T) {
	for name, rec := range samples() {
		got, err := rec.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join("..", "testdata", "records", name)
		if *update {
			if err := os.WriteFile(path, append(got, '\n'), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, bytes.TrimSpace(want)) {
			t.Errorf("%s changed:\n got %s\nwant %s\n(a new encoding needs a new schema version)", name, got, want)
		}
	}
}

func TestDecodeRoundTrip(t *testing.T) {
	s := samples()
	b, _ := s["transition.v1.json"].Marshal()
	tr, err := record.DecodeTransition(b)
	want := s["transition.v1.json"].(record.Transition)
	want.V = record.Version
	if err != nil || !reflect.DeepEqual(tr, want) {
		t.Fatalf("transition round trip: %+v, %v", tr, err)
	}
	b, _ = s["generation.v1.json"].Marshal()
	g, err := record.DecodeGeneration(b)
	wantG := s["generation.v1.json"].(record.Generation)
	wantG.V = record.Version
	if err != nil || !reflect.DeepEqual(g, wantG) {
		t.Fatalf("generation round trip: %+v, %v", g, err)
	}
	b, _ = s["conflict.v1.json"].Marshal()
	c, err := record.DecodeConflict(b)
	wantC := s["conflict.v1.json"].(record.Conflict)
	wantC.V = record.Version
	if err != nil || !reflect.DeepEqual(c, wantC) || c.Key() != "https://shop.example/cart" || !c.Contention() {
		t.Fatalf("conflict round trip: %+v, %v", c, err)
	}
	b, _ = s["read.v1.json"].Marshal()
	if _, err := record.DecodeRead(b); err != nil {
		t.Fatal(err)
	}
	b, _ = s["advice.v1.json"].Marshal()
	if _, err := record.DecodeAdvice(b); err != nil {
		t.Fatal(err)
	}
	b, _ = s["position.v1.json"].Marshal()
	pos, err := record.DecodeRelayPosition(b)
	if wantPos := s["position.v1.json"].(record.RelayPosition); err != nil || pos.Channel != wantPos.Channel || pos.Position != wantPos.Position {
		t.Fatalf("position round trip: %+v, %v", pos, err)
	}
	b, _ = s["deadletter.v1.json"].Marshal()
	dl, err := record.DecodeDeadLetter(b)
	wantDL := s["deadletter.v1.json"].(record.DeadLetter)
	wantDL.V = record.Version
	if err != nil || dl != wantDL || dl.Position() != (record.Position{Block: 42, TxIndex: 3}) {
		t.Fatalf("dead letter round trip: %+v, %v", dl, err)
	}
}

func TestDecodeRefusesBadInput(t *testing.T) {
	big := append([]byte(`{"v":1,"key":"`), bytes.Repeat([]byte("x"), record.MaxRecordBytes)...)
	tests := []struct {
		name    string
		decode  func([]byte) error
		in      string
		version bool // want *UnsupportedVersionError rather than *InvalidError
	}{
		{"not json", tr, `{"v":1,`, false},
		{"future version", tr, `{"v":2,"key":"k","version":1,"state":"VALID","txId":"t"}`, true},
		{"no version", tr, `{"key":"k","version":1,"state":"VALID","txId":"t"}`, true},
		{"empty key", tr, `{"v":1,"version":1,"state":"VALID","txId":"t"}`, false},
		{"version zero", tr, `{"v":1,"key":"k","state":"VALID","txId":"t"}`, false},
		{"unknown state", tr, `{"v":1,"key":"k","version":1,"state":"GONE","txId":"t"}`, false},
		{"too large", tr, string(big), false},
		{"generation future version", gn, `{"v":2,"scope":"tag","value":"a","owner":"O","generation":1,"txId":"t"}`, true},
		{"generation scope", gn, `{"v":1,"scope":"path","value":"a","owner":"O","generation":1,"txId":"t"}`, false},
		{"generation empty value", gn, `{"v":1,"scope":"tag","owner":"O","generation":1,"txId":"t"}`, false},
		{"generation zero", gn, `{"v":1,"scope":"host","value":"a","owner":"O","txId":"t"}`, false},
		{"generation no owner", gn, `{"v":1,"scope":"host","value":"a","generation":1,"txId":"t"}`, false},
		{"conflict future version", cf, `{"v":2,"txId":"t","code":"MVCC_READ_CONFLICT","ts":"2026-01-01T00:00:00Z"}`, true},
		{"conflict no txId", cf, `{"v":1,"code":"MVCC_READ_CONFLICT","ts":"2026-01-01T00:00:00Z"}`, false},
		{"conflict valid code", cf, `{"v":1,"txId":"t","code":"VALID","ts":"2026-01-01T00:00:00Z"}`, false},
		{"conflict no code", cf, `{"v":1,"txId":"t","ts":"2026-01-01T00:00:00Z"}`, false},
		{"conflict no time", cf, `{"v":1,"txId":"t","code":"MVCC_READ_CONFLICT"}`, false},
		{"conflict empty key", cf, `{"v":1,"txId":"t","code":"MVCC_READ_CONFLICT","ts":"2026-01-01T00:00:00Z","keys":["a",""]}`, false},
		{"read kind", rd, `{"v":1,"kind":"peek","key":"k","at":"2026-01-01T00:00:00Z"}`, false},
		{"read no time", rd, `{"v":1,"kind":"hit","key":"k"}`, false},
		{"advice p>1", ad, `{"v":1,"key":"k","pStale":1.5,"action":"none"}`, false},
		{"advice negative rate", ad, `{"v":1,"key":"k","writeRate":-1,"action":"none"}`, false},
		{"advice action", ad, `{"v":1,"key":"k","action":"panic"}`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.decode([]byte(tt.in))
			var ve *record.UnsupportedVersionError
			var ie *record.InvalidError
			if tt.version && !errors.As(err, &ve) {
				t.Fatalf("got %v, want UnsupportedVersionError", err)
			}
			if !tt.version && !errors.As(err, &ie) {
				t.Fatalf("got %v, want InvalidError", err)
			}
		})
	}
}

// A soft invalidation's STALE state is a state like the others.
func TestDecodeStaleTransition(t *testing.T) {
	tr, err := record.DecodeTransition([]byte(`{"v":1,"key":"k","version":2,"state":"STALE","txId":"t"}`))
	if err != nil || tr.State != record.StateStale {
		t.Fatalf("got %+v, %v", tr, err)
	}
}

func TestAdviceRefusesNaN(t *testing.T) {
	a := record.Advice{Key: "k", Action: record.ActionNone, PStale: math.NaN()}
	if a.Validate() == nil {
		t.Fatal("NaN pStale accepted")
	}
	a = record.Advice{Key: "k", Action: record.ActionNone, ReadRate: math.Inf(1)}
	if a.Validate() == nil {
		t.Fatal("infinite readRate accepted")
	}
}

func TestPositionOrder(t *testing.T) {
	a, b, c := record.Position{Block: 1, TxIndex: 9}, record.Position{Block: 2, TxIndex: 0}, record.Position{Block: 2, TxIndex: 1}
	if !a.Less(b) || !b.Less(c) || c.Less(a) || a.Less(a) {
		t.Fatal("positions must order by block, then txIndex")
	}
}

func tr(b []byte) error { _, err := record.DecodeTransition(b); return err }
func gn(b []byte) error { _, err := record.DecodeGeneration(b); return err }
func cf(b []byte) error { _, err := record.DecodeConflict(b); return err }
func rd(b []byte) error { _, err := record.DecodeRead(b); return err }
func ad(b []byte) error { _, err := record.DecodeAdvice(b); return err }

// A refusal that is not a race is a conflict record all the same, keyed by
// its transaction when it names no key.
func TestConflictKinds(t *testing.T) {
	for _, c := range []struct {
		code       string
		keys       []string
		contention bool
		key        string
	}{
		{record.CodeMVCCReadConflict, []string{"a", "b"}, true, "a"},
		{record.CodePhantomReadConflict, []string{"a"}, true, "a"},
		{record.CodeEndorsementPolicyFailure, []string{"a"}, false, "a"},
		{"BAD_CREATOR_SIGNATURE", nil, false, "t"},
	} {
		r := record.Conflict{TxID: "t", Code: c.code, Keys: c.keys, Timestamp: ts}
		if r.Validate() != nil || r.Contention() != c.contention || r.Key() != c.key {
			t.Errorf("%s %v: valid %v, contention %v, key %q", c.code, c.keys, r.Validate(), r.Contention(), r.Key())
		}
	}
}
