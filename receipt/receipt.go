package receipt

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/hyperledger/fabric-protos-go-apiv2/common"
	"google.golang.org/protobuf/proto"
)

// FormatVersion is the receipt format this package writes and reads.
const FormatVersion = 1

// MaxSize bounds a receipt's JSON; larger input is refused before parsing.
const MaxSize = 16 << 20

// Receipt is a self-contained proof that a transaction committed. Its JSON
// form is the exchange format; byte fields are base64.
type Receipt struct {
	Version int    `json:"version"`
	Channel string `json:"channel"`
	TxID    string `json:"txId"`
	// Envelope is the transaction as the client submitted it; it must be
	// Block.Data[TxIndex].
	Envelope []byte    `json:"envelope"`
	TxIndex  int       `json:"txIndex"`
	Block    Block     `json:"block"`
	Config   ConfigRef `json:"config"`
	// ConfigBlock, when present, is the channel configuration block Config
	// names (protobuf), so a verifier that trusts certificate authorities
	// rather than a configuration block can check the receipt (TrustCAs).
	ConfigBlock []byte `json:"configBlock,omitempty"`
	// KeyPolicies carry, for keys the transaction writes without setting
	// their endorsement policy, the receipt of an earlier transaction that
	// set it. A source's own KeyPolicies must be empty.
	KeyPolicies []KeyPolicySource `json:"keyPolicies,omitempty"`
}

// Block is the block holding the transaction: its header, every data entry
// (to recompute the data hash) and its metadata (orderer signatures,
// validation flags).
type Block struct {
	Number       uint64   `json:"number"`
	PreviousHash []byte   `json:"previousHash"`
	DataHash     []byte   `json:"dataHash"`
	Data         [][]byte `json:"data"`
	Metadata     [][]byte `json:"metadata"`
}

// ConfigRef names the channel configuration block in force for the block:
// its number and the SHA-256 of its header (which commits to its data).
type ConfigRef struct {
	Number     uint64 `json:"number"`
	HeaderHash []byte `json:"headerHash"`
}

// KeyPolicySource is the receipt of the transaction that last set Key's
// endorsement policy before the receipt's own transaction.
type KeyPolicySource struct {
	Key     string   `json:"key"`
	Receipt *Receipt `json:"receipt"`
}

// New makes the receipt of the transaction at txIndex of block, under the
// channel configuration in configBlock (the block that block's last-config
// index names).
func New(block *common.Block, txIndex int, configBlock *common.Block) (*Receipt, error) {
	data := block.GetData().GetData()
	if txIndex < 0 || txIndex >= len(data) {
		return nil, fmt.Errorf("receipt: transaction index %d outside block %d's %d transactions", txIndex, block.GetHeader().GetNumber(), len(data))
	}
	last, err := LastConfigIndex(block)
	if err != nil {
		return nil, err
	}
	if n := configBlock.GetHeader().GetNumber(); n != last {
		return nil, fmt.Errorf("receipt: block %d names config block %d, got %d", block.GetHeader().GetNumber(), last, n)
	}
	env, err := unmarshalEnvelope(data[txIndex])
	if err != nil {
		return nil, err
	}
	h := block.GetHeader()
	return &Receipt{
		Version:  FormatVersion,
		Channel:  env.chdr.GetChannelId(),
		TxID:     env.chdr.GetTxId(),
		Envelope: data[txIndex],
		TxIndex:  txIndex,
		Block: Block{
			Number: h.GetNumber(), PreviousHash: h.GetPreviousHash(), DataHash: h.GetDataHash(),
			Data: data, Metadata: block.GetMetadata().GetMetadata(),
		},
		Config: ConfigRef{Number: last, HeaderHash: HeaderHash(configBlock.GetHeader())},
	}, nil
}

// EmbedConfig stores configBlock, the configuration block r names, in r.
func (r *Receipt) EmbedConfig(configBlock *common.Block) error {
	if n, h := configBlock.GetHeader().GetNumber(), HeaderHash(configBlock.GetHeader()); n != r.Config.Number || !bytes.Equal(h, r.Config.HeaderHash) {
		return fmt.Errorf("receipt: names config block %d, got block %d", r.Config.Number, n)
	}
	b, err := proto.Marshal(configBlock)
	if err != nil {
		return err
	}
	r.ConfigBlock = b
	return nil
}

// Decode parses a receipt's JSON. It checks the format, not the proof:
// that is Verify's job.
func Decode(b []byte) (*Receipt, error) {
	if len(b) > MaxSize {
		return nil, fail(CheckDecode, "%d bytes, more than %d", len(b), MaxSize)
	}
	var r Receipt
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		return nil, &CheckError{Check: CheckDecode, Err: err}
	}
	if dec.More() {
		return nil, fail(CheckDecode, "data after the receipt")
	}
	if err := r.wellFormed(true); err != nil {
		return nil, err
	}
	return &r, nil
}

// Encode returns the receipt's JSON.
func (r *Receipt) Encode() ([]byte, error) { return json.MarshalIndent(r, "", " ") }

func (r *Receipt) wellFormed(sourcesAllowed bool) error {
	switch {
	case r == nil:
		return fail(CheckDecode, "no receipt")
	case r.Version != FormatVersion:
		return fail(CheckDecode, "format version %d, this package reads %d", r.Version, FormatVersion)
	case r.TxIndex < 0 || r.TxIndex >= len(r.Block.Data):
		return fail(CheckDecode, "transaction index %d outside the block's %d transactions", r.TxIndex, len(r.Block.Data))
	case len(r.Config.HeaderHash) != sha256.Size:
		return fail(CheckDecode, "config header hash of %d bytes", len(r.Config.HeaderHash))
	case !sourcesAllowed && len(r.KeyPolicies) > 0:
		return fail(CheckDecode, "a key policy source carries key policy sources of its own")
	}
	for _, s := range r.KeyPolicies {
		if s.Receipt == nil {
			return fail(CheckDecode, "key policy source of %q has no receipt", s.Key)
		}
		if err := s.Receipt.wellFormed(false); err != nil {
			return err
		}
	}
	return nil
}

// HeaderHash is the SHA-256 of a block header's ASN.1 encoding, the hash a
// block's successor records as its previous hash.
func HeaderHash(h *common.BlockHeader) []byte {
	sum := sha256.Sum256(headerBytes(h.GetNumber(), h.GetPreviousHash(), h.GetDataHash()))
	return sum[:]
}

// LastConfigIndex returns the number of the configuration block in force for
// block, as the orderers' signed metadata records it.
func LastConfigIndex(block *common.Block) (uint64, error) {
	md, err := signaturesMetadata(block.GetMetadata().GetMetadata())
	if err != nil {
		return 0, err
	}
	var obm common.OrdererBlockMetadata
	if err := proto.Unmarshal(md.GetValue(), &obm); err != nil {
		return 0, fmt.Errorf("receipt: orderer block metadata: %w", err)
	}
	if obm.GetLastConfig() == nil {
		return 0, errors.New("receipt: block metadata names no last config")
	}
	return obm.GetLastConfig().GetIndex(), nil
}

func signaturesMetadata(metadata [][]byte) (*common.Metadata, error) {
	i := int(common.BlockMetadataIndex_SIGNATURES)
	if len(metadata) <= i {
		return nil, fmt.Errorf("receipt: block metadata has %d entries, no signatures", len(metadata))
	}
	var md common.Metadata
	if err := proto.Unmarshal(metadata[i], &md); err != nil {
		return nil, fmt.Errorf("receipt: signatures metadata: %w", err)
	}
	return &md, nil
}
