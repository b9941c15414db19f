package gateway

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/cachetsync/cachet/ledger"
)

// Entry, HistoryItem and Page are the contract's answers, defined in ledger.
// An Entry read by Get, GetMany, History or a listing carries Effective:
// its state once the scope purges covering it apply, naming the purge.
type (
	Entry       = ledger.Entry
	HistoryItem = ledger.HistoryItem
	Page        = ledger.Page
)

// PublishRequest is what Publish sends.
type PublishRequest struct {
	Key             string
	ETag            string
	MaxAge          uint32 // seconds
	Tags            []string
	ExpectedVersion uint64 // 0: don't check
}

// Publish creates or republishes an entry.
func (c *Client) Publish(ctx context.Context, req PublishRequest) (Entry, Committed, error) {
	tags, err := json.Marshal(append([]string{}, req.Tags...))
	if err != nil {
		return Entry{}, Committed{}, err
	}
	var e Entry
	done, err := c.submitJSON(ctx, &e, nil, ledger.TxPublish, req.Key, req.ETag, u32(req.MaxAge), string(tags), u64(req.ExpectedVersion))
	return e, done, err
}

// InvalidateOption adds to an invalidation or scope purge (Invalidate,
// InvalidateSoft, InvalidateBatch, PurgeScope).
type InvalidateOption func(transient map[string][]byte)

// WithIdempotencyKey names the invalidation: submitting it again with the
// same key (from the same org) commits nothing and answers the first
// result, so a caller that lost the answer may safely submit again. The key
// is 1 to ledger.MaxIdempotencyKeyBytes bytes of printable ASCII.
func WithIdempotencyKey(key string) InvalidateOption {
	return func(transient map[string][]byte) { transient[ledger.TransientIdempotencyKey] = []byte(key) }
}

// WithTokenID names the API token the write is made for: the contract
// records it in the event's TokenID, so the audit trail names the token as
// well as the org. The ID is 1 to ledger.MaxTokenIDBytes bytes of printable
// ASCII.
func WithTokenID(id string) InvalidateOption {
	return func(transient map[string][]byte) { transient[ledger.TransientTokenID] = []byte(id) }
}

func transientOf(opts []InvalidateOption) map[string][]byte {
	if len(opts) == 0 {
		return nil
	}
	t := map[string][]byte{}
	for _, o := range opts {
		o(t)
	}
	return t
}

// Invalidate invalidates one entry: a new version in state INVALIDATED,
// whatever its state was. expectedVersion 0 skips the version check;
// another value that is not the entry's is refused with CodeStaleVersion.
func (c *Client) Invalidate(ctx context.Context, key, reason string, expectedVersion uint64, opts ...InvalidateOption) (Entry, Committed, error) {
	var e Entry
	done, err := c.submitJSON(ctx, &e, transientOf(opts), ledger.TxInvalidate, key, reason, u64(expectedVersion))
	return e, done, err
}

// InvalidateSoft invalidates one entry softly: a new version in state
// STALE, which a browser may serve once more while it revalidates, never
// after a revalidation succeeded. An entry that is INVALIDATED (its own
// state, or a hard scope purge covering it) gets a new INVALIDATED version
// instead. expectedVersion and opts work as for Invalidate.
func (c *Client) InvalidateSoft(ctx context.Context, key, reason string, expectedVersion uint64, opts ...InvalidateOption) (Entry, Committed, error) {
	var e Entry
	done, err := c.submitJSON(ctx, &e, transientOf(opts), ledger.TxInvalidateSoft, key, reason, u64(expectedVersion))
	return e, done, err
}

// InvalidateBatch invalidates up to ledger.MaxBatchKeys keys in one
// transaction; every key with an entry gets a new version.
func (c *Client) InvalidateBatch(ctx context.Context, keys []string, reason string, opts ...InvalidateOption) (ledger.BatchResult, Committed, error) {
	return c.invalidateBatch(ctx, ledger.TxInvalidateBatch, keys, reason, opts)
}

// InvalidateBatchSoft is InvalidateBatch, softly: every key with an entry
// becomes STALE (an INVALIDATED one stays INVALIDATED), in one transaction.
func (c *Client) InvalidateBatchSoft(ctx context.Context, keys []string, reason string, opts ...InvalidateOption) (ledger.BatchResult, Committed, error) {
	return c.invalidateBatch(ctx, ledger.TxInvalidateBatchSoft, keys, reason, opts)
}

func (c *Client) invalidateBatch(ctx context.Context, name string, keys []string, reason string, opts []InvalidateOption) (ledger.BatchResult, Committed, error) {
	var r ledger.BatchResult
	b, err := json.Marshal(keys)
	if err != nil {
		return r, Committed{}, err
	}
	done, err := c.submitJSON(ctx, &r, transientOf(opts), name, string(b), reason)
	return r, done, err
}

// SubmitBatch adapts InvalidateBatch to a Coalescer.
func (c *Client) SubmitBatch(ctx context.Context, keys []string, reason string) (BatchResult, error) {
	r, done, err := c.InvalidateBatch(ctx, keys, reason)
	if err != nil {
		return BatchResult{}, err
	}
	out := BatchResult{TxID: done.TxID, Block: done.Block, Keys: make(map[string]KeyResult, len(keys))}
	for _, e := range r.Invalidated {
		out.Keys[e.Key] = KeyResult{Status: KeyInvalidated, Version: e.Version}
	}
	for _, k := range r.Missing {
		out.Keys[k] = KeyResult{Status: KeyMissing}
	}
	return out, nil
}

// TagProgress reports one committed page of InvalidateTag.
type TagProgress struct {
	Committed
	Invalidated int // keys invalidated by this page
	Total       int // so far
}

// InvalidateTag invalidates every entry carrying tag, one bounded
// transaction per page, calling progress (if not nil) after each page.
func (c *Client) InvalidateTag(ctx context.Context, tag, reason string, pageSize int32, progress func(TagProgress)) (int, error) {
	total, bookmark := 0, ""
	for {
		var page ledger.TagPage
		done, err := c.submitJSON(ctx, &page, nil, ledger.TxInvalidateTag, tag, bookmark, strconv.Itoa(int(pageSize)), reason)
		if err != nil {
			return total, err
		}
		total += page.Invalidated
		if progress != nil {
			progress(TagProgress{Committed: done, Invalidated: page.Invalidated, Total: total})
		}
		if bookmark = page.Bookmark; bookmark == "" {
			return total, nil
		}
	}
}

// Purge deletes an entry's state; its history stays.
func (c *Client) Purge(ctx context.Context, key string, expectedVersion uint64) (Entry, Committed, error) {
	var e Entry
	done, err := c.submitJSON(ctx, &e, nil, ledger.TxPurge, key, u64(expectedVersion))
	return e, done, err
}

// Get reads one entry; a missing key is an *Error with CodeNotFound.
func (c *Client) Get(ctx context.Context, key string) (Entry, error) {
	var e Entry
	return e, c.evaluateJSON(ctx, &e, ledger.TxGet, key)
}

// GetMany reads the entries of keys that exist.
func (c *Client) GetMany(ctx context.Context, keys []string) ([]Entry, error) {
	b, err := json.Marshal(keys)
	if err != nil {
		return nil, err
	}
	var es []Entry
	return es, c.evaluateJSON(ctx, &es, ledger.TxGetMany, string(b))
}

// History returns every committed modification of key.
func (c *Client) History(ctx context.Context, key string) ([]HistoryItem, error) {
	var h []HistoryItem
	return h, c.evaluateJSON(ctx, &h, ledger.TxHistory, key)
}

// ScopePurges returns every scope purge that covered key while it had an
// entry, oldest first.
func (c *Client) ScopePurges(ctx context.Context, key string) ([]ledger.Generation, error) {
	var g []ledger.Generation
	return g, c.evaluateJSON(ctx, &g, ledger.TxScopePurges, key)
}

// ListByTag returns one page of the entries carrying tag.
func (c *Client) ListByTag(ctx context.Context, tag, bookmark string, pageSize int32) (Page, error) {
	var p Page
	return p, c.evaluateJSON(ctx, &p, ledger.TxListByTag, tag, bookmark, strconv.Itoa(int(pageSize)))
}

// ListByOwner returns one page of the entries an org owns.
func (c *Client) ListByOwner(ctx context.Context, mspID, bookmark string, pageSize int32) (Page, error) {
	var p Page
	return p, c.evaluateJSON(ctx, &p, ledger.TxListByOwner, mspID, bookmark, strconv.Itoa(int(pageSize)))
}

func (c *Client) submitJSON(ctx context.Context, out any, transient map[string][]byte, name string, args ...string) (Committed, error) {
	b, done, err := c.submit(ctx, transient, name, args...)
	if err != nil {
		return done, err
	}
	if err := json.Unmarshal(b, out); err != nil {
		return done, fmt.Errorf("%s answer does not parse: %w", name, err)
	}
	return done, nil
}

func (c *Client) evaluateJSON(ctx context.Context, out any, name string, args ...string) error {
	b, err := c.evaluate(ctx, name, args...)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("%s answer does not parse: %w", name, err)
	}
	return nil
}

func u32(v uint32) string { return strconv.FormatUint(uint64(v), 10) }
func u64(v uint64) string { return strconv.FormatUint(v, 10) }
