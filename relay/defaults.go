package relay

import "time"

// DefaultConfig returns a Config with every tunable at its default; New
// fills in the same values for fields left zero. Source, Kafka and
// Channel are left for the caller.
func DefaultConfig() Config {
	return Config{
		MaxRecords:     500,
		Buffer:         10_000,
		OpTimeout:      opTimeout,
		MinBackoff:     100 * time.Millisecond,
		MaxBackoff:     10 * time.Second,
		UnhealthyAfter: defaultUnhealthyAfter,
	}
}
