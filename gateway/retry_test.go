package gateway

import (
	"testing"
	"time"
)

func TestRetryDelayIsBoundedFullJitter(t *testing.T) {
	p := RetryPolicy{BaseDelay: 10 * time.Millisecond, MaxDelay: 80 * time.Millisecond}.withDefaults()
	if p.MaxAttempts != 5 {
		t.Fatalf("default attempts %d", p.MaxAttempts)
	}
	for attempt := 1; attempt < 40; attempt++ {
		ceiling := min(p.MaxDelay, p.BaseDelay<<attempt)
		if attempt > 20 {
			ceiling = p.MaxDelay
		}
		var lo, hi time.Duration = time.Hour, 0
		for range 200 {
			d := p.delay(attempt)
			if d < 0 || d >= ceiling {
				t.Fatalf("attempt %d: delay %v outside [0, %v)", attempt, d, ceiling)
			}
			lo, hi = min(lo, d), max(hi, d)
		}
		if hi-lo < ceiling/4 {
			t.Fatalf("attempt %d: delays in [%v, %v] are not spread over [0, %v)", attempt, lo, hi, ceiling)
		}
	}
}
