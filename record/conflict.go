package record

import (
	"encoding/json"
	"strconv"
	"time"
)

// Validation codes a Conflict carries most often: Fabric's
// peer.TxValidationCode names, which the record spells out.
const (
	CodeMVCCReadConflict         = "MVCC_READ_CONFLICT"
	CodePhantomReadConflict      = "PHANTOM_READ_CONFLICT"
	CodeEndorsementPolicyFailure = "ENDORSEMENT_POLICY_FAILURE"
)

// Conflict is one transaction of the contract that the peers refused when
// they validated its block (an MVCC read conflict, a phantom read, an
// endorsement policy failure, …), the value of a record on TopicConflicts
// keyed by its first key (its txId when it names none). The relay writes
// it in the same Kafka transaction as the transitions of the transactions
// around it, so it is read exactly once and in ledger order.
type Conflict struct {
	V         int       `json:"v"`
	Channel   string    `json:"channel"`
	Position            // block and txIndex, inlined
	TxID      string    `json:"txId"`
	Timestamp time.Time `json:"ts"`   // the transaction's timestamp, as its creator signed it
	Code      string    `json:"code"` // the validation code, e.g. CodeMVCCReadConflict
	// Keys are what the transaction would have written: the cache keys of
	// its event's transitions and the scopes (Scope.String()) of its
	// purges, or, when it carries no event, the keys of its write set
	// outside the contract's own index records.
	Keys        []string `json:"keys"`
	Creator     string   `json:"creator"` // MSP ID of the submitting org
	Traceparent string   `json:"traceparent,omitempty"`
}

// Contention reports whether c lost a race with another transaction (an
// MVCC or phantom read conflict), rather than being refused for what it
// was (an endorsement policy failure, a bad signature, …).
func (c Conflict) Contention() bool {
	return c.Code == CodeMVCCReadConflict || c.Code == CodePhantomReadConflict
}

// Key is the record key: the first key, or the txId when there is none.
func (c Conflict) Key() string {
	if len(c.Keys) > 0 {
		return c.Keys[0]
	}
	return c.TxID
}

// Marshal encodes c with the current schema version.
func (c Conflict) Marshal() ([]byte, error) {
	c.V = Version
	return json.Marshal(c)
}

// Validate checks the rules every conflict record obeys.
func (c Conflict) Validate() error {
	switch {
	case c.TxID == "":
		return &InvalidError{Type: "conflict", Reason: "empty txId"}
	case c.Code == "" || c.Code == "VALID":
		return &InvalidError{Type: "conflict", Reason: "validation code " + strconv.Quote(c.Code) + " is not a refusal"}
	case c.Timestamp.IsZero():
		return &InvalidError{Type: "conflict", Reason: "missing time"}
	}
	for _, k := range c.Keys {
		if k == "" {
			return &InvalidError{Type: "conflict", Reason: "empty key"}
		}
	}
	return nil
}

// DecodeConflict parses and validates a conflict record.
func DecodeConflict(b []byte) (Conflict, error) {
	var c Conflict
	if err := decode("conflict", b, &c, &c.V); err != nil {
		return Conflict{}, err
	}
	return c, c.Validate()
}
