package gateway

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/cachetsync/cachet/ledger"
	"github.com/cachetsync/cachet/receipt"
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

// refusedBlock is the block of a transaction recorded on the real network
// that failed its endorsement policy (Org2's invalidator endorsed by Org2
// alone), with its envelope passed through edit.
func refusedBlock(t *testing.T, edit func(env []byte) []byte) (*common.Block, *receipt.Receipt) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "testdata", "receipt", "refused.json"))
	if err != nil {
		t.Fatal(err)
	}
	r, err := receipt.Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	data := append([][]byte(nil), r.Block.Data...)
	data[r.TxIndex] = edit(data[r.TxIndex])
	return &common.Block{Header: &common.BlockHeader{Number: r.Block.Number}, Data: &common.BlockData{Data: data},
		Metadata: &common.BlockMetadata{Metadata: r.Block.Metadata}}, r
}

// withoutEvent removes the chaincode event from an endorser transaction.
func withoutEvent(t *testing.T, envBytes []byte) []byte {
	t.Helper()
	var env common.Envelope
	var payload common.Payload
	var tx peer.Transaction
	var cap peer.ChaincodeActionPayload
	var prp peer.ProposalResponsePayload
	var cca peer.ChaincodeAction
	if err := proto.Unmarshal(envBytes, &env); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		b func() []byte
		m proto.Message
	}{
		{env.GetPayload, &payload}, {payload.GetData, &tx}, {func() []byte { return tx.GetActions()[0].GetPayload() }, &cap},
		{func() []byte { return cap.GetAction().GetProposalResponsePayload() }, &prp}, {prp.GetExtension, &cca},
	}
	for _, s := range steps {
		if err := proto.Unmarshal(s.b(), s.m); err != nil {
			t.Fatal(err)
		}
	}
	cca.Events = nil
	prp.Extension = mustMarshal(&cca)
	cap.Action.ProposalResponsePayload = mustMarshal(&prp)
	tx.Actions[0].Payload = mustMarshal(&cap)
	payload.Data = mustMarshal(&tx)
	env.Payload = mustMarshal(&payload)
	return mustMarshal(&env)
}

func TestParseBlockDescribesRefusals(t *testing.T) {
	const key = "https://shop.example/receipt/item?id=7"
	same := func(b []byte) []byte { return b }
	for _, c := range []struct {
		name, chaincode string
		edit            func([]byte) []byte
		want            bool // a Refusal
		event           bool
	}{
		{"with its event", "cachet", same, true, true},
		{"keys from the write set", "cachet", func(b []byte) []byte { return withoutEvent(t, b) }, true, false},
		{"another chaincode's", "other", same, false, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			b, r := refusedBlock(t, c.edit)
			txs, err := parseBlock(b, c.chaincode)
			if err != nil {
				t.Fatal(err)
			}
			tx := txs[r.TxIndex]
			if tx.Valid || tx.Code != peer.TxValidationCode_ENDORSEMENT_POLICY_FAILURE || tx.TxID != r.TxID || tx.Event != nil {
				t.Fatalf("transaction %+v, want the refused %s without an event", tx, r.TxID)
			}
			if !c.want {
				if tx.Refusal != nil {
					t.Fatalf("refusal %+v of another chaincode's transaction", tx.Refusal)
				}
				return
			}
			ref := tx.Refusal
			if ref == nil || ref.Creator != "Org2MSP" || len(ref.Keys) != 1 || ref.Keys[0] != key ||
				!ref.Timestamp.Equal(time.Date(2026, 12, 2, 17, 15, 32, 758287847, time.UTC)) || (ref.Event != nil) != c.event {
				t.Fatalf("refusal %+v, want Org2MSP's write of %s at its timestamp", ref, key)
			}
		})
	}
}
