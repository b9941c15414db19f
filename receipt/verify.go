package receipt

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/cachetsync/cachet/ledger"
	"github.com/hyperledger/fabric-protos-go-apiv2/common"
)

// Trust is what the verifier brings: the channel configuration it trusts
// and, optionally, the chaincode definition's endorsement policy.
type Trust struct {
	// Config is the channel configuration the receipt's block was made
	// under; the receipt names it by number and header hash.
	Config *ChannelConfig
	// ChaincodePolicy, if set, applies to written keys whose key-level
	// policy the receipt does not show (the chaincode definition's policy
	// lives in the ledger's state, not in the channel configuration). When
	// nil, such keys fail the endorsement-policy check.
	ChaincodePolicy Policy
}

// Proof is what a verified receipt proves.
type Proof struct {
	Channel   string
	TxID      string
	Block     uint64
	TxIndex   int
	Timestamp time.Time // the transaction's timestamp, as its creator signed it
	Creator   Identity
	Endorsers []Identity
	Orderers  []Identity // the orderers whose block signatures verified
	Chaincode string
	// Event is the contract's event (its transitions); nil when the
	// transaction emitted no cachet.transitions event.
	Event    *ledger.Event
	Policies []KeyPolicy // the endorsement policies the endorsers satisfied, per written key
}

// KeyPolicy is an endorsement policy a written key's endorsers satisfied,
// and where the policy came from.
type KeyPolicy struct {
	Key    string
	Policy string // in Fabric's policy language
	Source string // "this transaction", "transaction <id> (block <n>)" or "chaincode definition"
}

// validationParameter is the metadata entry holding a key's endorsement
// policy (a SignaturePolicyEnvelope).
const validationParameter = "VALIDATION_PARAMETER"

// Verify checks r against trust without any network access and returns
// what it proves, or a *CheckError naming the first check that failed.
func Verify(r *Receipt, trust Trust) (*Proof, error) {
	if err := r.wellFormed(true); err != nil {
		return nil, err
	}
	return verify(r, trust, true)
}

func verify(r *Receipt, trust Trust, withSources bool) (*Proof, error) {
	if err := r.checkConfig(trust.Config); err != nil {
		return nil, err
	}
	if err := r.checkBlockData(); err != nil {
		return nil, err
	}
	if err := r.checkValidationFlag(); err != nil {
		return nil, err
	}
	env, err := unmarshalEnvelope(r.Envelope)
	if err != nil {
		return nil, err
	}
	if env.chdr.GetTxId() != r.TxID || env.chdr.GetChannelId() != r.Channel {
		return nil, fail(CheckDecode, "receipt names %s on %s, its envelope holds %s on %s", r.TxID, r.Channel, env.chdr.GetTxId(), env.chdr.GetChannelId())
	}
	endorsers, err := checkEndorsementSignatures(env)
	if err != nil {
		return nil, err
	}
	if err := checkCreatorSignature(env); err != nil {
		return nil, err
	}
	creator, err := resolve(env.shdr.GetCreator(), trust.Config.MSPs)
	if err != nil {
		return nil, &CheckError{Check: CheckCertificate, Err: fmt.Errorf("creator: %w", err)}
	}
	signers := make([]*signer, len(endorsers))
	for i, e := range endorsers {
		if signers[i], err = resolve(e, trust.Config.MSPs); err != nil {
			return nil, &CheckError{Check: CheckCertificate, Err: fmt.Errorf("endorser %d: %w", i, err)}
		}
	}
	p := &Proof{Channel: r.Channel, TxID: r.TxID, Block: r.Block.Number, TxIndex: r.TxIndex,
		Timestamp: env.chdr.GetTimestamp().AsTime(), Creator: creator.identity(), Chaincode: env.cca.GetChaincodeId().GetName()}
	for _, s := range signers {
		p.Endorsers = append(p.Endorsers, s.identity())
	}
	var sources []KeyPolicySource
	if withSources {
		sources = r.KeyPolicies
	}
	if p.Policies, err = r.checkEndorsementPolicy(env, signers, sources, trust); err != nil {
		return nil, err
	}
	if p.Orderers, err = r.checkOrdererSignatures(trust.Config); err != nil {
		return nil, err
	}
	if p.Event, err = contractEvent(env, p.Chaincode); err != nil {
		return nil, &CheckError{Check: CheckDecode, Err: err}
	}
	return p, nil
}

func (r *Receipt) checkConfig(cfg *ChannelConfig) error {
	if cfg == nil {
		return fail(CheckConfig, "no trusted channel configuration")
	}
	if r.Config.Number != cfg.Number || !bytes.Equal(r.Config.HeaderHash, cfg.HeaderHash) {
		return fail(CheckConfig, "receipt names config block %d (%x), the trusted one is block %d (%x)", r.Config.Number, r.Config.HeaderHash, cfg.Number, cfg.HeaderHash)
	}
	if r.Channel != cfg.Channel {
		return fail(CheckConfig, "receipt is of channel %q, the trusted configuration of %q", r.Channel, cfg.Channel)
	}
	last, err := LastConfigIndex(&common.Block{Metadata: &common.BlockMetadata{Metadata: r.Block.Metadata}})
	if err != nil {
		return &CheckError{Check: CheckConfig, Err: err}
	}
	if last != cfg.Number {
		return fail(CheckConfig, "block %d was made under config block %d, the receipt names %d", r.Block.Number, last, cfg.Number)
	}
	return nil
}

// checkEndorsementSignatures verifies that each endorser signed the
// proposal response payload followed by its own serialized identity, and
// returns the endorsers' identities.
func checkEndorsementSignatures(env *envelope) ([][]byte, error) {
	ends := env.action.GetEndorsements()
	if len(ends) == 0 {
		return nil, fail(CheckEndorsementSignature, "transaction %s has no endorsements", env.chdr.GetTxId())
	}
	prp := env.action.GetProposalResponsePayload()
	out := make([][]byte, len(ends))
	for i, e := range ends {
		_, cert, err := parseIdentity(e.GetEndorser())
		if err == nil {
			err = verifySignature(cert, concat(prp, e.GetEndorser()), e.GetSignature())
		}
		if err != nil {
			return nil, fail(CheckEndorsementSignature, "endorsement %d: %v", i, err)
		}
		out[i] = e.GetEndorser()
	}
	return out, nil
}

// checkCreatorSignature verifies the creator's signature over the payload
// and that the transaction ID is SHA-256(nonce || creator), as Fabric
// derives it.
func checkCreatorSignature(env *envelope) error {
	_, cert, err := parseIdentity(env.shdr.GetCreator())
	if err == nil {
		err = verifySignature(cert, env.payload, env.raw.GetSignature())
	}
	if err != nil {
		return fail(CheckCreatorSignature, "creator: %v", err)
	}
	sum := sha256.Sum256(concat(env.shdr.GetNonce(), env.shdr.GetCreator()))
	if id := hex.EncodeToString(sum[:]); id != env.chdr.GetTxId() {
		return fail(CheckCreatorSignature, "transaction ID %s is not derived from its nonce and creator (%s)", env.chdr.GetTxId(), id)
	}
	return nil
}

// checkOrdererSignatures evaluates the block validation policy over the
// block signatures that verify and whose signers the channel's MSPs accept.
func (r *Receipt) checkOrdererSignatures(cfg *ChannelConfig) ([]Identity, error) {
	sigs, err := r.blockSignatures(cfg.Consenters)
	if err != nil {
		return nil, err
	}
	var signers []*signer
	var refused []error
	for i, sd := range sigs {
		s, err := resolve(sd.identity, cfg.MSPs)
		if err == nil {
			err = verifySignature(s.cert, sd.data, sd.signature)
		}
		if err != nil {
			refused = append(refused, fmt.Errorf("signature %d: %w", i, err))
			continue
		}
		if !containsSigner(signers, s) {
			signers = append(signers, s)
		}
	}
	if cfg.BlockValidation == nil || !cfg.BlockValidation.eval(signers) {
		return nil, &CheckError{Check: CheckOrdererSignature, Err: fmt.Errorf("block %d: %d of %d signatures verify, not enough for %v: %w",
			r.Block.Number, len(signers), len(sigs), cfg.BlockValidation, errors.Join(refused...))}
	}
	ids := make([]Identity, len(signers))
	for i, s := range signers {
		ids[i] = s.identity()
	}
	return ids, nil
}

func containsSigner(list []*signer, s *signer) bool {
	for _, o := range list {
		if bytes.Equal(o.serialized, s.serialized) {
			return true
		}
	}
	return false
}

// contractEvent decodes the Cachet contract's event, if the transaction
// emitted one.
func contractEvent(env *envelope, chaincodeName string) (*ledger.Event, error) {
	ev, err := env.event()
	if err != nil || ev == nil || ev.GetChaincodeId() != chaincodeName || ev.GetEventName() != ledger.EventName {
		return nil, err
	}
	var e ledger.Event
	if err := json.Unmarshal(ev.GetPayload(), &e); err != nil {
		return nil, fmt.Errorf("event payload: %w", err)
	}
	return &e, nil
}

// position orders transactions on the ledger.
func position(r *Receipt) [2]uint64 { return [2]uint64{r.Block.Number, uint64(r.TxIndex)} }

func before(a, b [2]uint64) bool { return a[0] < b[0] || (a[0] == b[0] && a[1] < b[1]) }
