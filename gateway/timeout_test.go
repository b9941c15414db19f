package gateway

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/hyperledger/fabric-protos-go-apiv2/common"
	gwproto "github.com/hyperledger/fabric-protos-go-apiv2/gateway"
	"github.com/hyperledger/fabric-protos-go-apiv2/peer"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

// stallingGateway endorses and accepts every transaction but never answers
// a query or a commit status: a peer whose orderer lost the transaction.
type stallingGateway struct {
	gwproto.UnimplementedGatewayServer
}

func (stallingGateway) Evaluate(ctx context.Context, _ *gwproto.EvaluateRequest) (*gwproto.EvaluateResponse, error) {
	<-ctx.Done()
	return nil, status.FromContextError(ctx.Err()).Err()
}

func (stallingGateway) Endorse(_ context.Context, req *gwproto.EndorseRequest) (*gwproto.EndorseResponse, error) {
	mustMarshal := func(m proto.Message) []byte {
		b, err := proto.Marshal(m)
		if err != nil {
			panic(err)
		}
		return b
	}
	action := mustMarshal(&peer.ChaincodeAction{Response: &peer.Response{Status: 200, Payload: []byte(`{"key":"k","version":2}`)}})
	payload := mustMarshal(&peer.ChaincodeActionPayload{Action: &peer.ChaincodeEndorsedAction{
		ProposalResponsePayload: mustMarshal(&peer.ProposalResponsePayload{Extension: action})}})
	env := &common.Envelope{Payload: mustMarshal(&common.Payload{
		Header: &common.Header{ChannelHeader: mustMarshal(&common.ChannelHeader{ChannelId: req.GetChannelId(), TxId: req.GetTransactionId()})},
		Data:   mustMarshal(&peer.Transaction{Actions: []*peer.TransactionAction{{Payload: payload}}}),
	})}
	return &gwproto.EndorseResponse{PreparedTransaction: env}, nil
}

func (stallingGateway) Submit(context.Context, *gwproto.SubmitRequest) (*gwproto.SubmitResponse, error) {
	return &gwproto.SubmitResponse{}, nil
}

func (stallingGateway) CommitStatus(ctx context.Context, _ *gwproto.SignedCommitStatusRequest) (*gwproto.CommitStatusResponse, error) {
	<-ctx.Done()
	return nil, status.FromContextError(ctx.Err()).Err()
}

// selfSigned writes a P-256 certificate for 127.0.0.1 and its key as PEM
// files in dir: the peer's TLS certificate, and the client's identity.
func selfSigned(t *testing.T, dir string) (certFile, keyFile string, pair tls.Certificate) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "peer0"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, BasicConstraintsValid: true, IsCA: true,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8})
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, certPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, keyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if pair, err = tls.X509KeyPair(certPEM, keyPEM); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile, pair
}

// TestStageTimeouts: a peer that never answers a query or a commit status
// costs the configured timeout of that stage, not the caller's whole
// context, and the error says which stage ran out of time.
func TestStageTimeouts(t *testing.T) {
	certFile, keyFile, pair := selfSigned(t, t.TempDir())
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer(grpc.Creds(credentials.NewServerTLSFromCert(&pair)))
	gwproto.RegisterGatewayServer(srv, stallingGateway{})
	go srv.Serve(ln)
	t.Cleanup(srv.Stop)
	const timeout = 200 * time.Millisecond
	c, err := Connect(Config{
		Peers:           []Peer{{Endpoint: ln.Addr().String(), TLSRootCert: certFile}},
		Identity:        Identity{MSPID: "Org1MSP", CertPEM: certFile, KeyPEM: keyFile},
		EvaluateTimeout: timeout, CommitTimeout: timeout,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	tests := []struct {
		name  string
		call  func(ctx context.Context) error
		stage Stage
		txID  bool
	}{
		{"query", func(ctx context.Context) error { _, err := c.Get(ctx, "k"); return err }, StageEvaluate, false},
		{"chain height", func(ctx context.Context) error { _, err := c.Height(ctx); return err }, StageEvaluate, false},
		{"commit status", func(ctx context.Context) error { _, _, err := c.Invalidate(ctx, "k", "r", 0); return err }, StageCommit, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			start := time.Now()
			err := tc.call(ctx)
			var ge *Error
			if !errors.As(err, &ge) || ge.Code != CodeTimeout || ge.Stage != tc.stage || (ge.TxID != "") != tc.txID {
				t.Fatalf("err = %#v, want a %s timeout at stage %s (with a transaction ID: %v)", err, CodeTimeout, tc.stage, tc.txID)
			}
			if ctx.Err() != nil {
				t.Fatalf("the call took the caller's whole context (%v), not the stage's timeout", time.Since(start))
			}
		})
	}
}
