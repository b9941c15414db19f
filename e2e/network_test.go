//go:build e2e

// Package e2e drives a real Fabric network (network/network.sh) with the peer
// CLI, as an operator would. Run with: go test -tags e2e ./e2e
package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"
)

var (
	root   string
	netDir string
	// portBase is the network's CACHET_PORT_BASE: 28000, or
	// CACHET_E2E_PORT_BASE so that two checkouts can run the suite at once.
	portBase = 28000
)

func TestMain(m *testing.M) {
	wd, _ := os.Getwd()
	root = filepath.Clean(filepath.Join(wd, ".."))
	netDir = filepath.Join(root, ".run", "e2e-network")
	if v := os.Getenv("CACHET_E2E_PORT_BASE"); v != "" {
		if _, err := fmt.Sscan(v, &portBase); err != nil {
			fmt.Fprintf(os.Stderr, "CACHET_E2E_PORT_BASE=%q: %v\n", v, err)
			os.Exit(2)
		}
		netDir += fmt.Sprint("-", portBase) // its own folder too
	}
	os.Setenv("CACHET_NET_DIR", netDir)
	os.Setenv("CACHET_PORT_BASE", fmt.Sprint(portBase))
	os.RemoveAll(netDir)
	code := 1
	if out, err := network("up"); err != nil {
		fmt.Fprintf(os.Stderr, "network up: %v\n%s", err, out)
	} else if out, err := network("deploy"); err != nil {
		fmt.Fprintf(os.Stderr, "deploy: %v\n%s", err, out)
	} else {
		code = m.Run()
	}
	if out, err := network("down", "--clean"); err != nil {
		fmt.Fprintf(os.Stderr, "network down: %v\n%s", err, out)
		code = 1
	}
	os.Exit(code)
}

func network(args ...string) (string, error) {
	cmd := exec.Command(filepath.Join(root, "network", "network.sh"), args...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// peer runs the peer CLI as org's role, against peer (default: the org's
// peer0); extra "--peerAddresses" style flags go in flags.
func peer(t *testing.T, org, role, target string, args ...string) (string, error) {
	t.Helper()
	envArgs := []string{"env", org, role}
	if target != "" {
		envArgs = append(envArgs, target)
	}
	env, err := network(envArgs...)
	if err != nil {
		t.Fatalf("network env: %v\n%s", err, env)
	}
	quoted := make([]string, len(args))
	for i, a := range args {
		quoted[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
	}
	script := env + "\npeer " + strings.Join(quoted, " ")
	out, err := exec.Command("bash", "-c", script).CombinedOutput()
	return string(out), err
}

func orderer(t *testing.T) []string {
	env, err := network("env", "org1", "admin")
	if err != nil {
		t.Fatal(err)
	}
	var addr, ca string
	for _, line := range strings.Split(env, "\n") {
		if strings.HasPrefix(line, "export ORDERER_ADDRESS=") {
			f := strings.Fields(strings.TrimPrefix(line, "export "))
			addr = strings.TrimPrefix(f[0], "ORDERER_ADDRESS=")
			ca = strings.Trim(strings.TrimPrefix(f[1], "ORDERER_CA="), "'")
		}
	}
	return []string{"-o", addr, "--tls", "--cafile", ca}
}

func args(fn string, a ...string) string {
	b, _ := json.Marshal(map[string][]string{"Args": append([]string{fn}, a...)})
	return string(b)
}

func invoke(t *testing.T, org, role string, extra []string, fn string, a ...string) (string, error) {
	cmd := append([]string{"chaincode", "invoke"}, orderer(t)...)
	cmd = append(cmd, "-C", "cachet", "-n", "cachet", "--waitForEvent")
	cmd = append(cmd, extra...)
	cmd = append(cmd, "-c", args(fn, a...))
	return peer(t, org, role, "", cmd...)
}

type entry struct {
	Key     string `json:"key"`
	Version uint64 `json:"version"`
	State   string `json:"state"`
	Owner   string `json:"owner"`
}

func get(t *testing.T, key string) (entry, string) {
	t.Helper()
	out, err := peer(t, "org1", "auditor", "", "chaincode", "query", "-C", "cachet", "-n", "cachet", "-c", args("Get", key))
	var e entry
	if err == nil {
		if jerr := json.Unmarshal([]byte(strings.TrimSpace(out)), &e); jerr != nil {
			t.Fatalf("Get %s: %v: %s", key, jerr, out)
		}
	}
	return e, out
}

func TestPublishInvalidateQueryHistory(t *testing.T) {
	key := "https://Shop.Example/e2e?b=2&a=1"
	canon := "https://shop.example/e2e?a=1&b=2"
	if out, err := invoke(t, "org1", "publisher", nil, "Publish", key, `"v1"`, "300", `["catalog"]`, "0"); err != nil {
		t.Fatalf("publish: %v\n%s", err, out)
	}
	if e, out := get(t, canon); e.Version != 1 || e.State != "VALID" || e.Owner != "Org1MSP" {
		t.Fatalf("after publish: %+v %s", e, out)
	}
	if out, err := invoke(t, "org1", "invalidator", nil, "Invalidate", canon, "price change", "1"); err != nil {
		t.Fatalf("invalidate: %v\n%s", err, out)
	}
	if e, out := get(t, canon); e.Version != 2 || e.State != "INVALIDATED" {
		t.Fatalf("after invalidate: %+v %s", e, out)
	}
	// A replay of the same invalidation is refused at endorsement.
	if out, err := invoke(t, "org1", "invalidator", nil, "Invalidate", canon, "price change", "1"); err == nil || !strings.Contains(out, "STALE_VERSION") {
		t.Fatalf("replayed invalidation: %v\n%s", err, out)
	}
	out, err := peer(t, "org1", "auditor", "", "chaincode", "query", "-C", "cachet", "-n", "cachet", "-c", args("History", canon))
	var h []struct {
		TxID  string `json:"txId"`
		Entry entry  `json:"entry"`
	}
	if err != nil || json.Unmarshal([]byte(strings.TrimSpace(out)), &h) != nil || len(h) != 2 || h[1].Entry.State != "INVALIDATED" {
		t.Fatalf("history: %v %s", err, out)
	}
}

func TestOwnerOrgMustEndorse(t *testing.T) {
	key := "img:e2e-sbe"
	if out, err := invoke(t, "org1", "publisher", nil, "Publish", key, "", "60", "[]", "0"); err != nil {
		t.Fatalf("publish: %v\n%s", err, out)
	}
	// Org2's invalidator, endorsed by Org2's peer alone: the chaincode agrees,
	// the key-level policy does not, and the transaction is invalid at commit.
	out, err := invoke(t, "org2", "invalidator", nil, "Invalidate", key, "org2 alone", "0")
	if err == nil || !strings.Contains(out, "ENDORSEMENT_POLICY_FAILURE") {
		t.Fatalf("org2-only invalidation: %v\n%s", err, out)
	}
	if e, out := get(t, key); e.Version != 1 || e.State != "VALID" {
		t.Fatalf("state changed by an invalid transaction: %+v %s", e, out)
	}
	// With Org1's endorsement too, the same request commits.
	ca := func(org, host string) string {
		return filepath.Join(netDir, "crypto", "peerOrganizations", org+".example.com", "peers", host+"."+org+".example.com", "tls", "ca.crt")
	}
	both := []string{"--peerAddresses", fmt.Sprintf("127.0.0.1:%d", portBase+100), "--tlsRootCertFiles", ca("org1", "peer0"),
		"--peerAddresses", fmt.Sprintf("127.0.0.1:%d", portBase+200), "--tlsRootCertFiles", ca("org2", "peer0")}
	if out, err := invoke(t, "org2", "invalidator", both, "Invalidate", key, "org2 with org1", "0"); err != nil {
		t.Fatalf("invalidation endorsed by both orgs: %v\n%s", err, out)
	}
	if e, _ := get(t, key); e.Version != 2 || e.State != "INVALIDATED" {
		t.Fatalf("after endorsed invalidation: %+v", e)
	}
}

func TestRoleRefusedEndToEnd(t *testing.T) {
	out, err := invoke(t, "org1", "auditor", nil, "Publish", "img:e2e-role", "", "60", "[]", "0")
	if err == nil || !strings.Contains(out, "FORBIDDEN") {
		t.Fatalf("auditor publishing: %v\n%s", err, out)
	}
	if _, out := get(t, "img:e2e-role"); !strings.Contains(out, "NOT_FOUND") {
		t.Fatalf("refused publish left state: %s", out)
	}
}

// TestUpgradeKeepsState runs last among the state tests: it redeploys with
// sequence+1 and reads what the earlier version wrote.
func TestUpgradeKeepsState(t *testing.T) {
	key := "img:e2e-upgrade"
	if out, err := invoke(t, "org1", "publisher", nil, "Publish", key, "", "60", "[]", "0"); err != nil {
		t.Fatalf("publish: %v\n%s", err, out)
	}
	out, err := network("deploy")
	if err != nil || !strings.Contains(out, "sequence 2") {
		t.Fatalf("upgrade: %v\n%s", err, out)
	}
	if e, out := get(t, key); e.Version != 1 || e.State != "VALID" {
		t.Fatalf("state lost across the upgrade: %+v %s", e, out)
	}
	if out, err := invoke(t, "org1", "invalidator", nil, "Invalidate", key, "", "1"); err != nil {
		t.Fatalf("invalidate after upgrade: %v\n%s", err, out)
	}
}

// TestInvokeLatency reports the peer CLI's submit→commit time; it asserts
// only that every invocation commits (timings are the benchmark's job).
func TestInvokeLatency(t *testing.T) {
	var d []time.Duration
	for i := range 20 {
		start := time.Now()
		if out, err := invoke(t, "org1", "publisher", nil, "Publish", fmt.Sprintf("img:e2e-latency-%d", i), "", "60", "[]", "0"); err != nil {
			t.Fatalf("publish %d: %v\n%s", i, err, out)
		}
		d = append(d, time.Since(start))
	}
	sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
	t.Logf("peer CLI invoke --waitForEvent, %d runs: p50 %v, max %v (includes process start and TLS handshakes)", len(d), d[len(d)/2], d[len(d)-1])
}

func TestDownLeavesNoProcess(t *testing.T) {
	pids, _ := filepath.Glob(filepath.Join(netDir, "pids", "*.pid"))
	if len(pids) != 7 {
		t.Fatalf("%d pid files, want 7 (3 orderers, 3 peers, the chaincode)", len(pids))
	}
	var live []int
	for _, f := range pids {
		b, _ := os.ReadFile(f)
		var pid int
		fmt.Sscan(string(b), &pid)
		live = append(live, pid)
	}
	if out, err := network("down"); err != nil {
		t.Fatalf("down: %v\n%s", err, out)
	}
	for _, pid := range live {
		if syscall.Kill(pid, 0) == nil {
			t.Errorf("process %d still running after down", pid)
		}
	}
	// Bring it back so TestMain's cleanup and any later test see a network.
	if out, err := network("up"); err != nil {
		t.Fatalf("up again: %v\n%s", err, out)
	}
}
