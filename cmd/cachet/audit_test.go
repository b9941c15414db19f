package main

import (
	"encoding/json"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hyperledger/fabric-protos-go-apiv2/common"
	"google.golang.org/protobuf/proto"

	"github.com/cachetsync/cachet/audit"
	"github.com/cachetsync/cachet/receipt"
)

const receiptFixtures = "../../testdata/receipt"

func fixture(name string) string { return filepath.Join(receiptFixtures, name) }

// tampered writes a copy of the recorded receipt name with edit applied.
func tampered(t *testing.T, name string, edit func(r *receipt.Receipt)) string {
	t.Helper()
	b, err := os.ReadFile(fixture(name))
	if err != nil {
		t.Fatal(err)
	}
	r, err := receipt.Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	edit(r)
	if b, err = r.Encode(); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestVerifyOffline(t *testing.T) {
	trust := fixture("config.block")
	garbage := filepath.Join(t.TempDir(), "garbage.json")
	if err := os.WriteFile(garbage, []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	// Neither a profile nor peers are set: verify must not need them.
	t.Setenv("CACHET_CONFIG", "")
	t.Setenv("CACHET_PEERS", "")
	tests := []struct {
		name string
		args []string
		code int
		out  string // in stdout
		err  string // in stderr
	}{
		{"publish proven", []string{"--trust", trust, fixture("publish.json")}, 0,
			"who:       Org1MSP client (cachet.role publisher) CN=publisher@org1.example.com", ""},
		{"cross-org invalidation proven", []string{"--trust", trust, fixture("invalidate.json")}, 0,
			"endorser:  Org1MSP peer CN=peer0.org1.example.com", ""},
		{"refused at commit", []string{"--trust", trust, fixture("refused.json")}, exitFailure, "", "receipt validation-flag check: transaction a77f6814"},
		{"tampered reason", []string{"--trust", trust, tampered(t, "invalidate.json", func(r *receipt.Receipt) {
			i := strings.Index(string(r.Envelope), "partner correction")
			r.Envelope[i] = 'P'
			r.Block.Data[r.TxIndex] = r.Envelope
		})}, exitFailure, "", "receipt block-data check"},
		{"another network's trust", []string{"--trust", fixture("other-network-config.block"), fixture("publish.json")}, exitFailure, "", "receipt channel-config check"},
		{"trusted CAs, configuration carried", []string{"--ca-dir", caDir(t, "config.block"), carryingConfig(t, "invalidate.json")}, 0,
			"endorser:  Org1MSP peer CN=peer0.org1.example.com", ""},
		{"another network's CAs", []string{"--ca-dir", caDir(t, "other-network-config.block"), carryingConfig(t, "invalidate.json")}, exitFailure, "", "receipt certificate check"},
		{"trusted CAs, no configuration carried", []string{"--ca-dir", caDir(t, "config.block"), fixture("publish.json")}, exitFailure, "", "carries no channel configuration block"},
		{"CA folder without MSP folders", []string{"--ca-dir", t.TempDir(), fixture("publish.json")}, exitUsage, "", "--ca-dir"},
		{"both trusts", []string{"--ca-dir", t.TempDir(), "--trust", trust, fixture("publish.json")}, exitUsage, "", "none of the others can be"},
		{"no trust", []string{fixture("publish.json")}, exitUsage, "", "--trust or --ca-dir is required"},
		{"unreadable receipt", []string{"--trust", trust, filepath.Join(t.TempDir(), "missing.json")}, exitUsage, "", "missing.json"},
		{"trust not a block", []string{"--trust", fixture("publish.json"), fixture("publish.json")}, exitUsage, "", "not a block"},
		{"two receipts", []string{"--trust", trust, fixture("publish.json"), fixture("invalidate.json")}, exitUsage, "", "takes 1 RECEIPT"},
		{"not a receipt", []string{"--trust", trust, garbage}, exitFailure, "", "receipt decode check"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, errOut, code := runCachet(t, append([]string{"verify"}, tt.args...)...)
			if code != tt.code || !strings.Contains(out, tt.out) || !strings.Contains(errOut, tt.err) {
				t.Errorf("exit %d, stdout %q, stderr %q; want exit %d, %q, %q", code, out, errOut, tt.code, tt.out, tt.err)
			}
		})
	}
}

// caDir writes the root CAs of a recorded configuration block as a
// --ca-dir folder (one MSP folder each, certificates in cacerts/).
func caDir(t *testing.T, configBlock string) string {
	t.Helper()
	cfg, err := receipt.ParseConfigBlock(readBlockFixture(t, configBlock))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for id, m := range cfg.MSPs {
		d := filepath.Join(dir, id, "cacerts")
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		for i, c := range m.Roots {
			pemBytes := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
			if err := os.WriteFile(filepath.Join(d, fmt.Sprintf("ca%d.pem", i)), pemBytes, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	return dir
}

func readBlockFixture(t *testing.T, name string) *common.Block {
	t.Helper()
	b, err := os.ReadFile(fixture(name))
	if err != nil {
		t.Fatal(err)
	}
	var blk common.Block
	if err := proto.Unmarshal(b, &blk); err != nil {
		t.Fatal(err)
	}
	return &blk
}

// carryingConfig is a recorded receipt with its configuration block in it,
// as cachet receipt writes them.
func carryingConfig(t *testing.T, name string) string {
	return tampered(t, name, func(r *receipt.Receipt) {
		if err := r.EmbedConfig(readBlockFixture(t, "config.block")); err != nil {
			t.Fatal(err)
		}
	})
}

func TestVerifyJSONProof(t *testing.T) {
	out, errOut, code := runCachet(t, "verify", "--json", "--trust", fixture("config.block"), fixture("invalidate.json"))
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var p receipt.Proof
	if err := json.Unmarshal([]byte(out), &p); err != nil {
		t.Fatalf("%v in %s", err, out)
	}
	if p.Creator.MSPID != "Org2MSP" || p.Event == nil || p.Event.Transitions[0].Reason != "partner correction" || len(p.Policies) == 0 {
		t.Errorf("proof %+v", p)
	}
	_, errOut, code = runCachet(t, "verify", "--json", "--trust", fixture("config.block"), fixture("refused.json"))
	var e struct {
		Exit    int    `json:"exit"`
		Message string `json:"message"`
	}
	if err := json.Unmarshal([]byte(errOut), &e); err != nil || code != exitFailure || e.Exit != exitFailure || !strings.Contains(e.Message, "validation-flag") {
		t.Errorf("refused under --json: exit %d, %q (%v)", code, errOut, err)
	}
}

// Bad input to the ledger commands is refused before any connection.
func TestAuditCommandsUsage(t *testing.T) {
	t.Setenv("CACHET_CONFIG", "")
	tests := [][]string{
		{"receipt", "884a6396"},
		{"receipt", strings.Repeat("g", 64)},
		{"receipt", "https://shop.example/a@x"},
		{"receipt", "https://shop.example/a@0"},
		{"receipt", "not a key@1"},
		{"receipt"},
		{"history"},
		{"history", "--max-blocks", "0", "https://shop.example/a"},
		{"history", "--from-block", "-1", "https://shop.example/a"},
	}
	for _, args := range tests {
		_, errOut, code := runCachet(t, append(args, "--peers", "127.0.0.1:1", "--tls-ca", "/nonexistent")...)
		if code != exitUsage {
			t.Errorf("cachet %q: exit %d (%s), want %d", args, code, errOut, exitUsage)
		}
	}
}

func TestParseTxRef(t *testing.T) {
	id := strings.Repeat("ab", 32)
	tests := []struct {
		arg, txID, key string
		version        uint64
	}{
		{id, id, "", 0},
		{strings.ToUpper(id), id, "", 0},
		{"https://shop.example/a@7", "", "https://shop.example/a", 7},
		{"https://shop.example/a?at=x@y@2", "", "https://shop.example/a?at=x@y", 2},
	}
	for _, tt := range tests {
		txID, key, v, err := parseTxRef(tt.arg)
		if err != nil || txID != tt.txID || v != tt.version || (tt.key != "" && key == "") {
			t.Errorf("parseTxRef(%q) = %q, %q, %d, %v; want %q, a key, %d", tt.arg, txID, key, v, err, tt.txID, tt.version)
		}
	}
}

func TestHistoryTableFits120Columns(t *testing.T) {
	long := strings.Repeat("x", 300)
	recs := []audit.Record{
		{Block: 123456, TxIndex: 12, Timestamp: time.Date(2026, 12, 2, 17, 15, 33, 0, time.UTC), Valid: true, Validation: "VALID",
			Op: "invalidate", Version: 1234, State: "INVALIDATED", Reason: long,
			Submitter: audit.Party{Org: "Org2MSP", Role: "invalidator", Subject: "CN=invalidator@org2.example.com,OU=client"},
			Endorsers: []audit.Party{{Org: "Org1MSP"}, {Org: "Org2MSP"}, {Org: "Org3MSP"}, {Org: "Org4MSP"}}},
		{Block: 5, Validation: "ENDORSEMENT_POLICY_FAILURE", Op: "invalidate", Reason: "org2 alone",
			Submitter: audit.Party{Org: "Org2MSP", Role: "invalidator", Subject: "CN=invalidator@org2.example.com"}},
	}
	table := historyTable(recs)
	lines := strings.Split(table, "\n")
	if len(lines) != 3 {
		t.Fatalf("%d lines:\n%s", len(lines), table)
	}
	for _, l := range lines {
		if n := len([]rune(l)); n > 120 {
			t.Errorf("%d columns: %s", n, l)
		}
	}
	for _, want := range []string{"123456:", "2026-12-02 17:15:33", "Org2/invalidator/invalidator", "Org1,Org2", "REFUSED", "ENDORSEMENT_POLICY"} {
		if !strings.Contains(table, want) {
			t.Errorf("table lacks %q:\n%s", want, table)
		}
	}
}
