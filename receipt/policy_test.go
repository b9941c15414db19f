package receipt

import (
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"encoding/pem"
	"math/big"
	"testing"

	"github.com/hyperledger/fabric-protos-go-apiv2/common"
	"github.com/hyperledger/fabric-protos-go-apiv2/msp"
	"google.golang.org/protobuf/proto"
)

// testOrg is a generated MSP with node OUs, and a way to make its members.
type testOrg struct {
	msp   *MSP
	ca    *x509.Certificate
	caKey *ecdsa.PrivateKey
}

func newOrg(t *testing.T, id string) *testOrg {
	ca, key := newCA(t, "ca."+id)
	return &testOrg{msp: &MSP{ID: id, Roots: []*x509.Certificate{ca},
		NodeOUs: &NodeOUs{Client: "client", Peer: "peer", Admin: "admin", Orderer: "orderer"}}, ca: ca, caKey: key}
}

func (o *testOrg) member(t *testing.T, ous ...string) (*signer, *ecdsa.PrivateKey) {
	cert, key := newCert(t, o.ca, o.caKey, "member", ous...)
	ser := marshal(t, &msp.SerializedIdentity{Mspid: o.msp.ID, IdBytes: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw})})
	s, err := resolve(ser, map[string]*MSP{o.msp.ID: o.msp})
	must(t, err)
	return s, key
}

func rolePolicy(n int32, roles ...*msp.MSPRole) *SignaturePolicy {
	env := &common.SignaturePolicyEnvelope{}
	var rules []*common.SignaturePolicy
	for i, r := range roles {
		b, _ := proto.Marshal(r)
		env.Identities = append(env.Identities, &msp.MSPPrincipal{PrincipalClassification: msp.MSPPrincipal_ROLE, Principal: b})
		rules = append(rules, &common.SignaturePolicy{Type: &common.SignaturePolicy_SignedBy{SignedBy: int32(i)}})
	}
	env.Rule = &common.SignaturePolicy{Type: &common.SignaturePolicy_NOutOf_{NOutOf: &common.SignaturePolicy_NOutOf{N: n, Rules: rules}}}
	return &SignaturePolicy{Envelope: env}
}

func TestSignaturePolicyRolesAndNodeOUs(t *testing.T) {
	org1, org2 := newOrg(t, "Org1MSP"), newOrg(t, "Org2MSP")
	peer1, _ := org1.member(t, "peer")
	client1, _ := org1.member(t, "client")
	admin1, _ := org1.member(t, "admin")
	peer2, _ := org2.member(t, "peer")
	role := func(org string, r msp.MSPRole_MSPRoleType) *msp.MSPRole {
		return &msp.MSPRole{MspIdentifier: org, Role: r}
	}
	tests := []struct {
		name    string
		policy  *SignaturePolicy
		signers []*signer
		want    bool
	}{
		{"peer satisfies its org's peer", rolePolicy(1, role("Org1MSP", msp.MSPRole_PEER)), []*signer{peer1}, true},
		{"client is not a peer", rolePolicy(1, role("Org1MSP", msp.MSPRole_PEER)), []*signer{client1}, false},
		{"other org's peer is not ours", rolePolicy(1, role("Org1MSP", msp.MSPRole_PEER)), []*signer{peer2}, false},
		{"admin OU is admin", rolePolicy(1, role("Org1MSP", msp.MSPRole_ADMIN)), []*signer{admin1}, true},
		{"any member", rolePolicy(1, role("Org1MSP", msp.MSPRole_MEMBER)), []*signer{client1}, true},
		{"AND of two orgs, both sign", rolePolicy(2, role("Org1MSP", msp.MSPRole_PEER), role("Org2MSP", msp.MSPRole_PEER)), []*signer{peer2, peer1}, true},
		{"AND of two orgs, one signs", rolePolicy(2, role("Org1MSP", msp.MSPRole_PEER), role("Org2MSP", msp.MSPRole_PEER)), []*signer{peer1}, false},
		{"one signer cannot fill two slots", rolePolicy(2, role("Org1MSP", msp.MSPRole_MEMBER), role("Org1MSP", msp.MSPRole_PEER)), []*signer{peer1}, false},
		{"no signers", rolePolicy(1, role("Org1MSP", msp.MSPRole_MEMBER)), nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.policy.eval(tt.signers); got != tt.want {
				t.Errorf("%s with %d signers = %v, want %v", tt.policy, len(tt.signers), got, tt.want)
			}
		})
	}
}

func TestImplicitMetaRules(t *testing.T) {
	org1, org2 := newOrg(t, "A"), newOrg(t, "B")
	a, _ := org1.member(t, "orderer")
	b, _ := org2.member(t, "orderer")
	member := func(org string) Policy {
		return rolePolicy(1, &msp.MSPRole{MspIdentifier: org, Role: msp.MSPRole_MEMBER})
	}
	subs := []Policy{member("A"), member("B"), member("C")}
	tests := []struct {
		rule    common.ImplicitMetaPolicy_Rule
		signers []*signer
		want    bool
	}{
		{common.ImplicitMetaPolicy_ANY, []*signer{a}, true},
		{common.ImplicitMetaPolicy_ANY, nil, false},
		{common.ImplicitMetaPolicy_MAJORITY, []*signer{a}, false},
		{common.ImplicitMetaPolicy_MAJORITY, []*signer{a, b}, true},
		{common.ImplicitMetaPolicy_ALL, []*signer{a, b}, false},
	}
	for _, tt := range tests {
		p := &ImplicitMetaPolicy{Rule: tt.rule, SubPolicy: "Writers", Subs: subs}
		if got := p.eval(tt.signers); got != tt.want {
			t.Errorf("%s with %d signers = %v, want %v", p, len(tt.signers), got, tt.want)
		}
	}
}

func TestResolveRefusesWrongChainAndRoles(t *testing.T) {
	org, other := newOrg(t, "Org1MSP"), newOrg(t, "Org1MSP")
	msps := map[string]*MSP{"Org1MSP": org.msp}
	ser := func(c *x509.Certificate, id string) []byte {
		return marshal(t, &msp.SerializedIdentity{Mspid: id, IdBytes: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})})
	}
	good, _ := newCert(t, org.ca, org.caKey, "ok", "peer")
	foreign, _ := newCert(t, other.ca, other.caKey, "foreign", "peer")
	noRole, _ := newCert(t, org.ca, org.caKey, "none", "sales")
	twoRoles, _ := newCert(t, org.ca, org.caKey, "two", "peer", "client")
	tests := []struct {
		name string
		id   []byte
		ok   bool
	}{
		{"member of the MSP", ser(good, "Org1MSP"), true},
		{"signed by another CA", ser(foreign, "Org1MSP"), false},
		{"MSP not in the channel", ser(good, "Org9MSP"), false},
		{"no node role", ser(noRole, "Org1MSP"), false},
		{"two node roles", ser(twoRoles, "Org1MSP"), false},
		{"the CA itself", ser(org.ca, "Org1MSP"), false},
		{"not an identity", []byte{0xff, 0x01}, false},
	}
	for _, tt := range tests {
		if _, err := resolve(tt.id, msps); (err == nil) != tt.ok {
			t.Errorf("%s: err = %v, want ok=%v", tt.name, err, tt.ok)
		}
	}
}

func TestVerifySignatureRefusesHighS(t *testing.T) {
	org := newOrg(t, "Org1MSP")
	cert, key := newCert(t, org.ca, org.caKey, "signer", "client")
	data := []byte("payload")
	sum := sha256.Sum256(data)
	r, s, err := ecdsa.Sign(rand.Reader, key, sum[:])
	must(t, err)
	n := key.Curve.Params().N
	if s.Cmp(new(big.Int).Rsh(n, 1)) > 0 {
		s.Sub(n, s) // Fabric's signers normalize to low S
	}
	low, _ := asn1.Marshal(struct{ R, S *big.Int }{r, s})
	high, _ := asn1.Marshal(struct{ R, S *big.Int }{r, new(big.Int).Sub(n, s)})
	if err := verifySignature(cert, data, low); err != nil {
		t.Fatalf("low-S signature refused: %v", err)
	}
	if err := verifySignature(cert, data, high); err == nil {
		t.Fatal("high-S twin of a valid signature accepted")
	}
	if err := verifySignature(cert, []byte("other"), low); err == nil {
		t.Fatal("signature accepted over other data")
	}
}

func TestPolicyString(t *testing.T) {
	p := rolePolicy(1, &msp.MSPRole{MspIdentifier: "Org1MSP", Role: msp.MSPRole_PEER}, &msp.MSPRole{MspIdentifier: "Org2MSP", Role: msp.MSPRole_PEER})
	if got, want := p.String(), "OR('Org1MSP.peer','Org2MSP.peer')"; got != want {
		t.Errorf("String() = %s, want %s", got, want)
	}
	p = rolePolicy(2, &msp.MSPRole{MspIdentifier: "Org1MSP", Role: msp.MSPRole_PEER}, &msp.MSPRole{MspIdentifier: "Org2MSP", Role: msp.MSPRole_ADMIN})
	if got, want := p.String(), "AND('Org1MSP.peer','Org2MSP.admin')"; got != want {
		t.Errorf("String() = %s, want %s", got, want)
	}
}
