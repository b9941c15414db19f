// Package relay turns committed ledger transitions into Kafka records: one
// record per transition on cachet.transitions, keyed by the cache key so a
// key stays on one partition, in ledger order; one record.Generation per
// scope purge on cachet.purges, keyed by the scope (not one per covered
// key); and one record.Conflict per transaction of the contract that the
// peers refused (MVCC conflicts, endorsement policy failures, …) on
// cachet.conflicts, keyed by its first key.
//
// Delivery is exactly-once for read_committed consumers. The relay writes a
// group of ledger transactions' records and the new ledger position (on the
// compacted topic cachet.positions, key = channel) in one Kafka transaction,
// and on start resumes right after the last committed position. A crash
// leaves an open Kafka transaction that the next leader's InitTransactions
// aborts, so its records are never seen, and the relay sends them again.
//
// Several relays of one channel may run: a Lease (a consumer group on
// cachet.positions) picks the one that writes, and the shared
// transactional.id fences a deposed leader that still tries to commit.
// While Kafka is unreachable the relay stops reading the ledger, aborts the
// open transaction and retries with backoff; at most Config.Buffer records
// wait in memory.
package relay

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync/atomic"
	"time"

	"github.com/cachetsync/cachet/gateway"
	"github.com/cachetsync/cachet/kafka"
)

// Source delivers committed transactions from a position; *gateway.Client
// is one.
type Source interface {
	Follow(ctx context.Context, cfg gateway.FollowConfig, h gateway.Handler) error
}

// Config wires a relay. Zero values take the defaults in parentheses.
type Config struct {
	Source Source
	// Kafka is the cluster to write to; the relay builds its own
	// transactional producer and consumers from it.
	Kafka kafka.Config
	// Channel is the ledger channel relayed: it names the transactional.id
	// ("cachet-relay." + Channel) and keys the position record.
	Channel string
	// StartBlock is where to begin when cachet.positions holds no position
	// for the channel.
	StartBlock uint64
	// Lease picks the leader among relays of the channel (a GroupLease on
	// Kafka, group "cachet-relay." + Channel, static member InstanceID
	// when set).
	Lease      Lease
	InstanceID string
	// MaxRecords and Linger bound one Kafka transaction: it commits once it
	// holds MaxRecords records (500) or Linger after it began. Linger 0
	// (the default) is group commit: the transaction commits as soon as no
	// ledger transaction is waiting, and what arrives during the commit
	// goes into the next one, so a lone invalidation waits for nothing and
	// a busy ledger still fills transactions. A ledger transaction is never
	// split.
	MaxRecords int
	Linger     time.Duration
	// Buffer is how many records may wait for Kafka (read from the
	// ledger, not yet committed) before the relay stops reading the ledger
	// (10,000; a larger ledger transaction is let in alone).
	Buffer int
	// OpTimeout bounds one Kafka step: init, commit, abort, reading the
	// position (10s).
	OpTimeout time.Duration
	// MinBackoff and MaxBackoff bound the wait before a new leading session
	// after Kafka failed (100ms, 10s).
	MinBackoff, MaxBackoff time.Duration
	// Height, if set, returns the ledger height for the lag metrics.
	Height func(ctx context.Context) (uint64, error)
	// UnhealthyAfter is how long a leader's Kafka sessions may keep failing
	// before HealthHandler answers 503 (1 minute).
	UnhealthyAfter time.Duration
	Log            *slog.Logger
}

// Stats counts what a relay did; the metrics read it.
type Stats struct {
	Transactions      atomic.Uint64 // ledger transactions whose records were committed
	Records           atomic.Uint64 // transition records committed
	Purges            atomic.Uint64 // generation records (scope purges) committed
	KafkaTransactions atomic.Uint64 // Kafka transactions committed
	Invalid           atomic.Uint64 // invalid ledger transactions (no transitions relayed)
	Conflicts         atomic.Uint64 // of those, conflict records committed (the contract's)
	DeadLetters       atomic.Uint64 // unreadable events sent to cachet.deadletter
	Retries           atomic.Uint64 // leading sessions ended by a Kafka failure and retried
	Fenced            atomic.Uint64 // times this relay was fenced by another leader
	Leader            atomic.Bool   // whether this relay leads now
	Relayed           atomic.Uint64 // block of the last committed position
	LedgerHeight      atomic.Uint64 // highest ledger height seen
	LagNanos          atomic.Int64  // commit time minus the newest committed transaction's timestamp
}

// Relay follows the ledger and produces its transitions.
type Relay struct {
	cfg   Config
	log   *slog.Logger
	Stats Stats

	state             atomic.Int32 // a State
	kafkaFailingSince atomic.Int64 // unix nanoseconds of the first failed session since the last good one; 0: none
}

// New checks cfg and returns a Relay.
func New(cfg Config) (*Relay, error) {
	switch {
	case cfg.Source == nil:
		return nil, errors.New("relay: Config.Source is required")
	case cfg.Channel == "":
		return nil, errors.New("relay: Config.Channel is required")
	}
	if err := cfg.Kafka.Validate(); err != nil {
		return nil, err
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	d := DefaultConfig()
	def(&cfg.OpTimeout, d.OpTimeout)
	def(&cfg.MinBackoff, d.MinBackoff)
	def(&cfg.MaxBackoff, d.MaxBackoff)
	def(&cfg.UnhealthyAfter, d.UnhealthyAfter)
	if cfg.MaxRecords <= 0 {
		cfg.MaxRecords = d.MaxRecords
	}
	if cfg.Buffer <= 0 {
		cfg.Buffer = d.Buffer
	}
	return &Relay{cfg: cfg, log: cfg.Log}, nil
}

// TransactionalID is the transactional.id every relay of channel shares.
func TransactionalID(channel string) string { return "cachet-relay." + channel }

// KafkaError reports a Kafka step that failed; the leading session ends,
// its open transaction is aborted, and the relay starts a new one.
type KafkaError struct {
	Op  string // "init", "begin", "produce", "commit", "read position", ...
	Err error
}

func (e *KafkaError) Error() string { return fmt.Sprintf("relay: kafka %s: %v", e.Op, e.Err) }
func (e *KafkaError) Unwrap() error { return e.Err }

// Fenced reports whether a newer producer with the same transactional.id
// took over: this relay must step down.
func (e *KafkaError) Fenced() bool {
	var ke *kafka.Error
	return errors.As(e.Err, &ke) && ke.Fenced()
}

// ErrFenced is what Run's log and the fencing tests look for: errors.Is
// matches a *KafkaError whose producer was fenced.
var ErrFenced = errors.New("relay: fenced by a newer leader")

// Is makes errors.Is(err, ErrFenced) true for fenced producers.
func (e *KafkaError) Is(target error) bool { return target == ErrFenced && e.Fenced() }

// Run relays until ctx ends (it returns nil then) or the ledger source
// fails for good. Kafka failures never end it: they are retried.
func (r *Relay) Run(ctx context.Context) error {
	defer r.state.Store(int32(StateStopping))
	defer r.stopOnDone(ctx)()
	lease := r.cfg.Lease
	if lease == nil {
		gl, err := NewGroupLease(r.cfg.Kafka, TransactionalID(r.cfg.Channel), r.cfg.InstanceID, r.log)
		if err != nil {
			return err
		}
		defer gl.Close()
		lease = gl
	}
	for {
		r.log.Info("relay: standby", "channel", r.cfg.Channel)
		r.setState(StateStandby)
		lead, release, err := lease.Acquire(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		r.setState(StateLeading)
		err = r.leadWhileHeld(lead)
		release()
		r.kafkaFailingSince.Store(0)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// leadWhileHeld runs leading sessions until the lease ends, retrying Kafka
// failures with backoff. It returns only the source's permanent failures.
func (r *Relay) leadWhileHeld(lead context.Context) error {
	for attempt := 0; lead.Err() == nil; attempt++ {
		committed := r.Stats.KafkaTransactions.Load()
		err := r.lead(lead)
		r.Stats.Leader.Store(false)
		if lead.Err() != nil {
			return nil
		}
		var ke *KafkaError
		if !errors.As(err, &ke) {
			return err
		}
		r.kafkaFailingSince.CompareAndSwap(0, time.Now().UnixNano())
		wait := min(r.cfg.MaxBackoff, r.cfg.MinBackoff<<min(attempt, 16))
		if ke.Fenced() {
			// Another relay took the transactional.id: it holds the lease,
			// or will once the group notices. Leave it be.
			r.Stats.Fenced.Add(1)
			r.log.Warn("relay: fenced by another leader, stepping down", "err", err)
			wait = r.cfg.MaxBackoff
		} else {
			r.Stats.Retries.Add(1)
			r.log.Warn("relay: kafka failed, retrying", "err", err, "wait", wait)
		}
		if r.Stats.KafkaTransactions.Load() != committed {
			attempt = -1 // the session made progress: start the backoff over
		}
		select {
		case <-time.After(wait/2 + rand.N(wait/2+1)):
		case <-lead.Done():
		}
	}
	return nil
}
