package receipt

import (
	"crypto/x509"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/hyperledger/fabric-protos-go-apiv2/common"
	"google.golang.org/protobuf/proto"
)

func readBlock(t testing.TB, name string) *common.Block {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(fixtures, name))
	if err != nil {
		t.Fatal(err)
	}
	var blk common.Block
	if err := proto.Unmarshal(b, &blk); err != nil {
		t.Fatal(err)
	}
	return &blk
}

// writeCADir writes each MSP's root CAs of cfg into dir as an MSP folder
// layout (dir/<MSP ID>/cacerts/ca-<n>.pem).
func writeCADir(t *testing.T, dir string, cfg *ChannelConfig) {
	t.Helper()
	for id, m := range cfg.MSPs {
		d := filepath.Join(dir, id, "cacerts")
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		for i, c := range m.Roots {
			b := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
			if err := os.WriteFile(filepath.Join(d, "ca-"+string(rune('0'+i))+".pem"), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// TestTrustCAs verifies the recorded receipts with the configuration block
// they carry and the network's root CAs, and refuses them when the CAs
// are another network's, an org's CAs are filed under another org, or the
// carried block is missing or not the one the receipt names.
func TestTrustCAs(t *testing.T) {
	own, other := t.TempDir(), t.TempDir()
	writeCADir(t, own, readConfig(t, "config.block"))
	writeCADir(t, other, readConfig(t, "other-network-config.block"))
	ownCAs, err := ReadCADir(own)
	if err != nil {
		t.Fatal(err)
	}
	otherCAs, err := ReadCADir(other)
	if err != nil {
		t.Fatal(err)
	}
	swapped := map[string][]*x509.Certificate{"Org1MSP": ownCAs["Org2MSP"], "Org2MSP": ownCAs["Org1MSP"]}
	for id, cas := range ownCAs {
		if id != "Org1MSP" && id != "Org2MSP" {
			swapped[id] = cas
		}
	}
	carrying := func(t *testing.T, name string) *Receipt {
		r := readReceipt(t, name)
		if err := r.EmbedConfig(readBlock(t, "config.block")); err != nil {
			t.Fatal(err)
		}
		return clone(t, r) // through its JSON form, as a verifier reads it
	}
	for _, name := range []string{"publish.json", "invalidate.json"} {
		t.Run(name, func(t *testing.T) {
			r := carrying(t, name)
			trust, err := TrustCAs(r, ownCAs)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := Verify(r, trust); err != nil {
				t.Fatalf("with the network's CAs: %v", err)
			}
			for what, cas := range map[string]map[string][]*x509.Certificate{"another network's CAs": otherCAs, "org CAs swapped": swapped} {
				trust, err := TrustCAs(r, cas)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := Verify(r, trust); checkOf(err) != CheckCertificate {
					t.Errorf("%s: %v, want the %s check", what, err, CheckCertificate)
				}
			}
		})
	}
	if _, err := TrustCAs(readReceipt(t, "publish.json"), ownCAs); !errors.Is(err, ErrNoConfigBlock) || checkOf(err) != CheckConfig {
		t.Errorf("receipt without a configuration block: %v", err)
	}
	r := carrying(t, "publish.json")
	otherBlock, err := proto.Marshal(readBlock(t, "other-network-config.block"))
	if err != nil {
		t.Fatal(err)
	}
	r.ConfigBlock = otherBlock
	if _, err := TrustCAs(r, otherCAs); checkOf(err) != CheckConfig {
		t.Errorf("another network's configuration block carried: %v, want the %s check", err, CheckConfig)
	}
	if err := r.EmbedConfig(readBlock(t, "other-network-config.block")); err == nil {
		t.Error("EmbedConfig took a block the receipt does not name")
	}
}
