package workload

import (
	"bufio"
	"fmt"
	"io"
	"math/rand/v2"
	"sort"

	"github.com/cachetsync/cachet/record"
)

// ReadTransitions reads cachet.transitions records, one JSON object a line
// (what `cachet watch --json` and the recorder in e2e/ write). Blank lines
// are skipped; a line that does not decode is an error naming its number.
func ReadTransitions(r io.Reader) ([]record.Transition, error) {
	return readLines(r, record.DecodeTransition)
}

// ReadConflicts reads cachet.conflicts records, one JSON object a line
// (what `cachet watch --kafka --json` prints of them and the recorder in
// e2e/ writes), as ReadTransitions reads transitions.
func ReadConflicts(r io.Reader) ([]record.Conflict, error) {
	return readLines(r, record.DecodeConflict)
}

func readLines[T any](r io.Reader, decode func([]byte) (T, error)) ([]T, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	var out []T
	for n := 1; sc.Scan(); n++ {
		line := sc.Bytes()
		if len(line) == 0 {
			continue
		}
		t, err := decode(line)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", n, err)
		}
		out = append(out, t)
	}
	return out, sc.Err()
}

// FromTransitions builds a workload whose writes are the recorded
// transitions (keys in order of first appearance, times relative to the
// earliest timestamp) and whose reads are synthesized as in Generate from
// c's read settings (Seed, Clients, ReadsPerSec, ZipfS; popularity
// shuffled independently of the write rates) over the recorded span.
func FromTransitions(trs []record.Transition, c Config) (*Workload, error) {
	if len(trs) == 0 {
		return nil, fmt.Errorf("no transitions to replay")
	}
	sorted := append([]record.Transition(nil), trs...)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].Timestamp.Before(sorted[j].Timestamp) })
	start := sorted[0].Timestamp
	w := &Workload{}
	keys, orgs := map[string]int32{}, map[string]uint8{}
	org := func(msp string) uint8 {
		o, ok := orgs[msp]
		if !ok {
			o = uint8(len(orgs))
			orgs[msp] = o
		}
		return o
	}
	for _, t := range sorted {
		k, ok := keys[t.Key]
		if !ok {
			k = int32(len(w.Names))
			keys[t.Key] = k
			w.Names = append(w.Names, t.Key)
			w.Owner = append(w.Owner, org(t.Owner))
		}
		actor := t.Actor
		if actor == "" {
			actor = t.Owner
		}
		w.Events = append(w.Events, Event{At: t.Timestamp.Sub(start).Seconds(), Kind: Write, Key: k, Org: org(actor)})
	}
	span := sorted[len(sorted)-1].Timestamp.Sub(start)
	c.Keys, c.Orgs, c.Duration, c.Start, c.Phases, c.ShiftFraction, c.SharedKeys = len(w.Names), len(orgs), span, start, 0, 0, 0
	w.Config = c
	if len(w.Names) < 2 || span <= 0 || c.Clients <= 0 || !(c.ReadsPerSec > 0) || !(c.ZipfS > 1) {
		return nil, fmt.Errorf("cannot synthesize reads: %d keys over %s, %d clients, %g reads/s, Zipf s=%g", len(w.Names), span, c.Clients, c.ReadsPerSec, c.ZipfS)
	}
	rng := rand.New(rand.NewPCG(c.Seed, 0x5eed))
	zipf := rand.NewZipf(rng, c.ZipfS, 1, uint64(c.Keys-1))
	perm := rng.Perm(c.Keys)
	for t := rng.ExpFloat64() / c.ReadsPerSec; t < span.Seconds(); t += rng.ExpFloat64() / c.ReadsPerSec {
		w.Events = append(w.Events, Event{At: t, Kind: Read, Key: int32(perm[zipf.Uint64()]), Client: int32(rng.IntN(c.Clients))})
	}
	sort.SliceStable(w.Events, func(i, j int) bool { return w.Events[i].At < w.Events[j].At })
	return w, nil
}
