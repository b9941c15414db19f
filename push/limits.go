package push

import "time"

// bucket is a token bucket: rate tokens per second, bursts of twice that.
type bucket struct {
	rate, tokens, burst float64
	last                time.Time
}

func newBucket(perSecond int) *bucket {
	b := float64(2 * perSecond)
	return &bucket{rate: float64(perSecond), tokens: b, burst: b}
}

// allow takes one token if there is one.
func (b *bucket) allow(now time.Time) bool {
	if !b.last.IsZero() {
		b.tokens = min(b.burst, b.tokens+now.Sub(b.last).Seconds()*b.rate)
	}
	b.last = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}
