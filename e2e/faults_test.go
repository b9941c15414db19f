//go:build e2e

package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cachetsync/cachet/gateway"
	"github.com/cachetsync/cachet/kafka"
	"github.com/cachetsync/cachet/kafka/embedded"
	"github.com/cachetsync/cachet/relay"
)

// The network's fault tolerance: a node killed with SIGKILL while
// invalidations commit, and started again on its data (network.sh
// start-node). network/README.md ("Fault tolerance") lists what is killed
// and asserted; the recovery times are logged as "name: value" lines.

var orderers = []string{"orderer0", "orderer1", "orderer2"}

// TestOrdererLeaderKill kills the raft leader while invalidations stream
// through the gateway. Another orderer is elected; each invalidation
// commits, or fails with a typed error after which the caller submits it
// again under the same idempotency key; every key ends at the version
// submitted, and the relay writes each transition to Kafka exactly once.
// The killed orderer, started again, catches up with the others' blocks.
func TestOrdererLeaderKill(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	logsOnFailure(t, orderers...)
	const n = 150
	broker := startBroker(t)
	pub := client(t, "org1", "publisher")
	// A transaction lost with the leader is reported only when the commit
	// status wait ends: keep that wait short so that it is submitted again
	// soon.
	inv := clientWith(t, "org1", "invalidator", func(c *gateway.Config) { c.CommitTimeout = 10 * time.Second })
	start := publishN(t, ctx, pub, "img:ok-start", 0, 1)
	keys := faultKeys("img:ok", n)
	newLoad().run(t, ctx, pub, keys, 8, publishOp, nil)
	if t.Failed() {
		t.FailNow()
	}
	startRelay(t, ctx, broker, start)

	leader := waitLeader(t, orderers...)
	load := newLoad()
	loaded := make(chan struct{})
	go func() {
		defer close(loaded)
		load.run(t, ctx, inv, keys, 4, invalidateOp("orderer leader killed"), faultRetryable)
	}()
	load.waitCommitted(t, n/4)
	before := load.committed()
	killNode(t, leader)
	killed := time.Now()
	newLeader := waitLeader(t, others(orderers, leader)...)
	failover := time.Since(killed)
	<-loaded
	if t.Failed() {
		t.FailNow()
	}
	records, dups := load.checkInvalidatedOnce(t, ctx, keys, broker.Config("faults-check"))

	restarted := time.Now()
	if out, err := network("start-node", leader); err != nil {
		t.Fatalf("start %s: %v\n%s", leader, err, out)
	}
	caughtUp := waitHeights(t, orderers, load.lastBlock()+1)
	// It follows blocks cut after its return too.
	_, done, err := pub.Publish(ctx, gateway.PublishRequest{Key: "img:ok-after"})
	if err != nil {
		t.Fatalf("publish after the restart: %v", err)
	}
	waitHeights(t, orderers, done.Block+1)
	rejoin := time.Since(restarted)

	t.Logf("%d invalidations; %s (raft leader) killed -9 after %d, %s elected; resubmitted %v; %d of %d records read from Kafka, %d duplicates; %s back at height %d",
		n, leader, before, newLeader, load.retryCounts(), records, 2*n, dups, leader, caughtUp)
	t.Logf("orderer_leader_failover_seconds: %.1f", failover.Seconds())
	t.Logf("orderer_kill_longest_commit_gap_seconds: %.1f", load.longestGap().Seconds())
	t.Logf("orderer_rejoin_seconds: %.1f", rejoin.Seconds())
}

// TestPeerKillCatchesUp kills a peer while a follower reads the ledger from
// it alone, commits invalidations without it, and starts it again: it
// pulls the blocks it missed up to the other peers' height, answers the
// keys' new versions, and the follower resumes on it with every transition
// once.
func TestPeerKillCatchesUp(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	const n, victim = 50, "org1-peer1"
	peers := []string{"org1-peer0", "org1-peer1", "org2-peer0"}
	logsOnFailure(t, peers...)
	pub, inv := client(t, "org1", "publisher"), client(t, "org1", "invalidator")
	start := publishN(t, ctx, pub, "img:pk-start", 0, 1)
	keys := faultKeys("img:pk", n)

	// The follower knows only the victim: it has to wait for it.
	endpoint := fmt.Sprintf("127.0.0.1:%d", portBase+110)
	watcher := clientWith(t, "org1", "auditor", func(c *gateway.Config) {
		c.Peers = slices.DeleteFunc(c.Peers, func(p gateway.Peer) bool { return p.Endpoint != endpoint })
	})
	f := follow(t, ctx, watcher, start, "img:pk-")
	newLoad().run(t, ctx, pub, keys, 8, publishOp, nil)
	if t.Failed() {
		t.FailNow()
	}
	f.waitFor(t, keys, 1)

	killNode(t, victim)
	load := newLoad()
	load.run(t, ctx, inv, keys, 4, invalidateOp("peer killed"), faultRetryable)
	if t.Failed() {
		t.FailNow()
	}
	load.checkLedger(t, ctx, client(t, "org1", "auditor"), keys, 2)

	restarted := time.Now()
	if out, err := network("start-node", victim); err != nil {
		t.Fatalf("start %s: %v\n%s", victim, err, out)
	}
	height := waitHeights(t, peers, load.lastBlock()+1)
	catchup := time.Since(restarted)
	f.waitFor(t, keys, 2)
	resume := time.Since(restarted)
	f.stop()

	// The restarted peer answers from its own state: the peer CLI asks it
	// alone.
	b, _ := json.Marshal(keys)
	out, err := peer(t, "org1", "auditor", victim, "chaincode", "query", "-C", "cachet", "-n", "cachet", "-c", args("GetMany", string(b)))
	var entries []gateway.Entry
	if err != nil || json.Unmarshal([]byte(strings.TrimSpace(out)), &entries) != nil {
		t.Fatalf("GetMany on %s: %v\n%s", victim, err, out)
	}
	for _, e := range entries {
		if e.Version != 2 || e.State != "INVALIDATED" {
			t.Errorf("%s answers %s v%d %s, want v2 INVALIDATED", victim, e.Key, e.Version, e.State)
		}
	}
	if len(entries) != n {
		t.Errorf("%s answers %d of %d keys", victim, len(entries), n)
	}
	f.check(t, keys, 2)
	t.Logf("%d invalidations while %s was down (resubmitted %v); back at height %d; the follower pinned to it reconnected %d times and read each transition once",
		n, victim, load.retryCounts(), height, f.reconnects())
	t.Logf("peer_catchup_seconds: %.1f", catchup.Seconds())
	t.Logf("peer_follow_resume_seconds: %.1f", resume.Seconds())
}

func faultKeys(prefix string, n int) []string {
	keys := make([]string, n)
	for i := range keys {
		keys[i] = fmt.Sprintf("%s-%d", prefix, i)
	}
	return keys
}

func others(all []string, except string) []string {
	return slices.DeleteFunc(slices.Clone(all), func(s string) bool { return s == except })
}

// faultRetryable reports an error a dead node may cause, after which the
// same idempotent invalidation may be submitted again: a conflict or an
// endorsement mismatch (Error.Retryable), a network that could not take
// the transaction (CodeUnavailable), or a transaction whose fate is
// unknown (CodeTimeout: it may have been lost with the orderer that held it).
func faultRetryable(err error) (gateway.Code, bool) {
	var ge *gateway.Error
	if !errors.As(err, &ge) {
		return "", false
	}
	return ge.Code, ge.Retryable() || ge.Code == gateway.CodeUnavailable || ge.Code == gateway.CodeTimeout
}

// op submits one key's transaction and returns the version it committed.
type op func(ctx context.Context, cl *gateway.Client, key string) (uint64, gateway.Committed, error)

func publishOp(ctx context.Context, cl *gateway.Client, key string) (uint64, gateway.Committed, error) {
	e, done, err := cl.Publish(ctx, gateway.PublishRequest{Key: key})
	return e.Version, done, err
}

// invalidateOp invalidates a key at version 1 under an idempotency key of
// its own, so that submitting it again cannot invalidate it twice.
func invalidateOp(reason string) op {
	return func(ctx context.Context, cl *gateway.Client, key string) (uint64, gateway.Committed, error) {
		e, done, err := cl.Invalidate(ctx, key, reason, 1, gateway.WithIdempotencyKey("faults/"+key))
		return e.Version, done, err
	}
}

// load is a set of transactions submitted concurrently, one per key.
type load struct {
	mu       sync.Mutex
	versions map[string]uint64 // committed version of each key
	commits  []time.Time
	retried  map[gateway.Code]int
	last     uint64 // highest block committed
}

func newLoad() *load { return &load{versions: map[string]uint64{}, retried: map[gateway.Code]int{}} }

// run submits op for every key with workers concurrent callers. A key whose
// submission fails with an error retry accepts is submitted again after a
// pause; any other error fails the test.
func (l *load) run(t testing.TB, ctx context.Context, cl *gateway.Client, keys []string, workers int, submit op, retry func(error) (gateway.Code, bool)) {
	jobs := make(chan string)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for key := range jobs {
				l.submit(t, ctx, cl, key, submit, retry)
			}
		})
	}
	for _, k := range keys {
		select {
		case jobs <- k:
		case <-ctx.Done():
		}
	}
	close(jobs)
	wg.Wait()
}

// submit submits key's transaction until it commits or fails with an error
// retry does not accept.
func (l *load) submit(t testing.TB, ctx context.Context, cl *gateway.Client, key string, submit op, retry func(error) (gateway.Code, bool)) {
	for {
		v, done, err := submit(ctx, cl, key)
		if err == nil {
			l.mu.Lock()
			defer l.mu.Unlock()
			l.versions[key] = v
			l.commits = append(l.commits, time.Now())
			l.last = max(l.last, done.Block)
			return
		}
		code, ok := gateway.Code(""), false
		if retry != nil && ctx.Err() == nil {
			code, ok = retry(err)
		}
		if !ok {
			t.Errorf("%s: %v", key, err)
			return
		}
		l.mu.Lock()
		l.retried[code]++
		l.mu.Unlock()
		time.Sleep(200 * time.Millisecond)
	}
}

func (l *load) committed() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.versions)
}

func (l *load) lastBlock() uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.last
}

func (l *load) retryCounts() map[gateway.Code]int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return maps.Clone(l.retried)
}

// longestGap is the longest time between two commits.
func (l *load) longestGap() time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	var gap time.Duration
	for i := 1; i < len(l.commits); i++ {
		gap = max(gap, l.commits[i].Sub(l.commits[i-1]))
	}
	return gap
}

func (l *load) waitCommitted(t *testing.T, n int) {
	t.Helper()
	for deadline := time.Now().Add(90 * time.Second); l.committed() < n; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) || t.Failed() {
			t.Fatalf("%d of %d transactions committed", l.committed(), n)
		}
	}
}

// checkLedger asserts that every key committed at version and that the
// ledger holds it there, INVALIDATED: not once more.
func (l *load) checkLedger(t *testing.T, ctx context.Context, cl *gateway.Client, keys []string, version uint64) {
	t.Helper()
	l.mu.Lock()
	for _, k := range keys {
		if v, ok := l.versions[k]; !ok || v != version {
			t.Errorf("%s: committed version %d (committed: %v), want %d", k, v, ok, version)
		}
	}
	l.mu.Unlock()
	entries, err := cl.GetMany(ctx, keys)
	if err != nil {
		t.Fatalf("GetMany: %v", err)
	}
	if len(entries) != len(keys) {
		t.Errorf("the ledger holds %d of %d keys", len(entries), len(keys))
	}
	for _, e := range entries {
		if e.Version != version || e.State != "INVALIDATED" {
			t.Errorf("ledger: %s v%d %s, want v%d INVALIDATED", e.Key, e.Version, e.State, version)
		}
	}
}

// checkInvalidatedOnce asserts that every key, published then invalidated
// under load, is at version 2 on the ledger (checkLedger) and that both
// versions of each reached cachet.transitions exactly once; it returns the
// records read and the duplicates among them.
func (l *load) checkInvalidatedOnce(t *testing.T, ctx context.Context, keys []string, cfg kafka.Config) (records, dups int) {
	t.Helper()
	l.checkLedger(t, ctx, client(t, "org1", "auditor"), keys, 2)
	want := map[string]bool{}
	for _, k := range keys {
		want[k+"@1"], want[k+"@2"] = true, true
	}
	return checkExactlyOnce(t, cfg, want, 2*time.Second)
}

// startRelay runs a relay in process from block start to broker, reading
// the ledger as Org1's auditor.
func startRelay(t testing.TB, ctx context.Context, broker *embedded.Broker, start uint64) {
	t.Helper()
	src := client(t, "org1", "auditor")
	logPath := filepath.Join(t.TempDir(), "relay.log")
	logf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	r, err := relay.New(relay.Config{Source: src, Kafka: broker.Config("faults-relay"), Channel: src.Channel(), StartBlock: start,
		Height: src.Height, Log: slog.New(slog.NewTextHandler(logf, nil))})
	if err != nil {
		t.Fatal(err)
	}
	rctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- r.Run(rctx) }()
	t.Cleanup(func() {
		stop()
		if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("relay: %v", err)
		}
		logf.Close()
		if t.Failed() {
			b, _ := os.ReadFile(logPath)
			t.Logf("relay log:\n%s", tail(string(b), 4000))
		}
	})
}

// logsOnFailure prints the end of the nodes' logs if the test fails.
func logsOnFailure(t testing.TB, nodes ...string) {
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		for _, n := range nodes {
			b, _ := os.ReadFile(filepath.Join(netDir, "logs", n+".log"))
			var lines []string
			for _, l := range strings.Split(string(b), "\n") {
				if !strings.Contains(l, "createTransport failed to connect") { // a dead node's neighbours say so every few seconds
					lines = append(lines, l)
				}
			}
			t.Logf("%s log:\n%s", n, tail(strings.Join(lines, "\n"), 3000))
		}
	})
}

// opsPort is a node's operations endpoint (/metrics): orderers at base+30+i,
// peers at their port+2 (network/README.md).
func opsPort(node string) int {
	switch node {
	case "org1-peer0":
		return portBase + 102
	case "org1-peer1":
		return portBase + 112
	case "org2-peer0":
		return portBase + 202
	}
	i, err := strconv.Atoi(strings.TrimPrefix(node, "orderer"))
	if err != nil || !strings.HasPrefix(node, "orderer") {
		panic("no node " + node)
	}
	return portBase + 30 + i
}

// gauge reads a node's Prometheus sample name for channel cachet; ok is
// false while the node does not answer or has no such sample.
func gauge(node, name string) (v float64, ok bool) {
	c := http.Client{Timeout: 2 * time.Second}
	resp, err := c.Get(fmt.Sprintf("http://127.0.0.1:%d/metrics", opsPort(node)))
	if err != nil {
		return 0, false
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 2 && strings.HasPrefix(f[0], name+"{") && strings.Contains(f[0], `channel="cachet"`) {
			v, err := strconv.ParseFloat(f[1], 64)
			return v, err == nil
		}
	}
	return 0, false
}

// waitLeader waits until one of the orderers reports itself raft leader
// (consensus_etcdraft_is_leader 1) and returns it.
func waitLeader(t testing.TB, among ...string) string {
	t.Helper()
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		for _, o := range among {
			if v, ok := gauge(o, "consensus_etcdraft_is_leader"); ok && v == 1 {
				return o
			}
		}
	}
	t.Fatalf("none of %v became raft leader within 60 s", among)
	return ""
}

// waitHeights waits until every node reports the same ledger height
// (ledger_blockchain_height), at least min, and returns it.
func waitHeights(t *testing.T, nodes []string, min uint64) uint64 {
	t.Helper()
	var heights []uint64
	for deadline := time.Now().Add(90 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		heights = heights[:0]
		for _, n := range nodes {
			v, _ := gauge(n, "ledger_blockchain_height")
			heights = append(heights, uint64(v))
		}
		if slices.Min(heights) >= min && slices.Min(heights) == slices.Max(heights) {
			return heights[0]
		}
	}
	t.Fatalf("heights of %v: %v, want all equal and at least %d", nodes, heights, min)
	return 0
}

// follower collects the versions of keys with a prefix that gateway.Follow
// delivers.
type follower struct {
	mu     sync.Mutex
	seen   map[string][]uint64 // versions delivered per key, in order
	recon  int
	cancel context.CancelFunc
	done   chan error
}

// follow follows the ledger through cl from block start until stop.
func follow(t *testing.T, ctx context.Context, cl *gateway.Client, start uint64, prefix string) *follower {
	fctx, cancel := context.WithCancel(ctx)
	f := &follower{seen: map[string][]uint64{}, cancel: cancel, done: make(chan error, 1)}
	go func() {
		f.done <- cl.Follow(fctx, gateway.FollowConfig{
			Checkpointer: &gateway.MemoryCheckpointer{}, StartBlock: start, MinBackoff: 50 * time.Millisecond, MaxBackoff: 500 * time.Millisecond,
			OnReconnect: func(error, int) { f.mu.Lock(); f.recon++; f.mu.Unlock() },
		}, func(_ context.Context, tx gateway.Transaction) error {
			if tx.Event == nil {
				return nil
			}
			f.mu.Lock()
			defer f.mu.Unlock()
			for _, tr := range tx.Event.Transitions {
				if strings.HasPrefix(tr.Key, prefix) {
					f.seen[tr.Key] = append(f.seen[tr.Key], tr.Version)
				}
			}
			return nil
		})
	}()
	t.Cleanup(f.stop)
	return f
}

func (f *follower) stop() {
	if f.cancel != nil {
		f.cancel()
		<-f.done
		f.cancel = nil
	}
}

func (f *follower) reconnects() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.recon
}

// waitFor waits until version of every key was delivered.
func (f *follower) waitFor(t *testing.T, keys []string, version uint64) {
	t.Helper()
	for deadline := time.Now().Add(90 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		f.mu.Lock()
		missing := 0
		for _, k := range keys {
			if !slices.Contains(f.seen[k], version) {
				missing++
			}
		}
		f.mu.Unlock()
		if missing == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the follower never saw version %d of %d of %d keys", version, missing, len(keys))
		}
	}
}

// check asserts that each key's versions 1 to last were delivered once
// each, in order, and nothing more.
func (f *follower) check(t *testing.T, keys []string, last uint64) {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, k := range keys {
		var want []uint64
		for v := uint64(1); v <= last; v++ {
			want = append(want, v)
		}
		if got := f.seen[k]; !slices.Equal(got, want) {
			t.Errorf("%s: versions delivered %v, want %v", k, got, want)
		}
	}
	if f.recon == 0 {
		t.Error("the follower never noticed its peer's death")
	}
}
