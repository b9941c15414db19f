//go:build e2e

package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	ckafka "github.com/confluentinc/confluent-kafka-go/v2/kafka"

	"github.com/cachetsync/cachet/gateway"
	"github.com/cachetsync/cachet/kafka"
	"github.com/cachetsync/cachet/record"
)

// TestRelaySurvivesKill9 kills `cachet relay` over and over while
// transitions commit, then reads cachet.transitions with a read_committed
// consumer: every (key, version) that committed is there, each key's
// versions arrive in order, and the only repeats are transactions re-sent
// after a kill (dropped by version-checking consumers).
func TestRelaySurvivesKill9(t *testing.T) {
	const keys, kills = 120, 8
	ctx := ctxT(t)
	broker, err := kafka.StartEmbedded(ctx, kafka.WithPartitions(3))
	if err != nil {
		t.Fatal(err)
	}
	defer broker.Close()
	bin := cachetBinary(t)
	prof, _ := network("profile", "org1", "auditor")
	profPath := filepath.Join(t.TempDir(), "relay.json")
	os.WriteFile(profPath, []byte(prof), 0o600)
	checkpoint := filepath.Join(t.TempDir(), "relay.checkpoint")
	relayLog := filepath.Join(t.TempDir(), "relay.log")
	t.Cleanup(func() {
		if t.Failed() {
			b, _ := os.ReadFile(relayLog)
			t.Logf("relay output:\n%s", tail(string(b), 3000))
		}
	})
	pub, inv := client(t, "org1", "publisher"), client(t, "org1", "invalidator")
	start := publishN(t, ctx, pub, "img:rl-start", 0, 1)

	var mu sync.Mutex
	var relayCmd *exec.Cmd
	startRelay := func() {
		cmd := exec.Command(bin, "relay", "--config", profPath, "--brokers", broker.Addr(), "--checkpoint", checkpoint, "--from", fmt.Sprint(start), "--partitions", "3")
		logf, err := os.OpenFile(relayLog, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
		if err != nil {
			t.Fatal(err)
		}
		defer logf.Close()
		cmd.Stderr, cmd.Stdout = logf, logf
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		relayCmd = cmd
		mu.Unlock()
	}
	startRelay()
	defer func() {
		mu.Lock()
		relayCmd.Process.Signal(syscall.SIGTERM)
		relayCmd.Wait()
		mu.Unlock()
	}()

	// Writers: publish then invalidate every key, remembering each version.
	want := map[string]bool{}
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	for i := range keys {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			key := fmt.Sprintf("img:rl-%d", i)
			e, _, err := pub.Publish(ctx, gateway.PublishRequest{Key: key})
			if err != nil {
				t.Error(err)
				return
			}
			e2, _, err := inv.Invalidate(ctx, key, "", e.Version)
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			want[fmt.Sprintf("%s@%d", key, e.Version)] = true
			want[fmt.Sprintf("%s@%d", key, e2.Version)] = true
			mu.Unlock()
		})
	}
	killed := make(chan struct{})
	go func() { // the killer: kill -9 and restart while the writers run
		defer close(killed)
		for range kills {
			time.Sleep(600 * time.Millisecond)
			mu.Lock()
			relayCmd.Process.Signal(syscall.SIGKILL)
			relayCmd.Wait()
			mu.Unlock()
			startRelay()
		}
	}()
	wg.Wait()
	<-killed
	if t.Failed() {
		t.FailNow()
	}

	c, err := kafka.NewConsumer(broker.Config("relay-e2e-check"), "relay-e2e-check", "earliest")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.SubscribeTopics([]string{record.TopicTransitions}, nil); err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	lastVersion := map[string]uint64{}
	records := 0
	deadline := time.Now().Add(90 * time.Second)
	for missing := len(want); missing > 0; {
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d transitions never reached Kafka", missing, len(want))
		}
		m, ok := c.Poll(100).(*ckafka.Message)
		if !ok {
			continue
		}
		tr, err := record.DecodeTransition(m.Value)
		if err != nil {
			t.Fatalf("record at %v: %v", m.TopicPartition, err)
		}
		if string(m.Key) != tr.Key {
			t.Fatalf("record key %q carries transition of %q", m.Key, tr.Key)
		}
		id := fmt.Sprintf("%s@%d", tr.Key, tr.Version)
		if !want[id] {
			continue // the start marker
		}
		records++
		seen[id]++
		if seen[id] == 1 {
			if tr.Version <= lastVersion[tr.Key] {
				t.Fatalf("%s: version %d first arrived after version %d", tr.Key, tr.Version, lastVersion[tr.Key])
			}
			lastVersion[tr.Key] = tr.Version
			missing--
		}
	}
	dups := records - len(want)
	t.Logf("%d transitions committed, %d relay kills: %d records read, %d distinct, %d duplicates from re-sent transactions", len(want), kills, records, len(seen), dups)
	if dups > 2*kills {
		t.Fatalf("%d duplicates for %d kills: more than the transactions in flight at each kill", dups, kills)
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}
