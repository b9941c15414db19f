package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/cachetsync/cachet/kafka"
	"github.com/cachetsync/cachet/kafka/embedded"
)

// scaleConfig is one run of the scale bench: several push instances fed
// by one broker, tens of thousands of connections from several worker
// processes, one-channel then many-channel fan-out.
type scaleConfig struct {
	Conns       int           // connections in all
	Instances   int           // cachet push processes
	Workers     int           // load generator processes, worker i on instance i mod Instances from 127.0.0.(2+i)
	Channels    int           // many-channel phase: connection i subscribes to channel i mod Channels
	OneRate     float64       // invalidations per second on the shared channel
	ManyRate    float64       // invalidations per second round-robin over the channels
	Duration    time.Duration // each phase's load
	Drain       time.Duration // longest wait for the last deliveries
	Partitions  int
	NoFile      uint64 // open-files limit of every process
	PushBin     string
	DialWorkers int
	Secret      string
}

// phase is one fan-out phase's figures.
type phase struct {
	Name               string
	Offered            float64 // deliveries per second
	Expected, Received int64
	Rate               float64
	P50, P99           time.Duration
	Check              checkReport
	Closed             int64
	CPU                float64 // seconds the push instances spent on the phase, load and drain
}

func runScale(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("pushload scale", flag.ContinueOnError)
	var c scaleConfig
	fs.IntVar(&c.Conns, "conns", 50000, "connections in all")
	fs.IntVar(&c.Instances, "instances", 3, "cachet push processes")
	fs.IntVar(&c.Workers, "workers", 6, "load generator processes, each from its own 127.0.0.x, worker i on instance i mod instances")
	fs.IntVar(&c.Channels, "channels", 1000, "channels of the many-channel phase")
	fs.Float64Var(&c.OneRate, "one-rate", 0.25, "invalidations per second on the channel every connection shares")
	fs.Float64Var(&c.ManyRate, "many-rate", 250, "invalidations per second round-robin over --channels")
	fs.DurationVar(&c.Duration, "duration", 20*time.Second, "load phase of each fan-out")
	fs.DurationVar(&c.Drain, "drain", 30*time.Second, "longest wait for the last deliveries after a phase")
	fs.IntVar(&c.Partitions, "partitions", kafka.DefaultTransitionPartitions, "partitions of the transitions topic")
	fs.Uint64Var(&c.NoFile, "nofile", 20000, "open-files limit of every process (push instances, workers)")
	fs.StringVar(&c.PushBin, "push-bin", ".bin/cachet", "cachet binary")
	fs.IntVar(&c.DialWorkers, "dial-concurrency", 16, "handshakes in flight per worker")
	fs.StringVar(&c.Secret, "secret", "pushload-secret-0123456789abcdef", "HS256 secret of the tokens")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return errHelp
		}
		return err
	}
	if c.Instances < 1 || c.Workers < c.Instances || c.Workers > 250 || c.Conns < c.Workers || c.Channels < 1 || c.OneRate <= 0 || c.ManyRate <= 0 {
		return errors.New("need 1 <= instances <= workers <= min(conns, 250), channels >= 1, rates > 0")
	}
	if err := setNoFile(c.NoFile); err != nil {
		return err
	}
	return scale(ctx, c, out)
}

// setNoFile sets this process's open-files limit, which the push
// instances and workers it starts inherit.
func setNoFile(n uint64) error {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return err
	}
	if n > lim.Max {
		return fmt.Errorf("--nofile %d is over the hard limit %d", n, lim.Max)
	}
	lim.Cur, lim.Max = n, n
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return fmt.Errorf("set open-files limit: %w", err)
	}
	return nil
}

func scale(ctx context.Context, c scaleConfig, out io.Writer) error {
	dir, err := os.MkdirTemp("", "pushload-scale-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	br, err := embedded.Start(ctx, embedded.WithTopics(kafka.CachetTopics(c.Partitions, 1)...))
	if err != nil {
		return err
	}
	defer br.Close()
	pr, err := newProducer(br.Config("pushload"))
	if err != nil {
		return err
	}
	defer pr.close()

	perInstance := (c.Conns + c.Instances - 1) / c.Instances
	var srvs []*serverProc
	defer func() {
		for _, s := range srvs {
			s.stop()
		}
	}()
	for i := 0; i < c.Instances; i++ {
		sdir := fmt.Sprintf("%s/push%d", dir, i)
		if err := os.Mkdir(sdir, 0o700); err != nil {
			return err
		}
		s, err := startServer(ctx, serverSpec{target: "push", bin: c.PushBin, dir: sdir, brokers: br.Addr(), secret: c.Secret, conns: perInstance})
		if err != nil {
			return err
		}
		srvs = append(srvs, s)
	}
	if err := sleep(ctx, 2*time.Second); err != nil {
		return err
	}
	before, err := totalRSS(srvs)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "pushload scale: %d connections on %d push instances from %d processes (open files limit %d each)\n",
		c.Conns, c.Instances, c.Workers, c.NoFile)
	var argv [][]string
	first := 0
	for i := 0; i < c.Workers; i++ {
		n := c.Conns / c.Workers
		if i < c.Conns%c.Workers {
			n++
		}
		argv = append(argv, []string{"--target", "push", "--url", srvs[i%c.Instances].url, "--conns", strconv.Itoa(n),
			"--first", strconv.Itoa(first), "--channels", strconv.Itoa(c.Channels), "--source", fmt.Sprintf("127.0.0.%d", 2+i),
			"--secret", c.Secret, "--dial-concurrency", strconv.Itoa(c.DialWorkers), "--also", sharedChannel})
		first += n
	}
	opened := time.Now()
	ws, err := launchWorkers(ctx, argv, nil)
	defer stopWorkers(ws)
	if err != nil {
		return err
	}
	openSeconds := time.Since(opened).Seconds()
	if err := sleep(ctx, 3*time.Second); err != nil {
		return err
	}
	after, err := totalRSS(srvs)
	if err != nil {
		return err
	}
	served, limits := 0, []string{}
	for _, s := range srvs {
		n, err := metricValue(s.url, "cachet_push_connections")
		if err != nil {
			return err
		}
		served += int(n)
		l, err := openFilesLimit(s.cmd.Process.Pid)
		if err != nil {
			return err
		}
		limits = append(limits, l)
	}
	held, err := ask(ws, "report")
	if err != nil {
		return err
	}
	ready := 0
	for _, r := range held.reports {
		ready += r.Ready
	}

	// Warm up the consumers on the shared channel, wait for every warm-up
	// delivery, then count from zero.
	warm := 0
	for i := 0; ; i++ {
		warm++
		if err := pr.sendKey("push", 0, sharedKey(1_000_000+i)); err != nil {
			return err
		}
		if err := sleep(ctx, 500*time.Millisecond); err != nil {
			return err
		}
		s, err := ask(ws, "report")
		if err != nil {
			return err
		}
		if s.received > 0 {
			break
		}
		if i > 120 {
			return errors.New("no delivery within a minute of producing")
		}
	}
	if _, err := drain(ctx, ws, int64(warm)*int64(ready), c.Drain); err != nil {
		return err
	}
	if err := sleep(ctx, time.Second); err != nil {
		return err
	}
	if _, err := ask(ws, "reset"); err != nil {
		return err
	}

	one, err := runPhase(ctx, c, srvs, ws, pr, "one_channel", c.OneRate, float64(c.Conns)*c.OneRate, func(int) (int, string) {
		return -1, sharedKey(0)
	}, out)
	if err != nil {
		return err
	}
	if _, err := ask(ws, "reset"); err != nil {
		return err
	}
	many, err := runPhase(ctx, c, srvs, ws, pr, "many_channel", c.ManyRate, float64(c.Conns)/float64(c.Channels)*c.ManyRate, func(i int) (int, string) {
		ch := i % c.Channels
		return ch, keyFor(ch, i)
	}, out)
	if err != nil {
		return err
	}

	fmt.Fprintf(out, "\n%d connections (%d served) on %d push instances, %d load processes, open files limit per push process: %s; connections opened in %.1f s\n",
		ready, served, c.Instances, c.Workers, strings.Join(limits, ", "), openSeconds)
	fmt.Fprintf(out, "%-13s %10s %13s %10s %10s %11s %11s %5s %5s %6s\n", "fan-out", "offered/s", "deliveries/s", "p50", "p99",
		"delivered", "per cpu-s", "lost", "dup", "closed")
	for _, p := range []phase{one, many} {
		fmt.Fprintf(out, "%-13s %10.0f %13.0f %10s %10s %11d %11.0f %5d %5d %6d\n", p.Name, p.Offered, p.Rate, ms(p.P50), ms(p.P99),
			p.Received, perCPU(p), p.Check.Lost, p.Check.Dup, p.Closed)
	}
	fmt.Fprintln(out)
	fmt.Fprintf(out, "push_connections_total: %d\n", ready)
	fmt.Fprintf(out, "push_connections_served: %d\n", served)
	fmt.Fprintf(out, "push_instances: %d\n", c.Instances)
	fmt.Fprintf(out, "push_rss_bytes_total: %d\n", after)
	fmt.Fprintf(out, "push_bytes_per_idle_conn: %.0f\n", float64(after-before)/float64(ready))
	fmt.Fprintf(out, "push_rss_per_conn: %.0f\n", float64(after)/float64(ready))
	fmt.Fprintf(out, "connect_per_second: %.0f\n", float64(ready)/openSeconds)
	for _, p := range []phase{one, many} {
		fmt.Fprintf(out, "%s_offered_per_second: %.0f\n", p.Name, p.Offered)
		fmt.Fprintf(out, "%s_deliveries_per_second: %.0f\n", p.Name, p.Rate)
		fmt.Fprintf(out, "%s_p50_ms: %.1f\n", p.Name, p.P50.Seconds()*1000)
		fmt.Fprintf(out, "%s_p99_ms: %.1f\n", p.Name, p.P99.Seconds()*1000)
		fmt.Fprintf(out, "%s_push_cpu_seconds: %.1f\n", p.Name, p.CPU)
		fmt.Fprintf(out, "%s_deliveries_per_push_cpu_second: %.0f\n", p.Name, perCPU(p))
		fmt.Fprintf(out, "%s_expected: %d\n", p.Name, p.Expected)
		fmt.Fprintf(out, "%s_lost: %d\n", p.Name, p.Check.Lost)
		fmt.Fprintf(out, "%s_duplicated: %d\n", p.Name, p.Check.Dup)
		fmt.Fprintf(out, "%s_clients_short: %d\n", p.Name, p.Check.Short)
	}
	if one.Check.Lost+many.Check.Lost+one.Check.Dup+many.Check.Dup > 0 {
		return errors.New("some clients did not get exactly what they should have")
	}
	return nil
}

// perCPU is the phase's deliveries per CPU second of the push instances.
func perCPU(p phase) float64 {
	if p.CPU <= 0 {
		return 0
	}
	return float64(p.Received) / p.CPU
}

// runPhase produces rate invalidations per second for c.Duration; pick
// returns the channel index (-1: the shared channel) and key of the i-th.
// Then it waits for the deliveries and checks every client's count.
func runPhase(ctx context.Context, c scaleConfig, srvs []*serverProc, ws []*workerProc, pr *producer, name string, rate, offered float64,
	pick func(i int) (int, string), log io.Writer) (phase, error) {
	p := phase{Name: name, Offered: offered}
	fmt.Fprintf(log, "pushload scale: %s: %g invalidations/s for %s (%.0f deliveries/s offered)\n", name, rate, c.Duration, offered)
	exp := make([]int64, c.Channels) // per connection, by channel index
	subs := make([]int64, c.Channels)
	for i := 0; i < c.Conns; i++ {
		subs[i%c.Channels]++
	}
	total := int(c.Duration.Seconds() * rate)
	cpu0, err := totalCPU(srvs)
	if err != nil {
		return p, err
	}
	start := time.Now()
	for i := 0; i < total; i++ {
		if err := sleep(ctx, time.Until(start.Add(time.Duration(float64(i)*float64(time.Second)/rate)))); err != nil {
			return p, err
		}
		ch, key := pick(i)
		if err := pr.sendKey("push", max(ch, 0), key); err != nil {
			return p, err
		}
		if ch < 0 {
			for j := range exp {
				exp[j]++
			}
			p.Expected += int64(c.Conns)
		} else {
			exp[ch]++
			p.Expected += subs[ch]
		}
	}
	sum, err := drain(ctx, ws, p.Expected, c.Drain)
	if err != nil {
		return p, err
	}
	cpu1, err := totalCPU(srvs)
	if err != nil {
		return p, err
	}
	p.CPU = cpu1 - cpu0
	p.Received, p.Closed = sum.received, sum.closed
	var h merged
	for _, rep := range sum.reports {
		h.add(rep.Hist)
	}
	p.P50, p.P99 = h.quantile(0.50), h.quantile(0.99)
	if sum.last > 0 {
		p.Rate = float64(p.Received) / time.Unix(0, sum.last).Sub(start).Seconds()
	}
	want, err := json.Marshal(exp)
	if err != nil {
		return p, err
	}
	chk, err := ask(ws, "check "+string(want))
	if err != nil {
		return p, err
	}
	p.Check.Min = -1
	for _, r := range chk.reports {
		if r.Check == nil {
			return p, errors.New("a worker did not answer check")
		}
		p.Check.Short += r.Check.Short
		p.Check.Over += r.Check.Over
		p.Check.Lost += r.Check.Lost
		p.Check.Dup += r.Check.Dup
		if p.Check.Min < 0 || r.Check.Min < p.Check.Min {
			p.Check.Min = r.Check.Min
		}
	}
	return p, nil
}

// totalCPU returns the user and system CPU seconds the servers used so far.
func totalCPU(srvs []*serverProc) (float64, error) {
	var n float64
	for _, s := range srvs {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", s.cmd.Process.Pid))
		if err != nil {
			return 0, err
		}
		// Fields after the command's closing parenthesis: state is the
		// first, utime and stime the 12th and 13th (clock ticks, 100/s).
		f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
		if len(f) < 13 {
			return 0, errors.New("short /proc stat")
		}
		for _, v := range f[11:13] {
			t, err := strconv.ParseFloat(v, 64)
			if err != nil {
				return 0, err
			}
			n += t / 100
		}
	}
	return n, nil
}

func totalRSS(srvs []*serverProc) (int64, error) {
	var n int64
	for _, s := range srvs {
		r, err := s.rss()
		if err != nil {
			return 0, err
		}
		n += r
	}
	return n, nil
}

// metricValue reads one unlabelled or summed gauge from the server's
// /metrics (the WebSocket URL's host).
func metricValue(wsURL, name string) (float64, error) {
	url := "http://" + strings.TrimSuffix(strings.TrimPrefix(wsURL, "ws://"), "/ws") + "/metrics"
	resp, err := http.Get(url)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	var sum float64
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, name+" ") && !strings.HasPrefix(line, name+"{") {
			continue
		}
		f := strings.Fields(line)
		v, err := strconv.ParseFloat(f[len(f)-1], 64)
		if err != nil {
			return 0, fmt.Errorf("%s: %w", name, err)
		}
		sum += v
	}
	return sum, sc.Err()
}

// openFilesLimit returns a process's soft open-files limit as
// /proc/PID/limits states it.
func openFilesLimit(pid int) (string, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/limits", pid))
	if err != nil {
		return "", err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "Max open files") {
			if f := strings.Fields(line); len(f) >= 4 {
				return f[3], nil
			}
		}
	}
	return "", errors.New("no open files line in /proc limits")
}
