package purgeapi

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Rate is a token's request budget: Events per Per, with bursts up to
// Events (at least 1). The zero Rate means the server's default.
type Rate struct {
	Events int
	Per    time.Duration
}

// String writes the rate as ParseRate reads it.
func (r Rate) String() string {
	if r.Events == 0 {
		return ""
	}
	unit := map[time.Duration]string{time.Second: "s", time.Minute: "m", time.Hour: "h"}[r.Per]
	if unit == "" {
		return fmt.Sprintf("%d/%s", r.Events, r.Per)
	}
	return fmt.Sprintf("%d/%s", r.Events, unit)
}

// RateError reports a rate that does not parse.
type RateError struct{ Input, Reason string }

func (e *RateError) Error() string { return fmt.Sprintf("rate %q: %s", e.Input, e.Reason) }

// ParseRate reads "<n>/s", "<n>/m", "<n>/h" or "<n>/<Go duration>", n ≥ 1.
func ParseRate(in string) (Rate, error) {
	n, per, ok := strings.Cut(in, "/")
	if !ok {
		return Rate{}, &RateError{Input: in, Reason: "want <n>/s, <n>/m or <n>/h"}
	}
	events, err := strconv.Atoi(n)
	if err != nil || events < 1 {
		return Rate{}, &RateError{Input: in, Reason: "the count is a whole number ≥ 1"}
	}
	var d time.Duration
	switch per {
	case "s":
		d = time.Second
	case "m":
		d = time.Minute
	case "h":
		d = time.Hour
	default:
		if d, err = time.ParseDuration(per); err != nil || d <= 0 {
			return Rate{}, &RateError{Input: in, Reason: "the period is s, m, h or a positive duration"}
		}
	}
	return Rate{Events: events, Per: d}, nil
}

// limiter keeps one token bucket per API token, on the server's clock.
type limiter struct {
	mu      sync.Mutex
	buckets map[string]*bucket
}

type bucket struct {
	rate   Rate
	tokens float64
	last   time.Time
}

// allow takes one request from id's bucket, or says how long until one is
// available.
func (l *limiter) allow(id string, r Rate, now time.Time) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.buckets == nil {
		l.buckets = map[string]*bucket{}
	}
	burst := float64(max(r.Events, 1))
	perEvent := float64(r.Per) / float64(r.Events)
	b := l.buckets[id]
	if b == nil || b.rate != r {
		b = &bucket{rate: r, tokens: burst, last: now}
		l.buckets[id] = b
	}
	if elapsed := now.Sub(b.last); elapsed > 0 {
		b.tokens = math.Min(burst, b.tokens+float64(elapsed)/perEvent)
		b.last = now
	}
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	return false, time.Duration(math.Ceil((1 - b.tokens) * perEvent))
}
