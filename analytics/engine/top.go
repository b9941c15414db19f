package engine

import (
	"sort"

	"github.com/cachetsync/cachet/record"
)

// Risk orders advice from riskiest: expected stale reads first, then
// conflict risk, then P(stale).
func Risk(a, b record.Advice) bool {
	if a.ExpectedStaleReads != b.ExpectedStaleReads {
		return a.ExpectedStaleReads > b.ExpectedStaleReads
	}
	if a.ConflictRisk != b.ConflictRisk {
		return a.ConflictRisk > b.ConflictRisk
	}
	if a.PStale != b.PStale {
		return a.PStale > b.PStale
	}
	return a.Key < b.Key
}

// ByConflict orders advice by conflict risk first.
func ByConflict(a, b record.Advice) bool {
	if a.ConflictRisk != b.ConflictRisk {
		return a.ConflictRisk > b.ConflictRisk
	}
	return Risk(a, b)
}

// Top returns the n first advice records under less, latest record per key.
func Top(latest map[string]record.Advice, n int, less func(a, b record.Advice) bool) []record.Advice {
	all := make([]record.Advice, 0, len(latest))
	for _, a := range latest {
		all = append(all, a)
	}
	sort.Slice(all, func(i, j int) bool { return less(all[i], all[j]) })
	if len(all) > n {
		all = all[:n]
	}
	return all
}
