package gateway

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/cachetsync/cachet/cachekey"
)

// KeyStatus is what one InvalidateBatch transaction did to one key.
type KeyStatus string

// Per-key outcomes of a batch.
const (
	KeyInvalidated KeyStatus = "invalidated" // INVALIDATED at Version, a new version whatever the state was
	KeyMissing     KeyStatus = "missing"     // no such entry
)

// KeyResult is one key's outcome in a committed batch.
type KeyResult struct {
	Status  KeyStatus
	Version uint64 // the entry's version after the transaction
}

// BatchResult is the outcome of one committed InvalidateBatch transaction.
type BatchResult struct {
	TxID  string
	Block uint64
	Keys  map[string]KeyResult // by canonical key
}

// InvalidateResult is one caller's outcome.
type InvalidateResult struct {
	Key string // canonical
	KeyResult
	TxID  string
	Block uint64
}

// SubmitBatchFunc submits one InvalidateBatch transaction and waits for its
// commit. Keys are canonical and distinct.
type SubmitBatchFunc func(ctx context.Context, keys []string, reason string) (BatchResult, error)

// CoalescerConfig tunes a Coalescer. Zero values take the defaults.
type CoalescerConfig struct {
	// Window is how long the first invalidation of a batch waits for
	// others to join it (default 5ms).
	Window time.Duration
	// MaxBatch caps keys per transaction (default 1000, the contract's limit).
	MaxBatch int
	// MaxInFlight caps concurrent batch transactions (default 8).
	MaxInFlight int
	// SubmitTimeout bounds one batch's submit and commit (default 30s).
	SubmitTimeout time.Duration
}

func (c *CoalescerConfig) defaults() {
	if c.Window <= 0 {
		c.Window = 5 * time.Millisecond
	}
	if c.MaxBatch <= 0 {
		c.MaxBatch = 1000
	}
	if c.MaxInFlight <= 0 {
		c.MaxInFlight = 8
	}
	if c.SubmitTimeout <= 0 {
		c.SubmitTimeout = 30 * time.Second
	}
}

// ErrCoalescerClosed is returned to callers after Close.
var ErrCoalescerClosed = errors.New("coalescer closed")

// MissingResultError reports a batch that committed without an outcome for a
// key it was sent: a contract bug, never silently treated as success.
type MissingResultError struct{ Key, TxID string }

func (e *MissingResultError) Error() string {
	return "transaction " + e.TxID + " reported no outcome for " + e.Key
}

// Coalescer merges invalidations that arrive within a short window into one
// InvalidateBatch transaction per reason. Keys are canonicalized and
// deduplicated; every caller learns its own key's outcome, transaction ID
// and block.
type Coalescer struct {
	submit SubmitBatchFunc
	cfg    CoalescerConfig
	slots  chan struct{}

	mu      sync.Mutex
	closed  bool
	pending map[string]*batch // by reason
	wg      sync.WaitGroup
	batches uint64
}

type outcome struct {
	res InvalidateResult
	err error
}

type batch struct {
	reason  string
	keys    []string
	waiters map[string][]chan outcome
	timer   *time.Timer
}

// NewCoalescer returns a Coalescer that submits batches with submit.
func NewCoalescer(submit SubmitBatchFunc, cfg CoalescerConfig) *Coalescer {
	cfg.defaults()
	return &Coalescer{
		submit:  submit,
		cfg:     cfg,
		slots:   make(chan struct{}, cfg.MaxInFlight),
		pending: map[string]*batch{},
	}
}

// Invalidate queues key for invalidation and waits for the transaction that
// carries it to commit. A malformed key fails at once with a *cachekey.Error
// and never joins a batch. If ctx ends first the caller stops waiting, but the
// batch still goes through.
func (c *Coalescer) Invalidate(ctx context.Context, key, reason string) (InvalidateResult, error) {
	canon, err := cachekey.Canonical(key)
	if err != nil {
		return InvalidateResult{}, err
	}
	ch := make(chan outcome, 1)
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return InvalidateResult{}, ErrCoalescerClosed
	}
	b := c.pending[reason]
	if b == nil {
		b = &batch{reason: reason, waiters: map[string][]chan outcome{}}
		c.pending[reason] = b
		b.timer = time.AfterFunc(c.cfg.Window, func() { c.flush(b) })
	}
	if _, dup := b.waiters[canon]; !dup {
		b.keys = append(b.keys, canon)
	}
	b.waiters[canon] = append(b.waiters[canon], ch)
	if len(b.keys) >= c.cfg.MaxBatch {
		c.detachLocked(b)
	}
	c.mu.Unlock()

	select {
	case o := <-ch:
		return o.res, o.err
	case <-ctx.Done():
		return InvalidateResult{}, ctx.Err()
	}
}

// Batches returns how many batch transactions were submitted so far.
func (c *Coalescer) Batches() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.batches
}

// Pending returns how many distinct keys wait for their batch to be sent.
func (c *Coalescer) Pending() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, b := range c.pending {
		n += len(b.keys)
	}
	return n
}

// Close submits what is pending, waits for every batch to finish and refuses
// new invalidations.
func (c *Coalescer) Close() error {
	c.mu.Lock()
	c.closed = true
	for _, b := range c.pending {
		c.detachLocked(b)
	}
	c.mu.Unlock()
	c.wg.Wait()
	return nil
}

func (c *Coalescer) flush(b *batch) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.pending[b.reason] == b {
		c.detachLocked(b)
	}
}

// detachLocked takes b out of the pending set and sends it. c.mu is held.
func (c *Coalescer) detachLocked(b *batch) {
	delete(c.pending, b.reason)
	b.timer.Stop()
	c.batches++
	c.wg.Add(1)
	go c.send(b)
}

func (c *Coalescer) send(b *batch) {
	defer c.wg.Done()
	c.slots <- struct{}{}
	defer func() { <-c.slots }()
	ctx, cancel := context.WithTimeout(context.Background(), c.cfg.SubmitTimeout)
	defer cancel()
	res, err := c.submit(ctx, b.keys, b.reason)
	for key, chans := range b.waiters {
		o := outcome{err: err}
		if err == nil {
			kr, ok := res.Keys[key]
			if ok {
				o.res = InvalidateResult{Key: key, KeyResult: kr, TxID: res.TxID, Block: res.Block}
			} else {
				o.err = &MissingResultError{Key: key, TxID: res.TxID}
			}
		}
		for _, ch := range chans {
			ch <- o
		}
	}
}
