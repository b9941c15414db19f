package coverage

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"testing"
	"time"
)

// bounded feeds ops, one record per 3 bytes, to a Tracker with small bounds
// and checks after each record that every bound holds and the indexes
// agree with the window.
func bounded(t *testing.T, ops []byte) {
	const maxTr, maxAcks, maxPend = 8, 12, 5
	clk := &fakeClock{now: t0}
	tk, err := New(WithClock(clk.Now), WithMaxTransitions(maxTr), WithMaxAcks(maxAcks), WithMaxPending(maxPend),
		WithMaxAge(time.Minute), WithPendingAge(10*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+2 < len(ops); i += 3 {
		op, a, b := ops[i], ops[i+1], ops[i+2]
		clk.now = clk.now.Add(time.Duration(op>>4) * time.Second)
		key := fmt.Sprintf("k%d", a%6)
		version := uint64(a/6%4) + 1
		if op&1 == 0 {
			tk.AddTransition(tr(fmt.Sprintf("tx%d", b%5), key, version))
		} else {
			tk.AddReceipt(rc(key, version, fmt.Sprintf("c%d", b%16), time.Duration(int8(b))*time.Second))
		}
		checkInvariants(t, tk, maxTr, maxAcks, maxPend)
	}
}

func checkInvariants(t *testing.T, tk *Tracker, maxTr, maxAcks, maxPend int) {
	t.Helper()
	tk.mu.Lock()
	defer tk.mu.Unlock()
	if n := tk.order.Len(); n > maxTr || len(tk.byKV) != n {
		t.Fatalf("window %d (byKV %d), bound %d", n, len(tk.byKV), maxTr)
	}
	inTx, acks := 0, 0
	for _, es := range tk.byTx {
		inTx += len(es)
		for _, e := range es {
			acks += len(e.acks)
		}
	}
	if inTx != tk.order.Len() || acks != tk.acks || acks > maxAcks {
		t.Fatalf("byTx holds %d transitions of %d; %d acks counted %d, bound %d", inTx, tk.order.Len(), acks, tk.acks, maxAcks)
	}
	waiting := 0
	for _, els := range tk.pendKV {
		waiting += len(els)
	}
	if p := tk.pend.Len(); p > maxPend || waiting != p {
		t.Fatalf("pending %d (indexed %d), bound %d", p, waiting, maxPend)
	}
}

func FuzzTrackerBounds(f *testing.F) {
	r := rand.New(rand.NewPCG(1, 2))
	for range 8 {
		b := make([]byte, 600)
		for i := range b {
			b[i] = byte(r.UintN(256))
		}
		f.Add(b)
	}
	f.Fuzz(bounded)
}

// TestTrackerBoundsRandomStreams runs the fuzz target's property over
// seeded random streams far longer than the bounds.
func TestTrackerBoundsRandomStreams(t *testing.T) {
	for seed := range uint64(20) {
		r := rand.New(rand.NewPCG(seed, 7))
		b := make([]byte, 3*2000)
		for i := range b {
			b[i] = byte(r.UintN(256))
		}
		bounded(t, b)
	}
}

// TestTrackerHeapStaysBounded feeds 300,000 transitions and 600,000
// receipts (a third of them for transitions never seen) through small
// bounds and checks the heap it keeps is what those bounds allow, not what
// the stream holds.
func TestTrackerHeapStaysBounded(t *testing.T) {
	clk := &fakeClock{now: t0}
	tk, err := New(WithClock(clk.Now), WithMaxTransitions(1000), WithMaxAcks(5000), WithMaxPending(500))
	if err != nil {
		t.Fatal(err)
	}
	heap := func() uint64 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	feed := func(from, to int) {
		for i := from; i < to; i++ {
			clk.now = clk.now.Add(time.Millisecond)
			key := fmt.Sprintf("https://shop.example/p/%d", i)
			tk.AddTransition(tr(fmt.Sprintf("tx-%d", i), key, 1))
			tk.AddReceipt(rc(key, 1, fmt.Sprintf("client-%d", i%97), time.Duration(i%500)*time.Millisecond))
			tk.AddReceipt(rc(key, 2, "never-written", 0))
		}
	}
	feed(0, 10_000)
	base := heap()
	feed(10_000, 300_000)
	grown := int64(heap()) - int64(base)
	st := tk.Stats()
	if st.Transitions != 1000 || st.Pending != 500 || st.Acks > 5000 {
		t.Fatalf("stats %+v: want a full window of 1000 and 500 pending", st)
	}
	// 290,000 more transitions kept would be tens of MB; the bounds keep
	// the same ~1,000 entries, so the heap must not grow by more than noise.
	if grown > 4<<20 {
		t.Fatalf("heap grew by %d bytes over 290,000 transitions", grown)
	}
	t.Logf("heap growth %d bytes; %+v", grown, st)
}
