package coverage

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/cachetsync/cachet/record"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// fakeClock is a settable clock for the window's ages.
type fakeClock struct{ now time.Time }

func (c *fakeClock) Now() time.Time { return c.now }

func tr(tx, key string, v uint64) record.Transition {
	return record.Transition{TxID: tx, Key: key, Version: v, State: record.StateInvalidated, Timestamp: t0, Owner: "Org1MSP", Actor: "Org1MSP"}
}

func rc(key string, v uint64, client string, lag time.Duration) record.Read {
	return record.Read{Kind: record.ReadEvict, Key: key, Version: v, Client: client, At: t0.Add(lag)}
}

// step is one record fed to a Tracker, after advancing its clock by wait.
type step struct {
	wait time.Duration
	tr   *record.Transition
	rc   *record.Read
	want Outcome // for receipts
}

func T(x record.Transition) *record.Transition { return &x }
func R(x record.Read) *record.Read             { return &x }

func TestTracker(t *testing.T) {
	const k = "https://shop.example/cart"
	ms := time.Millisecond
	cases := []struct {
		name    string
		opts    []Option
		steps   []step
		tx      string
		want    []TransitionCoverage // nil: the tx is not in the window
		stats   Stats                // counters compared: Acknowledged, Duplicates, Skewed, Expired, Unmatched, Ignored
		invalid int
	}{
		{name: "three clients, one duplicated", tx: "tx1",
			steps: []step{
				{tr: T(tr("tx1", k, 2))},
				{rc: R(rc(k, 2, "a", 10*ms)), want: Acknowledged},
				{rc: R(rc(k, 2, "b", 30*ms)), want: Acknowledged},
				{rc: R(rc(k, 2, "b", 20*ms)), want: Duplicate},
				{rc: R(rc(k, 2, "c", 900*ms)), want: Acknowledged},
			},
			want:  []TransitionCoverage{{Key: k, Version: 2, Clients: 3, Lag: Lag{P50: 20 * ms, P99: 900 * ms, Max: 900 * ms}}},
			stats: Stats{Acknowledged: 3, Duplicates: 1}},
		{name: "receipt before its transition waits and is matched", tx: "tx1",
			steps: []step{
				{rc: R(rc(k, 2, "a", 50*ms)), want: Pending},
				{rc: R(rc(k, 2, "a", 50*ms)), want: Pending},
				{wait: time.Second, tr: T(tr("tx1", k, 2))},
				{rc: R(rc(k, 2, "b", 70*ms)), want: Acknowledged},
			},
			want:  []TransitionCoverage{{Key: k, Version: 2, Clients: 2, Lag: Lag{P50: 50 * ms, P99: 70 * ms, Max: 70 * ms}}},
			stats: Stats{Acknowledged: 2, Duplicates: 1}},
		{name: "negative lag is clamped and counted", tx: "tx1",
			steps: []step{
				{tr: T(tr("tx1", k, 2))},
				{rc: R(rc(k, 2, "a", -3*time.Second)), want: Acknowledged},
			},
			want:  []TransitionCoverage{{Key: k, Version: 2, Clients: 1, Skewed: 1}},
			stats: Stats{Acknowledged: 1, Skewed: 1}},
		{name: "another version does not count; a hit is ignored", tx: "tx1",
			steps: []step{
				{tr: T(tr("tx1", k, 2))},
				{rc: R(rc(k, 1, "a", 10*ms)), want: Pending},
				{rc: R(record.Read{Kind: record.ReadHit, Key: k, Version: 2, Client: "a", At: t0}), want: Ignored},
			},
			want:  []TransitionCoverage{{Key: k, Version: 2}},
			stats: Stats{Ignored: 1}},
		{name: "a batch transaction reports each key in arrival order", tx: "tx1",
			steps: []step{
				{tr: T(tr("tx1", k+"/b", 1))},
				{tr: T(tr("tx1", k+"/a", 4))},
				{tr: T(tr("tx1", k+"/a", 4))}, // redelivered
				{rc: R(rc(k+"/a", 4, "a", 10*ms)), want: Acknowledged},
			},
			want: []TransitionCoverage{{Key: k + "/b", Version: 1},
				{Key: k + "/a", Version: 4, Clients: 1, Lag: Lag{10 * ms, 10 * ms, 10 * ms}}},
			stats: Stats{Acknowledged: 1}},
		{name: "the oldest transition leaves a full window", tx: "tx1", opts: []Option{WithMaxTransitions(2)},
			steps: []step{
				{tr: T(tr("tx1", k, 1))},
				{tr: T(tr("tx2", k, 2))},
				{tr: T(tr("tx3", k, 3))},
				{rc: R(rc(k, 1, "a", 10*ms)), want: Pending},
			}},
		{name: "transitions age out; old receipts are expired", tx: "tx1", opts: []Option{WithMaxAge(time.Minute)},
			steps: []step{
				{tr: T(tr("tx1", k, 1))},
				{wait: 2 * time.Minute, rc: R(rc(k, 1, "a", 10*ms)), want: Expired},
			},
			stats: Stats{Expired: 1}},
		{name: "pending receipts time out as unmatched", tx: "tx1", opts: []Option{WithPendingAge(time.Second)},
			steps: []step{
				{rc: R(rc(k, 1, "a", 10*ms)), want: Pending},
				{wait: 2 * time.Second, tr: T(tr("tx1", k, 1))},
			},
			want:  []TransitionCoverage{{Key: k, Version: 1}},
			stats: Stats{Unmatched: 1}},
		{name: "a full pending buffer pushes out its oldest", tx: "tx1", opts: []Option{WithMaxPending(1)},
			steps: []step{
				{rc: R(rc(k, 1, "a", 10*ms)), want: Pending},
				{rc: R(rc(k, 1, "b", 20*ms)), want: Pending},
				{tr: T(tr("tx1", k, 1))},
			},
			want:  []TransitionCoverage{{Key: k, Version: 1, Clients: 1, Lag: Lag{20 * ms, 20 * ms, 20 * ms}}},
			stats: Stats{Acknowledged: 1, Unmatched: 1}},
		{name: "no pending buffer", tx: "tx1", opts: []Option{WithMaxPending(0)},
			steps: []step{{rc: R(rc(k, 1, "a", 10*ms)), want: Unmatched}},
			stats: Stats{Unmatched: 1}},
		{name: "the acknowledgement bound evicts the oldest transition", tx: "tx2", opts: []Option{WithMaxAcks(2)},
			steps: []step{
				{tr: T(tr("tx1", k, 1))},
				{tr: T(tr("tx2", k, 2))},
				{rc: R(rc(k, 1, "a", 10*ms)), want: Acknowledged},
				{rc: R(rc(k, 2, "a", 10*ms)), want: Acknowledged},
				{rc: R(rc(k, 2, "b", 30*ms)), want: Acknowledged}, // tx1 leaves
				{rc: R(rc(k, 2, "c", 30*ms)), want: Expired},      // tx2 itself would have to leave
			},
			stats: Stats{Acknowledged: 3, Expired: 1}},
		{name: "pending receipts beyond the acknowledgement bound expire with their transition", tx: "tx1", opts: []Option{WithMaxAcks(2)},
			steps: []step{
				{rc: R(rc(k, 1, "a", 10*ms)), want: Pending},
				{rc: R(rc(k, 1, "b", 10*ms)), want: Pending},
				{rc: R(rc(k, 1, "c", 10*ms)), want: Pending},
				{rc: R(rc(k, 1, "d", 10*ms)), want: Pending},
				{tr: T(tr("tx1", k, 1))},
			},
			stats: Stats{Acknowledged: 2, Expired: 2}},
		{name: "bad records are refused and counted", tx: "tx1", invalid: 4,
			steps: []step{
				{tr: T(tr("", k, 1))},
				{tr: T(tr("tx1", strings.Repeat("k", 2000), 1))},
				{rc: R(rc(k, 0, "a", 0))},
				{rc: R(rc(k, 1, strings.Repeat("c", MaxIDBytes+1), 0))},
			}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			clk := &fakeClock{now: t0}
			tk, err := New(append([]Option{WithClock(clk.Now)}, c.opts...)...)
			if err != nil {
				t.Fatal(err)
			}
			invalid := 0
			for i, s := range c.steps {
				clk.now = clk.now.Add(s.wait)
				var err error
				if s.tr != nil {
					_, err = tk.AddTransition(*s.tr)
				} else {
					var got Outcome
					got, err = tk.AddReceipt(*s.rc)
					if err == nil && got != s.want {
						t.Errorf("step %d: outcome %v, want %v", i, got, s.want)
					}
				}
				var ie *InvalidError
				if errors.As(err, &ie) {
					invalid++
				} else if err != nil {
					t.Fatalf("step %d: %v", i, err)
				}
			}
			rep, ok := tk.Tx(c.tx)
			if ok != (c.want != nil) {
				t.Fatalf("Tx(%q) ok = %v, want %v (report %+v)", c.tx, ok, c.want != nil, rep)
			}
			for i, w := range c.want {
				g := rep.Transitions[i]
				w.TxID, w.CommittedAt = c.tx, t0
				if g != w {
					t.Errorf("transition %d: %+v, want %+v", i, g, w)
				}
				if one, ok := tk.Transition(w.Key, w.Version); !ok || one != g {
					t.Errorf("Transition(%s@%d) = %+v, %v; want %+v", w.Key, w.Version, one, ok, g)
				}
			}
			if len(rep.Transitions) != len(c.want) {
				t.Errorf("%d transitions, want %d", len(rep.Transitions), len(c.want))
			}
			st := tk.Stats()
			got := Stats{Acknowledged: st.Acknowledged, Duplicates: st.Duplicates, Skewed: st.Skewed, Expired: st.Expired, Unmatched: st.Unmatched, Ignored: st.Ignored}
			if got != c.stats {
				t.Errorf("counters %+v, want %+v", got, c.stats)
			}
			if invalid != c.invalid || st.Invalid != uint64(c.invalid) {
				t.Errorf("%d InvalidErrors, Stats.Invalid %d; want %d", invalid, st.Invalid, c.invalid)
			}
		})
	}
}

func TestNewRefusesBadOptions(t *testing.T) {
	for _, o := range []Option{WithMaxTransitions(0), WithMaxAge(0), WithMaxAcks(-1), WithMaxPending(-1), WithPendingAge(-time.Second), WithClock(nil)} {
		var ce *ConfigError
		if _, err := New(o); !errors.As(err, &ce) {
			t.Errorf("New: %v, want a *ConfigError", err)
		}
	}
}

func TestOnAckSeesEveryCountedAcknowledgement(t *testing.T) {
	var acks []Ack
	tk, err := New(WithClock((&fakeClock{t0}).Now), WithOnAck(func(a Ack) { acks = append(acks, a) }))
	if err != nil {
		t.Fatal(err)
	}
	tk.AddReceipt(rc("k", 1, "early", 5*time.Millisecond))
	tk.AddTransition(tr("tx", "k", 1))
	tk.AddReceipt(rc("k", 1, "late", 2*time.Second))
	tk.AddReceipt(rc("k", 1, "late", 3*time.Second))
	if len(acks) != 2 || acks[0].Client != "early" || acks[0].Lag != 5*time.Millisecond || acks[1].Client != "late" || acks[1].Lag != 2*time.Second || acks[1].TxID != "tx" {
		t.Fatalf("acks %+v", acks)
	}
}
