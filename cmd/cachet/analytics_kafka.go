package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/spf13/cobra"

	"github.com/cachetsync/cachet/analytics/daemon"
	"github.com/cachetsync/cachet/analytics/engine"
	"github.com/cachetsync/cachet/kafka"
	"github.com/cachetsync/cachet/record"
)

func newAnalyticsTopCmd() *cobra.Command {
	var (
		kf   kafkaFlags
		n    int
		by   string
		wait time.Duration
	)
	cmd := &cobra.Command{
		Use:     "top [flags]",
		Short:   "Print the riskiest keys by their latest advice on cachet.advice",
		Example: "  cachet analytics top --brokers 127.0.0.1:9092 -n 10 --by conflict",
		Args:    cobra.NoArgs,
	}
	f := cmd.Flags()
	kf.register(f, kafka.DefaultBrokers)
	f.IntVarP(&n, "n", "n", 20, "how many keys")
	f.StringVar(&by, "by", "stale", "order: stale (expected stale reads) or conflict")
	f.DurationVar(&wait, "wait", 3*time.Second, "stop reading advice after this long without a record written before the read began")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		if n < 1 {
			return usagef("-n %d: want at least 1", n)
		}
		if wait <= 0 {
			return usagef("--wait %s: want a positive duration", wait)
		}
		less := engine.Risk
		switch by {
		case "stale":
		case "conflict":
			less = engine.ByConflict
		default:
			return usagef("--by %q: want stale or conflict", by)
		}
		cfg, err := kf.config("cachet-analytics-top")
		if err != nil {
			return err
		}
		return analyticsTop(cmd.Context(), cfg, n, less, wait, cmd.OutOrStdout())
	}
	return cmd
}

func newAnalyticsRunCmd() *cobra.Command {
	var (
		kf                      kafkaFlags
		lf                      logFlags
		cf                      coverageFlags
		kind, group, listen     string
		partitions, replication int
	)
	dc := daemon.DefaultConfig()
	cmd := &cobra.Command{
		Use:   "run [flags]",
		Short: "Run the analytics daemon: cachet.transitions and cachet.reads in, cachet.advice out",
		Example: `  cachet analytics run --brokers kafka-0:9092 --engine cpu --listen :9465
  cachet analytics run --engine auto --log-format json --log-level debug`,
		Args: cobra.NoArgs,
	}
	f := cmd.Flags()
	kf.register(f, kafka.DefaultBrokers)
	f.StringVar(&kind, "engine", string(dc.Engine), "scorer: cpu, cuda or auto (cuda and auto fall back to cpu, with a log line)")
	f.StringVar(&group, "group", "cachet-analytics", "consumer group")
	f.IntVar(&partitions, "partitions", kafka.DefaultTransitionPartitions, "partitions of Cachet's topics when they must be created")
	f.IntVar(&replication, "replication", kafka.DefaultReplication, "replication factor of Cachet's topics when they must be created")
	f.DurationVar(&dc.Interval, "interval", dc.Interval, "how often advice is recomputed and changes published")
	f.StringVar(&listen, "listen", "", "address serving Prometheus /metrics, the health check /healthz and proof of propagation /v1/coverage/{txid} (empty: off)")
	f.IntVar(&dc.Model.MaxKeys, "max-keys", dc.Model.MaxKeys, "most keys tracked (written and read-only); when full, read-only keys are evicted, then new keys refused")
	f.Float64Var(&dc.Params.PStaleTarget, "p-stale-target", dc.Params.PStaleTarget, "highest acceptable P(a copy goes stale before it expires)")
	f.Float64Var(&dc.Params.BlockWindow, "block-window", dc.Params.BlockWindow, "seconds within which two orgs' writes to one key collide")
	cf.register(f)
	lf.register(f, slog.LevelInfo)
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		k, err := engine.ParseKind(kind)
		if err != nil {
			return asUsage(fmt.Errorf("--engine: %w", err))
		}
		if dc.Coverage, err = cf.options(); err != nil {
			return err
		}
		if err := dc.Params.Validate(); err != nil {
			return asUsage(err)
		}
		if dc.Model.MaxKeys <= 0 {
			return usagef("--max-keys %d: want a positive number", dc.Model.MaxKeys)
		}
		if dc.Interval <= 0 {
			return usagef("--interval %s: want a positive duration", dc.Interval)
		}
		if partitions < 1 || replication < 1 {
			return usagef("--partitions %d, --replication %d: want at least 1 each", partitions, replication)
		}
		dc.Engine = k
		if dc.Log, err = lf.logger(cmd.ErrOrStderr()); err != nil {
			return err
		}
		ctx := cmd.Context()
		cfg, err := kf.config("cachet-analytics")
		if err != nil {
			return err
		}
		if err := pingKafka(ctx, cfg); err != nil {
			return err
		}
		if err := kafka.EnsureTopics(ctx, cfg, kafka.CachetTopics(partitions, replication)); err != nil {
			return err
		}
		return runAnalyticsDaemon(ctx, cfg, group, dc, listen, "analytics: ", cmd.OutOrStdout())
	}
	return cmd
}

// runAnalyticsDaemon consumes cachet.transitions and cachet.reads from cfg's
// brokers and publishes cachet.advice until ctx is done.
// With a listen address it serves /metrics, /healthz and
// /v1/coverage/{txid} there.
func runAnalyticsDaemon(ctx context.Context, cfg kafka.Config, group string, dc daemon.Config, listen, prefix string, w io.Writer) error {
	d, err := daemon.New(dc)
	if err != nil {
		return err
	}
	defer d.Close()
	if listen != "" {
		routes := map[string]http.Handler{"/v1/coverage/": d.CoverageHandler()}
		addr, stop, err := serveOps(listen, d.HealthHandler(), routes, d.Collectors()...)
		if err != nil {
			return err
		}
		defer stop()
		fmt.Fprintf(w, "%smetrics on http://%s/metrics, coverage on http://%s/v1/coverage/{txid}\n", prefix, addr, addr)
	}
	fmt.Fprintf(w, "%sengine %s (requested %s), brokers %s\n", prefix, d.EngineName(), dc.Engine, cfg.Brokers)
	return d.RunKafka(ctx, cfg, group)
}

// analyticsTop reads cachet.advice from the start and prints the riskiest
// keys by their latest advice.
func analyticsTop(ctx context.Context, cfg kafka.Config, n int, less func(a, b record.Advice) bool, wait time.Duration, w io.Writer) error {
	latest, bad, err := daemon.ReadAdvice(ctx, cfg, wait)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "%-48s %-16s %8s %10s %9s %9s %8s %6s\n", "key", "action", "pStale", "staleRds", "conflict", "maxAge", "writes/s", "engine")
	for _, a := range engine.Top(latest, n, less) {
		fmt.Fprintf(w, "%-48s %-16s %8.4f %10.3f %9.5f %8ds %8.4f %6s\n", a.Key, a.Action, a.PStale, a.ExpectedStaleReads, a.ConflictRisk, a.RecommendedMaxAge, a.WriteRate, a.Engine)
	}
	if bad > 0 {
		fmt.Fprintf(w, "(%d unreadable advice records skipped)\n", bad)
	}
	return nil
}
