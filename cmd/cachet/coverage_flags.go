package main

import (
	"errors"
	"fmt"
	"time"

	"github.com/spf13/pflag"

	"github.com/cachetsync/cachet/coverage"
)

// coverageFlags bound the analytics daemon's proof-of-propagation window
// (coverage.Option); their defaults are coverage's.
type coverageFlags struct {
	maxTransitions, maxAcks, maxPending int
	maxAge, pendingAge                  time.Duration
}

// coverageFlagOf names the flag behind each coverage option.
var coverageFlagOf = map[string]string{
	"WithMaxTransitions": "coverage-max-transitions", "WithMaxAge": "coverage-max-age", "WithMaxAcks": "coverage-max-acks",
	"WithMaxPending": "coverage-max-pending", "WithPendingAge": "coverage-pending-age",
}

func (c *coverageFlags) register(f *pflag.FlagSet) {
	f.IntVar(&c.maxTransitions, "coverage-max-transitions", coverage.DefaultMaxTransitions, "most transitions kept for /v1/coverage (oldest leave first)")
	f.DurationVar(&c.maxAge, "coverage-max-age", coverage.DefaultMaxAge, "how long a transition stays in the coverage window")
	f.IntVar(&c.maxAcks, "coverage-max-acks", coverage.DefaultMaxAcks, "most eviction acknowledgements kept across the coverage window")
	f.IntVar(&c.maxPending, "coverage-max-pending", coverage.DefaultMaxPending, "most eviction receipts held while their transition has not arrived (0: none)")
	f.DurationVar(&c.pendingAge, "coverage-pending-age", coverage.DefaultPendingAge, "how long an eviction receipt waits for its transition")
}

// options returns the flags as coverage options, or a usage error naming
// the flag when coverage refuses a value.
func (c *coverageFlags) options() ([]coverage.Option, error) {
	opts := []coverage.Option{
		coverage.WithMaxTransitions(c.maxTransitions), coverage.WithMaxAge(c.maxAge), coverage.WithMaxAcks(c.maxAcks),
		coverage.WithMaxPending(c.maxPending), coverage.WithPendingAge(c.pendingAge),
	}
	if _, err := coverage.New(opts...); err != nil {
		var ce *coverage.ConfigError
		if errors.As(err, &ce) {
			if name, ok := coverageFlagOf[ce.Option]; ok {
				return nil, asUsage(fmt.Errorf("--%s: %w", name, err))
			}
		}
		return nil, asUsage(err)
	}
	return opts, nil
}
