package audit

import (
	"context"
	"fmt"

	"github.com/cachetsync/cachet/receipt"
)

// ReceiptLedger is a Ledger that also makes a transaction's receipt.
// *gateway.Client implements it.
type ReceiptLedger interface {
	Ledger
	Receipt(ctx context.Context, txID string) (*receipt.Receipt, error)
}

// Receipt makes txID's receipt and attaches, for each key of the contract's
// event that the transaction writes without setting its policy, the receipt
// of the transaction that set the key-level policy in force (the owner's),
// so the receipt verifies offline without the chaincode definition's policy.
func Receipt(ctx context.Context, l ReceiptLedger, txID string, opts Options) (*receipt.Receipt, error) {
	r, err := l.Receipt(ctx, txID)
	if err != nil {
		return nil, err
	}
	tx, err := receipt.Describe(r.Envelope)
	if err != nil {
		return nil, &Error{TxID: txID, Err: err}
	}
	if tx.Event == nil {
		return r, nil
	}
	opts.IncludeInvalid, opts.ScopePurges = false, nil
	for _, t := range tx.Event.Transitions {
		if _, ok := tx.SetsPolicy[t.Key]; ok {
			continue
		}
		recs, err := Trail(ctx, l, t.Key, opts)
		if err != nil {
			return nil, err
		}
		setBy := policyInForce(recs, r.Block.Number, r.TxIndex)
		if setBy == "" {
			continue // the chaincode's policy governs the key
		}
		src, err := l.Receipt(ctx, setBy)
		if err != nil {
			return nil, fmt.Errorf("receipt of %s, which set the policy of %q: %w", setBy, t.Key, err)
		}
		src.ConfigBlock = nil // a source is verified under its receipt's configuration
		r.KeyPolicies = append(r.KeyPolicies, receipt.KeyPolicySource{Key: t.Key, Receipt: src})
	}
	return r, nil
}

// policyInForce returns the ID of the last valid transaction of recs before
// position (block, txIndex) that set the key's policy, "" if none did.
func policyInForce(recs []Record, block uint64, txIndex int) string {
	var setBy string
	for _, r := range recs {
		if r.Block > block || (r.Block == block && r.TxIndex >= txIndex) {
			break
		}
		if r.Valid && r.Policy.Sets != "" {
			setBy = r.TxID
		}
	}
	return setBy
}

// Resolve returns the ID of the valid transaction that brought key to
// version, from the key's trail.
func Resolve(ctx context.Context, l Ledger, key string, version uint64, opts Options) (string, error) {
	opts.IncludeInvalid, opts.ScopePurges = false, nil
	recs, err := Trail(ctx, l, key, opts)
	if err != nil {
		return "", err
	}
	for _, r := range recs {
		if r.Valid && r.Version == version && r.Op != "" {
			return r.TxID, nil
		}
	}
	return "", &NotFoundError{Key: key, Version: version}
}

// NotFoundError reports a version no committed transaction of the key
// wrote.
type NotFoundError struct {
	Key     string
	Version uint64
}

func (e *NotFoundError) Error() string {
	return fmt.Sprintf("no committed transaction brought %s to version %d", e.Key, e.Version)
}
