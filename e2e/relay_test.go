//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/cachetsync/cachet/gateway"
	"github.com/cachetsync/cachet/kafka"
	"github.com/cachetsync/cachet/kafka/embedded"
	"github.com/cachetsync/cachet/record"
)

// TestRelaySurvivesKill9 kills `cachet relay` at random points, 20 times,
// while CACHET_RELAY_SOAK transitions commit (5,000 by default, to keep the
// suite's time in check on two cores; `make test-relay-soak` runs 10,000), then reads
// cachet.transitions read_committed: every (block, txIndex, key, version)
// exactly once, and each key's versions in order.
func TestRelaySurvivesKill9(t *testing.T) {
	n, kills := envInt(t, "CACHET_RELAY_SOAK", 5000), 20
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	broker := startBroker(t)
	pub, inv := client(t, "org1", "publisher"), client(t, "org1", "invalidator")
	start := publishN(t, ctx, pub, "img:rk-start", 0, 1)
	p := newRelayProc(t, "relay", "--brokers", broker.Addr(), "--from", fmt.Sprint(start), "--partitions", "3", "--instance-id", "rk")
	p.start()

	loaded := make(chan map[string]bool, 1)
	began := time.Now()
	go func() { loaded <- commitLoad(t, ctx, pub, inv, "img:rk", n) }()
	rnd := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 9))
	for k := range kills {
		p.waitLeads(k + 1)
		time.Sleep(time.Duration(rnd.Int64N(int64(1200 * time.Millisecond))))
		p.kill()
		p.start()
	}
	want := <-loaded
	loadTime := time.Since(began)
	if t.Failed() {
		t.FailNow()
	}
	records, dups := checkExactlyOnce(t, broker.Config("relay-e2e-check"), want, 2*time.Second)
	t.Logf("%d transitions committed in %v, %d relay kills (kill -9 at random points): %d records read, %d distinct, %d duplicates",
		len(want), loadTime.Round(time.Second), kills, records, records-dups, dups)
}

func envInt(t *testing.T, name string, def int) int {
	if v := os.Getenv(name); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			t.Fatalf("%s=%q: %v", name, v, err)
		}
		return n
	}
	return def
}

func startBroker(t testing.TB) *embedded.Broker {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	b, err := embedded.Start(ctx, embedded.WithPartitions(3))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	return b
}

// relayProc is one `cachet relay` process that the test kills and restarts.
type relayProc struct {
	t    *testing.T
	name string
	args []string
	log  string

	mu  sync.Mutex
	cmd *exec.Cmd
}

// newRelayProc prepares a relay following the ledger as org1's auditor.
func newRelayProc(t *testing.T, name string, args ...string) *relayProc {
	t.Helper()
	prof, err := network("profile", "org1", "auditor")
	if err != nil {
		t.Fatalf("profile: %v\n%s", err, prof)
	}
	dir := t.TempDir()
	profPath := filepath.Join(dir, "profile.json")
	if err := os.WriteFile(profPath, []byte(prof), 0o600); err != nil {
		t.Fatal(err)
	}
	p := &relayProc{t: t, name: name, args: append([]string{"relay", "--config", profPath}, args...), log: filepath.Join(dir, name+".log")}
	t.Cleanup(func() {
		p.stop()
		if t.Failed() {
			b, _ := os.ReadFile(p.log)
			t.Logf("%s output:\n%s", name, tail(string(b), 4000))
		}
	})
	return p
}

func (p *relayProc) start() {
	p.t.Helper()
	logf, err := os.OpenFile(p.log, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		p.t.Fatal(err)
	}
	defer logf.Close()
	cmd := exec.Command(cachetBinary(p.t), p.args...)
	cmd.Stderr, cmd.Stdout = logf, logf
	if err := cmd.Start(); err != nil {
		p.t.Fatal(err)
	}
	p.mu.Lock()
	p.cmd = cmd
	p.mu.Unlock()
}

func (p *relayProc) signal(sig syscall.Signal) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd != nil {
		p.cmd.Process.Signal(sig)
		p.cmd.Wait()
		p.cmd = nil
	}
}

func (p *relayProc) kill() { p.signal(syscall.SIGKILL) }
func (p *relayProc) stop() { p.signal(syscall.SIGTERM) }

func (p *relayProc) output() string {
	b, _ := os.ReadFile(p.log)
	return string(b)
}

// leads counts the times the relay started leading.
func (p *relayProc) leads() int { return strings.Count(p.output(), "relay: leading from") }

// leading reports whether the relay's last word was that it leads.
func (p *relayProc) leading() bool {
	out := p.output()
	return strings.LastIndex(out, "relay: leading from") > strings.LastIndex(out, "relay: standby")
}

func (p *relayProc) waitLeads(n int) {
	p.t.Helper()
	for deadline := time.Now().Add(90 * time.Second); p.leads() < n; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			p.t.Fatalf("%s led %d times, want %d", p.name, p.leads(), n)
		}
	}
}

// commitLoad commits about n transitions: rounds of publishing keys (32
// concurrent callers), then invalidating them with InvalidateBatch, 250
// keys a transaction. It returns every committed "key@version".
func commitLoad(t *testing.T, ctx context.Context, pub, inv *gateway.Client, prefix string, n int) map[string]bool {
	want := map[string]bool{}
	var mu sync.Mutex
	per := min(1000, max(n/2, 1))
	for round := 0; len(want) < n && ctx.Err() == nil; round++ {
		keys := make([]string, min(per, (n-len(want)+1)/2))
		var wg sync.WaitGroup
		sem := make(chan struct{}, 32)
		for i := range keys {
			keys[i] = fmt.Sprintf("%s-%d-%d", prefix, round, i)
			sem <- struct{}{}
			wg.Go(func() {
				defer func() { <-sem }()
				e, _, err := pub.Publish(ctx, gateway.PublishRequest{Key: keys[i]})
				if err != nil {
					t.Errorf("publish %s: %v", keys[i], err)
					return
				}
				mu.Lock()
				want[fmt.Sprintf("%s@%d", e.Key, e.Version)] = true
				mu.Unlock()
			})
		}
		wg.Wait()
		for i := 0; i < len(keys); i += 250 {
			res, _, err := inv.InvalidateBatch(ctx, keys[i:min(i+250, len(keys))], "soak")
			if err != nil {
				t.Errorf("invalidate batch: %v", err)
				return want
			}
			for _, s := range res.Invalidated {
				want[fmt.Sprintf("%s@%d", s.Key, s.Version)] = true
			}
		}
		if t.Failed() {
			return want
		}
	}
	return want
}

// checkExactlyOnce reads cachet.transitions read_committed until every
// transition in want arrived, then for quiet more; every (block, txIndex,
// key, version) must arrive once, a key's versions in order. Records of
// other keys are ignored.
func checkExactlyOnce(t *testing.T, cfg kafka.Config, want map[string]bool, quiet time.Duration) (records, dups int) {
	t.Helper()
	c, err := kafka.NewConsumer(cfg, fmt.Sprint("relay-e2e-check-", time.Now().UnixNano()), "earliest")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Subscribe([]string{record.TopicTransitions}, nil); err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	lastVersion := map[string]uint64{}
	missing := len(want)
	deadline := time.Now().Add(3 * time.Minute)
	var quietUntil time.Time
	for {
		if missing == 0 && quietUntil.IsZero() {
			quietUntil = time.Now().Add(quiet)
		}
		if !quietUntil.IsZero() && time.Now().After(quietUntil) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d transitions never reached Kafka", missing, len(want))
		}
		m, ok := c.Poll(100 * time.Millisecond).(*kafka.Message)
		if !ok {
			continue
		}
		tr, err := record.DecodeTransition(m.Value)
		if err != nil {
			t.Fatalf("record at %s[%d]@%d: %v", m.Topic, m.Partition, m.Offset, err)
		}
		if string(m.Key) != tr.Key {
			t.Fatalf("record key %q carries transition of %q", m.Key, tr.Key)
		}
		id := fmt.Sprintf("%s@%d", tr.Key, tr.Version)
		if !want[id] {
			continue
		}
		records++
		seen[fmt.Sprintf("%s@%s", id, tr.Position)]++
		if seen[fmt.Sprintf("%s@%s", id, tr.Position)] > 1 {
			dups++
			t.Errorf("%s at %s read twice", id, tr.Position)
			continue
		}
		if tr.Version <= lastVersion[tr.Key] {
			t.Errorf("%s: version %d arrived after version %d", tr.Key, tr.Version, lastVersion[tr.Key])
		}
		lastVersion[tr.Key] = tr.Version
		missing--
	}
	if len(seen) != len(want) {
		t.Errorf("%d distinct transitions read, %d committed", len(seen), len(want))
	}
	return records, dups
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}
