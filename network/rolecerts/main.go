// Command rolecerts issues Cachet's role identities for a cryptogen tree:
// per peer org, a publisher, an invalidator and an auditor, each an MSP
// folder whose client certificate is signed by the org's CA and carries the
// cachet.role attribute where Fabric CA puts attributes (X.509 extension
// 1.2.3.4.5.6.7.8.1, JSON {"attrs":{"cachet.role":"…"}}). cryptogen cannot
// add extensions, so this does what Fabric CA's enrollment would.
package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/json"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
)

var attrOID = asn1.ObjectIdentifier{1, 2, 3, 4, 5, 6, 7, 8, 1}

// Roles issued for every org.
var roles = []string{"publisher", "invalidator", "auditor"}

func main() {
	crypto := flag.String("crypto", "", "cryptogen output folder (holds peerOrganizations/)")
	flag.Parse()
	if *crypto == "" {
		fmt.Fprintln(os.Stderr, "rolecerts: --crypto is required")
		os.Exit(2)
	}
	orgs, err := filepath.Glob(filepath.Join(*crypto, "peerOrganizations", "*"))
	if err == nil && len(orgs) == 0 {
		err = errors.New("no peer organizations under " + *crypto)
	}
	for _, org := range orgs {
		if err != nil {
			break
		}
		for _, role := range roles {
			if err = issue(org, role); err != nil {
				break
			}
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "rolecerts:", err)
		os.Exit(1)
	}
}

// issue writes <org>/users/<Role>@<domain>/msp.
func issue(orgDir, role string) error {
	domain := filepath.Base(orgDir)
	caCert, caKey, caPEM, err := loadCA(filepath.Join(orgDir, "ca"), domain)
	if err != nil {
		return err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	attrs, err := json.Marshal(map[string]map[string]string{"attrs": {"cachet.role": role}})
	if err != nil {
		return err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		return err
	}
	pub, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return err
	}
	ski := sha256.Sum256(pub)
	name := fmt.Sprintf("%s@%s", role, domain)
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject: pkix.Name{
			CommonName: name, Country: []string{"US"}, Province: []string{"California"}, Locality: []string{"San Francisco"},
			OrganizationalUnit: []string{"client"},
		},
		// Fabric's MSP checks a chain at "NotBefore + 1s" rather than the
		// clock, so a certificate must not start before its CA does.
		NotBefore:       caCert.NotBefore,
		NotAfter:        caCert.NotAfter,
		KeyUsage:        x509.KeyUsageDigitalSignature,
		SubjectKeyId:    ski[:],
		ExtraExtensions: []pkix.Extension{{Id: attrOID, Value: attrs}},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &key.PublicKey, caKey)
	if err != nil {
		return err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return err
	}
	msp := filepath.Join(orgDir, "users", upperFirst(role)+"@"+domain, "msp")
	files := map[string][]byte{
		filepath.Join(msp, "signcerts", name+"-cert.pem"):       pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		filepath.Join(msp, "keystore", "priv_sk"):               pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}),
		filepath.Join(msp, "cacerts", "ca."+domain+"-cert.pem"): caPEM,
	}
	if cfg, err := os.ReadFile(filepath.Join(orgDir, "msp", "config.yaml")); err == nil {
		files[filepath.Join(msp, "config.yaml")] = cfg
	}
	if tls, err := os.ReadFile(filepath.Join(orgDir, "tlsca", "tlsca."+domain+"-cert.pem")); err == nil {
		files[filepath.Join(msp, "tlscacerts", "tlsca."+domain+"-cert.pem")] = tls
	}
	for path, b := range files {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(path, b, 0o600); err != nil {
			return err
		}
	}
	return nil
}

func loadCA(dir, domain string) (*x509.Certificate, any, []byte, error) {
	certPEM, err := os.ReadFile(filepath.Join(dir, "ca."+domain+"-cert.pem"))
	if err != nil {
		return nil, nil, nil, err
	}
	block, _ := pem.Decode(certPEM)
	if block == nil {
		return nil, nil, nil, fmt.Errorf("%s: no PEM certificate", dir)
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return nil, nil, nil, err
	}
	keyPEM, err := os.ReadFile(filepath.Join(dir, "priv_sk"))
	if err != nil {
		return nil, nil, nil, err
	}
	kb, _ := pem.Decode(keyPEM)
	if kb == nil {
		return nil, nil, nil, fmt.Errorf("%s/priv_sk: no PEM key", dir)
	}
	key, err := x509.ParsePKCS8PrivateKey(kb.Bytes)
	if err != nil {
		return nil, nil, nil, err
	}
	return cert, key, certPEM, nil
}

func upperFirst(s string) string { return string(s[0]-'a'+'A') + s[1:] }
