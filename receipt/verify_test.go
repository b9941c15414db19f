package receipt

import (
	"crypto/elliptic"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"math/big"
	"strings"
	"testing"

	"github.com/hyperledger/fabric-protos-go-apiv2/common"
	"github.com/hyperledger/fabric-protos-go-apiv2/ledger/rwset/kvrwset"
	"github.com/hyperledger/fabric-protos-go-apiv2/peer"
	"google.golang.org/protobuf/proto"

	"github.com/cachetsync/cachet/ledger"
)

func TestVerifyRecordedReceipts(t *testing.T) {
	tests := []struct {
		file          string
		creatorMSP    string
		creatorRole   string
		op            ledger.Op
		version       uint64
		endorserMSPs  []string // each must be among the endorsers
		policySources []string // each must be among the policies' sources
	}{
		{"publish.json", "Org1MSP", "publisher", ledger.OpPublish, 1, []string{"Org1MSP"}, []string{"this transaction"}},
		// Org2's gateway asks Org1's peer alone: it satisfies both the key's
		// policy and the chaincode's OR of the orgs' peers.
		{"invalidate.json", "Org2MSP", "invalidator", ledger.OpInvalidate, 2, []string{"Org1MSP"}, []string{"transaction "}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			r := readReceipt(t, tt.file)
			p, err := Verify(r, trusted(t))
			if err != nil {
				t.Fatal(err)
			}
			if p.Creator.MSPID != tt.creatorMSP || p.Creator.Role != tt.creatorRole || p.Creator.NodeRole != "client" {
				t.Errorf("creator %+v, want %s %s client", p.Creator, tt.creatorMSP, tt.creatorRole)
			}
			if p.Event == nil || len(p.Event.Transitions) != 1 || p.Event.Transitions[0].Op != tt.op || p.Event.Transitions[0].Version != tt.version {
				t.Fatalf("event %+v, want one %s to version %d", p.Event, tt.op, tt.version)
			}
			if p.Event.TxID != r.TxID || p.Event.Actor != tt.creatorMSP || p.Timestamp.IsZero() {
				t.Errorf("event %+v at %v does not match the transaction %s", p.Event, p.Timestamp, r.TxID)
			}
			var msps []string
			for _, e := range p.Endorsers {
				if e.NodeRole != "peer" {
					t.Errorf("endorser %s has node role %q", e.Subject, e.NodeRole)
				}
				msps = append(msps, e.MSPID)
			}
			for _, want := range tt.endorserMSPs {
				if !contains(msps, want) {
					t.Errorf("endorsers %v, want %s among them", msps, want)
				}
			}
			var sources []string
			for _, kp := range p.Policies {
				sources = append(sources, kp.Source)
				if kp.Key == p.Event.Transitions[0].Key && kp.Policy != "'Org1MSP.peer'" {
					t.Errorf("policy of the entry %s, want Org1's peers", kp.Policy)
				}
			}
			for _, want := range tt.policySources {
				if !strings.Contains(strings.Join(sources, "|"), want) {
					t.Errorf("policy sources %v, want %q", sources, want)
				}
			}
			if len(p.Orderers) == 0 || p.Orderers[0].MSPID != "OrdererMSP" || p.Orderers[0].NodeRole != "orderer" {
				t.Errorf("orderers %+v", p.Orderers)
			}
		})
	}
}

// The peer flags a transaction invalid in block metadata nobody signs. A
// refused transaction whose flag is turned to VALID is still caught when
// its endorsers do not satisfy the key's policy.
func TestRefusedTransaction(t *testing.T) {
	r := readReceipt(t, "refused.json")
	if _, err := Verify(r, trusted(t)); checkOf(err) != CheckValidationFlag {
		t.Fatalf("refused transaction: %v, want the %s check", err, CheckValidationFlag)
	}
	r.Block.Metadata[common.BlockMetadataIndex_TRANSACTIONS_FILTER][r.TxIndex] = byte(peer.TxValidationCode_VALID)
	if _, err := Verify(r, trusted(t)); checkOf(err) != CheckEndorsementPolicy {
		t.Fatalf("refused transaction flagged VALID: %v, want the %s check", err, CheckEndorsementPolicy)
	}
	// Without the receipt of the transaction that set Org1's policy, the
	// chaincode definition's OR of both orgs' peers is all a verifier can
	// apply, and the Org2 peer satisfies it: the source receipt is what
	// makes the check meaningful.
	r.KeyPolicies = nil
	trust := trusted(t)
	trust.ChaincodePolicy = anyPeerOf("Org1MSP", "Org2MSP")
	p, err := Verify(r, trust)
	if err != nil || p.Policies[0].Source != "chaincode definition" {
		t.Fatalf("with the chaincode policy only: %+v, %v", p, err)
	}
}

func TestChaincodePolicyApplies(t *testing.T) {
	r := readReceipt(t, "invalidate.json")
	r.KeyPolicies = nil
	if _, err := Verify(r, trusted(t)); checkOf(err) != CheckEndorsementPolicy {
		t.Fatalf("no policy source, no chaincode policy: %v", err)
	}
	trust := trusted(t)
	trust.ChaincodePolicy = anyPeerOf("Org3MSP")
	if _, err := Verify(r, trust); checkOf(err) != CheckEndorsementPolicy {
		t.Fatalf("chaincode policy nobody satisfies: %v", err)
	}
}

func checkOf(err error) Check {
	var ce *CheckError
	if errors.As(err, &ce) {
		return ce.Check
	}
	return ""
}

// flip changes one byte of b in place.
func flip(b []byte, i int) { b[i%len(b)] ^= 0x01 }

func TestTamperedReceiptsAreRefused(t *testing.T) {
	base := readReceipt(t, "invalidate.json")
	nEnd := len(openTx(t, base.Envelope).cap.Action.Endorsements)
	// A real peer of the other org: the refused transaction's endorser.
	org2Peer := openTx(t, readReceipt(t, "refused.json").Envelope).cap.Action.Endorsements[0].Endorser
	type mutation struct {
		name   string
		change func(t *testing.T, r *Receipt, trust *Trust)
		want   Check
	}
	resealed := func(edit func(x *tx)) func(t *testing.T, r *Receipt, _ *Trust) {
		return func(t *testing.T, r *Receipt, _ *Trust) {
			x := openTx(t, r.Envelope)
			edit(x)
			replaceEnvelope(r, x.seal(t))
		}
	}
	mutations := []mutation{
		{"envelope byte", func(t *testing.T, r *Receipt, _ *Trust) { flip(r.Envelope, len(r.Envelope)/2) }, CheckBlockData},
		{"block data byte", func(t *testing.T, r *Receipt, _ *Trust) { flip(r.Block.Data[r.TxIndex], 100) }, CheckBlockData},
		{"creator signature byte", resealed(func(x *tx) { flip(x.env.Signature, len(x.env.Signature)-1) }), CheckCreatorSignature},
		{"creator signature malleated to high S", resealed(func(x *tx) { x.env.Signature = highS(t, x.env.Signature) }), CheckCreatorSignature},
		{"creator swapped for an endorser", resealed(func(x *tx) { x.shdr.Creator = x.cap.Action.Endorsements[0].Endorser }), CheckCreatorSignature},
		{"transaction timestamp", resealed(func(x *tx) {
			var ch common.ChannelHeader
			must(t, proto.Unmarshal(x.payload.Header.ChannelHeader, &ch))
			ch.Timestamp.Seconds--
			x.payload.Header.ChannelHeader = marshal(t, &ch)
		}), CheckCreatorSignature},
		{"write set value", resealed(func(x *tx) { flip(firstWrite(t, x).Value, 10) }), CheckEndorsementSignature},
		{"write set key", resealed(func(x *tx) { firstWrite(t, x).Key += "x" }), CheckEndorsementSignature},
		{"event payload", resealed(func(x *tx) { flip(x.cca.Events, len(x.cca.Events)-3) }), CheckEndorsementSignature},
		{"validation flag", func(t *testing.T, r *Receipt, _ *Trust) {
			r.Block.Metadata[common.BlockMetadataIndex_TRANSACTIONS_FILTER][r.TxIndex] = byte(peer.TxValidationCode_MVCC_READ_CONFLICT)
		}, CheckValidationFlag},
		{"block number", func(t *testing.T, r *Receipt, _ *Trust) { r.Block.Number++ }, CheckOrdererSignature},
		{"previous hash", func(t *testing.T, r *Receipt, _ *Trust) { flip(r.Block.PreviousHash, 0) }, CheckOrdererSignature},
		{"data hash", func(t *testing.T, r *Receipt, _ *Trust) { flip(r.Block.DataHash, 0) }, CheckBlockData},
		{"orderer signature byte", editSignatures(func(md *common.Metadata) { flip(md.Signatures[0].Signature, 20) }), CheckOrdererSignature},
		{"orderer signatures removed", editSignatures(func(md *common.Metadata) { md.Signatures = nil }), CheckOrdererSignature},
		{"orderer metadata value", editSignatures(func(md *common.Metadata) { md.Value = append(md.Value, 0x08, 0x01) }), CheckOrdererSignature},
		{"last config index", editSignatures(func(md *common.Metadata) {
			md.Value = marshal(t, &common.OrdererBlockMetadata{LastConfig: &common.LastConfig{Index: 7}})
		}), CheckConfig},
		{"key policy source removed", func(t *testing.T, r *Receipt, _ *Trust) { r.KeyPolicies = nil }, CheckEndorsementPolicy},
		{"key policy source for another key", func(t *testing.T, r *Receipt, _ *Trust) { r.KeyPolicies[0].Key = "img:other" }, CheckEndorsementPolicy},
		{"key policy source tampered", func(t *testing.T, r *Receipt, _ *Trust) { flip(r.KeyPolicies[0].Receipt.Envelope, 50) }, CheckBlockData},
		{"key policy source after the transaction", func(t *testing.T, r *Receipt, _ *Trust) { r.KeyPolicies[0].Receipt.Block.Number = r.Block.Number + 1 }, CheckEndorsementPolicy},
		{"Org2's CA replaced (creator)", replaceCA("Org2MSP"), CheckCertificate},
		{"Org1's CA replaced (endorser)", replaceCA("Org1MSP"), CheckCertificate},
		{"orderers' CA replaced", replaceCA("OrdererMSP"), CheckOrdererSignature},
		{"node OUs renamed", func(t *testing.T, _ *Receipt, trust *Trust) {
			trust.Config.MSPs["Org1MSP"].NodeOUs = &NodeOUs{Client: "c", Peer: "p", Admin: "a", Orderer: "o"}
		}, CheckCertificate},
		{"another configuration block", func(t *testing.T, _ *Receipt, trust *Trust) { flip(trust.Config.HeaderHash, 0) }, CheckConfig},
		{"no configuration", func(t *testing.T, _ *Receipt, trust *Trust) { trust.Config = nil }, CheckConfig},
	}
	for i := range nEnd {
		mutations = append(mutations,
			mutation{"endorsement signature " + string(rune('0'+i)), resealed(func(x *tx) {
				flip(x.cap.Action.Endorsements[i].Signature, 30)
			}), CheckEndorsementSignature},
			mutation{"endorser " + string(rune('0'+i)) + " swapped for Org2's peer", resealed(func(x *tx) {
				x.cap.Action.Endorsements[i].Endorser = org2Peer
			}), CheckEndorsementSignature},
			mutation{"endorser " + string(rune('0'+i)) + " swapped for the creator", resealed(func(x *tx) {
				x.cap.Action.Endorsements[i].Endorser = x.shdr.Creator
			}), CheckEndorsementSignature},
		)
	}
	if _, err := Verify(base, trusted(t)); err != nil {
		t.Fatalf("untouched receipt: %v", err)
	}
	for _, m := range mutations {
		t.Run(m.name, func(t *testing.T) {
			r, trust := clone(t, base), trusted(t)
			m.change(t, r, &trust)
			_, err := Verify(r, trust)
			if got := checkOf(err); got != m.want {
				t.Fatalf("check %q (%v), want %q", got, err, m.want)
			}
		})
	}
}

func firstWrite(t *testing.T, x *tx) *kvrwset.KVWrite {
	for _, kv := range x.kv {
		if len(kv.Writes) > 0 {
			return kv.Writes[0]
		}
	}
	t.Fatal("no write in the transaction")
	return nil
}

func editSignatures(edit func(md *common.Metadata)) func(t *testing.T, r *Receipt, _ *Trust) {
	return func(t *testing.T, r *Receipt, _ *Trust) {
		var md common.Metadata
		must(t, proto.Unmarshal(r.Block.Metadata[common.BlockMetadataIndex_SIGNATURES], &md))
		edit(&md)
		r.Block.Metadata[common.BlockMetadataIndex_SIGNATURES] = marshal(t, &md)
	}
}

func replaceCA(mspID string) func(t *testing.T, _ *Receipt, trust *Trust) {
	return func(t *testing.T, _ *Receipt, trust *Trust) {
		ca, _ := newCA(t, "ca.elsewhere")
		trust.Config.MSPs[mspID].Roots = []*x509.Certificate{ca}
	}
}

// highS returns the other valid ECDSA signature, (r, N-s).
func highS(t *testing.T, sig []byte) []byte {
	var rs struct{ R, S *big.Int }
	_, err := asn1.Unmarshal(sig, &rs)
	must(t, err)
	n := elliptic.P256().Params().N
	out, err := asn1.Marshal(struct{ R, S *big.Int }{rs.R, new(big.Int).Sub(n, rs.S)})
	must(t, err)
	return out
}

// A second network recorded the same way (its own crypto material) is a
// different trust: its configuration is not the one the receipt names, and
// even made to name it, its CAs do not vouch for this network's members.
func TestOtherNetworkTrustRefuses(t *testing.T) {
	r := readReceipt(t, "invalidate.json")
	other := readConfig(t, "other-network-config.block")
	if _, err := Verify(r, Trust{Config: other}); checkOf(err) != CheckConfig {
		t.Fatalf("other network's configuration: %v, want the %s check", err, CheckConfig)
	}
	other.Number, other.HeaderHash = r.Config.Number, r.Config.HeaderHash
	if _, err := Verify(r, Trust{Config: other}); checkOf(err) != CheckCertificate {
		t.Fatalf("other network's CAs under this network's reference: %v, want the %s check", err, CheckCertificate)
	}
}
