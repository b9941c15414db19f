package receipt

import (
	"bytes"
	"crypto/sha256"
	"encoding/asn1"
	"math/big"

	"github.com/hyperledger/fabric-protos-go-apiv2/common"
	"github.com/hyperledger/fabric-protos-go-apiv2/peer"
	"google.golang.org/protobuf/proto"
)

// asn1Header is what orderers sign and chain: the header as a DER
// SEQUENCE of the number (an INTEGER of any size), the previous hash and the
// data hash, in that order.
type asn1Header struct {
	Number       *big.Int
	PreviousHash []byte
	DataHash     []byte
}

func headerBytes(number uint64, prev, data []byte) []byte {
	b, err := asn1.Marshal(asn1Header{Number: new(big.Int).SetUint64(number), PreviousHash: prev, DataHash: data})
	if err != nil {
		panic(err) // only unencodable types fail, and these are fixed
	}
	return b
}

// dataHash is Fabric's block data hash: SHA-256 over the concatenation of
// the data entries, no tree.
func dataHash(data [][]byte) []byte {
	sum := sha256.Sum256(bytes.Join(data, nil))
	return sum[:]
}

// checkBlockData proves the envelope is entry TxIndex of a block whose
// header commits to its data.
func (r *Receipt) checkBlockData() error {
	if !bytes.Equal(dataHash(r.Block.Data), r.Block.DataHash) {
		return fail(CheckBlockData, "block %d's data hashes to %x, its header says %x", r.Block.Number, dataHash(r.Block.Data), r.Block.DataHash)
	}
	if !bytes.Equal(r.Block.Data[r.TxIndex], r.Envelope) {
		return fail(CheckBlockData, "entry %d of block %d is not the receipt's envelope", r.TxIndex, r.Block.Number)
	}
	return nil
}

// checkValidationFlag reads the peer's validation code for the transaction.
func (r *Receipt) checkValidationFlag() error {
	i := int(common.BlockMetadataIndex_TRANSACTIONS_FILTER)
	if len(r.Block.Metadata) <= i || len(r.Block.Metadata[i]) != len(r.Block.Data) {
		return fail(CheckValidationFlag, "block %d has no validation flag for each of its %d transactions", r.Block.Number, len(r.Block.Data))
	}
	if code := peer.TxValidationCode(r.Block.Metadata[i][r.TxIndex]); code != peer.TxValidationCode_VALID {
		return fail(CheckValidationFlag, "transaction %s is %s", r.TxID, code)
	}
	return nil
}

// blockSignatures returns what each orderer signature in the block's
// metadata signs, with the signer's serialized identity.
func (r *Receipt) blockSignatures(consenters map[uint32][]byte) ([]signedData, error) {
	md, err := signaturesMetadata(r.Block.Metadata)
	if err != nil {
		return nil, &CheckError{Check: CheckOrdererSignature, Err: err}
	}
	hdr := headerBytes(r.Block.Number, r.Block.PreviousHash, r.Block.DataHash)
	var out []signedData
	for i, s := range md.GetSignatures() {
		if len(s.GetSignatureHeader()) > 0 {
			var sh common.SignatureHeader
			if err := proto.Unmarshal(s.GetSignatureHeader(), &sh); err != nil {
				return nil, fail(CheckOrdererSignature, "signature %d's header: %v", i, err)
			}
			out = append(out, signedData{identity: sh.GetCreator(), data: concat(md.GetValue(), s.GetSignatureHeader(), hdr), signature: s.GetSignature()})
			continue
		}
		var ih common.IdentifierHeader
		if err := proto.Unmarshal(s.GetIdentifierHeader(), &ih); err != nil {
			return nil, fail(CheckOrdererSignature, "signature %d's identifier header: %v", i, err)
		}
		// Under BFT a signature may name its orderer by consenter ID only.
		out = append(out, signedData{identity: consenters[ih.GetIdentifier()], data: concat(md.GetValue(), s.GetIdentifierHeader(), hdr), signature: s.GetSignature()})
	}
	return out, nil
}

// signedData is one signature to check; identity is a serialized
// SerializedIdentity (empty for an unknown consenter).
type signedData struct {
	identity  []byte
	data      []byte
	signature []byte
}

func concat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
