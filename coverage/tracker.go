package coverage

import (
	"container/list"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/cachetsync/cachet/cachekey"
	"github.com/cachetsync/cachet/record"
)

// Outcome says what became of one eviction receipt.
type Outcome int

// Receipt outcomes.
const (
	Acknowledged Outcome = iota + 1 // counted for a transition in the window
	Duplicate                       // this client already acknowledged this version
	Pending                         // waiting for its transition
	Expired                         // older than the window, or its transition left it: counted, not kept
	Unmatched                       // no transition to wait for (pending buffer of size 0): counted, not kept
	Ignored                         // not an eviction receipt (a hit, miss or stale read)
)

func (o Outcome) String() string {
	switch o {
	case Acknowledged:
		return "acknowledged"
	case Duplicate:
		return "duplicate"
	case Pending:
		return "pending"
	case Expired:
		return "expired"
	case Unmatched:
		return "unmatched"
	case Ignored:
		return "ignored"
	}
	return fmt.Sprintf("Outcome(%d)", int(o))
}

// Ack is one counted acknowledgement: a client's first receipt for a
// transition.
type Ack struct {
	TxID    string
	Key     string
	Version uint64
	Client  string
	Lag     time.Duration // receipt At − transition Timestamp, at least 0
	Skewed  bool          // the browser's At was before the commit; Lag was clamped to 0
}

// InvalidError reports a transition or receipt the Tracker cannot use; it
// is counted in Stats.Invalid and changes nothing else.
type InvalidError struct {
	What   string // "transition" or "receipt"
	Reason string
	Err    error // the record's own validation error, if any
}

func (e *InvalidError) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("coverage: invalid %s: %s: %v", e.What, e.Reason, e.Err)
	}
	return fmt.Sprintf("coverage: invalid %s: %s", e.What, e.Reason)
}

func (e *InvalidError) Unwrap() error { return e.Err }

// Stats are the Tracker's sizes (now) and counters (since New).
type Stats struct {
	Transitions int // in the window
	Acks        int // acknowledgements kept across the window
	Pending     int // receipts waiting for their transition

	TransitionsAdded     uint64 // entered the window
	TransitionsDuplicate uint64 // a key@version already in the window
	TransitionsEvicted   uint64 // left the window (age, count or acknowledgement bound)
	Acknowledged         uint64 // acknowledgements counted (Ack callbacks)
	Duplicates           uint64 // receipts from a client that had already acknowledged
	Skewed               uint64 // acknowledgements whose lag was negative, clamped to 0
	Expired              uint64 // receipts older than the window or whose transition left it
	Unmatched            uint64 // receipts that left the pending buffer without a transition
	Ignored              uint64 // reads that are not eviction receipts
	Invalid              uint64 // refused records (InvalidError)
}

type keyVersion struct {
	key     string
	version uint64
}

// entry is one transition in the window.
type entry struct {
	txID        string
	kv          keyVersion
	committedAt time.Time
	arrived     time.Time
	acks        map[string]time.Duration // client → lag (clamped)
	skewed      int
	elem        *list.Element
}

// waiting is one receipt in the pending buffer.
type waiting struct {
	kv      keyVersion
	client  string
	at      time.Time
	arrived time.Time
}

// Tracker matches eviction receipts to transitions within bounded memory.
// It is safe for concurrent use.
type Tracker struct {
	cfg config

	mu     sync.Mutex
	order  *list.List // *entry, first arrived first
	byKV   map[keyVersion]*entry
	byTx   map[string][]*entry
	acks   int
	pend   *list.List // *waiting, first arrived first
	pendKV map[keyVersion][]*list.Element
	stats  Stats
}

// New returns an empty Tracker; it fails with a *ConfigError for an
// unusable option.
func New(opts ...Option) (*Tracker, error) {
	cfg, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	return &Tracker{
		cfg: cfg, order: list.New(), byKV: map[keyVersion]*entry{}, byTx: map[string][]*entry{},
		pend: list.New(), pendKV: map[keyVersion][]*list.Element{},
	}, nil
}

// AddTransition puts a committed transition in the window and matches the
// receipts that were waiting for it; it returns how many it matched. A
// key@version already in the window changes nothing (the stream is
// at-least-once).
func (t *Tracker) AddTransition(tr record.Transition) (matched int, err error) {
	if err := checkTransition(tr); err != nil {
		t.mu.Lock()
		t.stats.Invalid++
		t.mu.Unlock()
		return 0, err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.cfg.clock()
	t.expire(now)
	kv := keyVersion{tr.Key, tr.Version}
	if _, ok := t.byKV[kv]; ok {
		t.stats.TransitionsDuplicate++
		return 0, nil
	}
	for t.order.Len() >= t.cfg.maxTransitions {
		t.evictFront()
	}
	e := &entry{txID: tr.TxID, kv: kv, committedAt: tr.Timestamp, arrived: now}
	e.elem = t.order.PushBack(e)
	t.byKV[kv] = e
	t.byTx[tr.TxID] = append(t.byTx[tr.TxID], e)
	t.stats.TransitionsAdded++
	for _, el := range t.pendKV[kv] {
		w := t.pend.Remove(el).(*waiting)
		switch {
		case t.byKV[kv] != e: // the acknowledgement bound pushed e itself out
			t.stats.Expired++
		case t.ack(e, w.client, w.at) == Acknowledged:
			matched++
		}
	}
	delete(t.pendKV, kv)
	return matched, nil
}

// AddReceipt counts an eviction receipt for its transition, or keeps it
// until the transition arrives. Reads of other kinds are Ignored.
func (t *Tracker) AddReceipt(r record.Read) (Outcome, error) {
	if r.Kind != record.ReadEvict {
		t.mu.Lock()
		t.stats.Ignored++
		t.mu.Unlock()
		return Ignored, nil
	}
	if err := checkReceipt(r); err != nil {
		t.mu.Lock()
		t.stats.Invalid++
		t.mu.Unlock()
		return 0, err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.cfg.clock()
	t.expire(now)
	kv := keyVersion{r.Key, r.Version}
	if e, ok := t.byKV[kv]; ok {
		return t.ack(e, r.Client, r.At), nil
	}
	if r.At.Before(now.Add(-t.cfg.maxAge)) {
		t.stats.Expired++
		return Expired, nil
	}
	if t.cfg.maxPending == 0 {
		t.stats.Unmatched++
		return Unmatched, nil
	}
	for t.pend.Len() >= t.cfg.maxPending {
		t.dropPending(t.pend.Front())
	}
	t.pendKV[kv] = append(t.pendKV[kv], t.pend.PushBack(&waiting{kv: kv, client: r.Client, at: r.At, arrived: now}))
	return Pending, nil
}

// ack counts client's receipt at for e, keeping the earliest of a client's
// receipts.
func (t *Tracker) ack(e *entry, client string, at time.Time) Outcome {
	lag := at.Sub(e.committedAt)
	skewed := lag < 0
	if skewed {
		lag = 0
	}
	if prev, ok := e.acks[client]; ok {
		t.stats.Duplicates++
		if lag < prev {
			e.acks[client] = lag
		}
		return Duplicate
	}
	for t.acks >= t.cfg.maxAcks && t.order.Len() > 0 {
		front := t.order.Front().Value.(*entry)
		t.evictFront()
		if front == e {
			t.stats.Expired++
			return Expired
		}
	}
	if e.acks == nil {
		e.acks = map[string]time.Duration{}
	}
	e.acks[client] = lag
	t.acks++
	if skewed {
		e.skewed++
		t.stats.Skewed++
	}
	t.stats.Acknowledged++
	if t.cfg.onAck != nil {
		t.cfg.onAck(Ack{TxID: e.txID, Key: e.kv.key, Version: e.kv.version, Client: client, Lag: lag, Skewed: skewed})
	}
	return Acknowledged
}

// expire drops the transitions and pending receipts that are too old.
func (t *Tracker) expire(now time.Time) {
	for f := t.order.Front(); f != nil && now.Sub(f.Value.(*entry).arrived) > t.cfg.maxAge; f = t.order.Front() {
		t.evictFront()
	}
	for f := t.pend.Front(); f != nil && now.Sub(f.Value.(*waiting).arrived) > t.cfg.pendingAge; f = t.pend.Front() {
		t.dropPending(f)
	}
}

func (t *Tracker) evictFront() {
	e := t.order.Remove(t.order.Front()).(*entry)
	delete(t.byKV, e.kv)
	txs := slices.DeleteFunc(t.byTx[e.txID], func(x *entry) bool { return x == e })
	if len(txs) == 0 {
		delete(t.byTx, e.txID)
	} else {
		t.byTx[e.txID] = txs
	}
	t.acks -= len(e.acks)
	t.stats.TransitionsEvicted++
}

func (t *Tracker) dropPending(el *list.Element) {
	w := t.pend.Remove(el).(*waiting)
	rest := slices.DeleteFunc(t.pendKV[w.kv], func(x *list.Element) bool { return x == el })
	if len(rest) == 0 {
		delete(t.pendKV, w.kv)
	} else {
		t.pendKV[w.kv] = rest
	}
	t.stats.Unmatched++
}

// Stats returns the Tracker's sizes and counters.
func (t *Tracker) Stats() Stats {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.expire(t.cfg.clock())
	s := t.stats
	s.Transitions, s.Acks, s.Pending = t.order.Len(), t.acks, t.pend.Len()
	return s
}

func checkTransition(tr record.Transition) error {
	if err := tr.Validate(); err != nil {
		return &InvalidError{What: "transition", Reason: "record rules", Err: err}
	}
	return checkSizes("transition", tr.Key, tr.TxID, "txId")
}

func checkReceipt(r record.Read) error {
	switch {
	case r.Version == 0:
		return &InvalidError{What: "receipt", Reason: "eviction receipt without a version"}
	case r.Client == "":
		return &InvalidError{What: "receipt", Reason: "empty client"}
	case r.At.IsZero():
		return &InvalidError{What: "receipt", Reason: "missing time"}
	}
	return checkSizes("receipt", r.Key, r.Client, "client")
}

func checkSizes(what, key, id, idName string) error {
	switch {
	case key == "":
		return &InvalidError{What: what, Reason: "empty key"}
	case len(key) > cachekey.MaxKeyBytes:
		return &InvalidError{What: what, Reason: fmt.Sprintf("key of %d bytes, limit %d", len(key), cachekey.MaxKeyBytes)}
	case len(id) > MaxIDBytes:
		return &InvalidError{What: what, Reason: fmt.Sprintf("%s of %d bytes, limit %d", idName, len(id), MaxIDBytes)}
	}
	return nil
}
