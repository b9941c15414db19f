// Command cachet-chaincode serves Cachet's cache-state contract.
//
// With an address (--address or CHAINCODE_SERVER_ADDRESS) it runs as
// chaincode-as-a-service: peers connect to it, and --id (CHAINCODE_ID) must
// be the package ID the peers installed. Without one it starts the classic
// way, as a process the peer launched.
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"

	"github.com/cachetsync/cachet/chaincode"
	"github.com/hyperledger/fabric-chaincode-go/v2/shim"
)

// config is the server's configuration; flags override the environment.
type config struct {
	address  string
	id       string
	tlsCert  string
	tlsKey   string
	clientCA string
}

func main() {
	cfg, err := parse(os.Args[1:], os.Getenv)
	if err == nil {
		err = run(cfg)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "cachet-chaincode:", err)
		os.Exit(1)
	}
}

func parse(args []string, getenv func(string) string) (config, error) {
	cfg := config{
		address: getenv("CHAINCODE_SERVER_ADDRESS"), id: getenv("CHAINCODE_ID"),
		tlsCert: getenv("CHAINCODE_TLS_CERT"), tlsKey: getenv("CHAINCODE_TLS_KEY"), clientCA: getenv("CHAINCODE_TLS_CLIENT_CA"),
	}
	fs := flag.NewFlagSet("cachet-chaincode", flag.ContinueOnError)
	fs.StringVar(&cfg.address, "address", cfg.address, "listen address for chaincode-as-a-service (env CHAINCODE_SERVER_ADDRESS); empty: started by the peer")
	fs.StringVar(&cfg.id, "id", cfg.id, "chaincode package ID the peers installed (env CHAINCODE_ID)")
	fs.StringVar(&cfg.tlsCert, "tls-cert", cfg.tlsCert, "PEM server certificate; TLS is off without one (env CHAINCODE_TLS_CERT)")
	fs.StringVar(&cfg.tlsKey, "tls-key", cfg.tlsKey, "PEM server key (env CHAINCODE_TLS_KEY)")
	fs.StringVar(&cfg.clientCA, "tls-client-ca", cfg.clientCA, "PEM CA that peers' client certificates must chain to (env CHAINCODE_TLS_CLIENT_CA)")
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	if cfg.address != "" && cfg.id == "" {
		return cfg, errors.New("chaincode-as-a-service needs the package ID: set --id or CHAINCODE_ID")
	}
	if (cfg.tlsCert == "") != (cfg.tlsKey == "") {
		return cfg, errors.New("TLS needs both --tls-cert and --tls-key")
	}
	return cfg, nil
}

func run(cfg config) error {
	cc, err := chaincode.New()
	if err != nil {
		return fmt.Errorf("build contract: %w", err)
	}
	if cfg.address == "" {
		return cc.Start()
	}
	tls := shim.TLSProperties{Disabled: cfg.tlsCert == ""}
	if !tls.Disabled {
		if tls.Cert, err = os.ReadFile(cfg.tlsCert); err != nil {
			return err
		}
		if tls.Key, err = os.ReadFile(cfg.tlsKey); err != nil {
			return err
		}
		if cfg.clientCA != "" {
			if tls.ClientCACerts, err = os.ReadFile(cfg.clientCA); err != nil {
				return err
			}
		}
	}
	fmt.Fprintf(os.Stderr, "cachet-chaincode: serving %s on %s (TLS %v)\n", cfg.id, cfg.address, !tls.Disabled)
	srv := &shim.ChaincodeServer{CCID: cfg.id, Address: cfg.address, CC: cc, TLSProps: tls}
	return srv.Start()
}
