package policy

import (
	"errors"
	"math"
	"testing"
	"time"

	"github.com/cachetsync/cachet/analytics/score"
)

var t0 = time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)

func at(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }

// drive replays writes (seconds, sorted) of key 0 with a read every second
// from the first to the last, asking with rate lam.
func drive(t *testing.T, c *Chooser, writes []float64, lam float64) {
	t.Helper()
	last, w := math.NaN(), 0
	end := writes[len(writes)-1]
	for s := math.Floor(writes[0]); s <= end; s += 1 {
		for w < len(writes) && writes[w] <= s {
			c.Write(0, at(writes[w]))
			last = writes[w]
			w++
		}
		if !math.IsNaN(last) {
			c.Read(0, at(s), lam, s-last)
		}
	}
}

// regular returns n writes 10 s apart.
func regular(n int) []float64 {
	ws := make([]float64, n)
	for k := range ws {
		ws[k] = float64(10*k) + 0.5
	}
	return ws
}

// bursts returns n bursts of ten writes 0.5 s apart, every period seconds
// from start.
func bursts(start float64, n int, period float64) []float64 {
	var ws []float64
	for k := range n {
		for j := range 10 {
			ws = append(ws, start+float64(k)*period+0.2+0.5*float64(j))
		}
	}
	return ws
}

func TestBurstyKeyFallsBackToTheAgeRule(t *testing.T) {
	c, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	// Bursts of ten writes 0.5 s apart every 200 s: one write per 20 s on
	// average, but right after a write another is likely.
	drive(t, c, bursts(0, 60, 200), 0.05)
	if st := c.Stats(); st.Answers < 100 || !(st.Score > 0) {
		t.Fatalf("stats %+v: want the age rule ahead after many answers", st)
	}
	if !c.AgeRule(0) {
		t.Error("bursty key: not capped by the age rule")
	}
	// 0.3 s after a write the model (λ = 0.05/s) advises 1 s, the age rule
	// 0.3·p/(1−p), floored at the minimum max-age; 100 s after, 5 s.
	if got := c.MaxAge(0, 1, 0.3); got != 1 {
		t.Errorf("MaxAge = %d, want 1", got)
	}
	if got := c.MaxAge(0, 20, 100); got != 5 {
		t.Errorf("MaxAge = %d, want 1", got)
	}
}

func TestRegularKeyKeepsTheModel(t *testing.T) {
	c, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	// A write every 10 s exactly: the age says nothing the rate does not.
	drive(t, c, regular(600), 0.1)
	if st := c.Stats(); st.Answers < 100 || !(st.Score < 0) {
		t.Fatalf("stats %+v: want the model ahead", st)
	}
	if c.AgeRule(0) {
		t.Error("regular key: capped by the age rule")
	}
	if got := c.MaxAge(0, 300, 5000); got != 300 {
		t.Errorf("MaxAge = %d, want the model's 300", got)
	}
}

func TestFewGapsAndNoEvidenceCap(t *testing.T) {
	c, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	// Nothing known: ties go to the age rule (shorter max-ages).
	if !c.AgeRule(7) {
		t.Error("unknown key, nothing learned: not capped")
	}
	// Teach the stream that the model predicts better (key 0, regular).
	drive(t, c, regular(600), 0.1)
	c.Write(1, at(6000))
	c.Write(1, at(6010))
	if !c.AgeRule(1) {
		t.Error("key with one gap seen: not capped")
	}
	c.Write(1, at(6020))
	if c.AgeRule(1) {
		t.Error("key with two gaps, the stream favouring the model: capped")
	}
}

func TestForgetsAnOldRegime(t *testing.T) {
	c, err := New(Config{Tau: 5 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	drive(t, c, regular(360), 0.1) // an hour of regular writes
	if c.AgeRule(0) {
		t.Fatal("regular hour: capped")
	}
	drive(t, c, bursts(3600, 30, 200), 0.05) // then 100 minutes of bursts
	if !c.AgeRule(0) {
		t.Errorf("after the bursts: not capped (score %g)", c.Stats().Score)
	}
}

func TestMaxAgeBounds(t *testing.T) {
	c, err := New(Config{}) // p = 0.05: the age rule's max-age is age/19
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		model uint32
		age   float64
		want  uint32
	}{
		{300, 1900, 100},       // capped
		{50, 1900, 50},         // the model's is shorter
		{300, 0, 1},            // floored at MinMaxAge
		{0, 0, 0},              // never raised
		{300, -1, 300},         // age unknown
		{300, math.NaN(), 300}, // age unknown
		{300, math.Inf(1), 300},
	} {
		if got := c.MaxAge(3, tc.model, tc.age); got != tc.want {
			t.Errorf("MaxAge(model %d, age %g) = %d, want %d", tc.model, tc.age, got, tc.want)
		}
	}
}

func TestReadRefusesNonsense(t *testing.T) {
	c, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range []struct {
		i        int
		lam, age float64
	}{{-1, 1, 1}, {0, 0, 1}, {0, math.NaN(), 1}, {0, math.Inf(1), 1}, {0, 1, -1}, {0, 1, math.NaN()}} {
		c.Read(r.i, t0, r.lam, r.age)
	}
	if !c.Asking(0, t0) {
		t.Error("a nonsense read left a question outstanding")
	}
	c.Write(-1, t0) // ignored
	if c.Stats().Answers != 0 {
		t.Errorf("answers %d", c.Stats().Answers)
	}
}

func TestNewRefusesBadConfig(t *testing.T) {
	bad := score.DefaultParams()
	bad.PStaleTarget = 1
	for _, tc := range []struct {
		cfg   Config
		field string
	}{
		{Config{Tau: -time.Second}, "Tau"},
		{Config{StreamWeight: -1}, "StreamWeight"},
		{Config{StreamWeight: math.Inf(1)}, "StreamWeight"},
		{Config{MinGaps: -1}, "MinGaps"},
	} {
		_, err := New(tc.cfg)
		var ce *ConfigError
		if !errors.As(err, &ce) || ce.Field != tc.field {
			t.Errorf("%+v: %v, want a ConfigError on %s", tc.cfg, err, tc.field)
		}
	}
	_, err := New(Config{Params: bad})
	var pe *score.ParamError
	if !errors.As(err, &pe) {
		t.Errorf("P(stale) target 1: %v, want a score.ParamError", err)
	}
}
