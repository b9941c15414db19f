//go:build e2e

package e2e

import (
	"crypto/x509"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/cachetsync/cachet/gateway"
	fgclient "github.com/hyperledger/fabric-gateway/pkg/client"
	"github.com/hyperledger/fabric-gateway/pkg/hash"
	"github.com/hyperledger/fabric-gateway/pkg/identity"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
)

var baselineOnce struct {
	sync.Once
	out string
	err error
}

// deployBaseline deploys the trivial put contract (chaincode "baseline",
// cmd/cachet-baseline-chaincode) on the suite's network, once. Only
// benchmarks call it: the suite's tests count the network's processes.
func deployBaseline(tb testing.TB) {
	tb.Helper()
	baselineOnce.Do(func() { baselineOnce.out, baselineOnce.err = network("deploy-baseline") })
	if baselineOnce.err != nil {
		tb.Fatalf("deploy-baseline: %v\n%s", baselineOnce.err, baselineOnce.out)
	}
}

// rawContract connects to chaincode as org's role with fabric-gateway
// alone, on the first peer of the role's connection profile: the client
// that the trivial put and the contract's invalidations share when they
// are compared, so that nothing but the contracts differs.
func rawContract(tb testing.TB, org, role, chaincode string) *fgclient.Contract {
	tb.Helper()
	prof, err := network("profile", org, role)
	if err != nil {
		tb.Fatalf("profile: %v\n%s", err, prof)
	}
	path := filepath.Join(tb.TempDir(), org+"-"+role+".json")
	if err := os.WriteFile(path, []byte(prof), 0o600); err != nil {
		tb.Fatal(err)
	}
	cfg, err := gateway.LoadProfile(path)
	if err != nil {
		tb.Fatal(err)
	}
	only := func(dir string) []byte {
		entries, err := os.ReadDir(dir)
		if err != nil || len(entries) != 1 {
			tb.Fatalf("%s: want one file: %v", dir, err)
		}
		b, err := os.ReadFile(filepath.Join(dir, entries[0].Name()))
		if err != nil {
			tb.Fatal(err)
		}
		return b
	}
	cert, err := identity.CertificateFromPEM(only(filepath.Join(cfg.Identity.MSPDir, "signcerts")))
	if err != nil {
		tb.Fatal(err)
	}
	id, err := identity.NewX509Identity(cfg.Identity.MSPID, cert)
	if err != nil {
		tb.Fatal(err)
	}
	key, err := identity.PrivateKeyFromPEM(only(filepath.Join(cfg.Identity.MSPDir, "keystore")))
	if err != nil {
		tb.Fatal(err)
	}
	sign, err := identity.NewPrivateKeySign(key)
	if err != nil {
		tb.Fatal(err)
	}
	pem, err := os.ReadFile(cfg.Peers[0].TLSRootCert)
	if err != nil {
		tb.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	conn, err := grpc.NewClient("dns:///"+cfg.Peers[0].Endpoint, grpc.WithTransportCredentials(credentials.NewClientTLSFromCert(pool, cfg.Peers[0].ServerName)))
	if err != nil {
		tb.Fatal(err)
	}
	gw, err := fgclient.Connect(id, fgclient.WithSign(sign), fgclient.WithHash(hash.SHA256), fgclient.WithClientConnection(conn))
	if err != nil {
		conn.Close()
		tb.Fatal(err)
	}
	tb.Cleanup(func() { gw.Close(); conn.Close() })
	return gw.GetNetwork(cfg.Channel).GetContract(chaincode)
}
