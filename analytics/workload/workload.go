// Package workload generates a synthetic transition and read stream with a
// fixed seed: Zipf key popularity for reads, Poisson writes whose per-key
// rates are log-normal and redrawn for part of the keys every phase, a few
// keys written by two orgs, and reads from many clients. Its parameters
// are chosen to look like a web property, not to suit any cache policy.
package workload

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"time"
)

// Config shapes a workload. Zero fields take Default's values.
type Config struct {
	Seed          uint64
	Keys          int
	Clients       int
	Orgs          int
	Duration      time.Duration
	ReadsPerSec   float64 // all clients together
	ZipfS         float64 // read popularity exponent (> 1)
	MedianWriteIv time.Duration
	WriteSigma    float64 // log-normal spread of per-key write rates
	Phases        int     // rate shifts: every Duration/Phases, ShiftFraction of keys redraw their rate
	ShiftFraction float64
	SharedKeys    float64 // fraction of keys written by two orgs
	Start         time.Time
}

// Default is a two-hour workload of 5,000 keys and 2,000 clients.
func Default() Config {
	return Config{
		Seed: 1, Keys: 5000, Clients: 2000, Orgs: 2, Duration: 2 * time.Hour, ReadsPerSec: 100, ZipfS: 1.1,
		MedianWriteIv: 30 * time.Minute, WriteSigma: 1.5, Phases: 4, ShiftFraction: 0.3, SharedKeys: 0.05,
		Start: time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC),
	}
}

// Second is an independent second workload, a different shape and seed
// from Default, to check that results do not hang on one seed: 3,000 keys
// read by 1,000 clients with steeper popularity (Zipf s = 1.3), faster and
// less spread write rates (median one per 10 min, σ = 1.0) that shift more
// often (half the keys in each of 6 phases), no shared keys.
func Second() Config {
	return Config{
		Seed: 7, Keys: 3000, Clients: 1000, Orgs: 2, Duration: 2 * time.Hour, ReadsPerSec: 60, ZipfS: 1.3,
		MedianWriteIv: 10 * time.Minute, WriteSigma: 1.0, Phases: 6, ShiftFraction: 0.5, SharedKeys: 0,
		Start: time.Date(2026, 3, 2, 14, 0, 0, 0, time.UTC),
	}
}

// Kind of event.
type Kind uint8

// Event kinds.
const (
	Write Kind = iota
	Read
)

// Event is one write or read, At seconds after Start.
type Event struct {
	At     float64
	Kind   Kind
	Key    int32
	Client int32 // reads
	Org    uint8 // writes
}

// Workload is a generated stream, sorted by time.
type Workload struct {
	Config Config
	Events []Event
	Owner  []uint8 // owning org per key
	// Names are the cache keys of a replayed stream (nil: generated).
	Names []string
}

// KeyName is the cache key of key k.
func (w *Workload) KeyName(k int32) string {
	if w.Names != nil {
		return w.Names[k]
	}
	return fmt.Sprintf("https://org%d.example/page/%d", w.Owner[k]+1, k)
}

// OrgName is the MSP ID of org o.
func OrgName(o uint8) string { return fmt.Sprintf("Org%dMSP", o+1) }

// Time converts an event offset to a timestamp.
func (w *Workload) Time(at float64) time.Time {
	return w.Config.Start.Add(time.Duration(at * float64(time.Second)))
}

// Generate builds the workload for c. Every key is published at time 0.
func Generate(c Config) *Workload {
	d := Default()
	if c.Keys <= 0 {
		c = d
	}
	rng := rand.New(rand.NewPCG(c.Seed, 0x5eed))
	w := &Workload{Config: c, Owner: make([]uint8, c.Keys)}
	dur := c.Duration.Seconds()
	phase := dur / float64(max(c.Phases, 1))
	drawRate := func() float64 {
		return math.Exp(rng.NormFloat64()*c.WriteSigma) / c.MedianWriteIv.Seconds()
	}
	for k := range c.Keys {
		w.Owner[k] = uint8(rng.IntN(c.Orgs))
		w.Events = append(w.Events, Event{At: 0, Kind: Write, Key: int32(k), Org: w.Owner[k]})
		shared := rng.Float64() < c.SharedKeys
		rate := drawRate()
		for p := 0; p < max(c.Phases, 1); p++ {
			if p > 0 && rng.Float64() < c.ShiftFraction {
				rate = drawRate()
			}
			for t := float64(p)*phase + rng.ExpFloat64()/rate; t < float64(p+1)*phase; t += rng.ExpFloat64() / rate {
				org := w.Owner[k]
				if shared && rng.IntN(2) == 1 {
					org = (org + 1) % uint8(c.Orgs)
				}
				w.Events = append(w.Events, Event{At: t, Kind: Write, Key: int32(k), Org: org})
			}
		}
	}
	zipf := rand.NewZipf(rng, c.ZipfS, 1, uint64(c.Keys-1))
	// Popularity rank is not key order: shuffle so hot reads and hot writes
	// are independent.
	perm := rng.Perm(c.Keys)
	for t := rng.ExpFloat64() / c.ReadsPerSec; t < dur; t += rng.ExpFloat64() / c.ReadsPerSec {
		w.Events = append(w.Events, Event{At: t, Kind: Read, Key: int32(perm[zipf.Uint64()]), Client: int32(rng.IntN(c.Clients))})
	}
	sort.SliceStable(w.Events, func(i, j int) bool { return w.Events[i].At < w.Events[j].At })
	return w
}
