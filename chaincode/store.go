package chaincode

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/cachetsync/cachet/ledger"
	"github.com/hyperledger/fabric-chaincode-go/v2/pkg/statebased"
	"github.com/hyperledger/fabric-chaincode-go/v2/shim"
	"github.com/hyperledger/fabric-contract-api-go/v2/contractapi"
)

// Index entries (tag~key, owner~key) and tombstones live in their own key
// namespace, "\x01kind\x00attr\x00key\x00". It has the layout of Fabric's
// composite keys, but Fabric refuses range queries with a start key inside
// its 0x00 composite namespace in update transactions, and InvalidateTag must
// resume a bounded page from a bookmark inside one. Canonical cache keys
// never start with a control byte, so the namespaces cannot collide.
const (
	indexTag   = "tag~key"
	indexOwner = "owner~key"
	tombstones = "tomb"
	replays    = "idem" // idempotency markers: attr is the caller's MSP ID
	// generation records and host claims: scope.go
	indexNS = "\x01"
	sep     = "\x00"
)

func indexPrefix(kind, attr string) string { return indexNS + kind + sep + attr + sep }
func indexKey(kind, attr, key string) string {
	return indexPrefix(kind, attr) + key + sep
}

// tombstone keeps a purged key's last version and owner so versions stay
// monotonic and ownership survives a purge.
type tombstone struct {
	Version uint64 `json:"version"`
	Owner   string `json:"owner"`
}

// txn is one transaction's view of the ledger and its pending event.
type txn struct {
	stub   shim.ChaincodeStubInterface
	caller caller
	now    string
	event  ledger.Event

	policy    []byte // the owner's key-level policy, built once per txn
	policyOrg string

	idempotencyKey string // from the transient map; "" when none
}

func begin(ctx contractapi.TransactionContextInterface) (*txn, error) {
	c, err := callerOf(ctx)
	if err != nil {
		return nil, err
	}
	stub := ctx.GetStub()
	ts, err := stub.GetTxTimestamp()
	if err != nil {
		return nil, fmt.Errorf("transaction timestamp: %w", err)
	}
	now := ts.AsTime().UTC().Format(time.RFC3339Nano)
	// Writes go to the peer in batches rather than one round trip each
	// (Fabric 3.1's write batching); emit flushes them.
	stub.StartWriteBatch()
	t := &txn{stub: stub, caller: c, now: now, event: ledger.Event{
		TxID: stub.GetTxID(), Timestamp: now, Actor: c.msp, Transitions: []ledger.Transition{},
	}}
	if tm, err := stub.GetTransient(); err == nil {
		if tp := string(tm[ledger.TransientTraceparent]); validTraceparent(tp) {
			t.event.Traceparent = tp
		}
		if k, ok := tm[ledger.TransientIdempotencyKey]; ok {
			if !printable(k, ledger.MaxIdempotencyKeyBytes) {
				return nil, refuse(ledger.CodeInvalidArgument, "idempotency key must be 1-%d bytes of printable ASCII", ledger.MaxIdempotencyKeyBytes)
			}
			t.idempotencyKey = string(k)
		}
		if id, ok := tm[ledger.TransientTokenID]; ok {
			if !printable(id, ledger.MaxTokenIDBytes) {
				return nil, refuse(ledger.CodeInvalidArgument, "token ID must be 1-%d bytes of printable ASCII", ledger.MaxTokenIDBytes)
			}
			t.event.TokenID = string(id)
		}
	}
	return t, nil
}

// printable reports whether k is 1 to max bytes of printable ASCII.
func printable(k []byte, max int) bool {
	if len(k) == 0 || len(k) > max {
		return false
	}
	for _, c := range k {
		if c < 0x20 || c > 0x7e {
			return false
		}
	}
	return true
}

// marker is what an idempotency key leaves on the ledger: the transaction
// that first used it, its name and its answer.
type marker struct {
	Name   string          `json:"name"`
	TxID   string          `json:"txId"`
	Result json.RawMessage `json:"result"`
}

func (t *txn) markerKey() string { return indexKey(replays, t.caller.msp, t.idempotencyKey) }

// replayed reports whether the transaction's idempotency key was used
// before by transaction name; if so it decodes the first answer into first
// and emits an event without transitions, and the transaction writes nothing.
// A key first used by another transaction is refused.
func (t *txn) replayed(name string, first any) (bool, error) {
	if t.idempotencyKey == "" {
		return false, nil
	}
	b, err := t.stub.GetState(t.markerKey())
	if err != nil || b == nil {
		return false, err
	}
	var m marker
	if err := json.Unmarshal(b, &m); err != nil {
		return true, fmt.Errorf("idempotency marker %q does not parse: %w", t.idempotencyKey, err)
	}
	if m.Name != name {
		return true, refuse(ledger.CodeInvalidArgument, "idempotency key %q was used by %s (tx %s), not %s", t.idempotencyKey, m.Name, m.TxID, name)
	}
	if err := json.Unmarshal(m.Result, first); err != nil {
		return true, fmt.Errorf("idempotency marker %q: first answer does not parse: %w", t.idempotencyKey, err)
	}
	return true, t.emit()
}

// remember stores name's result under the transaction's idempotency key,
// if any.
func (t *txn) remember(name string, result any) error {
	if t.idempotencyKey == "" {
		return nil
	}
	r, err := json.Marshal(result)
	if err != nil {
		return err
	}
	b, err := json.Marshal(marker{Name: name, TxID: t.event.TxID, Result: r})
	if err != nil {
		return err
	}
	return t.stub.PutState(t.markerKey(), b)
}

// validTraceparent accepts W3C trace context version 00:
// 00-<32 hex trace id>-<16 hex span id>-<2 hex flags>, ids not all zero.
func validTraceparent(s string) bool {
	if len(s) != 55 || s[:3] != "00-" || s[35] != '-' || s[52] != '-' {
		return false
	}
	for i, c := range []byte(s) {
		if i == 2 || i == 35 || i == 52 {
			continue
		}
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return strings.Trim(s[3:35], "0") != "" && strings.Trim(s[36:52], "0") != ""
}

func (t *txn) get(key string) (*ledger.Entry, error) {
	b, err := t.stub.GetState(key)
	if err != nil {
		return nil, err
	}
	return decodeEntry(key, b)
}

// getMany reads keys in one round trip to the peer; missing keys are nil.
func (t *txn) getMany(keys []string) ([]*ledger.Entry, error) {
	if len(keys) == 0 {
		return nil, nil
	}
	vals, err := t.stub.GetMultipleStates(keys...)
	if err != nil {
		return nil, err
	}
	if len(vals) != len(keys) {
		return nil, fmt.Errorf("peer returned %d values for %d keys", len(vals), len(keys))
	}
	out := make([]*ledger.Entry, len(keys))
	for i, b := range vals {
		if out[i], err = decodeEntry(keys[i], b); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func decodeEntry(key string, b []byte) (*ledger.Entry, error) {
	if b == nil {
		return nil, nil
	}
	var e ledger.Entry
	if err := json.Unmarshal(b, &e); err != nil {
		return nil, fmt.Errorf("stored entry %s does not parse: %w", key, err)
	}
	if !e.State.Valid() {
		return nil, refuse(ledger.CodeInvalidArgument, "stored entry %s has unknown state %q", key, e.State)
	}
	return &e, nil
}

func (t *txn) tombstone(key string) (*tombstone, error) {
	b, err := t.stub.GetState(indexKey(tombstones, "", key))
	if err != nil || b == nil {
		return nil, err
	}
	var ts tombstone
	if err := json.Unmarshal(b, &ts); err != nil {
		return nil, fmt.Errorf("tombstone of %s does not parse: %w", key, err)
	}
	return &ts, nil
}

// put writes e and keeps the tag and owner indexes in step with old (nil
// for a new entry). A new entry and every index entry it gains carry the
// owner's key-level endorsement policy; a republished entry keeps its own.
func (t *txn) put(e, old *ledger.Entry) error {
	e.UpdatedAt, e.TxID, e.Effective = t.now, t.event.TxID, nil
	b, err := json.Marshal(e)
	if err != nil {
		return err
	}
	if err := t.stub.PutState(e.Key, b); err != nil {
		return err
	}
	var oldTags []string
	if old != nil {
		oldTags = old.Tags
	} else {
		for _, k := range []string{e.Key, indexKey(indexOwner, e.Owner, e.Key)} {
			if err := t.requireOwnerEndorsement(k, e.Owner); err != nil {
				return err
			}
		}
		if err := t.stub.PutState(indexKey(indexOwner, e.Owner, e.Key), []byte{0}); err != nil {
			return err
		}
	}
	for _, tag := range oldTags {
		if !contains(e.Tags, tag) {
			if err := t.stub.DelState(indexKey(indexTag, tag, e.Key)); err != nil {
				return err
			}
		}
	}
	for _, tag := range e.Tags {
		if !contains(oldTags, tag) {
			k := indexKey(indexTag, tag, e.Key)
			if err := t.stub.PutState(k, []byte{0}); err != nil {
				return err
			}
			if err := t.requireOwnerEndorsement(k, e.Owner); err != nil {
				return err
			}
		}
	}
	return nil
}

// purge deletes e and its index entries and leaves a tombstone holding the
// purge's own version, e.Version+1, which it also sets on e. Deleting a key
// drops its endorsement policy, so the tombstone carries the owner's: the
// Publish that revives the key deletes the tombstone, which only the owner
// org's endorsement lets commit.
func (t *txn) purge(e *ledger.Entry) error {
	e.Version++
	if err := t.stub.DelState(e.Key); err != nil {
		return err
	}
	if err := t.stub.DelState(indexKey(indexOwner, e.Owner, e.Key)); err != nil {
		return err
	}
	for _, tag := range e.Tags {
		if err := t.stub.DelState(indexKey(indexTag, tag, e.Key)); err != nil {
			return err
		}
	}
	b, _ := json.Marshal(tombstone{Version: e.Version, Owner: e.Owner})
	ts := indexKey(tombstones, "", e.Key)
	if err := t.stub.PutState(ts, b); err != nil {
		return err
	}
	return t.requireOwnerEndorsement(ts, e.Owner)
}

// requireOwnerEndorsement sets the key-level endorsement policy: a peer of
// the owner org must endorse every later change of key.
func (t *txn) requireOwnerEndorsement(key, owner string) error {
	if t.policyOrg != owner {
		ep, err := statebased.NewStateEP(nil)
		if err != nil {
			return err
		}
		if err := ep.AddOrgs(statebased.RoleTypePeer, owner); err != nil {
			return err
		}
		if t.policy, err = ep.Policy(); err != nil {
			return err
		}
		t.policyOrg = owner
	}
	return t.stub.SetStateValidationParameter(key, t.policy)
}

func (t *txn) record(op ledger.Op, e *ledger.Entry, reason string) {
	t.event.Transitions = append(t.event.Transitions, ledger.Transition{
		Op: op, Key: e.Key, Version: e.Version, State: e.State, ETag: e.ETag,
		MaxAge: e.MaxAge, Tags: e.Tags, Owner: e.Owner, Reason: reason,
	})
}

// emit sets the transaction's one event. Fabric keeps only the last
// SetEvent of a transaction, so every transition goes into this one.
func (t *txn) emit() error {
	b, err := json.Marshal(t.event)
	if err != nil {
		return err
	}
	if err := t.stub.SetEvent(ledger.EventName, b); err != nil {
		return err
	}
	return t.stub.FinishWriteBatch()
}

// scanIndex returns up to pageSize keys under kind/attr, starting at the key
// named by bookmark, and the bookmark of the next page ("" when done).
func scanIndex(stub shim.ChaincodeStubInterface, kind, attr, bookmark string, pageSize int) ([]string, string, error) {
	prefix := indexPrefix(kind, attr)
	start := prefix
	if bookmark != "" {
		if strings.ContainsAny(bookmark, sep+indexNS) || !utf8.ValidString(bookmark) {
			return nil, "", refuse(ledger.CodeInvalidArgument, "bookmark %q is not one this contract returned", bookmark)
		}
		start = prefix + bookmark + sep
	}
	it, err := stub.GetStateByRange(start, prefix+string(utf8.MaxRune))
	if err != nil {
		return nil, "", err
	}
	defer it.Close()
	keys := make([]string, 0, min(pageSize, 64))
	for it.HasNext() {
		kv, err := it.Next()
		if err != nil {
			return nil, "", err
		}
		key := strings.TrimSuffix(strings.TrimPrefix(kv.Key, prefix), sep)
		if len(keys) == pageSize {
			return keys, key, nil
		}
		keys = append(keys, key)
	}
	return keys, "", nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
