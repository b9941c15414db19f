package main

import (
	"context"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/cachetsync/cachet/gateway"
	"github.com/cachetsync/cachet/telemetry"
)

// connFlags are the connection flags every ledger subcommand takes. Each
// falls back to its CACHET_… environment variable, then to the profile.
type connFlags struct {
	config, mspID, mspDir, peers, tlsCA, channel string
	asJSON                                       bool

	// observer, set by a long-running command before run, is told of
	// every submit (gateway.Config.Observer).
	observer gateway.Observer
}

func (c *connFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&c.config, "config", getenv("CACHET_CONFIG"), "connection profile (JSON, as network.sh profile ORG ROLE writes) (env CACHET_CONFIG)")
	fs.StringVar(&c.mspID, "msp-id", getenv("CACHET_MSP_ID"), "the client's MSP ID (env CACHET_MSP_ID)")
	fs.StringVar(&c.mspDir, "msp-dir", getenv("CACHET_MSP_DIR"), "the client's MSP folder with signcerts/ and keystore/ (env CACHET_MSP_DIR)")
	fs.StringVar(&c.peers, "peers", getenv("CACHET_PEERS"), "comma-separated peer endpoints, tried in order (env CACHET_PEERS)")
	fs.StringVar(&c.tlsCA, "tls-ca", getenv("CACHET_TLS_CA"), "PEM file of the peers' TLS CA, with --peers (env CACHET_TLS_CA)")
	fs.StringVar(&c.channel, "channel", getenv("CACHET_CHANNEL"), "channel (env CACHET_CHANNEL; default cachet)")
	fs.BoolVar(&c.asJSON, "json", false, "print results, and errors, as JSON")
}

// gatewayConfig merges flags and environment over the profile.
func (c *connFlags) gatewayConfig() (gateway.Config, error) {
	var cfg gateway.Config
	if c.config != "" {
		var err error
		if cfg, err = gateway.LoadProfile(c.config); err != nil {
			return cfg, err
		}
	}
	if c.mspID != "" {
		cfg.Identity.MSPID = c.mspID
	}
	if c.mspDir != "" {
		cfg.Identity.MSPDir = c.mspDir
	}
	if c.channel != "" {
		cfg.Channel = c.channel
	}
	if c.peers != "" {
		if c.tlsCA == "" {
			return cfg, usageError{"--peers needs --tls-ca"}
		}
		cfg.Peers = nil
		for _, ep := range strings.Split(c.peers, ",") {
			cfg.Peers = append(cfg.Peers, gateway.Peer{Endpoint: strings.TrimSpace(ep), TLSRootCert: c.tlsCA})
		}
	}
	if len(cfg.Peers) == 0 {
		return cfg, usageError{"no peers: pass --config (a connection profile) or --peers with --tls-ca"}
	}
	cfg.Observer = c.observer
	return cfg, nil
}

// connect dials the peers the flags name. A profile that cannot be read
// or used is a *gateway.ConfigError (exit status 2).
func (c *connFlags) connect() (*gateway.Client, error) {
	cfg, err := c.gatewayConfig()
	if err != nil {
		return nil, err
	}
	return gateway.Connect(cfg)
}

// run connects and calls fn with the command's context and a client; the
// submits' spans go where OTEL_EXPORTER_OTLP_ENDPOINT says (none: no
// export, and no trace context reaches the ledger event). Callers check
// their arguments first: nothing is dialled for a command line that is
// wrong.
func (c *connFlags) run(cmd *cobra.Command, fn func(ctx context.Context, cl *gateway.Client) error) error {
	ctx := cmd.Context()
	shutdown, err := telemetry.Setup(ctx, telemetry.Config{Service: "cachet-cli"})
	if err != nil {
		return err
	}
	defer shutdown(context.WithoutCancel(ctx))
	cl, err := c.connect()
	if err != nil {
		return err
	}
	defer cl.Close()
	return fn(ctx, cl)
}
