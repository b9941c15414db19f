// Package daemon runs analytics as a service: it consumes transitions,
// conflicts and reads, keeps the model and fits the conflict model, and
// publishes advice periodically for keys whose advice changed. Run reaches Kafka through the small Consumer and Producer
// interfaces; RunKafka runs it over package kafka's clients.
package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/cachetsync/cachet/analytics/conflict"
	"github.com/cachetsync/cachet/analytics/engine"
	"github.com/cachetsync/cachet/analytics/model"
	"github.com/cachetsync/cachet/analytics/policy"
	"github.com/cachetsync/cachet/analytics/score"
	"github.com/cachetsync/cachet/coverage"
	"github.com/cachetsync/cachet/record"
)

// Message is one consumed record.
type Message struct {
	Topic string
	Value []byte
}

// Consumer yields records from cachet.transitions, cachet.conflicts and
// cachet.reads.
type Consumer interface {
	// Poll waits up to about its own short timeout; ok is false when
	// nothing arrived.
	Poll(ctx context.Context) (m Message, ok bool, err error)
}

// Producer publishes advice records to cachet.advice.
type Producer interface {
	Produce(ctx context.Context, key string, value []byte) error
	Flush(ctx context.Context) error
}

// Config configures the daemon.
type Config struct {
	Engine engine.Kind
	Params score.Params
	Model  model.Config
	// Conflict configures the conflict model, fitted to the committed and
	// refused writes (conflict package defaults for zero fields).
	Conflict conflict.Config
	Interval time.Duration // how often advice is recomputed (default 1 s)
	Log      *slog.Logger
	Clock    func() time.Time
	// Coverage bounds the proof-of-propagation window (coverage.Option;
	// the coverage package's defaults otherwise).
	Coverage []coverage.Option
}

// Daemon is a running analytics service.
type Daemon struct {
	cfg    Config
	eng    *engine.Engine
	skips  uint64
	issued uint64
	m      *metrics
	cov    *coverage.Tracker
	cm     *coverageMetrics
}

// New builds the daemon, choosing the scorer (with a CPU fallback).
func New(cfg Config) (*Daemon, error) {
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.Interval <= 0 {
		cfg.Interval = DefaultConfig().Interval
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	if cfg.Params == (score.Params{}) {
		cfg.Params = score.DefaultParams()
	}
	if cfg.Model.Clock == nil {
		cfg.Model.Clock = cfg.Clock
	}
	s := engine.OpenScorer(cfg.Engine, cfg.Log)
	eng, err := engine.New(model.NewTracker(cfg.Model), s, cfg.Params)
	if err != nil {
		_ = s.Close()
		return nil, err
	}
	eng.Conflicts = conflict.NewModel(cfg.Conflict)
	pc := policy.DefaultConfig()
	pc.Params = cfg.Params
	if eng.Policy, err = policy.New(pc); err != nil {
		_ = s.Close()
		return nil, err
	}
	eng.Watching = cfg.Clock()
	cfg.Log.Info("analytics engine", "engine", s.Name(), "requested", string(cfg.Engine))
	cm := newCoverageMetrics()
	cov, err := newCoverage(cfg, cm)
	if err != nil {
		_ = s.Close()
		return nil, err
	}
	d := &Daemon{cfg: cfg, eng: eng, m: newMetrics(), cov: cov, cm: cm}
	d.snapshot()
	return d, nil
}

// EngineName is the scorer in use: "cpu" or "cuda".
func (d *Daemon) EngineName() string { return d.eng.Scorer().Name() }

// Stats are the model's counters.
func (d *Daemon) Stats() model.Stats { return d.eng.Tracker.Stats() }

// Close releases the scorer.
func (d *Daemon) Close() error { return d.eng.Scorer().Close() }

// Handle feeds one record to the model, transitions and conflicts to the
// conflict model, and transitions and eviction receipts to the coverage
// tracker. Unusable records are counted and
// skipped; the returned error is only for logging. A record the coverage
// tracker refuses is counted in its metrics (outcome "invalid").
func (d *Daemon) Handle(m Message) error {
	d.count(m)
	var err error
	switch m.Topic {
	case record.TopicTransitions:
		tr, derr := record.DecodeTransition(m.Value)
		if derr != nil {
			err = d.eng.Tracker.IngestTransition(m.Value) // counts why it is skipped
			break
		}
		if err = d.eng.Tracker.ObserveTransition(tr); err == nil {
			d.eng.Conflicts.Predict(conflict.FromTransition(tr)) // a write that won
			if i, ok := d.eng.Tracker.Index(tr.Key); ok {
				d.eng.Policy.Write(i, tr.Timestamp)
			}
		}
		d.cov.AddTransition(tr)
	case record.TopicConflicts:
		c, derr := record.DecodeConflict(m.Value)
		if derr != nil {
			err = d.eng.Tracker.SkipUndecodable(derr)
			break
		}
		for _, a := range conflict.FromConflict(c) { // writes that lost a race; none for other refusals
			d.eng.Conflicts.Predict(a)
		}
	case record.TopicReads:
		r, derr := record.DecodeRead(m.Value)
		if derr != nil {
			err = d.eng.Tracker.IngestRead(m.Value) // counts why it is skipped
			break
		}
		if err = d.eng.Tracker.ObserveRead(r); err == nil {
			d.askPolicy(r)
		}
		d.cov.AddReceipt(r)
	default:
		return fmt.Errorf("record from unexpected topic %q", m.Topic)
	}
	if err != nil {
		d.skips++
	}
	return err
}

// askPolicy puts a read's question to the policy chooser, if its key has
// none outstanding (the model's rate is computed only then).
func (d *Daemon) askPolicy(r record.Read) {
	i, ok := d.eng.Tracker.Index(r.Key)
	if !ok || !d.eng.Policy.Asking(i, r.At) {
		return
	}
	lam, _, _, _ := d.eng.Tracker.FeaturesOf(i, r.At)
	d.eng.Policy.Read(i, r.At, lam, d.eng.Age(i, r.At))
}

// Publish scores every key now and produces advice for those that changed.
func (d *Daemon) Publish(ctx context.Context, p Producer) (n int, err error) {
	start := time.Now()
	defer func() { d.timeRound(start, n) }()
	advice, err := d.eng.Changed(ctx, d.cfg.Clock())
	if err != nil {
		return 0, err
	}
	for _, a := range advice {
		b, err := a.Marshal()
		if err != nil {
			return 0, fmt.Errorf("encode advice for %q: %w", a.Key, err)
		}
		if err := p.Produce(ctx, a.Key, b); err != nil {
			return 0, fmt.Errorf("produce advice: %w", err)
		}
	}
	if len(advice) > 0 {
		if err := p.Flush(ctx); err != nil {
			return 0, fmt.Errorf("flush advice: %w", err)
		}
	}
	d.issued += uint64(len(advice))
	return len(advice), nil
}

// Run consumes until ctx ends, publishing changed advice every Interval.
func (d *Daemon) Run(ctx context.Context, c Consumer, p Producer) error {
	defer d.markRunning(ctx)()
	next := d.cfg.Clock().Add(d.cfg.Interval)
	for {
		m, ok, err := c.Poll(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			return fmt.Errorf("consume: %w", err)
		}
		if ok {
			if err := d.Handle(m); err != nil {
				var se *model.SkipError
				if !errors.As(err, &se) {
					d.cfg.Log.Warn("record skipped", "err", err)
				}
			}
		}
		if now := d.cfg.Clock(); !now.Before(next) {
			next = now.Add(d.cfg.Interval)
			n, err := d.Publish(ctx, p)
			if err != nil {
				if ctx.Err() != nil {
					return nil
				}
				return err
			}
			if n > 0 {
				st := d.Stats()
				d.cfg.Log.Debug("advice published", "records", n, "keys", st.Keys, "writes", st.Writes, "reads", st.Reads, "skipped", d.skips)
			}
		}
	}
}
