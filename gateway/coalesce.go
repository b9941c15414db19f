package gateway

import (
	"context"
	"errors"
	"maps"
	"slices"
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
//
// A key is in at most one transaction at a time: two transactions writing
// the same key in flight together would make the later one fail its MVCC
// check. An invalidation of a key whose transaction is in flight waits for
// it, joined by every other invalidation of that key meanwhile, and goes in
// the next transaction: a hot key costs one transaction per commit time,
// however many callers invalidate it.
type Coalescer struct {
	submit SubmitBatchFunc
	cfg    CoalescerConfig
	slots  chan struct{}

	mu      sync.Mutex
	closed  bool
	pending map[string]*batch // by reason: filling, sent when its window ends
	waiting map[string]*batch // by reason: keys whose transaction is in flight
	busy    map[string]bool   // keys in a transaction in flight
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
		waiting: map[string]*batch{},
		busy:    map[string]bool{},
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
	if c.busy[canon] {
		w := c.waiting[reason]
		if w == nil {
			w = &batch{reason: reason, waiters: map[string][]chan outcome{}}
			c.waiting[reason] = w
		}
		w.add(canon, ch)
	} else {
		b := c.pending[reason]
		if b == nil {
			b = &batch{reason: reason, waiters: map[string][]chan outcome{}}
			c.pending[reason] = b
			b.timer = time.AfterFunc(c.cfg.Window, func() { c.flush(b) })
		}
		b.add(canon, ch)
		if len(b.keys) >= c.cfg.MaxBatch {
			c.detachLocked(b)
		}
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

// Pending returns how many distinct keys wait for their batch to be sent,
// counted once per reason.
func (c *Coalescer) Pending() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, m := range []map[string]*batch{c.pending, c.waiting} {
		for _, b := range m {
			n += len(b.keys)
		}
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

// add joins ch to key's waiters, adding key if it is new to b.
func (b *batch) add(key string, ch chan outcome) {
	if _, dup := b.waiters[key]; !dup {
		b.keys = append(b.keys, key)
	}
	b.waiters[key] = append(b.waiters[key], ch)
}

// detachLocked takes b out of the pending set and sends it: its keys
// whose transaction is in flight move to the waiting batch of b's
// reason. c.mu is held.
func (c *Coalescer) detachLocked(b *batch) {
	delete(c.pending, b.reason)
	b.timer.Stop()
	c.sendLocked(b)
}

// sendLocked sends b's free keys, in transactions of at most MaxBatch keys,
// and moves its busy keys to the waiting batch of b's reason. c.mu is held.
func (c *Coalescer) sendLocked(b *batch) {
	var free []string
	for _, k := range b.keys {
		if !c.busy[k] {
			free = append(free, k)
			continue
		}
		w := c.waiting[b.reason]
		if w == nil {
			w = &batch{reason: b.reason, waiters: map[string][]chan outcome{}}
			c.waiting[b.reason] = w
		}
		for _, ch := range b.waiters[k] {
			w.add(k, ch)
		}
	}
	for keys := range slices.Chunk(free, c.cfg.MaxBatch) {
		out := &batch{reason: b.reason, keys: keys, waiters: make(map[string][]chan outcome, len(keys))}
		for _, k := range keys {
			out.waiters[k] = b.waiters[k]
			c.busy[k] = true
		}
		c.batches++
		c.wg.Add(1)
		go c.send(out)
	}
}

// done frees b's keys and sends the waiting invalidations that were held
// back for them.
func (c *Coalescer) done(b *batch) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, k := range b.keys {
		delete(c.busy, k)
	}
	for _, reason := range slices.Sorted(maps.Keys(c.waiting)) {
		w := c.waiting[reason]
		delete(c.waiting, reason)
		c.sendLocked(w)
	}
}

func (c *Coalescer) send(b *batch) {
	defer c.wg.Done()
	defer c.done(b)
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
