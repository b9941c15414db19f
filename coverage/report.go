package coverage

import (
	"encoding/json"
	"math"
	"slices"
	"time"
)

// Report is the coverage of one ledger transaction: the JSON body of
// GET /v1/coverage/{txid}.
type Report struct {
	TxID        string               `json:"txId"`
	Transitions []TransitionCoverage `json:"transitions"` // in the order they arrived
	Window      Window               `json:"window"`
}

// TransitionCoverage is the coverage of one transition (key@version).
type TransitionCoverage struct {
	TxID        string    `json:"-"`
	Key         string    `json:"key"`
	Version     uint64    `json:"version"`
	CommittedAt time.Time `json:"committedAt"` // the ledger transaction's timestamp
	Clients     int       `json:"clients"`     // distinct clients that acknowledged the eviction
	Skewed      int       `json:"skewed"`      // of which, receipts dated before the commit (lag clamped to 0)
	Lag         Lag       `json:"lag"`
}

// Lag summarizes submit → eviction lags (nearest rank; zero without
// acknowledgements). In JSON each is a number of seconds.
type Lag struct {
	P50 time.Duration
	P99 time.Duration
	Max time.Duration
}

type lagJSON struct {
	P50 float64 `json:"p50"`
	P99 float64 `json:"p99"`
	Max float64 `json:"max"`
}

// MarshalJSON writes the lags in seconds.
func (l Lag) MarshalJSON() ([]byte, error) {
	return json.Marshal(lagJSON{l.P50.Seconds(), l.P99.Seconds(), l.Max.Seconds()})
}

// UnmarshalJSON reads lags written by MarshalJSON.
func (l *Lag) UnmarshalJSON(b []byte) error {
	var j lagJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*l = Lag{seconds(j.P50), seconds(j.P99), seconds(j.Max)}
	return nil
}

func seconds(s float64) time.Duration { return time.Duration(math.Round(s * float64(time.Second))) }

// Window describes the Tracker's window when a report was made.
type Window struct {
	Transitions    int       `json:"transitions"`                // in the window now
	MaxTransitions int       `json:"maxTransitions"`             // bound by count
	MaxAgeSeconds  float64   `json:"maxAgeSeconds"`              // bound by age (since arrival)
	Oldest         time.Time `json:"oldestCommittedAt,omitzero"` // commit time of the first transition to arrive
	Newest         time.Time `json:"newestCommittedAt,omitzero"` // commit time of the last transition to arrive
}

// Tx reports the coverage of every transition of transaction txID in the
// window; ok is false when none is (an unknown transaction, or one that
// left the window).
func (t *Tracker) Tx(txID string) (r Report, ok bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.expire(t.cfg.clock())
	es := t.byTx[txID]
	r = Report{TxID: txID, Window: t.window(), Transitions: make([]TransitionCoverage, 0, len(es))}
	for _, e := range es {
		r.Transitions = append(r.Transitions, e.coverage())
	}
	return r, len(es) > 0
}

// Transition reports the coverage of key@version; ok is false when it is
// not in the window.
func (t *Tracker) Transition(key string, version uint64) (c TransitionCoverage, ok bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.expire(t.cfg.clock())
	e, ok := t.byKV[keyVersion{key, version}]
	if !ok {
		return TransitionCoverage{}, false
	}
	return e.coverage(), true
}

// Window describes the window now.
func (t *Tracker) Window() Window {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.expire(t.cfg.clock())
	return t.window()
}

func (t *Tracker) window() Window {
	w := Window{Transitions: t.order.Len(), MaxTransitions: t.cfg.maxTransitions, MaxAgeSeconds: t.cfg.maxAge.Seconds()}
	if f, b := t.order.Front(), t.order.Back(); f != nil {
		w.Oldest, w.Newest = f.Value.(*entry).committedAt, b.Value.(*entry).committedAt
	}
	return w
}

func (e *entry) coverage() TransitionCoverage {
	c := TransitionCoverage{TxID: e.txID, Key: e.kv.key, Version: e.kv.version, CommittedAt: e.committedAt,
		Clients: len(e.acks), Skewed: e.skewed}
	if len(e.acks) == 0 {
		return c
	}
	lags := make([]time.Duration, 0, len(e.acks))
	for _, l := range e.acks {
		lags = append(lags, l)
	}
	slices.Sort(lags)
	c.Lag = Lag{P50: rank(lags, 0.50), P99: rank(lags, 0.99), Max: lags[len(lags)-1]}
	return c
}

// rank is the nearest-rank q-quantile of sorted lags.
func rank(sorted []time.Duration, q float64) time.Duration {
	i := int(math.Ceil(q*float64(len(sorted)))) - 1
	return sorted[max(i, 0)]
}
