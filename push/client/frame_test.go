package client_test

import (
	"errors"
	"testing"

	"github.com/cachetsync/cachet/push"
	"github.com/cachetsync/cachet/push/client"
	"github.com/cachetsync/cachet/record"
)

func TestParseFrame(t *testing.T) {
	for _, tc := range []struct {
		in    string
		check func(client.Frame) bool
	}{
		{welcome("p0", true), func(f client.Frame) bool {
			return f.Welcome != nil && f.Welcome.Resumed && f.Welcome.Limits.Channels == 64 && f.Pos == "p0"
		}},
		{transition("p1", "https://shop.example/a", 7), func(f client.Frame) bool {
			tr := f.Transition
			return tr != nil && tr.Pos == "p1" && tr.Key == "https://shop.example/a" && tr.Version == 7 &&
				tr.State == record.StateInvalidated && tr.Block == 7 && tr.TxID == "tx7"
		}},
		{`{"t":"purge","pos":"p5","scope":"tag","value":"catalog","owner":"Org1MSP","generation":4,"soft":true,"actor":"Org1MSP",` +
			`"ts":"2026-11-25T06:41:00Z","txId":"tx9","block":9,"txIndex":1}`, func(f client.Frame) bool {
			g := f.Purge
			return g != nil && f.Pos == "p5" && g.Scope == (record.Scope{Kind: record.ScopeTag, Value: "catalog"}) && g.Generation == 4 &&
				g.Soft && g.TxID == "tx9" && g.Block == 9 && g.TxIndex == 1 && g.Owner == "Org1MSP"
		}},
		{`{"t":"reset","reason":"epoch","pos":"p2"}`, func(f client.Frame) bool {
			return f.Reset != nil && f.Reset.Reason == push.ResetEpoch && f.Pos == "p2"
		}},
		{`{"t":"advice","key":"https://shop.example/a","recommendedMaxAge":120,"action":"invalidate-early"}`, func(f client.Frame) bool {
			return f.Advice != nil && f.Advice.RecommendedMaxAge == 120 && f.Pos == ""
		}},
		{`{"t":"error","code":4100,"message":"token expired"}`, func(f client.Frame) bool { return f.Error != nil && f.Error.Code == 4100 }},
		{`{"t":"ping","pos":"p3"}`, func(f client.Frame) bool { return f.Type == push.TypePing && f.Pos == "p3" }},
		{`{"t":"receipted","n":2,"dropped":1}`, func(f client.Frame) bool { return f.Receipted != nil && f.Receipted.N == 2 }},
		{`{"t":"future","pos":"p4"}`, func(f client.Frame) bool { return f.Type == "future" && f.Pos == "p4" && len(f.Raw) > 0 }},
	} {
		f, err := client.ParseFrame([]byte(tc.in))
		if err != nil || !tc.check(f) {
			t.Errorf("ParseFrame(%s) = %+v, %v", tc.in, f, err)
		}
	}
	for _, bad := range []string{``, `[]`, `{"pos":"p"}`, `{"t":"transition","version":"seven"}`, `{"t":"purge","generation":"four"}`} {
		var fe *push.FrameError
		if _, err := client.ParseFrame([]byte(bad)); !errors.As(err, &fe) {
			t.Errorf("ParseFrame(%s): %v, want a *push.FrameError", bad, err)
		}
	}
}

func FuzzParseFrame(f *testing.F) {
	f.Add([]byte(welcome("p0", false)))
	f.Add([]byte(transition("p1", "https://shop.example/a", 1)))
	f.Add([]byte(`{"t":"reset","reason":"epoch","pos":"p2"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		fr, err := client.ParseFrame(b)
		if err == nil && (fr.Type == "" || string(fr.Raw) != string(b)) {
			t.Errorf("ParseFrame(%q) = %+v without error", b, fr)
		}
	})
}
