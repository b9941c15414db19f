// Package sim replays a workload against browser caches (one per client)
// under a TTL policy and counts stale reads and origin fetches. Policies:
// a fixed TTL, an adaptive TTL (Alex: a fraction of the time since the
// entry last changed) and Cachet's advice (the recommended max-age computed
// from what the model had seen up to the last advice epoch).
package sim

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/cachetsync/cachet/analytics/model"
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

// TTLFunc is a policy: the TTL, in seconds, of key k fetched at time t,
// given when the key last changed.
type TTLFunc func(k int32, t, lastChange float64) float64

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
		r.Reads++
		id := uint64(e.Client)<<32 | uint64(e.Key)
		if c, ok := cache[id]; ok && e.At < c.expires {
			if c.version < version[e.Key] {
				r.Stale++
			}
			continue
		}
		r.Fetches++
		cache[id] = entry{version: version[e.Key], expires: e.At + ttl(e.Key, e.At, changed[e.Key])}
	}
	return r
}

// Fixed is a fixed TTL.
func Fixed(seconds float64) TTLFunc { return func(int32, float64, float64) float64 { return seconds } }

// Adaptive is Alex-style adaptive TTL: factor × age since the last change,
// capped at a week.
func Adaptive(factor float64) TTLFunc {
	return func(_ int32, t, last float64) float64 { return min(factor*(t-last), 7*86400) }
}

// Snapshots are the model's batch inputs at the start of each advice epoch,
// built from the events before it only.
type Snapshots struct {
	Epoch   float64 // seconds
	Batches []*score.Batch
}

// Snapshot replays w through a model.Tracker and keeps its features every
// epoch seconds. Every key is published at time 0, so tracker index k is
// workload key k.
func Snapshot(w *workload.Workload, epoch time.Duration, cfg model.Config) (*Snapshots, error) {
	var now time.Time
	cfg.Clock = func() time.Time { return now }
	tr := model.NewTracker(cfg)
	names := make([]string, w.Config.Keys)
	for k := range names {
		names[k] = w.KeyName(int32(k))
	}
	version := make([]uint64, w.Config.Keys)
	s := &Snapshots{Epoch: epoch.Seconds()}
	next := 0.0
	take := func() {
		b := &score.Batch{}
		tr.Features(now, b)
		s.Batches = append(s.Batches, b)
		next += s.Epoch
	}
	for _, e := range w.Events {
		for e.At >= next && e.At > 0 {
			now = w.Time(next)
			take()
		}
		now = w.Time(e.At)
		var err error
		if e.Kind == workload.Write {
			version[e.Key]++
			err = tr.ObserveTransition(record.Transition{V: record.Version, TxID: "sim", Key: names[e.Key], Version: version[e.Key],
				State: record.StateValid, Timestamp: now, Owner: workload.OrgName(w.Owner[e.Key]), Actor: workload.OrgName(e.Org)})
		} else {
			err = tr.ObserveRead(record.Read{V: record.Version, Kind: record.ReadHit, Key: names[e.Key], Client: "sim", At: now})
		}
		if err != nil {
			return nil, fmt.Errorf("replay at %.3fs: %w", e.At, err)
		}
	}
	for i := range tr.Len() {
		if tr.Key(i) != names[i] {
			return nil, fmt.Errorf("tracker index %d is %q, want %q", i, tr.Key(i), names[i])
		}
	}
	return s, nil
}

// Advice is Cachet's policy for a P(stale) target: the recommended max-age
// of the latest epoch's advice, scored with the CPU scorer.
func (s *Snapshots) Advice(ctx context.Context, p score.Params) (TTLFunc, error) {
	recs := make([][]uint32, len(s.Batches))
	cpu := score.NewCPU()
	for i, b := range s.Batches {
		if err := cpu.Score(ctx, p, b); err != nil {
			return nil, err
		}
		recs[i] = append([]uint32(nil), b.RecMaxAge...)
	}
	return func(k int32, t, _ float64) float64 {
		e := min(int(t/s.Epoch), len(recs)-1)
		if e < 0 || int(k) >= len(recs[e]) {
			return 0
		}
		return float64(recs[e][k])
	}, nil
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
