package main

import (
	"math"
	"sync/atomic"
	"time"
)

// histBuckets covers 1 µs to about 100 s in steps of 2 %.
const (
	histStep    = 1.02
	histBuckets = 940
)

var logStep = math.Log(histStep)

// hist is a latency histogram with 2 % resolution, safe for concurrent
// adds; counts are what a worker reports.
type hist struct {
	counts [histBuckets]atomic.Int64
}

func bucketOf(d time.Duration) int {
	us := float64(d.Microseconds())
	if us < 1 {
		return 0
	}
	return min(histBuckets-1, int(math.Log(us)/logStep)+1)
}

// upper is the largest latency bucket i counts.
func upper(i int) time.Duration {
	return time.Duration(math.Pow(histStep, float64(i)) * float64(time.Microsecond))
}

func (h *hist) add(d time.Duration) { h.counts[bucketOf(d)].Add(1) }

// snapshot returns the counts, trailing zeros cut.
func (h *hist) snapshot() []int64 {
	out := make([]int64, histBuckets)
	last := 0
	for i := range out {
		if out[i] = h.counts[i].Load(); out[i] != 0 {
			last = i + 1
		}
	}
	return out[:last]
}

func (h *hist) reset() {
	for i := range h.counts {
		h.counts[i].Store(0)
	}
}

// merged is several workers' counts added up.
type merged []int64

func (m *merged) add(counts []int64) {
	for len(*m) < len(counts) {
		*m = append(*m, 0)
	}
	for i, c := range counts {
		(*m)[i] += c
	}
}

func (m merged) total() int64 {
	var n int64
	for _, c := range m {
		n += c
	}
	return n
}

// quantile returns the upper bound of the bucket holding quantile q.
func (m merged) quantile(q float64) time.Duration {
	n := m.total()
	if n == 0 {
		return 0
	}
	rank := int64(math.Ceil(q * float64(n)))
	var seen int64
	for i, c := range m {
		if seen += c; seen >= rank {
			return upper(i)
		}
	}
	return upper(len(m) - 1)
}
