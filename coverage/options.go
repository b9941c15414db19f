package coverage

import (
	"fmt"
	"time"
)

// Defaults of the Tracker's bounds (see the package doc).
const (
	DefaultMaxTransitions = 100_000
	DefaultMaxAge         = time.Hour
	DefaultMaxAcks        = 1_000_000
	DefaultMaxPending     = 10_000
	DefaultPendingAge     = 5 * time.Minute
)

// MaxIDBytes bounds a transaction ID and a client ID.
const MaxIDBytes = 256

// Option configures New.
type Option func(*config)

type config struct {
	maxTransitions int
	maxAge         time.Duration
	maxAcks        int
	maxPending     int
	pendingAge     time.Duration
	clock          func() time.Time
	onAck          func(Ack)
}

// WithMaxTransitions bounds the number of transitions in the window
// (default DefaultMaxTransitions).
func WithMaxTransitions(n int) Option { return func(c *config) { c.maxTransitions = n } }

// WithMaxAge drops transitions that arrived longer than d ago (default
// DefaultMaxAge).
func WithMaxAge(d time.Duration) Option { return func(c *config) { c.maxAge = d } }

// WithMaxAcks bounds the acknowledgements kept across the window (default
// DefaultMaxAcks); the oldest transitions leave to make room.
func WithMaxAcks(n int) Option { return func(c *config) { c.maxAcks = n } }

// WithMaxPending bounds the receipts waiting for their transition (default
// DefaultMaxPending).
func WithMaxPending(n int) Option { return func(c *config) { c.maxPending = n } }

// WithPendingAge is how long a receipt waits for its transition (default
// DefaultPendingAge).
func WithPendingAge(d time.Duration) Option { return func(c *config) { c.pendingAge = d } }

// WithClock replaces time.Now, the clock that ages the window and the
// pending buffer.
func WithClock(now func() time.Time) Option { return func(c *config) { c.clock = now } }

// WithOnAck calls f, under the Tracker's lock, for every acknowledgement
// counted (a client's first receipt for a transition in the window), whether
// its receipt arrived after the transition or waited for it. f must be quick
// and must not call the Tracker (a Prometheus histogram's Observe fits).
func WithOnAck(f func(Ack)) Option { return func(c *config) { c.onAck = f } }

// ConfigError reports an Option given an unusable value.
type ConfigError struct {
	Option string
	Reason string
}

func (e *ConfigError) Error() string { return fmt.Sprintf("coverage: %s: %s", e.Option, e.Reason) }

func newConfig(opts []Option) (config, error) {
	c := config{
		maxTransitions: DefaultMaxTransitions, maxAge: DefaultMaxAge, maxAcks: DefaultMaxAcks,
		maxPending: DefaultMaxPending, pendingAge: DefaultPendingAge, clock: time.Now,
	}
	for _, o := range opts {
		o(&c)
	}
	switch {
	case c.maxTransitions <= 0:
		return c, &ConfigError{"WithMaxTransitions", fmt.Sprintf("%d: want at least 1", c.maxTransitions)}
	case c.maxAge <= 0:
		return c, &ConfigError{"WithMaxAge", fmt.Sprintf("%s: want a positive duration", c.maxAge)}
	case c.maxAcks <= 0:
		return c, &ConfigError{"WithMaxAcks", fmt.Sprintf("%d: want at least 1", c.maxAcks)}
	case c.maxPending < 0:
		return c, &ConfigError{"WithMaxPending", fmt.Sprintf("%d: want 0 (no buffer) or more", c.maxPending)}
	case c.pendingAge <= 0:
		return c, &ConfigError{"WithPendingAge", fmt.Sprintf("%s: want a positive duration", c.pendingAge)}
	case c.clock == nil:
		return c, &ConfigError{"WithClock", "nil clock"}
	}
	return c, nil
}
