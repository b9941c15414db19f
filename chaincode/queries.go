package chaincode

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"time"

	"github.com/cachetsync/cachet/ledger"
	"github.com/hyperledger/fabric-chaincode-go/v2/shim"
	"github.com/hyperledger/fabric-contract-api-go/v2/contractapi"
)

// Get returns key's entry with its effective state, or NOT_FOUND. Any
// member may read entries.
func (c *Contract) Get(ctx contractapi.TransactionContextInterface, key string) (*ledger.Entry, error) {
	key, err := canonicalKey(key)
	if err != nil {
		return nil, err
	}
	t := &txn{stub: ctx.GetStub()}
	e, err := t.get(key)
	if err != nil {
		return nil, err
	}
	if e == nil {
		return nil, refuse(ledger.CodeNotFound, "no entry for %s", key)
	}
	return e, t.withEffective([]*ledger.Entry{e})
}

// GetMany returns the entries of keys that exist, with their effective
// states, in the order asked; missing keys are left out.
func (c *Contract) GetMany(ctx contractapi.TransactionContextInterface, keys []string) ([]ledger.Entry, error) {
	if len(keys) > ledger.MaxBatchKeys {
		return nil, refuse(ledger.CodeLimitExceeded, "%d keys, limit %d", len(keys), ledger.MaxBatchKeys)
	}
	canon := make([]string, len(keys))
	for i, k := range keys {
		key, err := canonicalKey(k)
		if err != nil {
			return nil, err
		}
		canon[i] = key
	}
	t := &txn{stub: ctx.GetStub()}
	entries, err := t.getMany(canon)
	if err != nil {
		return nil, err
	}
	if err := t.withEffective(entries); err != nil {
		return nil, err
	}
	out := make([]ledger.Entry, 0, len(keys))
	for _, e := range entries {
		if e != nil {
			out = append(out, *e)
		}
	}
	return out, nil
}

// History returns every committed modification of key, oldest first,
// including purges. Each version's effective state names the scope purge,
// if any, that covers it now. Publishers, invalidators and auditors may
// read it.
func (c *Contract) History(ctx contractapi.TransactionContextInterface, key string) ([]ledger.HistoryItem, error) {
	if err := requireReader(ctx, "History"); err != nil {
		return nil, err
	}
	key, err := canonicalKey(key)
	if err != nil {
		return nil, err
	}
	mods, err := keyHistory(ctx.GetStub(), key)
	if err != nil {
		return nil, err
	}
	items := make([]ledger.HistoryItem, len(mods))
	entries := make([]*ledger.Entry, len(mods))
	for i, m := range mods {
		items[i], entries[i] = m.item, m.item.Entry
	}
	return items, (&txn{stub: ctx.GetStub()}).withEffective(entries)
}

// stamped is one modification of a key and its transaction time.
type stamped struct {
	at   time.Time
	item ledger.HistoryItem
}

// keyHistory returns every committed modification of key, oldest first.
func keyHistory(stub shim.ChaincodeStubInterface, key string) ([]stamped, error) {
	it, err := stub.GetHistoryForKey(key)
	if err != nil {
		return nil, err
	}
	defer it.Close()
	var mods []stamped
	for it.HasNext() {
		m, err := it.Next()
		if err != nil {
			return nil, err
		}
		item := ledger.HistoryItem{TxID: m.GetTxId(), IsDelete: m.GetIsDelete(), Timestamp: m.GetTimestamp().AsTime().UTC().Format(time.RFC3339Nano)}
		if !m.GetIsDelete() {
			var e ledger.Entry
			if err := json.Unmarshal(m.GetValue(), &e); err != nil {
				return nil, err
			}
			item.Entry = &e
		}
		mods = append(mods, stamped{m.GetTimestamp().AsTime(), item})
	}
	// Peers return history newest first; the contract promises oldest
	// first. Reverse, then order by transaction time in case a peer differs.
	slices.Reverse(mods)
	sort.SliceStable(mods, func(i, j int) bool { return mods[i].at.Before(mods[j].at) })
	return mods, nil
}

// ScopePurges returns every committed scope purge that covered key while
// it had an entry, oldest first: for each version, the purges of the
// scopes covering it (under its owner) committed after that version was
// written and before the next one. Publishers, invalidators and auditors
// may read it.
func (c *Contract) ScopePurges(ctx contractapi.TransactionContextInterface, key string) ([]ledger.Generation, error) {
	if err := requireReader(ctx, "ScopePurges"); err != nil {
		return nil, err
	}
	key, err := canonicalKey(key)
	if err != nil {
		return nil, err
	}
	stub := ctx.GetStub()
	mods, err := keyHistory(stub, key)
	if err != nil {
		return nil, err
	}
	gens := map[string][]ledger.Generation{} // per generation record key, oldest first
	seen := map[string]bool{}                // scope and transaction of a purge listed
	out := []ledger.Generation{}
	for i, m := range mods {
		e := m.item.Entry
		if e == nil {
			continue
		}
		var until time.Time
		if i+1 < len(mods) {
			until = mods[i+1].at
		}
		for _, s := range covering(e) {
			k := generationKey(e.Owner, s)
			h, ok := gens[k]
			if !ok {
				if h, err = generationHistory(stub, k); err != nil {
					return nil, err
				}
				gens[k] = h
			}
			for _, g := range h {
				at, err := time.Parse(time.RFC3339Nano, g.Timestamp)
				if err != nil {
					return nil, fmt.Errorf("generation record %q: %w", k, err)
				}
				id := g.Scope.String() + " " + g.TxID
				if g.Generation <= e.Generations[s.String()] || at.Before(m.at) || !until.IsZero() && !at.Before(until) || seen[id] {
					continue
				}
				seen[id] = true
				out = append(out, g)
			}
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return later(out[j].Timestamp, out[i].Timestamp) })
	return out, nil
}

// generationHistory returns every generation written to the generation
// record k, oldest first.
func generationHistory(stub shim.ChaincodeStubInterface, k string) ([]ledger.Generation, error) {
	it, err := stub.GetHistoryForKey(k)
	if err != nil {
		return nil, err
	}
	defer it.Close()
	var out []ledger.Generation
	for it.HasNext() {
		m, err := it.Next()
		if err != nil {
			return nil, err
		}
		if m.GetIsDelete() {
			continue
		}
		g, err := decodeGeneration(k, m.GetValue())
		if err != nil {
			return nil, err
		}
		out = append(out, *g)
	}
	slices.Reverse(out)
	sort.SliceStable(out, func(i, j int) bool { return out[i].Generation < out[j].Generation })
	return out, nil
}

// ListByTag returns one page of the entries carrying tag, with their
// effective states.
func (c *Contract) ListByTag(ctx contractapi.TransactionContextInterface, tag, bookmark string, pageSize int32) (*ledger.Page, error) {
	return list(ctx, "ListByTag", indexTag, tag, bookmark, pageSize)
}

// ListByOwner returns one page of the entries owned by the org mspID, with
// their effective states.
func (c *Contract) ListByOwner(ctx contractapi.TransactionContextInterface, mspID, bookmark string, pageSize int32) (*ledger.Page, error) {
	return list(ctx, "ListByOwner", indexOwner, mspID, bookmark, pageSize)
}

func list(ctx contractapi.TransactionContextInterface, action, kind, attr, bookmark string, pageSize int32) (*ledger.Page, error) {
	if err := requireReader(ctx, action); err != nil {
		return nil, err
	}
	if attr == "" {
		return nil, refuse(ledger.CodeInvalidArgument, "%s needs a non-empty %s", action, kind)
	}
	size, err := pageSizeOf(pageSize)
	if err != nil {
		return nil, err
	}
	keys, next, err := scanIndex(ctx.GetStub(), kind, attr, bookmark, size)
	if err != nil {
		return nil, err
	}
	t := &txn{stub: ctx.GetStub()}
	entries, err := t.getMany(keys)
	if err != nil {
		return nil, err
	}
	if err := t.withEffective(entries); err != nil {
		return nil, err
	}
	page := &ledger.Page{Bookmark: next}
	for _, e := range entries {
		if e != nil {
			page.Entries = append(page.Entries, *e)
		}
	}
	return page, nil
}

func requireReader(ctx contractapi.TransactionContextInterface, action string) error {
	c, err := callerOf(ctx)
	if err != nil {
		return err
	}
	return c.require(action, RolePublisher, RoleInvalidator, RoleAuditor)
}
