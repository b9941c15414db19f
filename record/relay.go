package record

import "encoding/json"

// RelayPosition is the value of a relay's record on TopicPositions
// (compacted, record key = channel): the last ledger position whose
// transitions are on TopicTransitions. The relay writes it in the same
// Kafka transaction as those transitions, so the two never disagree.
type RelayPosition struct {
	V       int    `json:"v"`
	Channel string `json:"channel"`
	Position
}

// Marshal encodes p with the current schema version.
func (p RelayPosition) Marshal() ([]byte, error) {
	p.V = Version
	return json.Marshal(p)
}

// DecodeRelayPosition parses a TopicPositions record value.
func DecodeRelayPosition(b []byte) (RelayPosition, error) {
	var p RelayPosition
	if err := decode("position", b, &p, &p.V); err != nil {
		return p, err
	}
	return p, nil
}

// DeadLetter is the value of a record on TopicDeadLetter (record key =
// txId): a committed transaction whose contract event could not be read,
// with its place on the ledger, so an operator can find it. The fields are
// in alphabetical order, the order the relay has always written them in.
type DeadLetter struct {
	Block   uint64 `json:"block"`
	Channel string `json:"channel"`
	Error   string `json:"error"` // why the event could not be read
	TxID    string `json:"txId"`
	TxIndex uint32 `json:"txIndex"`
	V       int    `json:"v"`
}

// Marshal encodes d with the current schema version.
func (d DeadLetter) Marshal() ([]byte, error) {
	d.V = Version
	return json.Marshal(d)
}

// Position is where the transaction is on the ledger.
func (d DeadLetter) Position() Position { return Position{Block: d.Block, TxIndex: d.TxIndex} }

// DecodeDeadLetter parses a TopicDeadLetter record value.
func DecodeDeadLetter(b []byte) (DeadLetter, error) {
	var d DeadLetter
	if err := decode("deadletter", b, &d, &d.V); err != nil {
		return DeadLetter{}, err
	}
	return d, nil
}
