package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/cachetsync/cachet/analytics/daemon"
	"github.com/cachetsync/cachet/analytics/engine"
	"github.com/cachetsync/cachet/analytics/score"
)

func init() {
	devServices = append(devServices, devService{name: "analytics", setup: setupAnalyticsDev})
}

// setupAnalyticsDev defines the analytics daemon's dev flags: it consumes
// the embedded broker's cachet.transitions and cachet.reads and publishes
// cachet.advice, which `cachet analytics top --brokers <dev broker>` reads.
func setupAnalyticsDev(fs *flag.FlagSet) func(ctx context.Context, env devEnv) error {
	on := fs.Bool("analytics", true, "run the analytics daemon (advice on cachet.advice)")
	kind := fs.String("analytics-engine", "cpu", "analytics scorer: cpu, cuda or auto (cuda and auto fall back to cpu, with a log line)")
	interval := fs.Duration("analytics-interval", time.Second, "how often advice is recomputed and changes published")
	return func(ctx context.Context, env devEnv) error {
		if !*on {
			return errDevOff
		}
		k, err := engine.ParseKind(*kind)
		if err != nil {
			return usageError{"--analytics-engine: " + err.Error()}
		}
		log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})).With("service", "analytics")
		cfg := env.Kafka
		cfg.ClientID = "cachet-dev-analytics"
		dc := daemon.Config{Engine: k, Params: score.DefaultParams(), Interval: *interval, Log: log}
		if *interval <= 0 {
			return usageError{fmt.Sprintf("--analytics-interval %s: want a positive duration", *interval)}
		}
		return runAnalyticsDaemon(ctx, cfg, "cachet-dev-analytics", dc, "", "analytics: started, ", env.Out)
	}
}
