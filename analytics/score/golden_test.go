package score

import (
	"context"
	"encoding/json"
	"flag"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/analytics/score_vectors.json from the reference")

// goldenPath is shared with the CUDA test, which checks the same file.
var goldenPath = filepath.Join("..", "..", "testdata", "analytics", "score_vectors.json")

// Golden is the file format of the score vectors.
type golden struct {
	Comment string  `json:"comment"`
	Params  Params  `json:"params"`
	XTarget float64 `json:"xTarget"`
	// RelBound bounds |got − want| / |want| for float outputs; a zero want
	// must be matched exactly. Integer outputs must match bit for bit.
	RelBound float64      `json:"relBound"`
	Cases    []goldenCase `json:"cases"`
}

type goldenCase struct {
	Name          string  `json:"name,omitempty"`
	WriteRate     float64 `json:"writeRate"`
	ReadRate      float64 `json:"readRate"`
	MaxAge        float64 `json:"maxAge"`
	TopWriterRate float64 `json:"topWriterRate"`
	PStale        float64 `json:"pStale"`
	ExpectedStale float64 `json:"expectedStale"`
	Conflict      float64 `json:"conflict"`
	RecMaxAge     uint32  `json:"recMaxAge"`
	Action        uint8   `json:"action"`
}

// goldenRelBound is the float tolerance: 1e-14 relative, about 45 ULP of a
// float64. The CPU scorer stays within a few ULP except where 1 − p/x
// cancels (x ≥ 1/8, at most ~16×); GPU expm1 is within 2 ULP.
const goldenRelBound = 1e-14

// tieMargin: generated cases whose decision inputs lie this close
// (relatively) to a threshold or an integer max-age are left out, since any
// implementation within the float bound may round them either way.
const tieMargin = 1e-9

func loadGolden(t testing.TB) golden {
	t.Helper()
	raw, err := os.ReadFile(goldenPath)
	if err != nil {
		t.Fatalf("read golden vectors: %v (regenerate with go test ./analytics/score -run TestGoldenVectors -update)", err)
	}
	var g golden
	if err := json.Unmarshal(raw, &g); err != nil {
		t.Fatalf("parse %s: %v", goldenPath, err)
	}
	if len(g.Cases) == 0 {
		t.Fatal("golden file has no cases")
	}
	return g
}

// batchOf builds a batch from the inputs of the golden cases.
func batchOf(g golden) *Batch {
	b := &Batch{}
	b.Resize(len(g.Cases))
	for i, c := range g.Cases {
		b.WriteRate[i], b.ReadRate[i], b.MaxAge[i], b.TopWriterRate[i] = c.WriteRate, c.ReadRate, c.MaxAge, c.TopWriterRate
	}
	return b
}

// checkGolden compares a scored batch with the golden outputs.
func checkGolden(t *testing.T, g golden, b *Batch) {
	t.Helper()
	bad, worst := 0, 0.0
	defer func() { t.Logf("largest relative float error: %.3g (bound %g)", worst, g.RelBound) }()
	for i, c := range g.Cases {
		fail := func(field string, got, want any) {
			bad++
			if bad <= 10 {
				t.Errorf("case %d %s (λ=%g ρ=%g T=%g λtop=%g): %s = %v, want %v", i, c.Name, c.WriteRate, c.ReadRate, c.MaxAge, c.TopWriterRate, field, got, want)
			}
		}
		for _, f := range []struct {
			name      string
			got, want float64
		}{{"pStale", b.PStale[i], c.PStale}, {"expectedStale", b.ExpectedStale[i], c.ExpectedStale}, {"conflict", b.Conflict[i], c.Conflict}} {
			if f.want != 0 {
				worst = math.Max(worst, math.Abs(f.got-f.want)/math.Abs(f.want))
			}
			if !within(f.got, f.want, g.RelBound) {
				fail(f.name, f.got, f.want)
			}
		}
		if b.RecMaxAge[i] != c.RecMaxAge {
			fail("recMaxAge", b.RecMaxAge[i], c.RecMaxAge)
		}
		if b.Action[i] != c.Action {
			fail("action", b.Action[i], c.Action)
		}
	}
	if bad > 0 {
		t.Errorf("%d mismatches over %d cases", bad, len(g.Cases))
	}
}

func within(got, want, rel float64) bool {
	if want == 0 {
		return got == 0
	}
	return math.Abs(got-want) <= rel*math.Abs(want)
}

func TestGoldenVectors(t *testing.T) {
	if *update {
		writeGolden(t)
	}
	g := loadGolden(t)
	if g.XTarget != g.Params.XTarget() {
		t.Fatalf("xTarget %v in file, params give %v", g.XTarget, g.Params.XTarget())
	}
	b := batchOf(g)
	if err := NewCPU().Score(context.Background(), g.Params, b); err != nil {
		t.Fatal(err)
	}
	checkGolden(t, g, b)
}

// writeGolden regenerates the vectors: hand-picked edge cases plus seeded
// random keys with rates spread over many decades, outputs from reference.
func writeGolden(t *testing.T) {
	p := DefaultParams()
	xT := p.XTarget()
	type in struct {
		name                  string
		lam, rho, maxAge, top float64
	}
	ins := []in{
		{"all zero", 0, 0, 0, 0},
		{"never written, read", 0, 5, 300, 0},
		{"no max-age", 0.5, 5, 0, 0.5},
		{"x = 1", 0.01, 2, 100, 0.01},
		{"tiny x", 1e-9, 3, 60, 1e-9},
		{"x just under 1/8", 0.124 / 300, 1, 300, 0},
		{"x just over 1/8", 0.126 / 300, 1, 300, 0},
		{"huge x", 1e3, 10, 86400, 1e3},
		{"no reads, hot", 2, 0, 600, 2},
		{"two orgs equal", 0.2, 1, 60, 0.1},
		{"two orgs, slow", 1e-4, 1, 60, 5e-5},
		{"three orgs, top half", 4, 10, 30, 2},
		{"cold key pins", 1e-8, 0.1, 3600, 1e-8},
		{"rate clamps to min max-age", 100, 1, 10, 100},
	}
	rng := rand.New(rand.NewPCG(20261125, 1))
	logU := func(lo, hi float64) float64 { return math.Pow(10, lo+(hi-lo)*rng.Float64()) }
	for len(ins) < 2000 {
		lam := logU(-9, 2)
		top := lam
		switch rng.IntN(3) {
		case 0:
			top = lam * (0.5 + 0.5*rng.Float64())
		case 1:
			lam = 0
			top = 0
		}
		rho := logU(-6, 3)
		if rng.IntN(8) == 0 {
			rho = 0
		}
		ins = append(ins, in{"", lam, rho, math.Round(logU(0, 6)), top})
	}
	g := golden{
		Comment:  "Score vectors: inputs and outputs of the reference model (256-bit big.Float, analytics/score/reference_test.go). Floats within relBound relative; recMaxAge and action bit for bit. Regenerate: go test ./analytics/score -run TestGoldenVectors -update",
		Params:   p,
		XTarget:  xT,
		RelBound: goldenRelBound,
	}
	for _, c := range ins {
		o := reference(p, xT, c.lam, c.rho, c.maxAge, c.top)
		if c.name == "" && o.margin < tieMargin {
			continue
		}
		g.Cases = append(g.Cases, goldenCase{Name: c.name, WriteRate: c.lam, ReadRate: c.rho, MaxAge: c.maxAge, TopWriterRate: c.top,
			PStale: o.pStale, ExpectedStale: o.expected, Conflict: o.conflict, RecMaxAge: o.recMaxAge, Action: o.action})
	}
	// One case per line keeps the file diffable and small.
	cases := g.Cases
	g.Cases = nil
	head, err := json.MarshalIndent(g, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	out := append(head[:len(head)-len(" \"cases\": null\n}")], " \"cases\": [\n"...)
	for i, c := range cases {
		line, err := json.Marshal(c)
		if err != nil {
			t.Fatal(err)
		}
		out = append(append(out, "  "...), line...)
		if i < len(cases)-1 {
			out = append(out, ',')
		}
		out = append(out, '\n')
	}
	out = append(out, " ]\n}"...)
	if err := os.MkdirAll(filepath.Dir(goldenPath), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(goldenPath, append(out, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestDecideAsTheScorer: Decide, given a key's inputs and the conflict
// risk the scorer computed, gives the scorer's action, and MaxAgeFor its
// recommended max-age, on the golden cases and on random keys over the
// rates' decades.
func TestDecideAsTheScorer(t *testing.T) {
	g := loadGolden(t)
	b := batchOf(g)
	rng := rand.New(rand.NewPCG(11, 12))
	n := b.Len()
	b.Resize(n + 10000)
	for i := n; i < b.Len(); i++ {
		lam := math.Pow(10, -7+9*rng.Float64())
		b.WriteRate[i], b.ReadRate[i], b.MaxAge[i] = lam, math.Pow(10, -3+5*rng.Float64())*float64(rng.IntN(2)), math.Pow(10, 6*rng.Float64())
		b.TopWriterRate[i] = lam * rng.Float64()
	}
	if err := NewCPU().Score(context.Background(), g.Params, b); err != nil {
		t.Fatal(err)
	}
	for i := range b.Len() {
		if a := Decide(g.Params, b.WriteRate[i], b.ReadRate[i], b.MaxAge[i], b.Conflict[i]); a != b.Action[i] {
			t.Fatalf("key %d %+v: Decide %d, scorer %d", i, [4]float64{b.WriteRate[i], b.ReadRate[i], b.MaxAge[i], b.Conflict[i]}, a, b.Action[i])
		}
		if m := g.Params.MaxAgeFor(b.WriteRate[i]); m != b.RecMaxAge[i] {
			t.Fatalf("key %d λ=%g: MaxAgeFor %d, scorer %d", i, b.WriteRate[i], m, b.RecMaxAge[i])
		}
	}
}
