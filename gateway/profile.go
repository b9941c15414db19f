package gateway

import (
	"encoding/json"
	"errors"
	"os"
)

// Profile is the JSON connection profile `network.sh profile` writes and
// `cachet --config` reads.
type Profile struct {
	Channel   string `json:"channel"`
	Chaincode string `json:"chaincode"`
	MSPID     string `json:"mspId"`
	MSPDir    string `json:"mspDir"`
	Peers     []struct {
		Endpoint    string `json:"endpoint"`
		TLSRootCert string `json:"tlsRootCert"`
		ServerName  string `json:"serverName,omitempty"`
	} `json:"peers"`
}

// LoadProfile reads a connection profile into a Config.
func LoadProfile(path string) (Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Config{}, &ConfigError{Field: "profile", Err: err}
	}
	var p Profile
	if err := json.Unmarshal(b, &p); err != nil {
		return Config{}, &ConfigError{Field: "profile", Err: err}
	}
	if len(p.Peers) == 0 {
		return Config{}, &ConfigError{Field: "profile.peers", Err: errors.New(path + " lists no peers")}
	}
	cfg := Config{Channel: p.Channel, Chaincode: p.Chaincode, Identity: Identity{MSPID: p.MSPID, MSPDir: p.MSPDir}}
	for _, peer := range p.Peers {
		cfg.Peers = append(cfg.Peers, Peer{Endpoint: peer.Endpoint, TLSRootCert: peer.TLSRootCert, ServerName: peer.ServerName})
	}
	return cfg, nil
}
