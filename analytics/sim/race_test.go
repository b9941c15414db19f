//go:build race

package sim

// raceEnabled: the race detector slows the full-size simulations ~10×;
// make test-analytics runs them without it.
const raceEnabled = true
