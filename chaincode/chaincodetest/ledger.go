// Package chaincodetest runs chaincode in memory for tests: a ledger with
// Fabric's transaction semantics (reads see committed state only, writes
// commit only when the chaincode succeeds, the last SetEvent wins, history
// and key-level endorsement parameters are kept) and a stub with a peer's
// rules for queries: composite keys, range and partial-composite-key scans,
// paged scans with bookmarks that forbid later writes in the transaction,
// history newest first, and an identity the real cid package parses.
// Calling a stub method outside that set panics, which a test reports as a
// failure.
package chaincodetest

import (
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/hyperledger/fabric-chaincode-go/v2/shim"
	"github.com/hyperledger/fabric-protos-go-apiv2/ledger/queryresult"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// Ledger is the committed world state of one channel.
type Ledger struct {
	mu      sync.Mutex
	state   map[string][]byte
	params  map[string][]byte // key-level endorsement policies
	history map[string][]*queryresult.KeyModification
	clock   time.Time
	txs     int
}

// NewLedger returns an empty ledger whose transaction clock starts at start
// and advances one millisecond per transaction.
func NewLedger(start time.Time) *Ledger {
	return &Ledger{state: map[string][]byte{}, params: map[string][]byte{}, history: map[string][]*queryresult.KeyModification{}, clock: start}
}

// Result is the outcome of one invocation.
type Result struct {
	TxID      string
	Status    int32
	Message   string // the error message when Status is not 200
	Payload   []byte
	Event     *Event // the one event, if the chaincode set any
	Events    int    // how many times SetEvent was called
	Writes    int    // state writes committed (0 when Status is not 200)
	Committed bool
}

// Event is a chaincode event.
type Event struct {
	Name    string
	Payload []byte
}

// Invoke runs one transaction of cc as id with args (function name first)
// and commits its writes if it succeeded.
func (l *Ledger) Invoke(cc shim.Chaincode, id Identity, transient map[string][]byte, args ...string) Result {
	l.mu.Lock()
	l.txs++
	l.clock = l.clock.Add(time.Millisecond)
	stub := &Stub{ledger: l, id: id, transient: transient, txID: fmt.Sprintf("tx%06d", l.txs), ts: l.clock, writes: map[string]*[]byte{}}
	l.mu.Unlock()
	for _, a := range args {
		stub.args = append(stub.args, []byte(a))
	}
	resp := cc.Invoke(stub)
	res := Result{TxID: stub.txID, Status: resp.GetStatus(), Message: resp.GetMessage(), Payload: resp.GetPayload(), Events: stub.events, Event: stub.event}
	if resp.GetStatus() == shim.OK {
		res.Writes = l.commit(stub)
		res.Committed = true
	}
	return res
}

func (l *Ledger) commit(s *Stub) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	keys := make([]string, 0, len(s.writes))
	for k := range s.writes {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := s.writes[k]
		mod := &queryresult.KeyModification{TxId: s.txID, Timestamp: timestamppb.New(s.ts)}
		if v == nil {
			delete(l.state, k)
			delete(l.params, k)
			mod.IsDelete = true
		} else {
			l.state[k] = *v
			mod.Value = *v
		}
		l.history[k] = append(l.history[k], mod)
	}
	for k, p := range s.params {
		l.params[k] = p
	}
	return len(keys)
}

// State returns the committed value of key (nil if absent).
func (l *Ledger) State(key string) []byte {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.state[key]
}

// SetState writes a committed value directly, to set up corrupt or legacy
// data a test needs.
func (l *Ledger) SetState(key string, value []byte) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.state[key] = value
}

// ValidationParameter returns key's committed key-level endorsement policy.
func (l *Ledger) ValidationParameter(key string) []byte {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.params[key]
}

// Snapshot copies the whole committed state, to compare before and after.
func (l *Ledger) Snapshot() map[string]string {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make(map[string]string, len(l.state))
	for k, v := range l.state {
		out[k] = string(v)
	}
	return out
}
