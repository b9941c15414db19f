package model

import (
	"errors"
	"math"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cachetsync/cachet/analytics/score"
	"github.com/cachetsync/cachet/record"
)

// Tracker holds the per-key state. It is not safe for concurrent use: one
// goroutine ingests and builds batches.
type Tracker struct {
	cfg      Config
	index    map[string]int32
	keys     []string
	st       []keyState
	orgIndex map[string]uint16
	orgNames []string
	skipped  map[Reason]uint64
	writes   uint64
	reads    uint64
	grid     *rateGrid
	// The read-only keys, least recently seen first (indices, -1 none).
	roHead, roTail int32
	readOnly       int
	evicted        uint64
}

// NewTracker returns an empty tracker.
func NewTracker(cfg Config) *Tracker {
	cfg = cfg.withDefaults()
	return &Tracker{
		cfg:      cfg,
		index:    make(map[string]int32),
		orgIndex: make(map[string]uint16),
		skipped:  make(map[Reason]uint64),
		grid:     newRateGrid(cfg),
		roHead:   -1,
		roTail:   -1,
	}
}

// Stats are the tracker's counters.
type Stats struct {
	Keys     int
	ReadOnly int    // keys read but not (yet) seen written
	Evicted  uint64 // read-only keys evicted to make room
	Writes   uint64 // transitions applied
	Reads    uint64 // reads applied
	Skipped  map[Reason]uint64
}

// Stats returns a copy of the counters.
func (t *Tracker) Stats() Stats {
	s := Stats{Keys: len(t.keys), ReadOnly: t.readOnly, Evicted: t.evicted, Writes: t.writes, Reads: t.reads, Skipped: make(map[Reason]uint64, len(t.skipped))}
	for r, n := range t.skipped {
		s.Skipped[r] = n
	}
	return s
}

// Len is the number of keys tracked.
func (t *Tracker) Len() int { return len(t.keys) }

// Key returns the key at batch index i. An index is stable while its key
// is tracked; the index of an evicted read-only key is reused.
func (t *Tracker) Key(i int) string { return t.keys[i] }

// Index returns the batch index of key, if tracked.
func (t *Tracker) Index(key string) (int, bool) {
	i, ok := t.index[key]
	return int(i), ok
}

// drop counts a record refused for reason r and returns its typed error.
func (t *Tracker) drop(r Reason, key string, err error) error {
	t.skipped[r]++
	return &SkipError{Reason: r, Key: key, Err: err}
}

// IngestTransition decodes and observes one cachet.transitions record value.
func (t *Tracker) IngestTransition(b []byte) error {
	tr, err := record.DecodeTransition(b)
	if err != nil {
		return t.decodeSkip(err)
	}
	return t.ObserveTransition(tr)
}

// IngestRead decodes and observes one cachet.reads record value.
func (t *Tracker) IngestRead(b []byte) error {
	r, err := record.DecodeRead(b)
	if err != nil {
		return t.decodeSkip(err)
	}
	return t.ObserveRead(r)
}

// SkipUndecodable counts a record of another topic the model's owner
// reads (a cachet.conflicts record) that did not decode, under the reason
// its error gives, and returns the *SkipError.
func (t *Tracker) SkipUndecodable(err error) error { return t.decodeSkip(err) }

func (t *Tracker) decodeSkip(err error) error {
	var uv *record.UnsupportedVersionError
	if errors.As(err, &uv) {
		return t.drop(ReasonVersion, "", err)
	}
	return t.drop(ReasonMalformed, "", err)
}

// checkTime refuses timestamps outside what Cachet can have produced.
func (t *Tracker) checkTime(ts time.Time, key string) error {
	now := t.cfg.Clock()
	switch {
	case ts.Before(minTime):
		return t.drop(ReasonAbsurdTime, key, nil)
	case ts.After(now.Add(t.cfg.MaxFuture)):
		return t.drop(ReasonFuture, key, nil)
	}
	return nil
}

// ObserveTransition applies one committed transition: a write of its key.
func (t *Tracker) ObserveTransition(tr record.Transition) error {
	if err := tr.Validate(); err != nil {
		return t.drop(ReasonMalformed, tr.Key, err)
	}
	if err := t.checkTime(tr.Timestamp, tr.Key); err != nil {
		return err
	}
	i, ok := t.index[tr.Key]
	if !ok {
		var err error
		if i, err = t.add(tr.Key); err != nil {
			return err
		}
	}
	s := &t.st[i]
	if tr.Version <= s.version {
		return t.drop(ReasonStaleVersion, tr.Key, nil)
	}
	ts := tr.Timestamp.UnixNano()
	if s.writes > 0 {
		gap := ts - s.lastWrite
		if gap < -int64(t.cfg.MaxSkew) {
			return t.drop(ReasonClockSkew, tr.Key, nil)
		}
		// A write slightly behind the last one (another org's clock) counts
		// as simultaneous (the grid floors gaps at MinInterval).
		t.grid.observeGap(&s.rate, float64(max(gap, 0))/1e9)
		s.lastWrite = max(s.lastWrite, ts)
	} else {
		t.unlinkReadOnly(i) // a read-only key's first write seen
		t.grid.start(&s.rate)
		s.lastWrite = ts
	}
	s.writes++
	s.version = tr.Version
	if tr.MaxAge > 0 {
		s.maxAge = float64(tr.MaxAge)
	}
	org := tr.Actor
	if org == "" {
		org = tr.Owner
	}
	t.countOrg(s, org, ts)
	t.writes++
	return nil
}

func (t *Tracker) countOrg(s *keyState, org string, ts int64) {
	id, ok := t.orgIndex[org]
	if !ok {
		if len(t.orgNames) >= math.MaxUint16 {
			id = math.MaxUint16 // every further org shares one slot
		} else {
			id = uint16(len(t.orgNames))
			t.orgIndex[org] = id
			t.orgNames = append(t.orgNames, org)
		}
	}
	if ts > s.orgAt {
		f := decay(s.orgAt, ts, t.cfg.Tau.Seconds())
		for j := range s.orgCount {
			s.orgCount[j] *= f
		}
		s.orgAt = ts
	}
	add := decay(ts, s.orgAt, t.cfg.Tau.Seconds())
	slot := 0
	for j := range s.orgCount {
		if s.orgCount[j] > 0 && s.orgID[j] == id {
			slot = j
			break
		}
		if s.orgCount[j] < s.orgCount[slot] {
			slot = j
		}
	}
	if s.orgID[slot] != id || s.orgCount[slot] == 0 {
		s.orgID[slot], s.orgCount[slot] = id, 0
	}
	s.orgCount[slot] += add
}

// ObserveRead applies one read from browser telemetry.
func (t *Tracker) ObserveRead(r record.Read) error {
	if err := r.Validate(); err != nil {
		return t.drop(ReasonMalformed, r.Key, err)
	}
	if r.Kind == record.ReadEvict {
		return t.drop(ReasonEvictReceipt, r.Key, nil)
	}
	if err := t.checkTime(r.At, r.Key); err != nil {
		return err
	}
	if r.At.Before(t.cfg.Clock().Add(-t.cfg.MaxLag)) {
		return t.drop(ReasonTooOld, r.Key, nil)
	}
	i, ok := t.index[r.Key]
	if !ok {
		// Reads and transitions are separate topics: a read may arrive
		// before the writes of its key. Track the key as read-only.
		var err error
		if i, err = t.add(r.Key); err != nil {
			return err
		}
	}
	s := &t.st[i]
	if s.writes == 0 {
		t.touchReadOnly(i)
	}
	ts := r.At.UnixNano()
	tau := t.cfg.Tau.Seconds()
	if ts >= s.readAt {
		s.reads = s.reads*decay(s.readAt, ts, tau) + 1
		s.readAt = ts
	} else {
		s.reads += decay(ts, s.readAt, tau) // a late read (browser clock behind)
	}
	t.reads++
	return nil
}

// Features fills b's inputs for every tracked key as of now; index i of b
// is Key(i). b's arrays are reused when large enough. Keys are split in
// chunks over up to GOMAXPROCS goroutines (a posterior mean is up to 64
// exponentials a key); the result does not depend on the split.
func (t *Tracker) Features(now time.Time, b *score.Batch) {
	n := len(t.st)
	b.Resize(n)
	nowN := now.UnixNano()
	fill := func(lo, hi int) (bad uint64) {
		for i := lo; i < hi; i++ {
			var nb int
			b.WriteRate[i], b.ReadRate[i], b.MaxAge[i], b.TopWriterRate[i], nb = t.featuresOf(i, nowN)
			bad += uint64(nb)
		}
		return bad
	}
	workers := min(runtime.GOMAXPROCS(0), (n+featureChunk-1)/featureChunk)
	if workers <= 1 {
		t.countNonFinite(fill(0, n))
		return
	}
	var next atomic.Int64
	var bad atomic.Uint64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for {
				lo := int(next.Add(featureChunk)) - featureChunk
				if lo >= n {
					return
				}
				bad.Add(fill(lo, min(lo+featureChunk, n)))
			}
		})
	}
	wg.Wait()
	t.countNonFinite(bad.Load())
}

// countNonFinite counts n inputs that were not finite non-negative numbers.
func (t *Tracker) countNonFinite(n uint64) {
	if n > 0 {
		t.skipped[ReasonNonFiniteRate] += n
	}
}

// featureChunk is how many keys a Features goroutine takes at a time.
const featureChunk = 4096

// SinceWrite is the seconds from key index i's latest write to now (0 if
// now is earlier), and whether a write of it has been seen.
func (t *Tracker) SinceWrite(i int, now time.Time) (float64, bool) {
	s := &t.st[i]
	if s.writes == 0 {
		return 0, false
	}
	return max(float64(now.UnixNano()-s.lastWrite)/1e9, 0), true
}

// FeaturesOf returns the scorer inputs of key index i as of now: write
// rate, read rate, max-age and the busiest org's write rate.
func (t *Tracker) FeaturesOf(i int, now time.Time) (lam, rho, maxAge, top float64) {
	lam, rho, maxAge, top, bad := t.featuresOf(i, now.UnixNano())
	t.countNonFinite(uint64(bad))
	return lam, rho, maxAge, top
}

// featuresOf computes key i's inputs and how many of them were not finite
// non-negative numbers (those are 0). It writes nothing: Features runs it
// on many goroutines.
func (t *Tracker) featuresOf(i int, nowN int64) (lam, rho, maxAge, top float64, bad int) {
	s := &t.st[i]
	tau := t.cfg.Tau.Seconds()
	lam = t.grid.priorMean() // read-only: no write seen yet, the prior's mean
	if s.writes > 0 {
		lam = t.grid.mean(&s.rate, float64(nowN-s.lastWrite)/1e9)
	}
	rho = s.reads * decay(s.readAt, nowN, tau) / tau
	age := s.maxAge
	if age == 0 {
		age = t.cfg.DefaultMaxAge.Seconds()
	}
	var topC, sum float64
	for _, c := range s.orgCount {
		topC = max(topC, c)
		sum += c
	}
	topRate := lam
	if sum > 0 {
		topRate = lam * (topC / sum)
	}
	out := [4]float64{lam, rho, age, min(topRate, lam)}
	for j, x := range out {
		if !(x >= 0 && !math.IsInf(x, 1)) {
			out[j] = 0
			bad++
		}
	}
	return out[0], out[1], out[2], out[3], bad
}

// add makes room for key (evicting the least recently seen read-only key
// when the table is full) and returns its index. A new key starts
// read-only.
func (t *Tracker) add(key string) (int32, error) {
	var i int32
	switch {
	case len(t.keys) < t.cfg.MaxKeys:
		i = int32(len(t.keys))
		t.keys = append(t.keys, key)
		t.st = append(t.st, keyState{})
	case t.roHead >= 0:
		i = t.roHead
		t.unlinkReadOnly(i)
		delete(t.index, t.keys[i])
		t.keys[i] = key
		t.st[i] = keyState{}
		t.evicted++
	default:
		return 0, t.drop(ReasonTableFull, key, nil)
	}
	t.index[key] = i
	t.st[i].prev, t.st[i].next = -1, -1
	t.linkReadOnly(i)
	return i, nil
}

// linkReadOnly appends key i to the read-only list (most recently seen).
func (t *Tracker) linkReadOnly(i int32) {
	s := &t.st[i]
	s.prev, s.next = t.roTail, -1
	if t.roTail >= 0 {
		t.st[t.roTail].next = i
	} else {
		t.roHead = i
	}
	t.roTail = i
	t.readOnly++
}

// unlinkReadOnly removes key i from the read-only list.
func (t *Tracker) unlinkReadOnly(i int32) {
	s := &t.st[i]
	if s.prev >= 0 {
		t.st[s.prev].next = s.next
	} else {
		t.roHead = s.next
	}
	if s.next >= 0 {
		t.st[s.next].prev = s.prev
	} else {
		t.roTail = s.prev
	}
	s.prev, s.next = -1, -1
	t.readOnly--
}

// touchReadOnly marks read-only key i as the most recently seen.
func (t *Tracker) touchReadOnly(i int32) {
	if t.roTail != i {
		t.unlinkReadOnly(i)
		t.linkReadOnly(i)
	}
}
