package relay

import (
	"context"
	"errors"
	"maps"
	"strconv"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/cachetsync/cachet/gateway"
	"github.com/cachetsync/cachet/kafka"
	"github.com/cachetsync/cachet/record"
)

// item is one ledger transaction on its way to Kafka.
type item struct {
	pos     record.Position
	msgs    []*kafka.Message
	spans   []trace.Span
	ts      time.Time // the transaction's timestamp; zero without a Cachet event
	invalid bool      // its one record, if any, is a record.Conflict
	dead    bool
	weight  int // budget tokens held: its records, at least 1
	purges  int // of msgs, the generation records (the last ones)
}

// budget bounds the records read from the ledger but not yet committed:
// one token per record (a ledger transaction larger than the whole budget
// takes all of it). One goroutine acquires, one releases.
type budget chan struct{}

func (b budget) acquire(ctx context.Context, n int) error {
	for range n {
		select {
		case b <- struct{}{}:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

func (b budget) release(n int) {
	for range n {
		<-b
	}
}

// sourceError marks a failure of the ledger side, which Run returns.
type sourceError struct{ err error }

func (e *sourceError) Error() string { return e.err.Error() }
func (e *sourceError) Unwrap() error { return e.err }

// ProducerConfig is the relay's Kafka config for its transactional
// producer: delivery failures surface through CommitTransaction, and a
// transaction a dead relay left open is aborted by the broker after 10 s
// if no successor fences it first.
func ProducerConfig(cfg kafka.Config) kafka.Config {
	extra := kafka.ConfigMap{"go.delivery.reports": false, "transaction.timeout.ms": 10000, "linger.ms": 2,
		"queue.buffering.max.messages": 1_000_000}
	maps.Copy(extra, cfg.Extra)
	cfg.Extra = extra
	return cfg
}

// lead is one leading session: fence earlier producers, read the committed
// position, then follow the ledger from there, committing a Kafka
// transaction per group of ledger transactions. It returns when ctx ends,
// on a *KafkaError (the session's open transaction aborted), or on a
// source failure.
func (r *Relay) lead(ctx context.Context) (err error) {
	prod, err := kafka.NewTransactionalProducer(ProducerConfig(r.cfg.Kafka), TransactionalID(r.cfg.Channel),
		kafka.WithErrorHandler(func(err error) { r.log.Debug("relay producer", "err", err) }))
	if err != nil {
		return &KafkaError{Op: "new producer", Err: err}
	}
	inTxn := false
	defer func() {
		if inTxn {
			actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), r.cfg.OpTimeout)
			prod.Abort(actx) // best effort: the next leader's init aborts it too
			cancel()
		}
		prod.Close()
	}()
	if err := r.step(ctx, prod.Init); err != nil {
		return &KafkaError{Op: "init transactions", Err: err}
	}
	r.log.Debug("relay: producer initialized")
	rctx, cancel := context.WithTimeout(ctx, r.cfg.OpTimeout)
	pos, have, err := ReadPosition(rctx, r.cfg.Kafka, r.cfg.Channel)
	cancel()
	if err != nil {
		return &KafkaError{Op: "read position", Err: err}
	}
	cp := &gateway.MemoryCheckpointer{}
	if have {
		cp.Save(pos)
		r.Stats.Relayed.Store(pos.Block)
		r.log.Info("relay: leading from "+pos.String(), "channel", r.cfg.Channel)
	} else {
		r.log.Info("relay: leading from block "+strconv.FormatUint(r.cfg.StartBlock, 10)+" (no position yet)", "channel", r.cfg.Channel)
	}
	r.Stats.Leader.Store(true)
	r.kafkaFailingSince.Store(0)

	items := make(chan item, r.cfg.Buffer)
	room := make(budget, r.cfg.Buffer)
	fctx, stopFollow := context.WithCancel(ctx)
	followed := make(chan error, 1)
	go func() { followed <- r.follow(fctx, cp, room, items) }()
	defer func() {
		stopFollow()
		<-followed
		for {
			select {
			case it := <-items:
				endSpans(it.spans, errors.New("relay: session ended before commit"))
			default:
				return
			}
		}
	}()
	if r.cfg.Height != nil {
		go r.pollHeight(fctx)
	}
	for {
		var first item
		select {
		case <-ctx.Done():
			return ctx.Err()
		case err := <-followed:
			followed <- err // for the deferred wait
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return &sourceError{err}
		case first = <-items:
		}
		if err := prod.Begin(); err != nil {
			return &KafkaError{Op: "begin transaction", Err: err}
		}
		inTxn = true
		if err := r.commit(ctx, prod, first, items, room); err != nil {
			return err
		}
		inTxn = false
	}
}

// commit fills the open transaction from first and items until it holds
// MaxRecords records or Linger passed, adds the position and commits.
func (r *Relay) commit(ctx context.Context, prod *kafka.TxProducer, first item, items <-chan item, room budget) (err error) {
	batch := []item{first}
	n := len(first.msgs)
	defer func() {
		for _, it := range batch {
			endSpans(it.spans, err)
		}
	}()
	produce := func(it item) error {
		for _, m := range it.msgs {
			if err := prod.Produce(m); err != nil {
				return &KafkaError{Op: "produce", Err: err}
			}
		}
		return nil
	}
	if err := produce(first); err != nil {
		return err
	}
	var linger <-chan time.Time // nil: group commit, never fires
	if r.cfg.Linger > 0 {
		t := time.NewTimer(r.cfg.Linger)
		defer t.Stop()
		linger = t.C
	}
fill:
	for n < r.cfg.MaxRecords {
		if linger == nil && len(items) == 0 {
			break // group commit: nothing is waiting
		}
		select {
		case it := <-items:
			batch = append(batch, it)
			n += len(it.msgs)
			if err := produce(it); err != nil {
				return err
			}
		case <-linger:
			break fill
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	last := batch[len(batch)-1]
	pm, err := positionMessage(r.cfg.Channel, last.pos)
	if err != nil {
		return err
	}
	if err := prod.Produce(pm); err != nil {
		return &KafkaError{Op: "produce position", Err: err}
	}
	if err := r.step(ctx, prod.Commit); err != nil {
		return &KafkaError{Op: "commit transaction", Err: err}
	}
	now := time.Now()
	for _, it := range batch {
		room.release(it.weight)
	}
	r.Stats.KafkaTransactions.Add(1)
	r.Stats.Relayed.Store(last.pos.Block)
	var newest time.Time
	for _, it := range batch {
		switch {
		case it.invalid:
			r.Stats.Invalid.Add(1)
			r.Stats.Conflicts.Add(uint64(len(it.msgs)))
			continue
		case it.dead:
			r.Stats.DeadLetters.Add(1)
		default:
			r.Stats.Records.Add(uint64(len(it.msgs) - it.purges))
			r.Stats.Purges.Add(uint64(it.purges))
		}
		r.Stats.Transactions.Add(1)
		if it.ts.After(newest) {
			newest = it.ts
		}
	}
	if !newest.IsZero() {
		r.Stats.LagNanos.Store(int64(now.Sub(newest)))
	}
	if h := last.pos.Block + 1; h > r.Stats.LedgerHeight.Load() {
		r.Stats.LedgerHeight.Store(h)
	}
	return nil
}

// follow reads the ledger after cp's position into items; it blocks (and
// so stops reading the ledger) while the records waiting for a commit fill
// the budget.
func (r *Relay) follow(ctx context.Context, cp gateway.Checkpointer, room budget, items chan<- item) error {
	return r.cfg.Source.Follow(ctx, gateway.FollowConfig{
		Checkpointer: cp, StartBlock: r.cfg.StartBlock, IncludeInvalid: true,
		OnReconnect: func(err error, attempt int) {
			r.log.Warn("relay: ledger stream lost, reconnecting", "err", err, "attempt", attempt)
		},
	}, func(ctx context.Context, tx gateway.Transaction) error {
		it := item{pos: tx.Position, invalid: !tx.Valid, dead: tx.EventErr != nil}
		var err error
		if it.msgs, it.spans, err = Messages(ctx, tx); err != nil {
			return err
		}
		if tx.Valid && tx.Event != nil {
			it.purges = len(tx.Event.Purges)
			it.ts, _ = time.Parse(time.RFC3339Nano, tx.Event.Timestamp)
		}
		it.weight = min(max(len(it.msgs), 1), cap(room))
		if err := room.acquire(ctx, it.weight); err != nil {
			endSpans(it.spans, err)
			return err
		}
		select {
		case items <- it:
			return nil
		case <-ctx.Done():
			endSpans(it.spans, ctx.Err())
			return ctx.Err()
		}
	})
}

// step runs one Kafka transaction call bounded by OpTimeout.
func (r *Relay) step(ctx context.Context, f func(context.Context) error) error {
	sctx, cancel := context.WithTimeout(ctx, r.cfg.OpTimeout)
	defer cancel()
	return f(sctx)
}

// pollHeight keeps Stats.LedgerHeight current while leading.
func (r *Relay) pollHeight(ctx context.Context) {
	t := time.NewTicker(2 * time.Second)
	defer t.Stop()
	for {
		if h, err := r.cfg.Height(ctx); err == nil && h > r.Stats.LedgerHeight.Load() {
			r.Stats.LedgerHeight.Store(h)
		}
		select {
		case <-t.C:
		case <-ctx.Done():
			return
		}
	}
}
