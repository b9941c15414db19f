package main

import (
	"errors"
	"flag"
	"os"
	"strings"

	"github.com/cachetsync/cachet/gateway"
)

// connFlags are the connection flags every ledger subcommand takes. Each
// falls back to its CACHET_… environment variable, then to the profile.
type connFlags struct {
	config, mspID, mspDir, peers, tlsCA, channel string
	asJSON                                       bool
}

func (c *connFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&c.config, "config", os.Getenv("CACHET_CONFIG"), "connection profile (JSON, as `network.sh profile ORG ROLE` writes) (env CACHET_CONFIG)")
	fs.StringVar(&c.mspID, "msp-id", os.Getenv("CACHET_MSP_ID"), "the client's MSP ID (env CACHET_MSP_ID)")
	fs.StringVar(&c.mspDir, "msp-dir", os.Getenv("CACHET_MSP_DIR"), "the client's MSP folder with signcerts/ and keystore/ (env CACHET_MSP_DIR)")
	fs.StringVar(&c.peers, "peers", os.Getenv("CACHET_PEERS"), "comma-separated peer endpoints, tried in order (env CACHET_PEERS)")
	fs.StringVar(&c.tlsCA, "tls-ca", os.Getenv("CACHET_TLS_CA"), "PEM file of the peers' TLS CA, with --peers (env CACHET_TLS_CA)")
	fs.StringVar(&c.channel, "channel", os.Getenv("CACHET_CHANNEL"), "channel (env CACHET_CHANNEL; default cachet)")
	fs.BoolVar(&c.asJSON, "json", false, "print results as JSON")
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
	return cfg, nil
}

func (c *connFlags) connect() (*gateway.Client, error) {
	cfg, err := c.gatewayConfig()
	if err != nil {
		return nil, err
	}
	cl, err := gateway.Connect(cfg)
	if err != nil {
		var ce *gateway.ConfigError
		if errors.As(err, &ce) {
			return nil, usageError{err.Error()}
		}
		return nil, err
	}
	return cl, nil
}

// Exit statuses for ledger outcomes, so scripts can branch on them.
const (
	exitRefused     = 3 // the contract or an endorsement policy said no
	exitConflict    = 4 // stale version or MVCC conflict: re-read and retry
	exitUnreachable = 5 // no peer answered in time
)

// outcomeError gives gateway errors their exit status.
type outcomeError struct{ err error }

func (e outcomeError) Error() string { return e.err.Error() }
func (e outcomeError) Unwrap() error { return e.err }
func (e outcomeError) ExitCode() int {
	var ge *gateway.Error
	if !errors.As(e.err, &ge) {
		return exitFailure
	}
	switch ge.Code {
	case gateway.CodeStaleVersion, gateway.CodeConflict, gateway.CodeEndorsementMismatch:
		return exitConflict
	case gateway.CodeUnavailable, gateway.CodeTimeout:
		return exitUnreachable
	case gateway.CodeUnknown:
		return exitFailure
	}
	return exitRefused
}

func classify(err error) error {
	if err == nil {
		return nil
	}
	return outcomeError{err}
}
