package gateway

import (
	"encoding/json"
	"fmt"

	"github.com/cachetsync/cachet/chaincode"
	"github.com/cachetsync/cachet/record"
	"github.com/hyperledger/fabric-protos-go-apiv2/common"
	"github.com/hyperledger/fabric-protos-go-apiv2/peer"
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
	Event *chaincode.Event
	// EventErr is set when the contract's event payload does not parse; the
	// transaction is delivered so the caller can dead-letter it.
	EventErr error
}

// BlockError reports a block that cannot be read at all.
type BlockError struct {
	Block uint64
	Err   error
}

func (e *BlockError) Error() string { return fmt.Sprintf("block %d: %v", e.Block, e.Err) }
func (e *BlockError) Unwrap() error { return e.Err }

// parseBlock returns the block's transactions in order, with their
// validation codes and, for valid ones, the named chaincode's event.
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
		if tx.Valid && action != nil {
			ev := &peer.ChaincodeEvent{}
			if err := proto.Unmarshal(action.GetEvents(), ev); err != nil {
				tx.EventErr = fmt.Errorf("chaincode event of %s: %w", tx.TxID, err)
			} else if ev.GetChaincodeId() == chaincodeName && ev.GetEventName() == chaincode.EventName {
				var e chaincode.Event
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
// transactions, the chaincode action (nil for config and other types).
func unpackEnvelope(b []byte) (*common.ChannelHeader, *peer.ChaincodeAction, error) {
	env := &common.Envelope{}
	if err := proto.Unmarshal(b, env); err != nil {
		return nil, nil, err
	}
	payload := &common.Payload{}
	if err := proto.Unmarshal(env.GetPayload(), payload); err != nil {
		return nil, nil, err
	}
	hdr := &common.ChannelHeader{}
	if err := proto.Unmarshal(payload.GetHeader().GetChannelHeader(), hdr); err != nil {
		return nil, nil, err
	}
	if common.HeaderType(hdr.GetType()) != common.HeaderType_ENDORSER_TRANSACTION {
		return hdr, nil, nil
	}
	tx := &peer.Transaction{}
	if err := proto.Unmarshal(payload.GetData(), tx); err != nil {
		return nil, nil, err
	}
	if len(tx.GetActions()) == 0 {
		return hdr, nil, nil
	}
	ccPayload := &peer.ChaincodeActionPayload{}
	if err := proto.Unmarshal(tx.GetActions()[0].GetPayload(), ccPayload); err != nil {
		return nil, nil, err
	}
	prp := &peer.ProposalResponsePayload{}
	if err := proto.Unmarshal(ccPayload.GetAction().GetProposalResponsePayload(), prp); err != nil {
		return nil, nil, err
	}
	action := &peer.ChaincodeAction{}
	if err := proto.Unmarshal(prp.GetExtension(), action); err != nil {
		return nil, nil, err
	}
	return hdr, action, nil
}
