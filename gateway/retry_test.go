package gateway

import (
	"context"
	"errors"
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

func TestRetryConflicts(t *testing.T) {
	conflict := &Error{Code: CodeConflict, Stage: StageCommit, TxID: "t"}
	refused := &Error{Code: CodeForbidden, Stage: StageEndorse}
	fast := RetryPolicy{MaxAttempts: 4, BaseDelay: time.Microsecond, MaxDelay: time.Millisecond}
	tests := []struct {
		name     string
		fails    []error // returned by successive attempts; then success
		wantErr  error
		attempts int
	}{
		{"first try", nil, nil, 1},
		{"two conflicts then success", []error{conflict, conflict}, nil, 3},
		{"endorsers disagreed, then success", []error{&Error{Code: CodeEndorsementMismatch, Stage: StageEndorse}, conflict}, nil, 3},
		{"refusal is not retried", []error{refused, conflict}, ErrForbidden, 1},
		{"attempts run out", []error{conflict, conflict, conflict, conflict, conflict}, ErrConflict, 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			calls := 0
			_, done, err := retryConflicts(context.Background(), fast, func(context.Context) ([]byte, Committed, error) {
				calls++
				if calls <= len(tt.fails) {
					return nil, Committed{}, tt.fails[calls-1]
				}
				return []byte("ok"), Committed{TxID: "t", Block: 9}, nil
			})
			if (tt.wantErr == nil) != (err == nil) || (tt.wantErr != nil && !errors.Is(err, tt.wantErr)) {
				t.Fatalf("err %v, want %v", err, tt.wantErr)
			}
			if calls != tt.attempts || done.Attempts != tt.attempts {
				t.Fatalf("%d calls, Attempts %d; want %d", calls, done.Attempts, tt.attempts)
			}
		})
	}
}

func TestRetryConflictsStopsWithTheContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	slow := RetryPolicy{MaxAttempts: 10, BaseDelay: time.Hour, MaxDelay: time.Hour}
	calls := 0
	_, _, err := retryConflicts(ctx, slow, func(context.Context) ([]byte, Committed, error) {
		calls++
		cancel()
		return nil, Committed{}, &Error{Code: CodeConflict}
	})
	if calls != 1 || !errors.Is(err, context.Canceled) {
		t.Fatalf("%d calls, err %v: a cancelled context must end the backoff", calls, err)
	}
}
