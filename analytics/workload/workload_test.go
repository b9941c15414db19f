package workload

import (
	"testing"
	"time"
)

func small() Config {
	c := Default()
	c.Keys, c.Clients, c.Duration, c.ReadsPerSec = 300, 50, 20*time.Minute, 20
	return c
}

func TestGenerateIsDeterministicAndShaped(t *testing.T) {
	a, b := Generate(small()), Generate(small())
	if len(a.Events) != len(b.Events) {
		t.Fatalf("same seed, %d vs %d events", len(a.Events), len(b.Events))
	}
	for i := range a.Events {
		if a.Events[i] != b.Events[i] {
			t.Fatalf("same seed, event %d differs", i)
		}
	}
	reads, writes, perKey := 0, 0, map[int32]int{}
	for i, e := range a.Events {
		if i > 0 && e.At < a.Events[i-1].At {
			t.Fatal("events out of order")
		}
		if e.Kind == Read {
			reads++
			perKey[e.Key]++
		} else {
			writes++
		}
	}
	// ~20 reads/s over 1200 s.
	if reads < 20000 || reads > 28000 {
		t.Errorf("%d reads, want about 24000", reads)
	}
	if writes <= small().Keys {
		t.Errorf("%d writes: no writes beyond the initial publishes", writes)
	}
	// Zipf: the most read key gets far more than the average.
	most := 0
	for _, n := range perKey {
		most = max(most, n)
	}
	if avg := reads / small().Keys; most < 10*avg {
		t.Errorf("hottest key read %d times, average %d: not skewed", most, avg)
	}
	c := small()
	c.Seed = 2
	if d := Generate(c); len(d.Events) == len(a.Events) && d.Events[len(d.Events)/2] == a.Events[len(a.Events)/2] {
		t.Error("another seed gave the same stream")
	}
}
