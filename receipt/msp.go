package receipt

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"time"

	"github.com/hyperledger/fabric-protos-go-apiv2/msp"
	"google.golang.org/protobuf/proto"
)

// MSP is one organization's membership definition as the channel
// configuration holds it: the certificate authorities its members chain to,
// its named admins and, when node OUs are enabled, the OU values that give
// a certificate its role.
type MSP struct {
	ID            string
	Roots         []*x509.Certificate
	Intermediates []*x509.Certificate
	Admins        []*x509.Certificate
	NodeOUs       *NodeOUs // nil: roles other than member and admin cannot be told
}

// NodeOUs are the organizational-unit values of the four node roles.
type NodeOUs struct {
	Client, Peer, Admin, Orderer string
}

// Identity is a signer the receipt proves: its organization, certificate
// subject, node role (client, peer, admin, orderer) and the cachet.role
// attribute its CA put in the certificate, if any.
type Identity struct {
	MSPID       string            `json:"mspId"`
	Subject     string            `json:"subject"`
	NodeRole    string            `json:"nodeRole,omitempty"`
	Role        string            `json:"role,omitempty"`
	Certificate *x509.Certificate `json:"-"`
}

// AttributeOID is the certificate extension where Fabric CA puts
// attributes, as JSON {"attrs":{...}}.
var AttributeOID = asn1.ObjectIdentifier{1, 2, 3, 4, 5, 6, 7, 8, 1}

// RoleAttribute is the attribute that names a Cachet client's role.
const RoleAttribute = "cachet.role"

// signer is a serialized identity resolved to a certificate of an MSP.
type signer struct {
	serialized []byte
	msp        *MSP
	cert       *x509.Certificate
	nodeRole   string
}

// parseIdentity reads a SerializedIdentity, without judging it.
func parseIdentity(serialized []byte) (string, *x509.Certificate, error) {
	var sid msp.SerializedIdentity
	if err := proto.Unmarshal(serialized, &sid); err != nil {
		return "", nil, fmt.Errorf("serialized identity: %w", err)
	}
	block, _ := pem.Decode(sid.GetIdBytes())
	if block == nil {
		return "", nil, fmt.Errorf("identity of %s holds no PEM certificate", sid.GetMspid())
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return "", nil, fmt.Errorf("certificate of %s: %w", sid.GetMspid(), err)
	}
	return sid.GetMspid(), cert, nil
}

// resolve validates a serialized identity against the channel's MSPs: the
// certificate chains to its MSP's CAs and, with node OUs, carries exactly
// one node role.
func resolve(serialized []byte, msps map[string]*MSP) (*signer, error) {
	id, cert, err := parseIdentity(serialized)
	if err != nil {
		return nil, err
	}
	m := msps[id]
	if m == nil {
		return nil, fmt.Errorf("MSP %q is not a member of the channel", id)
	}
	if cert.IsCA {
		return nil, fmt.Errorf("%s: a CA certificate cannot sign as a member", cert.Subject)
	}
	roots, inter := x509.NewCertPool(), x509.NewCertPool()
	for _, c := range m.Roots {
		roots.AddCert(c)
	}
	for _, c := range m.Intermediates {
		inter.AddCert(c)
	}
	// Fabric's MSP judges a chain at NotBefore+1s, not by the clock: a
	// receipt stays verifiable after its certificates expire.
	if _, err := cert.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter,
		CurrentTime: cert.NotBefore.Add(time.Second), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err != nil {
		return nil, fmt.Errorf("%s does not chain to %s's CAs: %w", cert.Subject, id, err)
	}
	s := &signer{serialized: serialized, msp: m, cert: cert}
	if m.NodeOUs != nil {
		roles := [...]struct{ name, ou string }{{"client", m.NodeOUs.Client}, {"peer", m.NodeOUs.Peer}, {"admin", m.NodeOUs.Admin}, {"orderer", m.NodeOUs.Orderer}}
		for _, ou := range cert.Subject.OrganizationalUnit {
			for _, r := range roles {
				if r.ou != "" && ou == r.ou {
					if s.nodeRole != "" {
						return nil, fmt.Errorf("%s has two node roles, %s and %s", cert.Subject, s.nodeRole, r.name)
					}
					s.nodeRole = r.name
				}
			}
		}
		if s.nodeRole == "" {
			return nil, fmt.Errorf("%s has no node role OU of %s", cert.Subject, id)
		}
	}
	return s, nil
}

func (s *signer) identity() Identity {
	return Identity{MSPID: s.msp.ID, Subject: s.cert.Subject.String(), NodeRole: s.nodeRole, Role: roleAttribute(s.cert), Certificate: s.cert}
}

// roleAttribute returns the cachet.role attribute of cert, "" if none.
func roleAttribute(cert *x509.Certificate) string {
	for _, ext := range cert.Extensions {
		if ext.Id.Equal(AttributeOID) {
			var v struct {
				Attrs map[string]string `json:"attrs"`
			}
			if json.Unmarshal(ext.Value, &v) == nil {
				return v.Attrs[RoleAttribute]
			}
		}
	}
	return ""
}

// satisfies reports whether s is the principal p names.
func (s *signer) satisfies(p *msp.MSPPrincipal) bool {
	switch p.GetPrincipalClassification() {
	case msp.MSPPrincipal_IDENTITY:
		return bytes.Equal(p.GetPrincipal(), s.serialized)
	case msp.MSPPrincipal_ROLE:
		var r msp.MSPRole
		if proto.Unmarshal(p.GetPrincipal(), &r) != nil || r.GetMspIdentifier() != s.msp.ID {
			return false
		}
		switch r.GetRole() {
		case msp.MSPRole_MEMBER:
			return true
		case msp.MSPRole_ADMIN:
			for _, a := range s.msp.Admins {
				if bytes.Equal(a.Raw, s.cert.Raw) {
					return true
				}
			}
			return s.nodeRole == "admin"
		case msp.MSPRole_CLIENT:
			return s.nodeRole == "client"
		case msp.MSPRole_PEER:
			return s.nodeRole == "peer"
		case msp.MSPRole_ORDERER:
			return s.nodeRole == "orderer"
		}
	}
	return false
}

// verifySignature checks an ECDSA signature over SHA-256(data) by cert's
// key. Fabric accepts only low-S signatures (s ≤ N/2), so a signature and
// its malleated twin are not both valid.
func verifySignature(cert *x509.Certificate, data, sig []byte) error {
	pub, ok := cert.PublicKey.(*ecdsa.PublicKey)
	if !ok {
		return fmt.Errorf("%s: key is %T, not ECDSA", cert.Subject, cert.PublicKey)
	}
	var rs struct{ R, S *big.Int }
	rest, err := asn1.Unmarshal(sig, &rs)
	if err != nil || len(rest) > 0 || rs.R == nil || rs.S == nil || rs.R.Sign() <= 0 || rs.S.Sign() <= 0 {
		return errors.New("signature is not a DER ECDSA signature")
	}
	if half := new(big.Int).Rsh(pub.Curve.Params().N, 1); rs.S.Cmp(half) > 0 {
		return errors.New("signature has a high S value, which Fabric refuses")
	}
	sum := sha256.Sum256(data)
	if !ecdsa.Verify(pub, sum[:], rs.R, rs.S) {
		return fmt.Errorf("signature does not verify with the key of %s", cert.Subject)
	}
	return nil
}
