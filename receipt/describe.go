package receipt

import (
	"time"

	"github.com/cachetsync/cachet/ledger"
)

// Transaction is what an endorser transaction's envelope says, read without
// verifying anything: no signature is checked and no certificate is judged
// against a channel configuration. Use it to list and index transactions
// (an audit trail); use Verify to prove one.
type Transaction struct {
	TxID      string
	Channel   string
	Chaincode string
	Timestamp time.Time  // as the creator signed it
	Creator   Identity   // NodeRole is empty: node roles need the channel's MSPs
	Endorsers []Identity // in the order of the endorsements
	// Writes are the keys the transaction writes in its chaincode's
	// namespace (values, deletes or metadata), in write-set order.
	Writes []string
	// SetsPolicy holds, by key, the endorsement policy (in Fabric's policy
	// language) the transaction sets on a key it writes.
	SetsPolicy map[string]string
	// Event is the contract's event; nil when the transaction emitted no
	// cachet.transitions event. An invalid transaction's envelope still
	// carries the event its endorsers simulated.
	Event *ledger.Event
}

// Describe reads an endorser transaction's envelope (a block data entry).
// A malformed envelope, or one that is not an endorser transaction, is a
// *CheckError of CheckDecode.
func Describe(envelope []byte) (*Transaction, error) {
	env, err := unmarshalEnvelope(envelope)
	if err != nil {
		return nil, err
	}
	t := &Transaction{TxID: env.chdr.GetTxId(), Channel: env.chdr.GetChannelId(), Chaincode: env.cca.GetChaincodeId().GetName(),
		Timestamp: env.chdr.GetTimestamp().AsTime(), SetsPolicy: map[string]string{}}
	if t.Creator, err = describeIdentity(env.shdr.GetCreator()); err != nil {
		return nil, &CheckError{Check: CheckDecode, Err: err}
	}
	for _, e := range env.action.GetEndorsements() {
		id, err := describeIdentity(e.GetEndorser())
		if err != nil {
			return nil, &CheckError{Check: CheckDecode, Err: err}
		}
		t.Endorsers = append(t.Endorsers, id)
	}
	set, keys := setPolicies(env.rwsets[t.Chaincode])
	t.Writes = keys
	for k, b := range set {
		p, err := ParseSignaturePolicy(b)
		if err != nil {
			return nil, &CheckError{Check: CheckDecode, Err: err}
		}
		t.SetsPolicy[k] = p.String()
	}
	if t.Event, err = contractEvent(env, t.Chaincode); err != nil {
		return nil, &CheckError{Check: CheckDecode, Err: err}
	}
	return t, nil
}

// describeIdentity reads a serialized identity's organization, subject and
// cachet.role attribute, without judging the certificate.
func describeIdentity(serialized []byte) (Identity, error) {
	mspID, cert, err := parseIdentity(serialized)
	if err != nil {
		return Identity{}, err
	}
	return Identity{MSPID: mspID, Subject: cert.Subject.String(), Role: roleAttribute(cert), Certificate: cert}, nil
}
