package audit

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/cachetsync/cachet/ledger"
	"github.com/cachetsync/cachet/receipt"
	"github.com/hyperledger/fabric-protos-go-apiv2/common"
	"github.com/hyperledger/fabric-protos-go-apiv2/peer"
)

// Ledger is what a trail reads: the contract's history of a key and the
// peer's blocks. *gateway.Client implements it.
type Ledger interface {
	History(ctx context.Context, key string) ([]ledger.HistoryItem, error)
	BlockByTxID(ctx context.Context, txID string) (*common.Block, error)
	BlockByNumber(ctx context.Context, n uint64) (*common.Block, error)
	Height(ctx context.Context) (uint64, error)
}

// DefaultMaxBlocks bounds the blocks Trail scans for invalid transactions
// when Options.MaxBlocks is 0.
const DefaultMaxBlocks = 1000

// Options shape a trail. The zero value lists the committed transitions of
// the contract "cachet".
type Options struct {
	// Chaincode is the contract's name; "" is "cachet".
	Chaincode string
	// IncludeInvalid adds the invalid transactions writing the key found
	// by scanning blocks from FromBlock (or the key's first block) on.
	IncludeInvalid bool
	// FromBlock is the first block scanned; nil starts at the key's first
	// committed block (or block 0 when the key has no history).
	FromBlock *uint64
	// MaxBlocks bounds the blocks scanned; 0 is DefaultMaxBlocks.
	MaxBlocks uint64
	// ScopePurges, when set, returns the scope purges covering key as
	// records; Trail merges them into the trail in ledger order.
	ScopePurges func(ctx context.Context, key string) ([]Record, error)
}

// Party is a submitter or an endorser as its certificate names it.
type Party struct {
	Org     string `json:"org"`
	Subject string `json:"subject"`
	Role    string `json:"role,omitempty"` // the certificate's cachet.role attribute
}

// Policy is the endorsement policy that governed a write of the key.
type Policy struct {
	// Source is "key-level" (the owner's policy, set by SetBy) or
	// "chaincode" (the chaincode definition's, which lives in the
	// lifecycle's state: Rule is then empty).
	Source string `json:"source"`
	Rule   string `json:"rule,omitempty"` // in Fabric's policy language
	SetBy  string `json:"setBy,omitempty"`
	// Sets is the key-level policy this transaction sets for the writes
	// after it (a publish sets its owner's).
	Sets string `json:"sets,omitempty"`
}

// Record is one transaction of the key's trail.
type Record struct {
	Block      uint64    `json:"block"`
	TxIndex    int       `json:"txIndex"`
	TxID       string    `json:"txId"`
	Timestamp  time.Time `json:"timestamp"`
	Valid      bool      `json:"valid"`
	Validation string    `json:"validation"` // the peer's validation code: VALID, ENDORSEMENT_POLICY_FAILURE, …
	Op         ledger.Op `json:"op,omitempty"`
	Version    uint64    `json:"version,omitempty"`
	State      string    `json:"state,omitempty"`
	Owner      string    `json:"owner,omitempty"`
	Reason     string    `json:"reason,omitempty"`
	TokenID    string    `json:"tokenId,omitempty"`
	Submitter  Party     `json:"submitter"`
	Endorsers  []Party   `json:"endorsers"`
	Policy     Policy    `json:"policy"`
	// Scope is set on the records Options.ScopePurges returns: the purged
	// scope that covered the key. Such a record writes the scope, not the
	// key, and names no policy.
	Scope string `json:"scope,omitempty"`
}

// Error reports a transaction the trail cannot read.
type Error struct {
	TxID string
	Err  error
}

func (e *Error) Error() string { return fmt.Sprintf("audit of transaction %s: %v", e.TxID, e.Err) }
func (e *Error) Unwrap() error { return e.Err }

// Trail returns key's trail, oldest first.
func Trail(ctx context.Context, l Ledger, key string, opts Options) ([]Record, error) {
	if opts.Chaincode == "" {
		opts.Chaincode = "cachet"
	}
	hist, err := l.History(ctx, key)
	if err != nil {
		return nil, err
	}
	var recs []Record
	seen := map[string]bool{}
	for _, h := range hist {
		if seen[h.TxID] {
			continue
		}
		seen[h.TxID] = true
		b, err := l.BlockByTxID(ctx, h.TxID)
		if err != nil {
			return nil, &Error{TxID: h.TxID, Err: err}
		}
		r, ok, err := find(b, h.TxID, key, opts.Chaincode)
		if err != nil {
			return nil, &Error{TxID: h.TxID, Err: err}
		}
		if !ok {
			return nil, &Error{TxID: h.TxID, Err: fmt.Errorf("block %d does not hold it", b.GetHeader().GetNumber())}
		}
		recs = append(recs, r)
	}
	if opts.IncludeInvalid {
		inv, err := scanInvalid(ctx, l, key, recs, opts)
		if err != nil {
			return nil, err
		}
		recs = append(recs, inv...)
	}
	if opts.ScopePurges != nil {
		p, err := opts.ScopePurges(ctx, key)
		if err != nil {
			return nil, err
		}
		recs = append(recs, p...)
	}
	sort.SliceStable(recs, func(i, j int) bool {
		a, b := recs[i], recs[j]
		return a.Block < b.Block || (a.Block == b.Block && a.TxIndex < b.TxIndex)
	})
	applyPolicies(recs)
	return recs, nil
}

// scanInvalid returns the invalid transactions writing key in the blocks
// from opts.FromBlock (or the first valid record's block) on, at most
// opts.MaxBlocks of them, stopping at the ledger's height.
func scanInvalid(ctx context.Context, l Ledger, key string, valid []Record, opts Options) ([]Record, error) {
	var from uint64
	switch {
	case opts.FromBlock != nil:
		from = *opts.FromBlock
	case len(valid) > 0:
		from = valid[0].Block
		for _, r := range valid {
			from = min(from, r.Block)
		}
	}
	max := opts.MaxBlocks
	if max == 0 {
		max = DefaultMaxBlocks
	}
	height, err := l.Height(ctx)
	if err != nil {
		return nil, err
	}
	var out []Record
	for n := from; n < height && n-from < max; n++ {
		b, err := l.BlockByNumber(ctx, n)
		if err != nil {
			return nil, fmt.Errorf("audit: block %d: %w", n, err)
		}
		flags := validationFlags(b)
		for i, data := range b.GetData().GetData() {
			if i >= len(flags) || peer.TxValidationCode(flags[i]) == peer.TxValidationCode_VALID {
				continue
			}
			tx, err := receipt.Describe(data)
			if err != nil || tx.Chaincode != opts.Chaincode || !writes(tx, key) {
				continue // not an endorser transaction of the contract on key
			}
			out = append(out, record(b, i, flags, tx, key))
		}
	}
	return out, nil
}

// find returns the record of txID in block b.
func find(b *common.Block, txID, key, chaincode string) (Record, bool, error) {
	flags := validationFlags(b)
	for i, data := range b.GetData().GetData() {
		tx, err := receipt.Describe(data)
		if err != nil || tx.TxID != txID {
			continue
		}
		if tx.Chaincode != chaincode {
			return Record{}, false, fmt.Errorf("a transaction of chaincode %q, not %q", tx.Chaincode, chaincode)
		}
		return record(b, i, flags, tx, key), true, nil
	}
	return Record{}, false, nil
}

func record(b *common.Block, i int, flags []byte, tx *receipt.Transaction, key string) Record {
	code := peer.TxValidationCode_NOT_VALIDATED
	if i < len(flags) {
		code = peer.TxValidationCode(flags[i])
	}
	r := Record{Block: b.GetHeader().GetNumber(), TxIndex: i, TxID: tx.TxID, Timestamp: tx.Timestamp.UTC(),
		Valid: code == peer.TxValidationCode_VALID, Validation: code.String(), Submitter: party(tx.Creator)}
	for _, e := range tx.Endorsers {
		r.Endorsers = append(r.Endorsers, party(e))
	}
	r.Policy.Sets = tx.SetsPolicy[key]
	if ev := tx.Event; ev != nil {
		r.TokenID = ev.TokenID
		for _, t := range ev.Transitions {
			if t.Key == key {
				r.Op, r.Version, r.State, r.Owner, r.Reason = t.Op, t.Version, string(t.State), t.Owner, t.Reason
				break
			}
		}
	}
	return r
}

// applyPolicies names the policy governing each write: the key-level
// policy the last valid transaction before it set, else the chaincode's.
// Fabric judges a write by the policy in force before it.
func applyPolicies(recs []Record) {
	var rule, setBy string
	for i := range recs {
		r := &recs[i]
		if r.Scope != "" {
			continue
		}
		if rule == "" {
			r.Policy.Source = "chaincode"
		} else {
			r.Policy.Source, r.Policy.Rule, r.Policy.SetBy = "key-level", rule, setBy
		}
		if r.Valid && r.Policy.Sets != "" {
			rule, setBy = r.Policy.Sets, r.TxID
		}
	}
}

func party(id receipt.Identity) Party {
	return Party{Org: id.MSPID, Subject: id.Subject, Role: id.Role}
}

func writes(tx *receipt.Transaction, key string) bool {
	for _, k := range tx.Writes {
		if k == key {
			return true
		}
	}
	return false
}

func validationFlags(b *common.Block) []byte {
	md := b.GetMetadata().GetMetadata()
	if len(md) <= int(common.BlockMetadataIndex_TRANSACTIONS_FILTER) {
		return nil
	}
	return md[common.BlockMetadataIndex_TRANSACTIONS_FILTER]
}

// ValidationCode returns the validation code the committing peer gave
// transaction txID in block b (VALID, MVCC_READ_CONFLICT, …), and false
// when b does not hold it.
func ValidationCode(b *common.Block, txID string) (string, bool) {
	flags := validationFlags(b)
	for i, data := range b.GetData().GetData() {
		if tx, err := receipt.Describe(data); err != nil || tx.TxID != txID {
			continue
		}
		code := peer.TxValidationCode_NOT_VALIDATED
		if i < len(flags) {
			code = peer.TxValidationCode(flags[i])
		}
		return code.String(), true
	}
	return "", false
}
