package gateway

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/cachetsync/cachet/ledger"
	"github.com/hyperledger/fabric-protos-go-apiv2/common"
	"github.com/hyperledger/fabric-protos-go-apiv2/peer"
	"google.golang.org/protobuf/proto"
)

func mustMarshal(m proto.Message) []byte {
	b, err := proto.Marshal(m)
	if err != nil {
		panic(err)
	}
	return b
}

// envelope builds an endorser transaction whose chaincode action carries an
// event (nil for none).
func envelope(txID string, ev *peer.ChaincodeEvent) []byte {
	var events []byte
	if ev != nil {
		events = mustMarshal(ev)
	}
	action := mustMarshal(&peer.ChaincodeAction{Events: events})
	prp := mustMarshal(&peer.ProposalResponsePayload{Extension: action})
	ccPayload := mustMarshal(&peer.ChaincodeActionPayload{Action: &peer.ChaincodeEndorsedAction{ProposalResponsePayload: prp}})
	tx := mustMarshal(&peer.Transaction{Actions: []*peer.TransactionAction{{Payload: ccPayload}}})
	ch := mustMarshal(&common.ChannelHeader{Type: int32(common.HeaderType_ENDORSER_TRANSACTION), TxId: txID, ChannelId: "cachet"})
	return mustMarshal(&common.Envelope{Payload: mustMarshal(&common.Payload{Header: &common.Header{ChannelHeader: ch}, Data: tx})})
}

func block(num uint64, codes []peer.TxValidationCode, envs ...[]byte) *common.Block {
	flags := make([]byte, len(codes))
	for i, c := range codes {
		flags[i] = byte(c)
	}
	md := make([][]byte, 5)
	md[common.BlockMetadataIndex_TRANSACTIONS_FILTER] = flags
	return &common.Block{Header: &common.BlockHeader{Number: num}, Data: &common.BlockData{Data: envs}, Metadata: &common.BlockMetadata{Metadata: md}}
}

func TestParseBlock(t *testing.T) {
	payload, _ := json.Marshal(ledger.Event{TxID: "t0", Transitions: []ledger.Transition{{Key: "img:a", Version: 2}}})
	ours := &peer.ChaincodeEvent{ChaincodeId: "cachet", EventName: ledger.EventName, Payload: payload}
	b := block(7,
		[]peer.TxValidationCode{peer.TxValidationCode_VALID, peer.TxValidationCode_MVCC_READ_CONFLICT, peer.TxValidationCode_VALID, peer.TxValidationCode_VALID},
		envelope("t0", ours),
		envelope("t1", ours),
		envelope("t2", &peer.ChaincodeEvent{ChaincodeId: "other", EventName: ledger.EventName, Payload: payload}),
		envelope("t3", &peer.ChaincodeEvent{ChaincodeId: "cachet", EventName: ledger.EventName, Payload: []byte("{not json")}),
	)
	txs, err := parseBlock(b, "cachet")
	if err != nil {
		t.Fatal(err)
	}
	if len(txs) != 4 {
		t.Fatalf("%d transactions", len(txs))
	}
	for i, tx := range txs {
		if tx.Position.Block != 7 || tx.Position.TxIndex != uint32(i) || tx.Channel != "cachet" {
			t.Fatalf("tx %d position %v channel %q", i, tx.Position, tx.Channel)
		}
	}
	if !txs[0].Valid || txs[0].Event == nil || txs[0].Event.Transitions[0].Key != "img:a" {
		t.Fatalf("valid transaction: %+v", txs[0])
	}
	if txs[1].Valid || txs[1].Event != nil || txs[1].Code != peer.TxValidationCode_MVCC_READ_CONFLICT {
		t.Fatalf("an invalid transaction must carry its code and no event: %+v", txs[1])
	}
	if txs[2].Event != nil || txs[2].EventErr != nil {
		t.Fatalf("another chaincode's event must be ignored: %+v", txs[2])
	}
	if txs[3].Event != nil || txs[3].EventErr == nil {
		t.Fatalf("an unparsable payload must be reported, not dropped: %+v", txs[3])
	}
}

func TestParseBlockRefusesMismatchedMetadata(t *testing.T) {
	b := block(3, []peer.TxValidationCode{peer.TxValidationCode_VALID}, envelope("a", nil), envelope("b", nil))
	_, err := parseBlock(b, "cachet")
	var be *BlockError
	if !errors.As(err, &be) || be.Block != 3 {
		t.Fatalf("got %v, want BlockError for block 3", err)
	}
}
