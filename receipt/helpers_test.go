package receipt

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/hyperledger/fabric-protos-go-apiv2/common"
	"github.com/hyperledger/fabric-protos-go-apiv2/ledger/rwset"
	"github.com/hyperledger/fabric-protos-go-apiv2/ledger/rwset/kvrwset"
	"github.com/hyperledger/fabric-protos-go-apiv2/msp"
	"github.com/hyperledger/fabric-protos-go-apiv2/peer"
	"google.golang.org/protobuf/proto"
)

// The recorded fixtures (e2e TestRecordReceipts, on a real network).
const fixtures = "../testdata/receipt"

func readReceipt(t testing.TB, name string) *Receipt {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(fixtures, name))
	if err != nil {
		t.Fatal(err)
	}
	r, err := Decode(b)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return r
}

func readConfig(t testing.TB, name string) *ChannelConfig {
	t.Helper()
	cfg, err := ParseConfigBlock(readBlock(t, name))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func trusted(t testing.TB) Trust { return Trust{Config: readConfig(t, "config.block")} }

// anyPeerOf is a signature policy satisfied by a peer of any of orgs, as
// the network's chaincode definition sets (network/network.sh CC_POLICY).
func anyPeerOf(orgs ...string) *SignaturePolicy {
	env := &common.SignaturePolicyEnvelope{}
	var rules []*common.SignaturePolicy
	for i, org := range orgs {
		role, _ := proto.Marshal(&msp.MSPRole{MspIdentifier: org, Role: msp.MSPRole_PEER})
		env.Identities = append(env.Identities, &msp.MSPPrincipal{PrincipalClassification: msp.MSPPrincipal_ROLE, Principal: role})
		rules = append(rules, &common.SignaturePolicy{Type: &common.SignaturePolicy_SignedBy{SignedBy: int32(i)}})
	}
	env.Rule = &common.SignaturePolicy{Type: &common.SignaturePolicy_NOutOf_{NOutOf: &common.SignaturePolicy_NOutOf{N: 1, Rules: rules}}}
	return &SignaturePolicy{Envelope: env}
}

// clone deep-copies a receipt through its JSON form.
func clone(t testing.TB, r *Receipt) *Receipt {
	t.Helper()
	b, err := r.Encode()
	if err != nil {
		t.Fatal(err)
	}
	c, err := Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// tx is a transaction taken apart so a test can change one part and put it
// back together.
type tx struct {
	env     common.Envelope
	payload common.Payload
	shdr    common.SignatureHeader
	tx      peer.Transaction
	cap     peer.ChaincodeActionPayload
	prp     peer.ProposalResponsePayload
	cca     peer.ChaincodeAction
	rw      rwset.TxReadWriteSet
	kv      []*kvrwset.KVRWSet
}

func openTx(t testing.TB, b []byte) *tx {
	t.Helper()
	x := &tx{}
	must(t, proto.Unmarshal(b, &x.env))
	must(t, proto.Unmarshal(x.env.Payload, &x.payload))
	must(t, proto.Unmarshal(x.payload.Header.SignatureHeader, &x.shdr))
	must(t, proto.Unmarshal(x.payload.Data, &x.tx))
	must(t, proto.Unmarshal(x.tx.Actions[0].Payload, &x.cap))
	must(t, proto.Unmarshal(x.cap.Action.ProposalResponsePayload, &x.prp))
	must(t, proto.Unmarshal(x.prp.Extension, &x.cca))
	must(t, proto.Unmarshal(x.cca.Results, &x.rw))
	for _, ns := range x.rw.NsRwset {
		kv := &kvrwset.KVRWSet{}
		must(t, proto.Unmarshal(ns.Rwset, kv))
		x.kv = append(x.kv, kv)
	}
	return x
}

// seal re-encodes every layer from the inside out, leaving the signatures
// as they were.
func (x *tx) seal(t testing.TB) []byte {
	t.Helper()
	var err error
	for i, kv := range x.kv {
		x.rw.NsRwset[i].Rwset = marshal(t, kv)
	}
	x.cca.Results = marshal(t, &x.rw)
	x.prp.Extension = marshal(t, &x.cca)
	x.cap.Action.ProposalResponsePayload = marshal(t, &x.prp)
	x.tx.Actions[0].Payload = marshal(t, &x.cap)
	x.payload.Data = marshal(t, &x.tx)
	x.payload.Header.SignatureHeader = marshal(t, &x.shdr)
	x.env.Payload = marshal(t, &x.payload)
	b, err := proto.Marshal(&x.env)
	must(t, err)
	return b
}

// replaceEnvelope puts env in the receipt and its block, and re-hashes the
// block data as an attacker would, so the data-hash check passes.
func replaceEnvelope(r *Receipt, env []byte) {
	r.Envelope = env
	r.Block.Data[r.TxIndex] = env
	r.Block.DataHash = dataHash(r.Block.Data)
}

func marshal(t testing.TB, m proto.Message) []byte {
	t.Helper()
	b, err := proto.Marshal(m)
	must(t, err)
	return b
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// newCA makes a self-signed P-256 CA certificate and its key.
func newCA(t testing.TB, name string) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	must(t, err)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	must(t, err)
	c, err := x509.ParseCertificate(der)
	must(t, err)
	return c, key
}

// newCert issues a P-256 leaf certificate with the given OUs.
func newCert(t testing.TB, ca *x509.Certificate, caKey *ecdsa.PrivateKey, name string, ous ...string) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	must(t, err)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: name, OrganizationalUnit: ous},
		NotBefore: ca.NotBefore, NotAfter: ca.NotAfter, KeyUsage: x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	must(t, err)
	c, err := x509.ParseCertificate(der)
	must(t, err)
	return c, key
}
