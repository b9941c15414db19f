//go:build !amd64 || purego

package score

// scoreVector has no vector kernel to offer here: scoreScalar scores
// everything.
func scoreVector(*consts, *Batch, int, int) int { return 0 }
