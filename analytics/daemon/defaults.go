package daemon

import (
	"time"

	"github.com/cachetsync/cachet/analytics/engine"
	"github.com/cachetsync/cachet/analytics/model"
	"github.com/cachetsync/cachet/analytics/score"
)

// DefaultConfig returns a Config with every field at its default: the
// engine chosen automatically (CUDA when usable), the default scoring
// parameters and model, advice recomputed every second.
func DefaultConfig() Config {
	return Config{Engine: engine.KindAuto, Params: score.DefaultParams(), Model: model.DefaultConfig(), Interval: time.Second}
}
