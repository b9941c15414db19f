package main

import (
	"context"
	"flag"
	"log/slog"
	"os"

	"github.com/cachetsync/cachet/gateway"
)

// `cachet dev --relay-profile P` runs the relay in process against the
// embedded broker.
func init() {
	devServices = append(devServices, devService{name: "relay", setup: func(fs *flag.FlagSet) func(ctx context.Context, env devEnv) error {
		profile := fs.String("relay-profile", "", "gateway profile (JSON, as `network.sh profile org1 auditor` prints) of the ledger to relay (empty: relay off)")
		var rf relayFlags
		rf.register(fs, "relay-")
		return func(ctx context.Context, env devEnv) error {
			if *profile == "" {
				return errDevOff
			}
			cfg, err := gateway.LoadProfile(*profile)
			if err != nil {
				return err
			}
			cl, err := gateway.Connect(cfg)
			if err != nil {
				return err
			}
			defer cl.Close()
			kcfg := env.Kafka
			kcfg.ClientID = "cachet-relay"
			return runRelay(ctx, cl, cl.Height, cl.Channel(), kcfg, rf, slog.New(slog.NewTextHandler(os.Stderr, nil)), env.Out)
		}
	}})
}
