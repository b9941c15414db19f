package chaincodetest

import (
	"errors"
	"time"

	"github.com/hyperledger/fabric-chaincode-go/v2/shim"
	"github.com/hyperledger/fabric-protos-go-apiv2/ledger/queryresult"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// Stub is one transaction's view of a Ledger.
type Stub struct {
	// The embedded interface is nil: methods the contract does not use
	// panic when called.
	shim.ChaincodeStubInterface

	ledger    *Ledger
	id        Identity
	transient map[string][]byte
	txID      string
	ts        time.Time
	args      [][]byte

	writes    map[string]*[]byte // nil value: delete
	params    map[string][]byte
	event     *Event
	events    int
	paginated bool // a paginated query ran: no writes from here on
}

// GetArgs implements shim.ChaincodeStubInterface.
func (s *Stub) GetArgs() [][]byte { return s.args }

// GetStringArgs implements shim.ChaincodeStubInterface.
func (s *Stub) GetStringArgs() []string {
	out := make([]string, len(s.args))
	for i, a := range s.args {
		out[i] = string(a)
	}
	return out
}

// GetFunctionAndParameters implements shim.ChaincodeStubInterface.
func (s *Stub) GetFunctionAndParameters() (string, []string) {
	args := s.GetStringArgs()
	if len(args) == 0 {
		return "", nil
	}
	return args[0], args[1:]
}

// GetTxID implements shim.ChaincodeStubInterface.
func (s *Stub) GetTxID() string { return s.txID }

// GetChannelID implements shim.ChaincodeStubInterface.
func (s *Stub) GetChannelID() string { return "cachet" }

// GetCreator implements shim.ChaincodeStubInterface.
func (s *Stub) GetCreator() ([]byte, error) { return s.id.Creator(), nil }

// GetTransient implements shim.ChaincodeStubInterface.
func (s *Stub) GetTransient() (map[string][]byte, error) { return s.transient, nil }

// GetTxTimestamp implements shim.ChaincodeStubInterface.
func (s *Stub) GetTxTimestamp() (*timestamppb.Timestamp, error) { return timestamppb.New(s.ts), nil }

// GetState reads committed state, as Fabric does: a transaction does not see
// its own writes.
func (s *Stub) GetState(key string) ([]byte, error) { return s.ledger.State(key), nil }

// GetMultipleStates reads committed state for several keys at once.
func (s *Stub) GetMultipleStates(keys ...string) ([][]byte, error) {
	out := make([][]byte, len(keys))
	for i, k := range keys {
		out[i] = s.ledger.State(k)
	}
	return out, nil
}

// StartWriteBatch implements shim.ChaincodeStubInterface; writes are always
// held until commit here.
func (s *Stub) StartWriteBatch() {}

// FinishWriteBatch implements shim.ChaincodeStubInterface.
func (s *Stub) FinishWriteBatch() error { return nil }

// PutState implements shim.ChaincodeStubInterface.
func (s *Stub) PutState(key string, value []byte) error {
	if key == "" {
		return errors.New("empty key")
	}
	if s.paginated {
		return errPaginatedWrite
	}
	v := append([]byte(nil), value...)
	s.writes[key] = &v
	return nil
}

// DelState implements shim.ChaincodeStubInterface.
func (s *Stub) DelState(key string) error {
	if s.paginated {
		return errPaginatedWrite
	}
	s.writes[key] = nil
	return nil
}

// SetStateValidationParameter implements shim.ChaincodeStubInterface.
func (s *Stub) SetStateValidationParameter(key string, ep []byte) error {
	if s.paginated {
		return errPaginatedWrite
	}
	if s.params == nil {
		s.params = map[string][]byte{}
	}
	s.params[key] = ep
	return nil
}

// GetStateValidationParameter implements shim.ChaincodeStubInterface.
func (s *Stub) GetStateValidationParameter(key string) ([]byte, error) {
	return s.ledger.ValidationParameter(key), nil
}

// SetEvent keeps only the last event, as Fabric does.
func (s *Stub) SetEvent(name string, payload []byte) error {
	if name == "" {
		return errors.New("event name can not be empty string")
	}
	s.event = &Event{Name: name, Payload: append([]byte(nil), payload...)}
	s.events++
	return nil
}

// GetHistoryForKey returns key's modifications newest first, as a Fabric
// peer does.
func (s *Stub) GetHistoryForKey(key string) (shim.HistoryQueryIteratorInterface, error) {
	s.ledger.mu.Lock()
	defer s.ledger.mu.Unlock()
	h := s.ledger.history[key]
	mods := make([]*queryresult.KeyModification, len(h))
	for i, m := range h {
		mods[len(h)-1-i] = m
	}
	return &historyIterator{mods: mods}, nil
}

type kvIterator struct {
	kvs []*queryresult.KV
	i   int
}

func (it *kvIterator) HasNext() bool { return it.i < len(it.kvs) }
func (it *kvIterator) Close() error  { return nil }
func (it *kvIterator) Next() (*queryresult.KV, error) {
	if !it.HasNext() {
		return nil, errors.New("no more results")
	}
	it.i++
	return it.kvs[it.i-1], nil
}

type historyIterator struct {
	mods []*queryresult.KeyModification
	i    int
}

func (it *historyIterator) HasNext() bool { return it.i < len(it.mods) }
func (it *historyIterator) Close() error  { return nil }
func (it *historyIterator) Next() (*queryresult.KeyModification, error) {
	if !it.HasNext() {
		return nil, errors.New("no more results")
	}
	it.i++
	return it.mods[it.i-1], nil
}
