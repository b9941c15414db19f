// Package sim replays a workload against browser caches (one per client)
// under a TTL policy and counts stale reads and origin fetches. Policies:
// a fixed TTL, an adaptive TTL (Alex: a fraction of the time since the
// entry last changed), the model alone (the recommended max-age computed
// from what the model had seen before the read) and Cachet's advice (the
// model's max-age, capped by the age rule where package policy has
// learned that it predicts better).
package sim

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/cachetsync/cachet/analytics/model"
	"github.com/cachetsync/cachet/analytics/policy"
	"github.com/cachetsync/cachet/analytics/score"
	"github.com/cachetsync/cachet/analytics/workload"
	"github.com/cachetsync/cachet/record"
)

// Result counts what the browsers saw.
type Result struct {
	Reads   int
	Fetches int // reads that went to the origin
	Stale   int // reads served from cache after the key had changed
}

// StaleRate is stale reads per read.
func (r Result) StaleRate() float64 { return float64(r.Stale) / float64(max(r.Reads, 1)) }

// Fetch is one origin fetch: the n-th read of the stream (counting from
// 0), of key Key at time At, when the key last changed at LastChange.
type Fetch struct {
	Read       int
	Key        int32
	At         float64
	LastChange float64
}

// TTLFunc is a policy: the TTL, in seconds, given to the copy of a fetch.
type TTLFunc func(f Fetch) float64

type entry struct {
	version int32
	expires float64
}

// Run replays w with ttl.
func Run(w *workload.Workload, ttl TTLFunc) Result {
	version := make([]int32, w.Config.Keys)
	changed := make([]float64, w.Config.Keys)
	cache := make(map[uint64]entry, w.Config.Clients*8)
	var r Result
	for _, e := range w.Events {
		if e.Kind == workload.Write {
			version[e.Key]++
			changed[e.Key] = e.At
			continue
		}
		n := r.Reads
		r.Reads++
		id := uint64(e.Client)<<32 | uint64(e.Key)
		if c, ok := cache[id]; ok && e.At < c.expires {
			if c.version < version[e.Key] {
				r.Stale++
			}
			continue
		}
		r.Fetches++
		cache[id] = entry{version: version[e.Key], expires: e.At + ttl(Fetch{Read: n, Key: e.Key, At: e.At, LastChange: changed[e.Key]})}
	}
	return r
}

// Fixed is a fixed TTL.
func Fixed(seconds float64) TTLFunc { return func(Fetch) float64 { return seconds } }

// Adaptive is Alex-style adaptive TTL: factor × age since the last change,
// capped at a week.
func Adaptive(factor float64) TTLFunc {
	return func(f Fetch) float64 { return min(factor*(f.At-f.LastChange), 7*86400) }
}

// ReadFeatures are the model's scorer inputs for every read of a workload,
// each as of the moment of the read, from the events before it only: what
// the advice daemon (recomputing every second) would have advised when
// that read reached the origin. Index n is the n-th read.
type ReadFeatures struct {
	Batch *score.Batch
	// Age is the seconds since the key read was last written, or since
	// the stream began if it was not written since: all the daemon can
	// know of a key it has not seen written is that it has not changed
	// since it began watching.
	Age []float64
	w   *workload.Workload
}

// Features replays w through a model.Tracker and records, at each read,
// the features of the key read.
func Features(w *workload.Workload, cfg model.Config) (*ReadFeatures, error) {
	var now time.Time
	cfg.Clock = func() time.Time { return now }
	tr := model.NewTracker(cfg)
	names := make([]string, w.Config.Keys)
	for k := range names {
		names[k] = w.KeyName(int32(k))
	}
	version := make([]uint64, w.Config.Keys)
	changed := make([]float64, w.Config.Keys)
	b := &score.Batch{}
	reads := 0
	for _, e := range w.Events {
		if e.Kind == workload.Read {
			reads++
		}
	}
	b.Resize(reads)
	age := make([]float64, reads)
	n := 0
	for _, e := range w.Events {
		now = w.Time(e.At)
		var err error
		if e.Kind == workload.Write {
			version[e.Key]++
			changed[e.Key] = e.At
			err = tr.ObserveTransition(record.Transition{V: record.Version, TxID: "sim", Key: names[e.Key], Version: version[e.Key],
				State: record.StateValid, Timestamp: now, Owner: workload.OrgName(w.Owner[e.Key]), Actor: workload.OrgName(e.Org)})
		} else {
			if i, ok := tr.Index(names[e.Key]); ok {
				b.WriteRate[n], b.ReadRate[n], b.MaxAge[n], b.TopWriterRate[n] = tr.FeaturesOf(i, now)
			} else {
				b.WriteRate[n], b.ReadRate[n], b.MaxAge[n], b.TopWriterRate[n] = 0, 0, cfg.DefaultMaxAge.Seconds(), 0
			}
			age[n] = e.At - changed[e.Key] // 0 before a write: the stream's start
			n++
			err = tr.ObserveRead(record.Read{V: record.Version, Kind: record.ReadHit, Key: names[e.Key], Client: "sim", At: now})
		}
		if err != nil {
			return nil, fmt.Errorf("replay at %.3fs: %w", e.At, err)
		}
	}
	return &ReadFeatures{Batch: b, Age: age, w: w}, nil
}

// Model is the model alone for a P(stale) target: each fetch gets the
// recommended max-age the CPU scorer computes from its read's features.
func (f *ReadFeatures) Model(ctx context.Context, p score.Params) (TTLFunc, error) {
	rec, err := f.model(ctx, p)
	if err != nil {
		return nil, err
	}
	return ttlOf(rec), nil
}

func (f *ReadFeatures) model(ctx context.Context, p score.Params) ([]uint32, error) {
	if err := score.NewCPU().Score(ctx, p, f.Batch); err != nil {
		return nil, err
	}
	return append([]uint32(nil), f.Batch.RecMaxAge...), nil
}

// Advice is Cachet's policy for a P(stale) target, as the daemon applies
// it: the model's max-age, capped by the age rule where package policy
// chooses it (keys with too few gaps seen, and keys where the age rule has
// predicted changes better so far), the choice learned from the events
// before each read.
func (f *ReadFeatures) Advice(ctx context.Context, p score.Params) (TTLFunc, error) {
	rec, err := f.model(ctx, p)
	if err != nil {
		return nil, err
	}
	pc := policy.DefaultConfig()
	pc.Params = p
	ch, err := policy.New(pc)
	if err != nil {
		return nil, err
	}
	n := 0
	for _, e := range f.w.Events {
		at := f.w.Time(e.At)
		if e.Kind == workload.Write {
			ch.Write(int(e.Key), at)
			continue
		}
		ch.Read(int(e.Key), at, f.Batch.WriteRate[n], f.Age[n])
		rec[n] = ch.MaxAge(int(e.Key), rec[n], f.Age[n])
		n++
	}
	return ttlOf(rec), nil
}

func ttlOf(rec []uint32) TTLFunc {
	return func(x Fetch) float64 {
		if x.Read >= len(rec) {
			return 0
		}
		return float64(rec[x.Read])
	}
}

// Calibrate finds the smallest x in [lo,hi] (searched on a log scale) whose
// policy makes at most budget origin fetches, assuming fetches fall as x
// grows. It returns x and its result.
func Calibrate(budget int, lo, hi float64, run func(x float64) (Result, error)) (float64, Result, error) {
	best, bestR := hi, Result{}
	r, err := run(hi)
	if err != nil {
		return 0, Result{}, err
	}
	bestR = r
	a, b := math.Log(lo), math.Log(hi)
	for range 22 {
		m := (a + b) / 2
		r, err := run(math.Exp(m))
		if err != nil {
			return 0, Result{}, err
		}
		if r.Fetches <= budget {
			best, bestR, b = math.Exp(m), r, m
		} else {
			a = m
		}
	}
	return best, bestR, nil
}
