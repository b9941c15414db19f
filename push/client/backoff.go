package client

import (
	"math/rand/v2"
	"time"
)

// Backoff is the reconnect delay: Min doubled per failed attempt up to
// Max, with jitter (a delay d is drawn from [d/2, d]). Zero values mean
// the protocol's 0.5 s and 30 s.
type Backoff struct {
	Min, Max time.Duration
}

// Delay returns the jittered wait before reconnect attempt n (0 is the
// first reconnect after a welcomed connection).
func (b Backoff) Delay(n int) time.Duration {
	lo, hi := b.Min, b.Max
	if lo <= 0 {
		lo = 500 * time.Millisecond
	}
	if hi <= 0 {
		hi = 30 * time.Second
	}
	d := lo
	for i := 0; i < n && d < hi; i++ {
		d *= 2
	}
	d = min(d, hi)
	return d/2 + rand.N(d/2+1)
}
