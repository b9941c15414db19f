package receipt

import (
	"fmt"

	"github.com/hyperledger/fabric-protos-go-apiv2/common"
	"github.com/hyperledger/fabric-protos-go-apiv2/ledger/rwset"
	"github.com/hyperledger/fabric-protos-go-apiv2/ledger/rwset/kvrwset"
	"github.com/hyperledger/fabric-protos-go-apiv2/peer"
	"google.golang.org/protobuf/proto"
)

// envelope is an endorser transaction taken apart down to its write sets.
type envelope struct {
	raw     *common.Envelope
	chdr    *common.ChannelHeader
	shdr    *common.SignatureHeader
	action  *peer.ChaincodeEndorsedAction
	cca     *peer.ChaincodeAction
	rwsets  map[string]*kvrwset.KVRWSet // by namespace
	spaces  []string                    // namespaces in write-set order
	payload []byte
}

func unmarshalEnvelope(b []byte) (*envelope, error) {
	e := &envelope{raw: &common.Envelope{}, chdr: &common.ChannelHeader{}, shdr: &common.SignatureHeader{}}
	var payload common.Payload
	var tx peer.Transaction
	var cap peer.ChaincodeActionPayload
	var prp peer.ProposalResponsePayload
	e.cca = &peer.ChaincodeAction{}
	var txrw rwset.TxReadWriteSet
	steps := []struct {
		what string
		b    func() []byte
		m    proto.Message
	}{
		{"envelope", func() []byte { return b }, e.raw},
		{"payload", func() []byte { return e.raw.GetPayload() }, &payload},
		{"channel header", func() []byte { return payload.GetHeader().GetChannelHeader() }, e.chdr},
		{"signature header", func() []byte { return payload.GetHeader().GetSignatureHeader() }, e.shdr},
		{"transaction", func() []byte { return payload.GetData() }, &tx},
	}
	for _, s := range steps {
		if err := proto.Unmarshal(s.b(), s.m); err != nil {
			return nil, fail(CheckDecode, "%s: %v", s.what, err)
		}
	}
	e.payload = e.raw.GetPayload()
	if t := common.HeaderType(e.chdr.GetType()); t != common.HeaderType_ENDORSER_TRANSACTION {
		return nil, fail(CheckDecode, "transaction %s is a %s, not an endorser transaction", e.chdr.GetTxId(), t)
	}
	if n := len(tx.GetActions()); n != 1 {
		return nil, fail(CheckDecode, "transaction %s has %d actions, Fabric commits exactly one", e.chdr.GetTxId(), n)
	}
	steps = steps[:0]
	steps = append(steps, []struct {
		what string
		b    func() []byte
		m    proto.Message
	}{
		{"chaincode action payload", func() []byte { return tx.GetActions()[0].GetPayload() }, &cap},
		{"proposal response payload", func() []byte { return cap.GetAction().GetProposalResponsePayload() }, &prp},
		{"chaincode action", func() []byte { return prp.GetExtension() }, e.cca},
		{"read-write set", func() []byte { return e.cca.GetResults() }, &txrw},
	}...)
	for _, s := range steps {
		if err := proto.Unmarshal(s.b(), s.m); err != nil {
			return nil, fail(CheckDecode, "%s: %v", s.what, err)
		}
	}
	e.action = cap.GetAction()
	e.rwsets = map[string]*kvrwset.KVRWSet{}
	for _, ns := range txrw.GetNsRwset() {
		var kv kvrwset.KVRWSet
		if err := proto.Unmarshal(ns.GetRwset(), &kv); err != nil {
			return nil, fail(CheckDecode, "write set of %s: %v", ns.GetNamespace(), err)
		}
		if _, dup := e.rwsets[ns.GetNamespace()]; dup {
			return nil, fail(CheckDecode, "namespace %s appears twice", ns.GetNamespace())
		}
		e.rwsets[ns.GetNamespace()] = &kv
		e.spaces = append(e.spaces, ns.GetNamespace())
	}
	return e, nil
}

// event returns the transaction's chaincode event, nil if none.
func (e *envelope) event() (*peer.ChaincodeEvent, error) {
	if len(e.cca.GetEvents()) == 0 {
		return nil, nil
	}
	var ev peer.ChaincodeEvent
	if err := proto.Unmarshal(e.cca.GetEvents(), &ev); err != nil {
		return nil, fmt.Errorf("chaincode event: %w", err)
	}
	return &ev, nil
}
