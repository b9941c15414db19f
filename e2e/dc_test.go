//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/cachetsync/cachet/gateway"
)

// The network in emulated data centers (network.sh's data-center mode,
// network/README.md "Emulated data centers"): DC1 holds orderer0 and Org1's
// peers, DC2 orderer1 and org2-peer0, DC3 orderer2, and the links between
// them go through bench/dcproxy, which can cut a data center off.

var (
	allNodes = []string{"orderer0", "orderer1", "orderer2", "org1-peer0", "org1-peer1", "org2-peer0"}
	dcNodes  = map[string][]string{"dc2": {"orderer1", "org2-peer0"}, "dc3": {"orderer2"}}
)

// dcNetwork starts a network of its own in the data-center mode, one-way
// delay delay, in its own folder on port base portBase+1000, deploys the
// contract, and makes it the network every helper uses until the test
// ends; then it is stopped and deleted and the suite's network is the
// helpers' again.
func dcNetwork(t testing.TB, delay time.Duration) {
	t.Helper()
	suiteDir, suiteBase := netDir, portBase
	netDir, portBase = suiteDir+"-dc", suiteBase+1000
	t.Setenv("CACHET_NET_DIR", netDir)
	t.Setenv("CACHET_PORT_BASE", fmt.Sprint(portBase))
	t.Setenv("CACHET_DC_LINKS", "1")
	t.Setenv("CACHET_DC_DELAY", delay.String())
	os.RemoveAll(netDir)
	t.Cleanup(func() {
		if out, err := network("down", "--clean"); err != nil {
			t.Errorf("data-center network down: %v\n%s", err, out)
		}
		netDir, portBase = suiteDir, suiteBase
	})
	if out, err := network("up"); err != nil {
		t.Fatalf("data-center network up: %v\n%s", err, out)
	}
	if out, err := network("deploy"); err != nil {
		t.Fatalf("deploy on the data-center network: %v\n%s", err, out)
	}
}

// dcLinks runs network.sh dc with args (cut dc2, heal, delay 30ms).
func dcLinks(t testing.TB, args ...string) {
	t.Helper()
	if out, err := network(append([]string{"dc"}, args...)...); err != nil {
		t.Fatalf("network.sh dc %v: %v\n%s", args, err, out)
	}
}

// TestDCCut cuts the raft leader's data center off while invalidations
// stream through Org1's gateway in DC1. The leader is first moved out of
// DC1 (orderer0, started first, usually leads) by cutting DC1 off until DC2
// or DC3 elects one, and healing it. Then, under load, the leader's data
// center is cut: DC2 (orderer1 and org2-peer0) or DC3 (orderer2). Raft keeps
// its quorum in the other two: a leader is elected there, each invalidation
// commits or fails with an error after which the caller submits it again
// under the same idempotency key, every key ends at version 2, and the
// relay writes each transition to Kafka once. The cut nodes receive no
// block while cut; healed, they catch up to the others' height and follow
// a block cut after.
func TestDCCut(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	dcNetwork(t, 0)
	logsOnFailure(t, append(allNodes, "dcproxy")...)
	const n = 80
	broker := startBroker(t)
	// A transaction lost with a leader cut off is reported only when the
	// commit status wait ends: keep that wait short.
	short := func(c *gateway.Config) { c.CommitTimeout = 10 * time.Second }
	pub, inv := client(t, "org1", "publisher"), clientWith(t, "org1", "invalidator", short)
	if waitLeader(t, orderers...) == "orderer0" {
		dcLinks(t, "cut", "dc1")
		waitLeader(t, "orderer1", "orderer2")
		// Without a quorum orderer0 steps down (raft's CheckQuorum).
		for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
			if v, ok := gauge("orderer0", "consensus_etcdraft_is_leader"); ok && v == 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("orderer0, cut off, still reports itself raft leader after 30 s")
			}
		}
		dcLinks(t, "heal", "dc1")
	}
	// The first transaction after the heal may reach orderer0 before it
	// knows the new leader: submit it until it commits, then wait until
	// every node has it (a peer whose deliver from the cut-off orderers
	// failed retries after a growing backoff).
	probe := newLoad()
	probe.run(t, ctx, clientWith(t, "org1", "publisher", short), []string{"img:dc-start"}, 1, publishOp, faultRetryable)
	start := probe.lastBlock()
	waitHeights(t, allNodes, start+1)
	keys := faultKeys("img:dc", n)
	newLoad().run(t, ctx, pub, keys, 8, publishOp, nil)
	if t.Failed() {
		t.FailNow()
	}
	startRelay(t, ctx, broker, start)
	leaderBefore := waitLeader(t, "orderer1", "orderer2")

	load := newLoad()
	loaded := make(chan struct{})
	go func() {
		defer close(loaded)
		load.run(t, ctx, inv, keys, 4, invalidateOp("data center cut"), faultRetryable)
	}()
	load.waitCommitted(t, n/4)
	before := load.committed()
	victim := map[string]string{"orderer1": "dc2", "orderer2": "dc3"}[leaderBefore]
	dcLinks(t, "cut", victim)
	// Once the cut returns, the links' connections are closed.
	atCut := map[string]float64{}
	for _, node := range dcNodes[victim] {
		atCut[node], _ = gauge(node, "ledger_blockchain_height")
	}
	cut := time.Now()
	leader := waitLeader(t, slices.DeleteFunc(slices.Clone(orderers), func(o string) bool { return slices.Contains(dcNodes[victim], o) })...)
	failover := time.Since(cut)
	<-loaded
	if t.Failed() {
		t.FailNow()
	}
	records, dups := load.checkInvalidatedOnce(t, ctx, keys, broker.Config("dc-check"))

	// Cut off, the data center has seen none of the blocks committed
	// since, but for one already read from a connection the cut closed.
	for _, node := range dcNodes[victim] {
		if h, ok := gauge(node, "ledger_blockchain_height"); !ok || h > atCut[node]+1 || uint64(h) > load.lastBlock() {
			t.Errorf("%s at height %v (answering: %v) while cut off, %v at the cut; the others reached %d", node, h, ok, atCut[node], load.lastBlock()+1)
		}
	}
	healed := time.Now()
	dcLinks(t, "heal", victim)
	height := waitHeights(t, allNodes, load.lastBlock()+1)
	catchup := time.Since(healed)
	_, done, err := pub.Publish(ctx, gateway.PublishRequest{Key: "img:dc-after"})
	if err != nil {
		t.Fatalf("publish after the heal: %v", err)
	}
	waitHeights(t, allNodes, done.Block+1)

	t.Logf("%d invalidations; raft leader %s before, %s cut after %d commits, leader %s; resubmitted %v; %d of %d records read from Kafka, %d duplicates; %s back at height %d",
		n, leaderBefore, victim, before, leader, load.retryCounts(), records, 2*n, dups, victim, height)
	t.Logf("dc_cut_leader_failover_seconds: %.1f", failover.Seconds())
	t.Logf("dc_cut_longest_commit_gap_seconds: %.1f", load.longestGap().Seconds())
	t.Logf("dc_heal_catchup_seconds: %.1f", catchup.Seconds())
}
