package main

import (
	"context"

	"github.com/spf13/pflag"

	"github.com/cachetsync/cachet/gateway"
)

// relayDevService runs the relay in process against the embedded broker
// when --relay-profile names a ledger.
func relayDevService() devService {
	return devService{name: "relay", setup: func(fs *pflag.FlagSet) func(ctx context.Context, env devEnv) error {
		profile := fs.String("relay-profile", "", "gateway profile (JSON, as network.sh profile org1 auditor prints) of the ledger to relay (empty: relay off)")
		var rf relayFlags
		rf.register(fs, "relay-")
		return func(ctx context.Context, env devEnv) error {
			if *profile == "" {
				return errDevOff
			}
			if err := rf.check("relay-"); err != nil {
				return err
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
			return runRelay(ctx, cl, cl.Height, cl.Channel(), kcfg, rf, env.Log.With("service", "relay"), env.Out)
		}
	}}
}
