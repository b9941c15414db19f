package gateway

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/hyperledger/fabric-gateway/pkg/client"
	"github.com/hyperledger/fabric-gateway/pkg/hash"
	"github.com/hyperledger/fabric-gateway/pkg/identity"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
)

// Peer is one gateway peer the client may talk to.
type Peer struct {
	Endpoint    string // host:port
	TLSRootCert string // PEM file of the CA that signed the peer's TLS certificate
	// ServerName overrides the TLS server name (the peer's certificate
	// names it, e.g. peer0.org1.example.com, while Endpoint is 127.0.0.1).
	ServerName string
}

// Identity is the client's signing identity: an MSP ID plus an MSP folder
// (signcerts/ and keystore/) or explicit certificate and key files.
type Identity struct {
	MSPID   string
	MSPDir  string
	CertPEM string // overrides MSPDir/signcerts
	KeyPEM  string // overrides MSPDir/keystore
}

// Config says where and as whom to connect. Zero durations take defaults.
type Config struct {
	Peers     []Peer // tried in order; a dead one is left for the next
	Identity  Identity
	Channel   string // default "cachet"
	Chaincode string // default "cachet"

	// Each bounds one call to a peer, within the caller's context: an
	// evaluation (per peer tried), an endorsement, the submission to the
	// orderers, and the wait for the commit status. A commit status wait
	// that ends is a CodeTimeout at StageCommit: the transaction may still
	// commit (or may have been lost with an orderer).
	EvaluateTimeout time.Duration // default 5s
	EndorseTimeout  time.Duration // default 15s
	SubmitTimeout   time.Duration // default 5s
	CommitTimeout   time.Duration // default 60s

	Retry RetryPolicy // for MVCC conflicts and endorsement mismatches

	// Observer, when set, is told of every submitted transaction: its
	// latency, attempts and outcome (a process's submit metrics).
	Observer Observer
}

// ConfigError reports configuration that cannot work; it names the field.
type ConfigError struct {
	Field string
	Err   error
}

func (e *ConfigError) Error() string { return fmt.Sprintf("gateway config %s: %v", e.Field, e.Err) }
func (e *ConfigError) Unwrap() error { return e.Err }

func (c *Config) defaults() {
	if c.Channel == "" {
		c.Channel = "cachet"
	}
	if c.Chaincode == "" {
		c.Chaincode = "cachet"
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&c.EvaluateTimeout, 5*time.Second)
	def(&c.EndorseTimeout, 15*time.Second)
	def(&c.SubmitTimeout, 5*time.Second)
	def(&c.CommitTimeout, 60*time.Second)
}

// Client is a connection to the Cachet contract through one peer at a time,
// moving to the next configured peer when the current one is unreachable.
type Client struct {
	cfg  Config
	id   *identity.X509Identity
	sign identity.Sign

	mu      sync.Mutex
	current int
	conn    *grpc.ClientConn
	gw      *client.Gateway
}

// Connect validates cfg, loads the identity and prepares a connection to the
// first peer. Connections are made lazily; a peer that cannot be reached is
// skipped on first use.
func Connect(cfg Config) (*Client, error) {
	cfg.defaults()
	if len(cfg.Peers) == 0 {
		return nil, &ConfigError{Field: "Peers", Err: errors.New("at least one peer endpoint is needed")}
	}
	for i, p := range cfg.Peers {
		if p.Endpoint == "" {
			return nil, &ConfigError{Field: fmt.Sprintf("Peers[%d].Endpoint", i), Err: errors.New("empty")}
		}
	}
	id, sign, err := loadIdentity(cfg.Identity)
	if err != nil {
		return nil, err
	}
	c := &Client{cfg: cfg, id: id, sign: sign}
	if err := c.dial(0); err != nil {
		return nil, err
	}
	return c, nil
}

// MSPID returns the client's organization.
func (c *Client) MSPID() string { return c.id.MspID() }

// Close releases the connection.
func (c *Client) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gw != nil {
		c.gw.Close()
	}
	if c.conn != nil {
		return c.conn.Close()
	}
	return nil
}

func (c *Client) dial(i int) error {
	p := c.cfg.Peers[i]
	creds, err := tlsCredentials(p)
	if err != nil {
		return err
	}
	conn, err := grpc.NewClient("dns:///"+p.Endpoint, grpc.WithTransportCredentials(creds))
	if err != nil {
		return &ConfigError{Field: "Peers.Endpoint", Err: err}
	}
	gw, err := client.Connect(c.id,
		client.WithSign(c.sign),
		client.WithHash(hash.SHA256),
		client.WithClientConnection(conn),
		client.WithEvaluateTimeout(c.cfg.EvaluateTimeout),
		client.WithEndorseTimeout(c.cfg.EndorseTimeout),
		client.WithSubmitTimeout(c.cfg.SubmitTimeout),
		client.WithCommitStatusTimeout(c.cfg.CommitTimeout),
	)
	if err != nil {
		conn.Close()
		return fmt.Errorf("connect to %s: %w", p.Endpoint, err)
	}
	if c.gw != nil {
		c.gw.Close()
		c.conn.Close()
	}
	c.current, c.conn, c.gw = i, conn, gw
	return nil
}

// contract returns the contract of the current peer and its index.
func (c *Client) contract() (*client.Contract, *client.Network, int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	nw := c.gw.GetNetwork(c.cfg.Channel)
	return nw.GetContract(c.cfg.Chaincode), nw, c.current
}

// failover moves to the peer after failed, unless another caller already
// moved on. It reports whether a peer is left to try.
func (c *Client) failover(failed, tried int) (bool, error) {
	if tried >= len(c.cfg.Peers) {
		return false, nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.current != failed {
		return true, nil
	}
	return true, c.dial((failed + 1) % len(c.cfg.Peers))
}

// withFailover runs op against the current peer, moving through the other
// peers while op fails with CodeUnavailable before anything reached the
// orderer (evaluate or endorse). Later failures are returned with the
// transaction ID: the transaction may have committed, and running it again
// would make a second one.
func (c *Client) withFailover(ctx context.Context, op func(*client.Contract, *client.Network) error) error {
	for tried := 1; ; tried++ {
		contract, network, idx := c.contract()
		err := op(contract, network)
		var ge *Error
		if err == nil || !errors.As(err, &ge) || ge.Code != CodeUnavailable || ctx.Err() != nil ||
			(ge.Stage != StageEvaluate && ge.Stage != StageEndorse) {
			return err
		}
		more, derr := c.failover(idx, tried)
		if derr != nil {
			return errors.Join(err, derr)
		}
		if !more {
			return err
		}
	}
}

func tlsCredentials(p Peer) (credentials.TransportCredentials, error) {
	pem, err := os.ReadFile(p.TLSRootCert)
	if err != nil {
		return nil, &ConfigError{Field: "Peers.TLSRootCert", Err: err}
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, &ConfigError{Field: "Peers.TLSRootCert", Err: fmt.Errorf("%s holds no PEM certificate", p.TLSRootCert)}
	}
	return credentials.NewClientTLSFromCert(pool, p.ServerName), nil
}

func loadIdentity(cfg Identity) (*identity.X509Identity, identity.Sign, error) {
	if cfg.MSPID == "" {
		return nil, nil, &ConfigError{Field: "Identity.MSPID", Err: errors.New("empty")}
	}
	certFile, keyFile := cfg.CertPEM, cfg.KeyPEM
	var err error
	if certFile == "" {
		if certFile, err = onlyFile(filepath.Join(cfg.MSPDir, "signcerts")); err != nil {
			return nil, nil, &ConfigError{Field: "Identity.MSPDir", Err: err}
		}
	}
	if keyFile == "" {
		if keyFile, err = onlyFile(filepath.Join(cfg.MSPDir, "keystore")); err != nil {
			return nil, nil, &ConfigError{Field: "Identity.MSPDir", Err: err}
		}
	}
	certPEM, err := os.ReadFile(certFile)
	if err != nil {
		return nil, nil, &ConfigError{Field: "Identity.CertPEM", Err: err}
	}
	cert, err := identity.CertificateFromPEM(certPEM)
	if err != nil {
		return nil, nil, &ConfigError{Field: "Identity.CertPEM", Err: err}
	}
	id, err := identity.NewX509Identity(cfg.MSPID, cert)
	if err != nil {
		return nil, nil, &ConfigError{Field: "Identity", Err: err}
	}
	keyPEM, err := os.ReadFile(keyFile)
	if err != nil {
		return nil, nil, &ConfigError{Field: "Identity.KeyPEM", Err: err}
	}
	key, err := identity.PrivateKeyFromPEM(keyPEM)
	if err != nil {
		return nil, nil, &ConfigError{Field: "Identity.KeyPEM", Err: err}
	}
	sign, err := identity.NewPrivateKeySign(key)
	if err != nil {
		return nil, nil, &ConfigError{Field: "Identity.KeyPEM", Err: err}
	}
	return id, sign, nil
}

// onlyFile returns the single regular file in dir, as MSP folders hold.
func onlyFile(dir string) (string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return "", err
	}
	var found []string
	for _, e := range entries {
		if e.Type().IsRegular() {
			found = append(found, filepath.Join(dir, e.Name()))
		}
	}
	if len(found) != 1 {
		return "", fmt.Errorf("%s: want exactly one file, found %d", dir, len(found))
	}
	return found[0], nil
}
