package main

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/spf13/pflag"

	"github.com/cachetsync/cachet/gateway"
)

func TestConnectionSettingsPrecedence(t *testing.T) {
	dir := t.TempDir()
	profile := filepath.Join(dir, "p.json")
	os.WriteFile(profile, []byte(`{"channel":"c1","mspId":"FileMSP","mspDir":"/file/msp",
		"peers":[{"endpoint":"127.0.0.1:1","tlsRootCert":"/file/ca.pem"}]}`), 0o600)
	tests := []struct {
		name    string
		flags   connFlags
		mspID   string
		channel string
		peers   []string
		usage   bool
	}{
		{"profile alone", connFlags{config: profile}, "FileMSP", "c1", []string{"127.0.0.1:1"}, false},
		{"flags over profile", connFlags{config: profile, mspID: "FlagMSP", peers: "127.0.0.1:7,127.0.0.1:8", tlsCA: "/ca.pem", channel: "c2"}, "FlagMSP", "c2", []string{"127.0.0.1:7", "127.0.0.1:8"}, false},
		{"no peers anywhere", connFlags{mspID: "X"}, "", "", nil, true},
		{"peers without a CA", connFlags{peers: "127.0.0.1:7"}, "", "", nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := tt.flags.gatewayConfig()
			if tt.usage {
				if exitCode(err) != exitUsage {
					t.Fatalf("err %v, want a usage error", err)
				}
				return
			}
			if err != nil || cfg.Identity.MSPID != tt.mspID || cfg.Channel != tt.channel || len(cfg.Peers) != len(tt.peers) {
				t.Fatalf("cfg %+v, %v", cfg, err)
			}
			for i, p := range tt.peers {
				if cfg.Peers[i].Endpoint != p {
					t.Fatalf("peer %d = %s, want %s", i, cfg.Peers[i].Endpoint, p)
				}
			}
		})
	}
}

func TestEnvironmentSeedsFlags(t *testing.T) {
	t.Setenv("CACHET_MSP_ID", "EnvMSP")
	t.Setenv("CACHET_PEERS", "127.0.0.1:9")
	t.Setenv("CACHET_TLS_CA", "/env/ca.pem")
	var c connFlags
	fs := newFlagSetForTest()
	c.register(fs)
	if err := fs.Parse([]string{"--msp-id", "FlagMSP"}); err != nil {
		t.Fatal(err)
	}
	cfg, err := c.gatewayConfig()
	if err != nil || cfg.Identity.MSPID != "FlagMSP" || cfg.Peers[0] != (gateway.Peer{Endpoint: "127.0.0.1:9", TLSRootCert: "/env/ca.pem"}) {
		t.Fatalf("flag must beat env, env must fill the rest: %+v %v", cfg, err)
	}
}

func TestExitCodes(t *testing.T) {
	tests := []struct {
		err  error
		code int
	}{
		{&gateway.Error{Code: gateway.CodeForbidden}, exitRefused},
		{&gateway.Error{Code: gateway.CodeEndorsementPolicy}, exitRefused},
		{&gateway.Error{Code: gateway.CodeStaleVersion}, exitConflict},
		{&gateway.Error{Code: gateway.CodeConflict}, exitConflict},
		{&gateway.Error{Code: gateway.CodeEndorsementMismatch}, exitConflict},
		{&gateway.Error{Code: gateway.CodeUnavailable}, exitUnreachable},
		{errors.New("other"), exitFailure},
	}
	for _, tt := range tests {
		if got := exitCode(tt.err); got != tt.code {
			t.Errorf("%v: exit %d, want %d", tt.err, got, tt.code)
		}
	}
}

func newFlagSetForTest() *pflag.FlagSet { return pflag.NewFlagSet("test", pflag.ContinueOnError) }
