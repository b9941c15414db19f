package main

import (
	"context"
	"fmt"

	"github.com/spf13/pflag"

	"github.com/cachetsync/cachet/analytics/daemon"
	"github.com/cachetsync/cachet/analytics/engine"
)

func analyticsDevService() devService { return devService{name: "analytics", setup: setupAnalyticsDev} }

// setupAnalyticsDev defines the analytics daemon's dev flags: it consumes
// the embedded broker's cachet.transitions and cachet.reads and publishes
// cachet.advice, which `cachet analytics top --brokers <dev broker>` reads.
// With --analytics-listen it serves /v1/coverage/{txid} for `cachet
// coverage` (coverage window at coverage's defaults).
func setupAnalyticsDev(fs *pflag.FlagSet) func(ctx context.Context, env devEnv) error {
	on := fs.Bool("analytics", true, "run the analytics daemon (advice on cachet.advice)")
	def := daemon.DefaultConfig()
	kind := fs.String("analytics-engine", string(engine.KindCPU), "analytics scorer: cpu, cuda or auto (cuda and auto fall back to cpu, with a log line)")
	interval := fs.Duration("analytics-interval", def.Interval, "how often advice is recomputed and changes published")
	listen := fs.String("analytics-listen", "", `address serving the daemon's /metrics, /healthz and /v1/coverage/{txid} (for cachet coverage); "" = off`)
	return func(ctx context.Context, env devEnv) error {
		if !*on {
			return errDevOff
		}
		k, err := engine.ParseKind(*kind)
		if err != nil {
			return usageError{"--analytics-engine: " + err.Error()}
		}
		log := env.Log.With("service", "analytics")
		cfg := env.Kafka
		cfg.ClientID = "cachet-dev-analytics"
		dc := def
		dc.Engine, dc.Interval, dc.Log = k, *interval, log
		if *interval <= 0 {
			return usageError{fmt.Sprintf("--analytics-interval %s: want a positive duration", *interval)}
		}
		return runAnalyticsDaemon(ctx, cfg, "cachet-dev-analytics", dc, *listen, "analytics: started, ", env.Out)
	}
}
