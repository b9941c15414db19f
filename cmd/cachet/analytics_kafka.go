package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/cachetsync/cachet/analytics/daemon"
	"github.com/cachetsync/cachet/analytics/engine"
	"github.com/cachetsync/cachet/analytics/model"
	"github.com/cachetsync/cachet/analytics/score"
	"github.com/cachetsync/cachet/kafka"
	"github.com/cachetsync/cachet/record"
)

// runAnalyticsKafka runs `cachet analytics run` (the daemon) or `top`.
func runAnalyticsKafka(ctx context.Context, sub string, args []string, w io.Writer) error {
	fs := flag.NewFlagSet("cachet analytics "+sub, flag.ContinueOnError)
	var kf kafkaFlags
	kf.register(fs, "127.0.0.1:9092")
	if sub == "top" {
		n := fs.Int("n", 20, "how many keys")
		by := fs.String("by", "stale", "order: stale (expected stale reads) or conflict")
		wait := fs.Duration("wait", 3*time.Second, "stop reading advice after this long without a new record")
		if ok, err := parseFlags(fs, args); !ok {
			return err
		}
		less := engine.Risk
		switch *by {
		case "stale":
		case "conflict":
			less = engine.ByConflict
		default:
			return usageError{"--by: want stale or conflict"}
		}
		cfg, err := kf.config("cachet-analytics-top")
		if err != nil {
			return err
		}
		return analyticsTop(ctx, cfg, *n, less, *wait, w)
	}
	kind := fs.String("engine", "auto", "scorer: cpu, cuda or auto (cuda and auto fall back to cpu, with a log line)")
	group := fs.String("group", "cachet-analytics", "consumer group")
	partitions := fs.Int("partitions", kafka.DefaultTransitionPartitions, "partitions of Cachet's topics when they must be created")
	replication := fs.Int("replication", 1, "replication factor of Cachet's topics when they must be created")
	interval := fs.Duration("interval", time.Second, "how often advice is recomputed and changes published")
	listen := fs.String("listen", "", "address serving Prometheus /metrics and the health check /healthz (empty: off)")
	mc := model.DefaultConfig()
	fs.IntVar(&mc.MaxKeys, "max-keys", mc.MaxKeys, "most keys tracked (written and read-only); when full, read-only keys are evicted, then new keys refused")
	p := score.DefaultParams()
	fs.Float64Var(&p.PStaleTarget, "p-stale-target", p.PStaleTarget, "highest acceptable P(a copy goes stale before it expires)")
	fs.Float64Var(&p.BlockWindow, "block-window", p.BlockWindow, "seconds within which two orgs' writes to one key collide")
	if ok, err := parseFlags(fs, args); !ok {
		return err
	}
	k, err := engine.ParseKind(*kind)
	if err != nil {
		return usageError{err.Error()}
	}
	if err := p.Validate(); err != nil {
		return usageError{err.Error()}
	}
	if mc.MaxKeys <= 0 {
		return usageError{fmt.Sprintf("--max-keys %d: want a positive number", mc.MaxKeys)}
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	cfg, err := kf.config("cachet-analytics")
	if err != nil {
		return err
	}
	if err := pingKafka(ctx, cfg); err != nil {
		return err
	}
	if err := kafka.EnsureTopics(ctx, cfg, kafka.CachetTopics(*partitions, *replication)); err != nil {
		return err
	}
	dc := daemon.Config{Engine: k, Params: p, Model: model.Config{MaxKeys: mc.MaxKeys}, Interval: *interval, Log: log}
	return runAnalyticsDaemon(ctx, cfg, *group, dc, *listen, "analytics: ", w)
}

// runAnalyticsDaemon consumes cachet.transitions and cachet.reads from cfg's
// brokers and publishes cachet.advice until ctx is done.
// With a listen address it serves /metrics and /healthz there.
func runAnalyticsDaemon(ctx context.Context, cfg kafka.Config, group string, dc daemon.Config, listen, prefix string, w io.Writer) error {
	d, err := daemon.New(dc)
	if err != nil {
		return err
	}
	defer d.Close()
	if listen != "" {
		addr, stop, err := serveOps(listen, d.HealthHandler(), d.Collectors()...)
		if err != nil {
			return err
		}
		defer stop()
		fmt.Fprintf(w, "%smetrics on http://%s/metrics\n", prefix, addr)
	}
	fmt.Fprintf(w, "%sengine %s (requested %s), brokers %s\n", prefix, d.EngineName(), dc.Engine, cfg.Brokers)
	return d.RunKafka(ctx, cfg, group)
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
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
