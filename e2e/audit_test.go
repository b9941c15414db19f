//go:build e2e

package e2e

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hyperledger/fabric-protos-go-apiv2/common"
	"google.golang.org/protobuf/proto"

	"github.com/cachetsync/cachet/audit"
	"github.com/cachetsync/cachet/gateway"
	"github.com/cachetsync/cachet/ledger"
	"github.com/cachetsync/cachet/receipt"
)

// cachetRun runs the cachet binary with env added and returns its stdout,
// stderr and exit status.
func cachetRun(t *testing.T, env []string, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(cachetBinary(t), args...)
	cmd.Env = append(os.Environ(), env...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatalf("cachet %q: %v", args, err)
	}
	return out.String(), errOut.String(), cmd.ProcessState.ExitCode()
}

// TestAuditTrailAndOfflineReceipts: an Org1 publish, an invalidation by
// Org2 endorsed by Org2's peer alone (refused at commit), Org2's
// invalidation endorsed by Org1; cachet history --include-invalid shows
// all three and the tag purge covering the key, with who, endorsers and policy; the valid ones' receipts
// verify offline, the refused one's is refused by its validation flag.
func TestAuditTrailAndOfflineReceipts(t *testing.T) {
	ctx := ctxT(t)
	pub, inv, aud := client(t, "org1", "publisher"), client(t, "org2", "invalidator"), client(t, "org1", "auditor")
	key := fmt.Sprintf("https://shop.example/audit/item?id=%d", time.Now().UnixNano())
	tag := fmt.Sprintf("audit-%d", time.Now().UnixNano())
	e, published, err := pub.Publish(ctx, gateway.PublishRequest{Key: key, ETag: `"a1"`, MaxAge: 60, Tags: []string{tag}})
	if err != nil {
		t.Fatalf("publish: %v", err)
	}
	if out, err := invoke(t, "org2", "invalidator", nil, "Invalidate", e.Key, "org2 alone", "0"); err == nil || !strings.Contains(out, "ENDORSEMENT_POLICY_FAILURE") {
		t.Fatalf("org2-only invalidation: %v\n%s", err, out)
	}
	if _, _, err := inv.Invalidate(ctx, e.Key, "partner correction", 1); err != nil {
		t.Fatalf("cross-org invalidate: %v", err)
	}
	_, purged, err := pub.PurgeScope(ctx, gateway.PurgeRequest{Scope: gateway.Scope{Kind: ledger.ScopeTag, Value: tag}, Reason: "catalog reset"})
	if err != nil {
		t.Fatalf("tag purge: %v", err)
	}

	dir := t.TempDir()
	prof, err := network("profile", "org1", "auditor")
	if err != nil {
		t.Fatalf("profile: %v\n%s", err, prof)
	}
	profPath := filepath.Join(dir, "org1-auditor.json")
	if err := os.WriteFile(profPath, []byte(prof), 0o600); err != nil {
		t.Fatal(err)
	}
	withProfile := []string{"CACHET_CONFIG=" + profPath}

	table, errOut, code := cachetRun(t, withProfile, "history", "--include-invalid", e.Key)
	if code != 0 {
		t.Fatalf("cachet history: exit %d: %s", code, errOut)
	}
	t.Logf("cachet history --include-invalid:\n%s", table)
	out, errOut, code := cachetRun(t, withProfile, "history", "--include-invalid", "--json", e.Key)
	if code != 0 {
		t.Fatalf("cachet history --json: exit %d: %s", code, errOut)
	}
	var recs []audit.Record
	if err := json.Unmarshal([]byte(out), &recs); err != nil {
		t.Fatalf("%v in %s", err, out)
	}
	if len(recs) != 4 {
		t.Fatalf("%d records, want publish, refused, invalidation, tag purge:\n%s", len(recs), out)
	}
	p, ref, iv, tp := recs[0], recs[1], recs[2], recs[3]
	if tp.TxID != purged.TxID || tp.Scope != "tag:"+tag || tp.Op != "purge" || tp.Reason != "catalog reset" || tp.Submitter.Org != "Org1MSP" || len(tp.Endorsers) == 0 {
		t.Errorf("tag purge record %+v", tp)
	}
	if p.TxID != published.TxID || !p.Valid || p.Op != "publish" || p.Submitter.Org != "Org1MSP" || p.Submitter.Role != "publisher" ||
		!strings.Contains(p.Submitter.Subject, "CN=publisher@org1") || p.Policy.Source != "chaincode" || p.Policy.Sets == "" {
		t.Errorf("publish record %+v", p)
	}
	if ref.Valid || ref.Validation != "ENDORSEMENT_POLICY_FAILURE" || ref.Submitter.Org != "Org2MSP" || ref.Submitter.Role != "invalidator" ||
		len(ref.Endorsers) != 1 || ref.Endorsers[0].Org != "Org2MSP" || ref.Reason != "org2 alone" ||
		ref.Policy.Source != "key-level" || ref.Policy.SetBy != published.TxID {
		t.Errorf("refused record %+v", ref)
	}
	endorsedByOrg1 := false
	for _, en := range iv.Endorsers {
		endorsedByOrg1 = endorsedByOrg1 || en.Org == "Org1MSP"
	}
	if !iv.Valid || iv.Op != "invalidate" || iv.Version != 2 || iv.State != "INVALIDATED" || iv.Reason != "partner correction" ||
		iv.Submitter.Org != "Org2MSP" || !endorsedByOrg1 || iv.Policy.Rule != p.Policy.Sets || iv.Policy.SetBy != published.TxID {
		t.Errorf("invalidation record %+v", iv)
	}
	for i, r := range recs {
		if r.Timestamp.IsZero() || r.Block == 0 || (i > 0 && r.Block < recs[i-1].Block) {
			t.Errorf("record %d: block %d at %v", i, r.Block, r.Timestamp)
		}
	}

	// The receipts, by transaction ID and by KEY@VERSION.
	files := map[string]string{"publish": published.TxID, "invalidate": e.Key + "@2", "refused": ref.TxID, "purge": purged.TxID}
	for name, ref := range files {
		path := filepath.Join(dir, name+".json")
		if _, errOut, code := cachetRun(t, withProfile, "receipt", "-o", path, ref); code != 0 {
			t.Fatalf("cachet receipt %s: exit %d: %s", ref, code, errOut)
		}
		files[name] = path
	}
	b, err := os.ReadFile(files["invalidate"])
	if err != nil {
		t.Fatal(err)
	}
	r, err := receipt.Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	if r.TxID != iv.TxID || len(r.KeyPolicies) != 1 || r.KeyPolicies[0].Receipt.TxID != published.TxID {
		t.Errorf("invalidation receipt of %s with %d policy sources, want %s with the publish's", r.TxID, len(r.KeyPolicies), iv.TxID)
	}
	cfg, err := aud.ConfigBlock(ctx, &common.Block{Metadata: &common.BlockMetadata{Metadata: r.Block.Metadata}})
	if err != nil {
		t.Fatal(err)
	}
	cfgBytes, err := proto.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	trust := filepath.Join(dir, "config.block")
	if err := os.WriteFile(trust, cfgBytes, 0o600); err != nil {
		t.Fatal(err)
	}

	// Offline: no profile, no peers.
	offline := []string{"CACHET_CONFIG=", "CACHET_PEERS="}
	cas := networkCADir(t)
	for _, name := range []string{"publish", "invalidate", "purge"} {
		out, errOut, code := cachetRun(t, offline, "verify", "--trust", trust, files[name])
		if code != 0 || !strings.Contains(out, "proven: transaction") {
			t.Errorf("cachet verify %s: exit %d\n%s%s", name, code, out, errOut)
		}
		t.Logf("cachet verify %s:\n%s", name, out)
		if out2, errOut, code := cachetRun(t, offline, "verify", "--ca-dir", cas, files[name]); code != 0 || out2 != out {
			t.Errorf("cachet verify --ca-dir %s: exit %d\n%s%s", name, code, out2, errOut)
		}
	}
	if out, _, _ := cachetRun(t, offline, "verify", "--trust", trust, files["purge"]); !strings.Contains(out, "purge tag:"+tag) {
		t.Errorf("the tag purge's proof does not name the scope:\n%s", out)
	}
	out, errOut, code = cachetRun(t, offline, "verify", "--trust", trust, files["refused"])
	if code != 1 || !strings.Contains(errOut, "validation-flag check") || !strings.Contains(errOut, "ENDORSEMENT_POLICY_FAILURE") {
		t.Errorf("cachet verify refused: exit %d\n%s%s", code, out, errOut)
	}
	t.Logf("cachet verify refused: exit %d: %s", code, errOut)
}

// networkCADir lays out the local network's root CAs as cachet verify
// --ca-dir reads them: one folder per MSP ID, as each org's MSP folder.
func networkCADir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	orgs, _ := filepath.Glob(filepath.Join(netDir, "crypto", "peerOrganizations", "*.example.com"))
	msps := map[string]string{"OrdererMSP": filepath.Join(netDir, "crypto", "ordererOrganizations", "example.com")}
	for _, o := range orgs {
		name := strings.TrimSuffix(filepath.Base(o), ".example.com")
		msps[strings.ToUpper(name[:1])+name[1:]+"MSP"] = o
	}
	for id, org := range msps {
		pems, _ := filepath.Glob(filepath.Join(org, "msp", "cacerts", "*.pem"))
		if len(pems) == 0 {
			t.Fatalf("no CA certificate under %s", org)
		}
		for _, p := range pems {
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.MkdirAll(filepath.Join(dir, id), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, id, filepath.Base(p)), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	return dir
}
