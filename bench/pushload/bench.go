package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"time"

	"github.com/cachetsync/cachet/kafka"
	"github.com/cachetsync/cachet/kafka/embedded"
	"github.com/cachetsync/cachet/record"
)

// benchConfig is one bench run; both targets get the same load.
type benchConfig struct {
	Conns       int           // connections per target, split over Workers processes
	Workers     int           // load generator processes
	Channels    int           // connection i subscribes to channel i mod Channels
	Rate        int           // invalidations produced per second, round-robin over the channels
	Duration    time.Duration // how long the load runs
	Drain       time.Duration // how long to wait for the last deliveries
	Partitions  int           // of both topics
	Targets     []string      // "push", "centrifugo"
	PushBin     string        // cachet binary
	PushArgs    []string      // more `cachet push` flags
	Centrifugo  string        // centrifugo binary
	DialWorkers int           // handshakes in flight per worker
	PushBatch   bool          // push clients ask for batched frames, as Centrifugo merges without asking
	Secret      string
	// worker returns the command that starts one worker process with
	// args (default: this executable with "worker").
	worker func(args []string) *exec.Cmd
}

// result is one target's figures.
type result struct {
	Target        string
	Conns         int
	Deliveries    int64 // received in the load phase
	Frames        int64 // WebSocket data frames they came in
	Expected      int64
	Rate          float64 // deliveries per second
	P50, P99      time.Duration
	BytesPerConn  float64
	RSSIdle       int64 // resident bytes with every connection open and idle
	ClosedByPeer  int64
	LoadSeconds   float64
	ProduceErrors int64
}

func runBench(ctx context.Context, args []string, out io.Writer, worker func([]string) *exec.Cmd) error {
	fs := flag.NewFlagSet("pushload", flag.ContinueOnError)
	var c benchConfig
	fs.IntVar(&c.Conns, "conns", 10000, "connections per server")
	fs.IntVar(&c.Workers, "workers", 4, "load generator processes (each holds conns/workers connections from its own 127.0.0.x)")
	fs.IntVar(&c.Channels, "channels", 10, "channels; connection i subscribes to channel i mod channels")
	fs.IntVar(&c.Rate, "rate", 30, "invalidations per second, round-robin over the channels")
	fs.DurationVar(&c.Duration, "duration", 15*time.Second, "load phase per server")
	fs.DurationVar(&c.Drain, "drain", 20*time.Second, "longest wait for the last deliveries after the load phase")
	fs.IntVar(&c.Partitions, "partitions", kafka.DefaultTransitionPartitions, "partitions of the transitions and Centrifugo topics")
	targets := fs.String("targets", "push,centrifugo", "servers to measure, in order")
	fs.StringVar(&c.PushBin, "push-bin", ".bin/cachet", "cachet binary")
	pushArgs := fs.String("push-args", "", "more `cachet push` flags, space-separated")
	fs.StringVar(&c.Centrifugo, "centrifugo-bin", ".bin/centrifugo", "centrifugo binary")
	fs.IntVar(&c.DialWorkers, "dial-concurrency", 32, "handshakes in flight per worker")
	fs.BoolVar(&c.PushBatch, "push-batch", true, "push clients ask for batched frames (hello batch:true); Centrifugo merges a lagging client's messages by itself")
	fs.StringVar(&c.Secret, "secret", "pushload-secret-0123456789abcdef", "HS256 secret both servers verify tokens with")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return errHelp
		}
		return err
	}
	c.Targets = strings.Split(*targets, ",")
	c.PushArgs = strings.Fields(*pushArgs)
	c.worker = worker
	if c.Conns < c.Workers || c.Workers < 1 || c.Workers > 250 || c.Channels < 1 || c.Rate < 1 {
		return errors.New("need 1 <= workers <= min(conns, 250), channels >= 1, rate >= 1")
	}
	res, err := bench(ctx, c, out)
	if err != nil {
		return err
	}
	report(out, c, res)
	return nil
}

// bench runs every target on one embedded broker, one after the other.
func bench(ctx context.Context, c benchConfig, log io.Writer) ([]result, error) {
	dir, err := os.MkdirTemp("", "pushload-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	topics := append(kafka.CachetTopics(c.Partitions, 1),
		kafka.TopicSpec{Name: centrifugoTopic, Partitions: c.Partitions, ReplicationFactor: 1})
	br, err := embedded.Start(ctx, embedded.WithTopics(topics...))
	if err != nil {
		return nil, err
	}
	defer br.Close()
	pr, err := newProducer(br.Config("pushload"))
	if err != nil {
		return nil, err
	}
	defer pr.close()
	var out []result
	for _, t := range c.Targets {
		fmt.Fprintf(log, "pushload: %s: %d connections from %d processes, %d channels, %d invalidations/s for %s\n",
			t, c.Conns, c.Workers, c.Channels, c.Rate, c.Duration)
		r, err := runTarget(ctx, c, t, br.Addr(), dir, pr)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", t, err)
		}
		out = append(out, r)
	}
	return out, nil
}

func runTarget(ctx context.Context, c benchConfig, target, brokers, dir string, pr *producer) (result, error) {
	r := result{Target: target, Conns: c.Conns}
	bin := c.PushBin
	if target == "centrifugo" {
		bin = c.Centrifugo
	}
	spec := serverSpec{target: target, bin: bin, dir: dir, brokers: brokers, secret: c.Secret, conns: c.Conns}
	if target == "push" {
		spec.extra = c.PushArgs
	}
	srv, err := startServer(ctx, spec)
	if err != nil {
		return r, err
	}
	defer srv.stop()
	if err := sleep(ctx, time.Second); err != nil {
		return r, err
	}
	before, err := srv.rss()
	if err != nil {
		return r, err
	}
	ws, err := startWorkers(ctx, c, target, srv.url)
	defer stopWorkers(ws)
	if err != nil {
		return r, fmt.Errorf("%w (server log: %s)", err, tail(srv.log))
	}
	if err := sleep(ctx, 2*time.Second); err != nil {
		return r, err
	}
	if r.RSSIdle, err = srv.rss(); err != nil {
		return r, err
	}
	r.BytesPerConn = float64(r.RSSIdle-before) / float64(c.Conns)

	if err := warmUp(ctx, c, target, pr, ws); err != nil {
		return r, fmt.Errorf("%w (server log: %s)", err, tail(srv.log))
	}
	subs := make([]int64, c.Channels) // connections per channel
	for i := 0; i < c.Conns; i++ {
		subs[i%c.Channels]++
	}
	total := int(c.Duration.Seconds() * float64(c.Rate))
	start := time.Now()
	for i := 0; i < total; i++ {
		if err := sleep(ctx, time.Until(start.Add(time.Duration(i)*time.Second/time.Duration(c.Rate)))); err != nil {
			return r, err
		}
		ch := i % c.Channels
		if err := pr.send(target, ch, i); err != nil {
			return r, err
		}
		r.Expected += subs[ch]
	}
	r.LoadSeconds = time.Since(start).Seconds()
	sum, err := drain(ctx, ws, r.Expected, c.Drain)
	if err != nil {
		return r, err
	}
	r.Deliveries, r.Frames, r.ClosedByPeer = sum.received, sum.frames, sum.closed
	var h merged
	for _, rep := range sum.reports {
		h.add(rep.Hist)
	}
	r.P50, r.P99 = h.quantile(0.50), h.quantile(0.99)
	if sum.last > 0 {
		r.Rate = float64(r.Deliveries) / time.Unix(0, sum.last).Sub(start).Seconds()
	}
	r.ProduceErrors = pr.failed.Load()
	return r, nil
}

// warmUp produces one invalidation per channel every 250 ms until the
// workers see deliveries (Centrifugo's consumer group may still be
// joining), lets the stragglers arrive and resets the workers' counts.
func warmUp(ctx context.Context, c benchConfig, target string, pr *producer, ws []*workerProc) error {
	deadline := time.Now().Add(60 * time.Second)
	for i := 0; ; i++ {
		for ch := 0; ch < c.Channels; ch++ {
			if err := pr.send(target, ch, 1_000_000+i); err != nil {
				return err
			}
		}
		if err := sleep(ctx, 250*time.Millisecond); err != nil {
			return err
		}
		s, err := ask(ws, "report")
		if err != nil {
			return err
		}
		if s.received > 0 {
			break
		}
		if time.Now().After(deadline) {
			return errors.New("no delivery within a minute of producing")
		}
	}
	if err := sleep(ctx, 2*time.Second); err != nil {
		return err
	}
	_, err := ask(ws, "reset")
	return err
}

// drain asks the workers for reports until every expected delivery
// arrived, or none arrived for 3 s, or the drain time is over.
func drain(ctx context.Context, ws []*workerProc, want int64, limit time.Duration) (summary, error) {
	end := time.Now().Add(limit)
	var lastN int64 = -1
	lastChange := time.Now()
	for {
		s, err := ask(ws, "report")
		if err != nil {
			return s, err
		}
		if s.received != lastN {
			lastN, lastChange = s.received, time.Now()
		}
		if s.received >= want || time.Since(lastChange) > 3*time.Second || time.Now().After(end) {
			return s, nil
		}
		if err := sleep(ctx, 250*time.Millisecond); err != nil {
			return s, err
		}
	}
}

func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// producer writes invalidations in each target's format.
type producer struct {
	p      *kafka.Producer
	failed atomic.Int64
	done   chan kafka.Delivery
	seq    uint64
}

func newProducer(cfg kafka.Config) (*producer, error) {
	p, err := kafka.NewProducer(cfg)
	if err != nil {
		return nil, err
	}
	pr := &producer{p: p, done: make(chan kafka.Delivery, 4096)}
	go func() {
		for d := range pr.done {
			if d.Err != nil {
				pr.failed.Add(1)
			}
		}
	}()
	return pr, nil
}

// send produces one invalidation of a key on channel ch, stamped now: a
// record.Transition on cachet.transitions for push, a Centrifugo publish
// command carrying the same transition JSON for centrifugo.
func (pr *producer) send(target string, ch, i int) error {
	return pr.sendKey(target, ch, keyFor(ch, i))
}

// sendKey produces one invalidation of key, whose channel is ch.
func (pr *producer) sendKey(target string, ch int, key string) error {
	pr.seq++
	tr := record.Transition{Channel: "cachet", Position: record.Position{Block: pr.seq}, TxID: fmt.Sprintf("pushload-%d", pr.seq),
		Timestamp: time.Now().UTC(), Key: key, Version: pr.seq, State: record.StateInvalidated,
		Owner: "Org1MSP", Actor: "Org1MSP", Reason: "pushload"}
	v, err := tr.Marshal()
	if err != nil {
		return err
	}
	topic := record.TopicTransitions
	if target == "centrifugo" {
		topic = centrifugoTopic
		v, err = json.Marshal(map[string]any{"method": "publish",
			"payload": map[string]any{"channel": channelName(ch), "data": json.RawMessage(v)}})
		if err != nil {
			return err
		}
	}
	return pr.p.Produce(&kafka.Message{Topic: topic, Partition: kafka.PartitionAny, Key: []byte(tr.Key), Value: v}, pr.done)
}

func (pr *producer) close() {
	pr.p.Flush(5 * time.Second)
	pr.p.Close()
	close(pr.done)
}

// workerProc is one load generator process.
type workerProc struct {
	cmd *exec.Cmd
	in  io.WriteCloser
	out *json.Decoder
}

func startWorkers(ctx context.Context, c benchConfig, target, url string) ([]*workerProc, error) {
	var argv [][]string
	first := 0
	for i := 0; i < c.Workers; i++ {
		n := c.Conns / c.Workers
		if i < c.Conns%c.Workers {
			n++
		}
		args := []string{"--target", target, "--url", url, "--conns", fmt.Sprint(n), "--first", fmt.Sprint(first),
			"--channels", fmt.Sprint(c.Channels), "--source", fmt.Sprintf("127.0.0.%d", 2+i),
			"--secret", c.Secret, "--dial-concurrency", fmt.Sprint(c.DialWorkers), fmt.Sprintf("--batch=%t", c.PushBatch)}
		first += n
		argv = append(argv, args)
	}
	return launchWorkers(ctx, argv, c.worker)
}

// launchWorkers starts one worker process per argument list (with worker,
// or this executable's "worker" command when nil) and waits until each
// reports its connections open.
func launchWorkers(ctx context.Context, argv [][]string, worker func([]string) *exec.Cmd) ([]*workerProc, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	var ws []*workerProc
	for _, args := range argv {
		var cmd *exec.Cmd
		if worker != nil {
			cmd = worker(args)
		} else {
			cmd = exec.Command(self, append([]string{"worker"}, args...)...)
		}
		cmd.Stderr = os.Stderr
		in, err := cmd.StdinPipe()
		if err != nil {
			return ws, err
		}
		out, err := cmd.StdoutPipe()
		if err != nil {
			return ws, err
		}
		if err := cmd.Start(); err != nil {
			return ws, fmt.Errorf("start worker: %w", err)
		}
		ws = append(ws, &workerProc{cmd: cmd, in: in, out: json.NewDecoder(out)})
	}
	// Each worker reports once its connections are open.
	for i, w := range ws {
		var rep workerReport
		if err := w.out.Decode(&rep); err != nil {
			return ws, fmt.Errorf("worker %d: %w", i, err)
		}
		if rep.Failed > 0 {
			return ws, fmt.Errorf("worker %d: %d of %d connections failed: %s", i, rep.Failed, rep.Failed+rep.Ready, rep.Err)
		}
	}
	return ws, ctx.Err()
}

// summary adds up the workers' answers to one command.
type summary struct {
	received, frames, closed, last int64
	reports                        []workerReport
}

func ask(ws []*workerProc, cmd string) (summary, error) {
	var s summary
	for i, w := range ws {
		if _, err := io.WriteString(w.in, cmd+"\n"); err != nil {
			return s, fmt.Errorf("worker %d: %w", i, err)
		}
	}
	for i, w := range ws {
		var rep workerReport
		if err := w.out.Decode(&rep); err != nil {
			return s, fmt.Errorf("worker %d: %w", i, err)
		}
		s.received += rep.Received
		s.frames += rep.Frames
		s.closed += rep.Closed
		s.last = max(s.last, rep.Last)
		s.reports = append(s.reports, rep)
	}
	return s, nil
}

func stopWorkers(ws []*workerProc) {
	for _, w := range ws {
		io.WriteString(w.in, "quit\n")
		w.in.Close()
	}
	for _, w := range ws {
		done := make(chan struct{})
		go func() { w.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			w.cmd.Process.Kill()
			<-done
		}
	}
}

// report prints the table, then one `name: value` line per figure.
func report(out io.Writer, c benchConfig, res []result) {
	fmt.Fprintf(out, "\n%d connections, %d channels, %d invalidations/s for %s (%d deliveries/s offered), %d load processes, push batched frames %s\n",
		c.Conns, c.Channels, c.Rate, c.Duration, c.Rate*c.Conns/c.Channels, c.Workers, map[bool]string{true: "on", false: "off"}[c.PushBatch])
	fmt.Fprintf(out, "%-11s %14s %10s %10s %16s %12s %9s\n", "server", "deliveries/s", "p50", "p99", "bytes/idle conn", "delivered", "dropped")
	by := map[string]result{}
	for _, r := range res {
		by[r.Target] = r
		fmt.Fprintf(out, "%-11s %14.0f %10s %10s %16.0f %5d/%-6d %9d\n", r.Target, r.Rate, ms(r.P50), ms(r.P99),
			r.BytesPerConn, r.Deliveries, r.Expected, r.ClosedByPeer)
	}
	fmt.Fprintln(out)
	p, okp := by["push"]
	cf, okc := by["centrifugo"]
	if okp && okc && cf.Rate > 0 && cf.P99 > 0 {
		fmt.Fprintf(out, "push_vs_centrifugo_deliveries_ratio: %.2f\n", p.Rate/cf.Rate)
		fmt.Fprintf(out, "push_vs_centrifugo_p99_ratio: %.3f\n", float64(p.P99)/float64(cf.P99))
	}
	for _, r := range res {
		fmt.Fprintf(out, "%s_deliveries_per_second: %.0f\n", r.Target, r.Rate)
		fmt.Fprintf(out, "%s_p50_ms: %.1f\n", r.Target, r.P50.Seconds()*1000)
		fmt.Fprintf(out, "%s_p99_ms: %.1f\n", r.Target, r.P99.Seconds()*1000)
		fmt.Fprintf(out, "%s_bytes_per_idle_conn: %.0f\n", r.Target, r.BytesPerConn)
		if r.Frames > 0 {
			fmt.Fprintf(out, "%s_deliveries_per_frame: %.2f\n", r.Target, float64(r.Deliveries)/float64(r.Frames))
		}
	}
	fmt.Fprintf(out, "connections: %d\n", c.Conns)
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", d.Seconds()*1000) }
