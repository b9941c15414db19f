package main

import (
	"testing"

	"github.com/cachetsync/cachet/gateway"
	"github.com/cachetsync/cachet/ledger"
)

// An entry a scope purge covers shows its effective state and the purge;
// one no purge covers shows its own state only.
func TestEntryLine(t *testing.T) {
	purged := &ledger.Generation{Purge: ledger.Purge{Scope: ledger.Scope{Kind: ledger.ScopeTag, Value: "catalog"}, Owner: "Org1MSP", Generation: 2},
		TxID: "5f0c3a1e9b7d4c2a8e6f1b3d5c7a9e0f2b4d6c8a0e1f3b5d7c9a2e4f6b8d0c1a"}
	cases := []struct {
		e    gateway.Entry
		want string
	}{
		{gateway.Entry{Key: "img:a", Version: 1, State: "VALID", Owner: "Org1MSP", Effective: &ledger.Effective{State: "VALID"}},
			"img:a  v1  VALID  owner Org1MSP"},
		{gateway.Entry{Key: "img:a", Version: 1, State: "VALID", Owner: "Org1MSP", Tags: []string{"catalog"}, Effective: &ledger.Effective{State: "INVALIDATED", Purge: purged}},
			"img:a  v1  VALID  owner Org1MSP  tags catalog  effective INVALIDATED by purge tag:catalog generation 2 (tx 5f0c3a1e9b7d…)"},
	}
	for _, c := range cases {
		if got := entryLine(c.e); got != c.want {
			t.Errorf("entryLine = %q\nwant          %q", got, c.want)
		}
	}
}
