// Command soak drives mixed ledger traffic through the gateway while
// scripts/soak.sh kills and restarts the network's nodes, the relay, the
// push server and the Kafka broker, and checks at the end that every
// committed transaction reached both the Kafka stream (cachet.transitions)
// and a push client exactly once.
//
//	soak --publisher org1-publisher.json --invalidator org1-invalidator.json \
//	     --brokers 127.0.0.1:9092 --push-url ws://127.0.0.1:8090/ws --push-secret S \
//	     --duration 1h --events faults.log
//
// It prints `name: value` lines: committed, lost and duplicated per stream,
// the push client's resets, and the worst recovery time after a fault (from
// the kill to the push client receiving the first transaction submitted
// after it). It exits 1 when anything committed was lost or duplicated.
// See push/README.md, "Soak".
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/cachetsync/cachet/gateway"
	"github.com/cachetsync/cachet/kafka"
	"github.com/cachetsync/cachet/push"
	"github.com/cachetsync/cachet/push/client"
	"github.com/cachetsync/cachet/record"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "soak:", err)
		os.Exit(1)
	}
}

// config is one soak run.
type config struct {
	Publisher, Invalidator string // connection profiles
	Brokers                string
	PushURL, PushSecret    string
	Origin                 string
	Keys, Workers          int
	Rate                   float64
	Duration, Drain        time.Duration
	Events                 string
	Partitions             int
}

// tv names one committed transaction: a key at the version it committed.
type tv struct {
	key     string
	version uint64
}

// ledgerOp is one transaction the load committed.
type ledgerOp struct {
	submitted time.Time // when its first attempt started
	committed time.Time
}

// seen counts one stream's deliveries of each transaction.
type seen struct {
	mu     sync.Mutex
	n      map[tv]int
	first  map[tv]time.Time
	resets int
}

func newSeen() *seen { return &seen{n: map[tv]int{}, first: map[tv]time.Time{}} }

func (s *seen) add(k tv, at time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.n[k] == 0 {
		s.first[k] = at
	}
	s.n[k]++
}

func run(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("soak", flag.ContinueOnError)
	var c config
	fs.StringVar(&c.Publisher, "publisher", "", "connection profile of a publisher")
	fs.StringVar(&c.Invalidator, "invalidator", "", "connection profile of an invalidator of the same org")
	fs.StringVar(&c.Brokers, "brokers", "127.0.0.1:9092", "Kafka brokers")
	fs.StringVar(&c.PushURL, "push-url", "ws://127.0.0.1:8090/ws", "push server WebSocket URL")
	fs.StringVar(&c.PushSecret, "push-secret", "", "the push server's HS256 secret")
	fs.StringVar(&c.Origin, "origin", "", "origin of the soak's keys (default: a fresh one per run)")
	fs.IntVar(&c.Keys, "keys", 40, "keys, each published then invalidated in turn")
	fs.IntVar(&c.Workers, "workers", 4, "concurrent submitters (each owns keys/workers keys)")
	fs.Float64Var(&c.Rate, "rate", 4, "transactions per second, all submitters together")
	fs.DurationVar(&c.Duration, "duration", time.Hour, "how long the load runs")
	fs.DurationVar(&c.Drain, "drain", 3*time.Minute, "longest wait after the load for every transaction to arrive")
	fs.StringVar(&c.Events, "events", "", "file of fault lines `UNIXNANO kill|start NAME` (written by scripts/soak.sh)")
	fs.IntVar(&c.Partitions, "partitions", kafka.DefaultTransitionPartitions, "partitions of cachet.transitions")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if c.Publisher == "" || c.Invalidator == "" || c.PushSecret == "" {
		return errors.New("need --publisher, --invalidator and --push-secret")
	}
	if c.Keys < c.Workers || c.Workers < 1 || c.Rate <= 0 {
		return errors.New("need 1 <= workers <= keys and rate > 0")
	}
	if c.Origin == "" {
		c.Origin = fmt.Sprintf("https://soak-%d.example", time.Now().Unix())
	}
	pub, err := connect(c.Publisher)
	if err != nil {
		return err
	}
	defer pub.Close()
	inv, err := connect(c.Invalidator)
	if err != nil {
		return err
	}
	defer inv.Close()

	wctx, stopWatch := context.WithCancel(context.WithoutCancel(ctx))
	defer stopWatch()
	kafkaSeen, pushSeen := newSeen(), newSeen()
	errc := make(chan error, 2)
	go func() { errc <- watchKafka(wctx, c, kafkaSeen) }()
	go func() { errc <- watchPush(wctx, c, pushSeen) }()
	time.Sleep(2 * time.Second) // let the push client subscribe before the first commit

	l := &loader{c: c, pub: pub, inv: inv, ops: map[tv]ledgerOp{}, tick: time.NewTicker(time.Duration(float64(time.Second) / c.Rate))}
	lctx, stopLoad := context.WithTimeout(ctx, c.Duration)
	defer stopLoad()
	fmt.Fprintf(out, "soak: %d keys of %s, %d submitters, %.1f transactions/s for %s\n", c.Keys, c.Origin, c.Workers, c.Rate, c.Duration)
	l.run(lctx)
	fmt.Fprintf(out, "soak: load over, %d committed; waiting up to %s for the streams\n", len(l.ops), c.Drain)

	deadline := time.Now().Add(c.Drain)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		if missing(l.ops, kafkaSeen) == 0 && missing(l.ops, pushSeen) == 0 {
			break
		}
		select {
		case err := <-errc:
			return err
		case <-time.After(time.Second):
		}
	}
	time.Sleep(2 * time.Second) // late duplicates
	stopWatch()

	events, err := readEvents(c.Events)
	if err != nil {
		return err
	}
	return report(out, l, kafkaSeen, pushSeen, events)
}

func connect(profile string) (*gateway.Client, error) {
	cfg, err := gateway.LoadProfile(profile)
	if err != nil {
		return nil, err
	}
	return gateway.Connect(cfg)
}

// loader submits the traffic: each key is published, invalidated,
// published again and so on, every transaction at the version it expects,
// so that a transaction submitted again after an unknown outcome cannot
// commit twice.
type loader struct {
	c        config
	pub, inv *gateway.Client
	tick     *time.Ticker

	mu      sync.Mutex
	ops     map[tv]ledgerOp
	retries int
	failed  int // gave up: the load ended first
}

func (l *loader) run(ctx context.Context) {
	var wg sync.WaitGroup
	for w := range l.c.Workers {
		wg.Go(func() {
			versions := map[string]uint64{}
			for i := 0; ctx.Err() == nil; i++ {
				key := fmt.Sprintf("%s/soak/%d", l.c.Origin, w+l.c.Workers*(i%(l.c.Keys/l.c.Workers)))
				select {
				case <-ctx.Done():
					return
				case <-l.tick.C:
				}
				v, ok := l.commit(ctx, key, versions[key])
				if !ok {
					return
				}
				versions[key] = v
			}
		})
	}
	wg.Wait()
}

// commit submits the key's next transaction (publish when cur is 0 or
// odd after an invalidation, invalidate otherwise) until it commits, and
// returns the version it committed. After an error it reads the key: a
// transaction that committed although its caller did not learn it counts
// as committed.
func (l *loader) commit(ctx context.Context, key string, cur uint64) (uint64, bool) {
	start := time.Now()
	for attempt := 0; ; attempt++ {
		var e gateway.Entry
		var err error
		if cur%2 == 0 {
			e, _, err = l.pub.Publish(ctx, gateway.PublishRequest{Key: key, MaxAge: 60, ExpectedVersion: cur})
		} else {
			e, _, err = l.inv.Invalidate(ctx, key, "soak", cur, gateway.WithIdempotencyKey(fmt.Sprintf("soak/%s/%d", key, cur)))
		}
		if err == nil {
			l.record(key, e.Version, start)
			return e.Version, true
		}
		if ctx.Err() != nil {
			// The outcome is unknown; a commit shows up as unexpected
			// on the streams rather than as lost.
			l.mu.Lock()
			l.failed++
			l.mu.Unlock()
			return cur, false
		}
		l.mu.Lock()
		l.retries++
		l.mu.Unlock()
		time.Sleep(time.Second)
		if got, gerr := l.inv.Get(ctx, key); gerr == nil && got.Version == cur+1 {
			l.record(key, got.Version, start)
			return got.Version, true
		}
	}
}

func (l *loader) record(key string, v uint64, submitted time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.ops[tv{key, v}] = ledgerOp{submitted: submitted, committed: time.Now()}
}

// watchKafka reads cachet.transitions from the beginning, through broker
// restarts, and counts the soak's transitions.
func watchKafka(ctx context.Context, c config, s *seen) error {
	cons, err := kafka.NewConsumer(kafka.Config{Brokers: c.Brokers, ClientID: "cachet-soak"}, "", "earliest")
	if err != nil {
		return err
	}
	defer cons.Close()
	var tps []kafka.TopicPartition
	for p := range c.Partitions {
		tps = append(tps, kafka.TopicPartition{Topic: record.TopicTransitions, Partition: int32(p), Offset: kafka.OffsetBeginning})
	}
	if err := cons.Assign(tps); err != nil {
		return err
	}
	prefix := c.Origin + "/"
	for ctx.Err() == nil {
		m, ok := cons.Poll(200 * time.Millisecond).(*kafka.Message)
		if !ok {
			continue
		}
		tr, err := record.DecodeTransition(m.Value)
		if err != nil || !strings.HasPrefix(tr.Key, prefix) {
			continue
		}
		s.add(tv{tr.Key, tr.Version}, time.Now())
	}
	return nil
}

// watchPush subscribes one push client to the soak's origin and counts
// the transitions it receives, resuming from its position after each
// disconnect as a browser does.
func watchPush(ctx context.Context, c config, s *seen) error {
	ch := "origin:" + c.Origin
	tok := func(context.Context) (string, error) {
		return push.Minter{Secret: []byte(c.PushSecret), Subject: "soak", TTL: 24 * time.Hour}.Mint([]string{ch})
	}
	cl, err := client.New(client.Config{URL: c.PushURL, Channels: []string{ch}, Token: tok,
		Backoff: client.Backoff{Min: 250 * time.Millisecond, Max: 2 * time.Second}})
	if err != nil {
		return err
	}
	err = cl.Run(ctx, func(f client.Frame) error {
		switch {
		case f.Transition != nil:
			s.add(tv{f.Transition.Key, f.Transition.Version}, time.Now())
		case f.Reset != nil:
			s.mu.Lock()
			s.resets++
			s.mu.Unlock()
		}
		return nil
	})
	if ctx.Err() != nil {
		return nil
	}
	return err
}

func missing(ops map[tv]ledgerOp, s *seen) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for k := range ops {
		if s.n[k] == 0 {
			n++
		}
	}
	return n
}

// event is one line of the fault log.
type event struct {
	at   time.Time
	kind string // kill or start
	name string
}

func readEvents(path string) ([]event, error) {
	if path == "" {
		return nil, nil
	}
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []event
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fl := strings.Fields(sc.Text())
		if len(fl) != 3 {
			continue
		}
		ns, err := strconv.ParseInt(fl[0], 10, 64)
		if err != nil {
			return nil, fmt.Errorf("events: %q: %w", sc.Text(), err)
		}
		out = append(out, event{time.Unix(0, ns), fl[1], fl[2]})
	}
	return out, sc.Err()
}

// recovery returns, for a kill at t, the time until the push client
// received the first transaction submitted after t (false: none was).
func recovery(t time.Time, ops map[tv]ledgerOp, s *seen) (time.Duration, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var best time.Time
	for k, op := range ops {
		if !op.submitted.After(t) {
			continue
		}
		if at, ok := s.first[k]; ok && (best.IsZero() || at.Before(best)) {
			best = at
		}
	}
	return best.Sub(t), !best.IsZero()
}

func report(out io.Writer, l *loader, kafkaSeen, pushSeen *seen, events []event) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	var publishes, invalidations int
	for k := range l.ops {
		if k.version%2 == 1 {
			publishes++
		} else {
			invalidations++
		}
	}
	stream := func(s *seen) (lost, dup, unexpected int) {
		s.mu.Lock()
		defer s.mu.Unlock()
		for k := range l.ops {
			switch n := s.n[k]; {
			case n == 0:
				lost++
			case n > 1:
				dup += n - 1
			}
		}
		for k, n := range s.n {
			if _, ok := l.ops[k]; !ok {
				unexpected += n
			}
		}
		return lost, dup, unexpected
	}
	kl, kd, ku := stream(kafkaSeen)
	pl, pd, pu := stream(pushSeen)

	kills := map[string]int{}
	worst := map[string]time.Duration{}      // from the kill
	worstStart := map[string]time.Duration{} // from the restart
	var worstAll, worstAfterStart time.Duration
	var worstName string
	unrecovered := 0
	for i, e := range events {
		if e.kind != "kill" {
			continue
		}
		kills[e.name]++
		d, ok := recovery(e.at, l.ops, pushSeen)
		if !ok {
			unrecovered++
			continue
		}
		worst[e.name] = max(worst[e.name], d)
		if d > worstAll {
			worstAll, worstName = d, e.name
		}
		for _, s := range events[i+1:] {
			if s.kind == "start" && s.name == e.name {
				after := max(0, d-s.at.Sub(e.at))
				worstStart[e.name] = max(worstStart[e.name], after)
				worstAfterStart = max(worstAfterStart, after)
				break
			}
		}
	}
	names := make([]string, 0, len(kills))
	for n := range kills {
		names = append(names, n)
	}
	sort.Strings(names)
	fmt.Fprintln(out)
	fmt.Fprintln(out, "recovery: from the kill (or the restart) to the push client receiving the first transaction submitted after the kill")
	fmt.Fprintf(out, "%-12s %6s %18s %20s\n", "killed", "times", "from the kill", "from the restart")
	for _, n := range names {
		fmt.Fprintf(out, "%-12s %6d %16.1f s %18.1f s\n", n, kills[n], worst[n].Seconds(), worstStart[n].Seconds())
	}
	fmt.Fprintln(out)
	fmt.Fprintf(out, "committed: %d\n", len(l.ops))
	fmt.Fprintf(out, "committed_publishes: %d\n", publishes)
	fmt.Fprintf(out, "committed_invalidations: %d\n", invalidations)
	fmt.Fprintf(out, "submit_retries: %d\n", l.retries)
	fmt.Fprintf(out, "unknown_outcome_at_end: %d\n", l.failed)
	fmt.Fprintf(out, "kafka_lost: %d\n", kl)
	fmt.Fprintf(out, "kafka_duplicated: %d\n", kd)
	fmt.Fprintf(out, "kafka_unexpected: %d\n", ku)
	fmt.Fprintf(out, "push_lost: %d\n", pl)
	fmt.Fprintf(out, "push_duplicated: %d\n", pd)
	fmt.Fprintf(out, "push_unexpected: %d\n", pu)
	fmt.Fprintf(out, "push_resets: %d\n", pushSeen.resets)
	fmt.Fprintf(out, "faults: %d\n", len(events)/2)
	fmt.Fprintf(out, "faults_unrecovered: %d\n", unrecovered)
	fmt.Fprintf(out, "worst_recovery_seconds: %.1f\n", worstAll.Seconds())
	fmt.Fprintf(out, "worst_recovery_after_restart_seconds: %.1f\n", worstAfterStart.Seconds())
	if worstName != "" {
		fmt.Fprintf(out, "worst_recovery_after: %s\n", worstName)
	}
	if kl+kd+pl+pd > 0 || unrecovered > 0 {
		return errors.New("lost or duplicated transitions, or a fault the system did not recover from")
	}
	return nil
}
