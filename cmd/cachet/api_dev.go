package main

import (
	"context"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/pflag"

	"github.com/cachetsync/cachet/gateway"
	"github.com/cachetsync/cachet/purgeapi"
)

// apiDevService runs the HTTP purge API in process when --api-profile names
// the ledger identity it submits as.
func apiDevService() devService {
	return devService{name: "api", setup: func(fs *pflag.FlagSet) func(ctx context.Context, env devEnv) error {
		profile := fs.String("api-profile", "", "gateway profile (JSON) the purge API submits as, e.g. network.sh profile org1 publisher (empty: API off)")
		listen := fs.String("api-listen", "127.0.0.1:8088", "address of the purge API")
		tokens := fs.String("api-tokens", defaultTokens, "the purge API's token store (cachet api token create --tokens …)")
		return func(ctx context.Context, env devEnv) error {
			if *profile == "" {
				return errDevOff
			}
			store, err := purgeapi.OpenTokenStore(*tokens)
			if err != nil {
				return err
			}
			cfg, err := gateway.LoadProfile(*profile)
			if err != nil {
				return err
			}
			reg := prometheus.NewRegistry()
			if cfg.Observer, err = purgeapi.NewGatewayMetrics(reg); err != nil {
				return err
			}
			cl, err := gateway.Connect(cfg)
			if err != nil {
				return err
			}
			defer cl.Close()
			return runAPI(ctx, cl, store, reg, *listen, "", purgeapi.DefaultSubmitTimeout, env.Log.With("service", "api"), env.Out)
		}
	}}
}
