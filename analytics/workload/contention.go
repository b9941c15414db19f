package workload

import (
	"container/heap"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/cachetsync/cachet/record"
)

// ContentionConfig shapes a generated contended write stream: writers
// (clients of the orgs) that each write a key, wait for the commit, pause
// and write again, on keys of Zipf popularity reshuffled every phase. A
// write reads the key's committed version when it is endorsed and commits
// after a latency; if another write of the key committed in between, it
// is refused (MVCC_READ_CONFLICT) and retried as Fabric Gateway clients
// do, up to Attempts times with jittered exponential backoff.
type ContentionConfig struct {
	Seed     uint64
	Keys     int
	Writers  []int // writers per org: Writers[o] clients of org o
	Duration time.Duration
	Pause    time.Duration // mean pause after a commit before the writer's next write (exponential)
	ZipfS    float64       // key popularity exponent (> 1)
	Phases   int           // popularity is reshuffled at the start of each phase
	// MinLatency plus an exponential of mean Latency is a write's time
	// from endorsement to commit.
	MinLatency, Latency time.Duration
	Attempts            int // tries per write, the first included
	Start               time.Time
}

// Contention is a ten-minute contended stream of 200 keys written by 24
// writers, 12 per org (Zipf s = 1.1, reshuffled in each of 4 phases),
// pausing 2 s on average, with 80–200 ms from endorsement to commit. It
// is not the load of the recording in testdata/analytics (7 writers, 30
// keys): results that hold on both do not hang on one shape.
func Contention() ContentionConfig {
	return ContentionConfig{
		Seed: 3, Keys: 200, Writers: []int{12, 12}, Duration: 10 * time.Minute, Pause: 2 * time.Second, ZipfS: 1.1, Phases: 4,
		MinLatency: 80 * time.Millisecond, Latency: 120 * time.Millisecond, Attempts: 5,
		Start: time.Date(2026, 4, 6, 10, 0, 0, 0, time.UTC),
	}
}

// contention events, ordered by time then sequence.
type cevent struct {
	at     float64 // seconds after Start
	seq    int
	writer int
	commit bool   // a commit (else an endorsement)
	key    int    // the key written
	read   uint64 // commit: the version the write read at endorsement
	sent   float64
	try    int // attempts made, this one included
}

type cqueue []cevent

func (q cqueue) Len() int { return len(q) }
func (q cqueue) Less(i, j int) bool {
	return q[i].at < q[j].at || q[i].at == q[j].at && q[i].seq < q[j].seq
}
func (q cqueue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *cqueue) Push(x any)   { *q = append(*q, x.(cevent)) }
func (q *cqueue) Pop() any {
	old := *q
	e := old[len(old)-1]
	*q = old[:len(old)-1]
	return e
}

// GenerateContention simulates c and returns what the relay would have
// written: the committed transitions and the refused writes, each in
// commit order (one transaction a block).
func GenerateContention(c ContentionConfig) ([]record.Transition, []record.Conflict, error) {
	if c.Keys < 1 || len(c.Writers) == 0 || c.Duration <= 0 || !(c.ZipfS > 1) || c.Attempts < 1 || c.Pause <= 0 {
		return nil, nil, fmt.Errorf("contention workload: want keys, writers, a duration, a pause, Zipf s > 1 and attempts ≥ 1: %+v", c)
	}
	rng := rand.New(rand.NewPCG(c.Seed, 0xc0ff))
	zipf := rand.NewZipf(rng, c.ZipfS, 1, uint64(c.Keys-1))
	phases := max(c.Phases, 1)
	perms := make([][]int, phases)
	for p := range perms {
		perms[p] = rng.Perm(c.Keys)
	}
	dur, phase := c.Duration.Seconds(), c.Duration.Seconds()/float64(phases)
	var orgOf []int
	for o, n := range c.Writers {
		for range n {
			orgOf = append(orgOf, o)
		}
	}
	q := &cqueue{}
	seq := 0
	push := func(e cevent) {
		e.seq = seq
		seq++
		heap.Push(q, e)
	}
	pick := func(at float64) int {
		return perms[min(int(at/phase), phases-1)][zipf.Uint64()]
	}
	for w := range orgOf {
		at := rng.ExpFloat64() * c.Pause.Seconds()
		push(cevent{at: at, writer: w, key: pick(at), try: 1})
	}
	version := make([]uint64, c.Keys)
	var trs []record.Transition
	var cfs []record.Conflict
	block := uint64(0)
	name := func(k int) string { return fmt.Sprintf("https://org1.example/hot/%d", k) }
	for q.Len() > 0 {
		e := heap.Pop(q).(cevent)
		if !e.commit {
			if e.at >= dur {
				continue // the writer stops
			}
			lat := c.MinLatency.Seconds() + rng.ExpFloat64()*c.Latency.Seconds()
			push(cevent{at: e.at + lat, writer: e.writer, commit: true, key: e.key, read: version[e.key], sent: e.at, try: e.try})
			continue
		}
		block++
		org := OrgName(uint8(orgOf[e.writer]))
		ts := c.Start.Add(time.Duration(e.sent * float64(time.Second)))
		pos := record.Position{Block: block}
		txID := fmt.Sprintf("gen-%d", block)
		if version[e.key] == e.read {
			version[e.key]++
			trs = append(trs, record.Transition{V: record.Version, Channel: "cachet", Position: pos, TxID: txID, Timestamp: ts,
				Key: name(e.key), Version: version[e.key], State: record.StateInvalidated, Owner: OrgName(0), Actor: org})
		} else {
			cfs = append(cfs, record.Conflict{V: record.Version, Channel: "cachet", Position: pos, TxID: txID, Timestamp: ts,
				Code: record.CodeMVCCReadConflict, Keys: []string{name(e.key)}, Creator: org})
			if e.try < c.Attempts {
				// The gateway's retry: full jitter over 10 ms·2^try, at most 500 ms.
				wait := min(0.01*float64(uint(1)<<min(e.try, 20)), 0.5)
				push(cevent{at: e.at + rng.Float64()*wait, writer: e.writer, key: e.key, try: e.try + 1})
				continue
			}
		}
		at := e.at + rng.ExpFloat64()*c.Pause.Seconds()
		push(cevent{at: at, writer: e.writer, key: pick(at), try: 1})
	}
	return trs, cfs, nil
}
