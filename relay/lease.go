package relay

import (
	"context"
	"log/slog"
	"maps"
	"sync"
	"time"

	"github.com/cachetsync/cachet/kafka"
	"github.com/cachetsync/cachet/record"
)

// Lease decides which of several relays of one channel writes. Fencing by
// transactional.id keeps a deposed leader from committing; the lease keeps
// standbys from fencing the leader in turn.
type Lease interface {
	// Acquire blocks until this relay may lead. The returned context ends
	// as soon as leadership is lost (or ctx ends); release frees it.
	Acquire(ctx context.Context) (lead context.Context, release context.CancelFunc, err error)
	// Close gives the lease up for good, so a standby takes over at once.
	Close() error
}

// Solo is a Lease that is always held: for a single relay, and for tests
// that drive leadership themselves.
type Solo struct{}

// Acquire implements Lease.
func (Solo) Acquire(ctx context.Context) (context.Context, context.CancelFunc, error) {
	lead, release := context.WithCancel(ctx)
	return lead, release, nil
}

// Close implements Lease.
func (Solo) Close() error { return nil }

// GroupLease is a Lease held through a Kafka consumer group on the
// one-partition topic cachet.positions: the member assigned partition 0
// leads. When the group takes the partition away (revoked, or lost after a
// missed session timeout) leadership ends at once. A killed leader's
// partition moves after the session timeout (6 s).
type GroupLease struct {
	c   *kafka.Consumer
	log *slog.Logger

	mu      sync.Mutex
	current context.CancelFunc // ends the current leadership; nil when not leading
	grants  chan context.Context

	stop chan struct{}
	done chan struct{}
}

// NewGroupLease joins group (one per channel, e.g. "cachet-relay.cachet").
// A non-empty instanceID makes the membership static (group.instance.id):
// a relay restarted with the same ID takes its place back at once instead
// of waiting out the dead process's session; give each relay its own.
func NewGroupLease(cfg kafka.Config, group, instanceID string, log *slog.Logger) (*GroupLease, error) {
	if log == nil {
		log = slog.Default()
	}
	extra := kafka.ConfigMap{"session.timeout.ms": 6000, "heartbeat.interval.ms": 500}
	if instanceID != "" {
		extra["group.instance.id"] = instanceID
	}
	maps.Copy(extra, cfg.Extra)
	cfg.Extra = extra
	c, err := kafka.NewConsumer(cfg, group, "latest")
	if err != nil {
		return nil, err
	}
	l := &GroupLease{c: c, log: log, grants: make(chan context.Context, 1), stop: make(chan struct{}), done: make(chan struct{})}
	if err := c.Subscribe([]string{record.TopicPositions}, l.rebalance); err != nil {
		c.Close()
		return nil, err
	}
	go l.poll()
	return l, nil
}

// poll keeps the membership alive; assignments arrive through rebalance.
func (l *GroupLease) poll() {
	defer close(l.done)
	for {
		select {
		case <-l.stop:
			return
		default:
		}
		if e, ok := l.c.Poll(100 * time.Millisecond).(*kafka.Error); ok {
			l.log.Debug("relay lease", "err", e)
		}
	}
}

func (l *GroupLease) rebalance(ev kafka.Event) {
	switch e := ev.(type) {
	case kafka.AssignedPartitions:
		l.end()
		for _, tp := range e.Partitions {
			if tp.Partition == 0 {
				l.grant()
			}
		}
	case kafka.RevokedPartitions:
		l.end()
		if l.c.AssignmentLost() {
			l.log.Warn("relay: lease lost (session timed out)")
		}
	}
}

func (l *GroupLease) grant() {
	l.mu.Lock()
	defer l.mu.Unlock()
	ctx, cancel := context.WithCancel(context.Background())
	l.current = cancel
	select {
	case old := <-l.grants: // never taken: it was ended already
		_ = old
	default:
	}
	l.grants <- ctx
}

func (l *GroupLease) end() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.current != nil {
		l.current()
		l.current = nil
	}
}

// Acquire implements Lease.
func (l *GroupLease) Acquire(ctx context.Context) (context.Context, context.CancelFunc, error) {
	for {
		select {
		case g := <-l.grants:
			if g.Err() != nil {
				continue // revoked before it was taken
			}
			lead, release := context.WithCancel(ctx)
			stop := context.AfterFunc(g, release)
			return lead, func() { stop(); release() }, nil
		case <-ctx.Done():
			return nil, nil, ctx.Err()
		}
	}
}

// Close implements Lease: it leaves the group, so the partition moves to a
// standby without waiting for the session timeout.
func (l *GroupLease) Close() error {
	select {
	case <-l.stop:
		return nil
	default:
	}
	close(l.stop)
	<-l.done
	l.end()
	return l.c.Close()
}
