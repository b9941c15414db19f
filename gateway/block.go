package gateway

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/cachetsync/cachet/ledger"
	"github.com/cachetsync/cachet/receipt"
	"github.com/cachetsync/cachet/record"
	"github.com/hyperledger/fabric-protos-go-apiv2/common"
	"github.com/hyperledger/fabric-protos-go-apiv2/peer"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
)

// Transaction is one committed transaction of the contract: its ledger
// position and its one chaincode event.
type Transaction struct {
	Position record.Position
	TxID     string
	Channel  string
	Valid    bool
	Code     peer.TxValidationCode
	// Event is the contract's event; nil for invalid transactions and for
	// transactions of other chaincodes.
	Event *ledger.Event
	// EventErr is set when the contract's event payload does not parse; the
	// transaction is delivered so the caller can dead-letter it.
	EventErr error
	// Refusal describes an invalid transaction of the contract: what it
	// tried to write, who submitted it and when. It is nil for valid
	// transactions, for other chaincodes' and for envelopes that cannot
	// be read.
	Refusal *Refusal
}

// Refusal is what an invalid transaction's envelope says, read without
// verifying anything (receipt.Describe).
type Refusal struct {
	Timestamp time.Time // as the creator signed it
	Creator   string    // the creator's MSP ID
	// Keys are what it would have written: the cache keys of its event's
	// transitions and its purges' scopes (Scope.String()), or, when it
	// carries no event, the keys of its write set that are not the
	// contract's own index records (those start with a control byte).
	Keys []string
	// Event is the event its endorsers simulated; nil without one.
	Event *ledger.Event
}

// refusal describes an invalid endorser transaction of chaincodeName, or
// returns nil.
func refusal(envelope []byte, chaincodeName string) *Refusal {
	d, err := receipt.Describe(envelope)
	if err != nil || d.Chaincode != chaincodeName {
		return nil
	}
	r := &Refusal{Timestamp: d.Timestamp.UTC(), Creator: d.Creator.MSPID, Event: d.Event}
	if d.Event != nil {
		for _, t := range d.Event.Transitions {
			r.Keys = append(r.Keys, t.Key)
		}
		for _, g := range d.Event.Purges {
			r.Keys = append(r.Keys, g.Scope.String())
		}
		return r
	}
	for _, k := range d.Writes {
		if k != "" && k[0] >= 0x20 {
			r.Keys = append(r.Keys, k)
		}
	}
	return r
}

// BlockError reports a block that cannot be read at all.
type BlockError struct {
	Block uint64
	Err   error
}

func (e *BlockError) Error() string { return fmt.Sprintf("block %d: %v", e.Block, e.Err) }
func (e *BlockError) Unwrap() error { return e.Err }

// parseBlock returns the block's transactions in order, with their
// validation codes and, for valid ones, the named chaincode's event; for
// invalid ones of the chaincode, their Refusal.
func parseBlock(b *common.Block, chaincodeName string) ([]Transaction, error) {
	num := b.GetHeader().GetNumber()
	data := b.GetData().GetData()
	var flags []byte
	if md := b.GetMetadata().GetMetadata(); len(md) > int(common.BlockMetadataIndex_TRANSACTIONS_FILTER) {
		flags = md[common.BlockMetadataIndex_TRANSACTIONS_FILTER]
	}
	if len(flags) != len(data) {
		return nil, &BlockError{Block: num, Err: fmt.Errorf("%d transactions but %d validation codes", len(data), len(flags))}
	}
	txs := make([]Transaction, 0, len(data))
	for i, envBytes := range data {
		tx := Transaction{Position: record.Position{Block: num, TxIndex: uint32(i)}, Code: peer.TxValidationCode(flags[i])}
		tx.Valid = tx.Code == peer.TxValidationCode_VALID
		hdr, action, err := unpackEnvelope(envBytes)
		if err != nil {
			return nil, &BlockError{Block: num, Err: fmt.Errorf("transaction %d: %w", i, err)}
		}
		tx.TxID, tx.Channel = hdr.GetTxId(), hdr.GetChannelId()
		if !tx.Valid && action != nil {
			tx.Refusal = refusal(envBytes, chaincodeName)
		}
		if tx.Valid && action != nil {
			ev := &peer.ChaincodeEvent{}
			if err := proto.Unmarshal(action.GetEvents(), ev); err != nil {
				tx.EventErr = fmt.Errorf("chaincode event of %s: %w", tx.TxID, err)
			} else if ev.GetChaincodeId() == chaincodeName && ev.GetEventName() == ledger.EventName {
				var e ledger.Event
				if err := json.Unmarshal(ev.GetPayload(), &e); err != nil {
					tx.EventErr = fmt.Errorf("event payload of %s: %w", tx.TxID, err)
				} else {
					tx.Event = &e
				}
			}
		}
		txs = append(txs, tx)
	}
	return txs, nil
}

// unpackEnvelope returns the channel header and, for endorser
// transactions, the chaincode action (nil for config and other types) with
// only its events. It walks the nested messages on the wire instead of
// unmarshalling them, so the read-write sets and endorsements, most of a
// transaction's bytes, are neither copied nor decoded.
func unpackEnvelope(b []byte) (*common.ChannelHeader, *peer.ChaincodeAction, error) {
	payload, err := wireField(b, 1, false) // Envelope.payload
	if err != nil {
		return nil, nil, err
	}
	header, err := wireField(payload, 1, false) // Payload.header
	if err != nil {
		return nil, nil, err
	}
	chBytes, err := wireField(header, 1, false) // Header.channel_header
	if err != nil {
		return nil, nil, err
	}
	hdr := &common.ChannelHeader{}
	if err := proto.Unmarshal(chBytes, hdr); err != nil {
		return nil, nil, err
	}
	if common.HeaderType(hdr.GetType()) != common.HeaderType_ENDORSER_TRANSACTION {
		return hdr, nil, nil
	}
	data, err := wireField(payload, 2, false) // Payload.data: a Transaction
	if err != nil {
		return nil, nil, err
	}
	action, err := wireField(data, 1, true) // Transaction.actions[0]
	if err != nil || action == nil {
		return hdr, nil, err
	}
	b = action
	// TransactionAction.payload → ChaincodeActionPayload.action →
	// ChaincodeEndorsedAction.proposal_response_payload →
	// ProposalResponsePayload.extension (a ChaincodeAction) → its events.
	for _, num := range []protowire.Number{2, 2, 1, 2, 2} {
		if b, err = wireField(b, num, false); err != nil {
			return nil, nil, err
		}
	}
	return hdr, &peer.ChaincodeAction{Events: b}, nil
}

// wireField returns the value of a length-delimited field of an encoded
// message without copying it: the last occurrence, as proto.Unmarshal
// keeps for a singular field, or the first (first == true, element 0 of a
// repeated field). An absent field is nil.
func wireField(b []byte, num protowire.Number, first bool) ([]byte, error) {
	var found []byte
	for len(b) > 0 {
		n, typ, l := protowire.ConsumeTag(b)
		if l < 0 {
			return nil, protowire.ParseError(l)
		}
		b = b[l:]
		if n == num && typ == protowire.BytesType {
			v, l := protowire.ConsumeBytes(b)
			if l < 0 {
				return nil, protowire.ParseError(l)
			}
			if first {
				return v, nil
			}
			found, b = v, b[l:]
			continue
		}
		if l = protowire.ConsumeFieldValue(n, typ, b); l < 0 {
			return nil, protowire.ParseError(l)
		}
		b = b[l:]
	}
	return found, nil
}
