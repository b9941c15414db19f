package chaincodetest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"sync"
	"time"

	"github.com/hyperledger/fabric-protos-go-apiv2/msp"
	"google.golang.org/protobuf/proto"
)

// attrOID is where Fabric CA puts certificate attributes and where the
// chaincode's client-identity library reads them.
var attrOID = asn1.ObjectIdentifier{1, 2, 3, 4, 5, 6, 7, 8, 1}

// Identity is a client: an org's MSP ID and, optionally, a cachet.role.
type Identity struct {
	MSPID string
	Role  string // "" for a certificate without the attribute
	OU    string // the certificate's NodeOU; "" is "client" ("admin" for Fabric's admins)
}

var (
	caOnce sync.Once
	caKey  *ecdsa.PrivateKey
	caCert *x509.Certificate

	certMu    sync.Mutex
	certCache = map[Identity][]byte{}
)

// Creator returns the serialized identity a peer would hand the chaincode
// for id: an X.509 certificate, with the role attribute extension when
// id.Role is set.
func (id Identity) Creator() []byte {
	certMu.Lock()
	defer certMu.Unlock()
	if b, ok := certCache[id]; ok {
		return b
	}
	caOnce.Do(newCA)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(err)
	}
	ou := id.OU
	if ou == "" {
		ou = "client"
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(int64(len(certCache) + 2)),
		Subject:      pkix.Name{CommonName: id.Role + "@" + id.MSPID, OrganizationalUnit: []string{ou}},
		NotBefore:    time.Unix(0, 0),
		NotAfter:     time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC),
		KeyUsage:     x509.KeyUsageDigitalSignature,
	}
	if id.Role != "" {
		val, _ := json.Marshal(map[string]map[string]string{"attrs": {"cachet.role": id.Role}})
		tmpl.ExtraExtensions = []pkix.Extension{{Id: attrOID, Value: val}}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &key.PublicKey, caKey)
	if err != nil {
		panic(err)
	}
	b, err := proto.Marshal(&msp.SerializedIdentity{
		Mspid:   id.MSPID,
		IdBytes: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
	})
	if err != nil {
		panic(err)
	}
	certCache[id] = b
	return b
}

func newCA() {
	var err error
	caKey, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test-ca"},
		NotBefore: time.Unix(0, 0), NotAfter: time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &caKey.PublicKey, caKey)
	if err != nil {
		panic(err)
	}
	caCert, _ = x509.ParseCertificate(der)
}
