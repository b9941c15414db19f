package chaincode

import (
	"encoding/json"
	"slices"
	"sort"
	"time"

	"github.com/cachetsync/cachet/ledger"
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
	it, err := ctx.GetStub().GetHistoryForKey(key)
	if err != nil {
		return nil, err
	}
	defer it.Close()
	type stamped struct {
		at   time.Time
		item ledger.HistoryItem
	}
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
	items := make([]ledger.HistoryItem, len(mods))
	entries := make([]*ledger.Entry, len(mods))
	for i, m := range mods {
		items[i], entries[i] = m.item, m.item.Entry
	}
	return items, (&txn{stub: ctx.GetStub()}).withEffective(entries)
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
