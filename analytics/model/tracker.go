package model

import (
	"errors"
	"math"
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
}

// NewTracker returns an empty tracker.
func NewTracker(cfg Config) *Tracker {
	return &Tracker{
		cfg:      cfg.withDefaults(),
		index:    make(map[string]int32),
		orgIndex: make(map[string]uint16),
		skipped:  make(map[Reason]uint64),
	}
}

// Stats are the tracker's counters.
type Stats struct {
	Keys    int
	Writes  uint64 // transitions applied
	Reads   uint64 // reads applied
	Skipped map[Reason]uint64
}

// Stats returns a copy of the counters.
func (t *Tracker) Stats() Stats {
	s := Stats{Keys: len(t.keys), Writes: t.writes, Reads: t.reads, Skipped: make(map[Reason]uint64, len(t.skipped))}
	for r, n := range t.skipped {
		s.Skipped[r] = n
	}
	return s
}

// Len is the number of keys tracked.
func (t *Tracker) Len() int { return len(t.keys) }

// Key returns the key at batch index i.
func (t *Tracker) Key(i int) string { return t.keys[i] }

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
		if len(t.keys) >= t.cfg.MaxKeys {
			return t.drop(ReasonTableFull, tr.Key, nil)
		}
		i = int32(len(t.keys))
		t.index[tr.Key] = i
		t.keys = append(t.keys, tr.Key)
		t.st = append(t.st, keyState{})
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
		// as simultaneous.
		g := max(float64(max(gap, 0))/1e9, t.cfg.MinInterval.Seconds())
		if s.writes == 1 {
			s.meanGap = g
		} else {
			s.meanGap = t.cfg.Alpha*g + (1-t.cfg.Alpha)*s.meanGap
		}
		s.lastWrite = max(s.lastWrite, ts)
	} else {
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
		return t.drop(ReasonUnknownKey, r.Key, nil)
	}
	s := &t.st[i]
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
// is Key(i). b's arrays are reused when large enough.
func (t *Tracker) Features(now time.Time, b *score.Batch) {
	n := len(t.st)
	b.Resize(n)
	nowN := now.UnixNano()
	tau := t.cfg.Tau.Seconds()
	prior, defAge := t.cfg.PriorInterval.Seconds(), t.cfg.DefaultMaxAge.Seconds()
	for i := range t.st {
		s := &t.st[i]
		since := float64(nowN-s.lastWrite) / 1e9
		var gap float64
		switch {
		case s.writes >= 2:
			gap = max(s.meanGap, since) // a key gone quiet slows down
		case s.writes == 1:
			gap = max(prior, since)
		}
		lam := 0.0
		if gap > 0 {
			lam = 1 / gap
		}
		rho := s.reads * decay(s.readAt, nowN, tau) / tau
		age := s.maxAge
		if age == 0 {
			age = defAge
		}
		var top, sum float64
		for _, c := range s.orgCount {
			top = max(top, c)
			sum += c
		}
		topRate := lam
		if sum > 0 {
			topRate = lam * (top / sum)
		}
		b.WriteRate[i], b.ReadRate[i], b.MaxAge[i], b.TopWriterRate[i] = t.finite(lam), t.finite(rho), t.finite(age), t.finite(min(topRate, lam))
	}
}

// finite maps anything but a finite non-negative number to 0, counting it.
func (t *Tracker) finite(x float64) float64 {
	if x >= 0 && !math.IsInf(x, 1) {
		return x
	}
	t.skipped[ReasonNonFiniteRate]++
	return 0
}
