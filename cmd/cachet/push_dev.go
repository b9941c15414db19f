package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/pflag"

	"github.com/cachetsync/cachet/push"
)

// devPushSecret is the push service's default token secret in `cachet dev`;
// the demo origin signs its tokens with the same value.
const devPushSecret = "cachet-dev-secret"

func pushDevService() devService { return devService{name: "push", setup: setupPushDev} }

// setupPushDev defines the push service's flags for `cachet dev`: a push
// server in process on the embedded broker.
func setupPushDev(fs *pflag.FlagSet) func(ctx context.Context, env devEnv) error {
	listen := fs.String("push-listen", push.DefaultAddr, `push server address (/ws, /sse, /receipts, /spans); "" = off`)
	secret := fs.String("push-secret", devPushSecret, "HS256 secret of push tokens (for development only)")
	origins := fs.String("push-allowed-origins", "", "comma-separated page origins allowed to use push (empty: any)")
	return func(ctx context.Context, env devEnv) error {
		if *listen == "" {
			return errDevOff
		}
		if *secret == "" {
			return usageError{"--push-secret must not be empty"}
		}
		v, err := push.NewVerifier([]byte(*secret), nil, "", "")
		if err != nil {
			return err
		}
		cfg := push.DefaultConfig()
		cfg.Kafka, cfg.Verifier, cfg.Log = env.Kafka, v, env.Log.With("service", "push")
		if *origins != "" {
			cfg.AllowedOrigins = strings.Split(*origins, ",")
		}
		ln, err := devListen(fs, "push", *listen, env.Out)
		if err != nil {
			return err
		}
		fmt.Fprintf(env.Out, "push: tokens are signed with the secret %q: WARNING, for development only (anyone who knows it can subscribe)\n", *secret)
		return servePushOn(ctx, cfg, ln, env.Out)
	}
}
