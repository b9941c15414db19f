//go:build amd64 && !purego

package score

import (
	"encoding/binary"
	"math/bits"
	"unsafe"

	"github.com/cachetsync/cachet/analytics/score/internal/avx2"
)

// useAVX2 selects the vector kernel (internal/avx2): four keys per
// instruction, the same operations in the same order as scoreScalar, so the
// results are the same bit for bit. Tests turn it off to compare.
var useAVX2 = avx2.Available()

// flagShared is the bit the vector kernel sets in the action byte of a
// key with two writer groups; flagBytes has it in each of eight bytes.
const (
	flagShared = 0x80
	flagBytes  = 0x8080808080808080
)

// avx2Table holds the kernel's constants, four copies each (one per lane),
// taken from the Go constants so that both kernels use the same values.
// The kernel addresses the fields by offset (TestAVX2TableLayout).
type avx2Table struct {
	clamp, invLn2x256, shift, ln2Hi, ln2Lo, one, below, e2, e3, e4, two31 [4]float64
	g                                                                     [15][4]float64 // 1/n!, n = 2…16
	mask255                                                               [4]uint64
	sign32                                                                [4]uint32
	// act[early | pin<<4] and flags[shared] spread four lanes' bits into
	// four action bytes.
	act   [256]uint32
	flags [16]uint32
	// exp2 is exp2Bits, the table of 2^(−j/256) that both kernels use.
	exp2 *[256]uint64
}

var avx2Consts = func() (t avx2Table) {
	for i := range 4 {
		t.clamp[i], t.invLn2x256[i], t.shift[i] = expClamp, invLn2x256, roundShift
		t.ln2Hi[i], t.ln2Lo[i], t.one[i], t.below[i] = ln2by256Hi, ln2by256Lo, 1, seriesBelow
		t.e2[i], t.e3[i], t.e4[i], t.two31[i] = e2, e3, e4, 1<<31
		t.mask255[i], t.sign32[i] = 255, 1<<31
		for n, c := range []float64{c2, c3, c4, c5, c6, c7, c8, c9, c10, c11, c12, c13, c14, c15, c16} {
			t.g[n][i] = c
		}
	}
	t.exp2 = &exp2Bits
	for m := range 256 {
		for lane := range 4 {
			a := uint32(ActionNone)
			switch {
			case m>>lane&1 != 0:
				a = uint32(ActionInvalidateEarly)
			case m>>(4+lane)&1 != 0:
				a = uint32(ActionPin)
			}
			t.act[m] |= a << (8 * lane)
			if m < 16 && m>>lane&1 != 0 {
				t.flags[m] |= flagShared << (8 * lane)
			}
		}
	}
	return t
}()

// vectorBlock is how many keys the kernel scores before the scalar pass
// finishes the marked ones, while their lines are still in L1.
const vectorBlock = 512

// scoreVector scores the longest prefix of [lo,hi) whose length is a
// multiple of 4 with the vector kernel and returns its length (0 without
// AVX2).
func scoreVector(k *consts, b *Batch, lo, hi int) int {
	if !useAVX2 {
		return 0
	}
	end := lo + (hi-lo)&^3
	for s := lo; s < end; s += vectorBlock {
		e := min(s+vectorBlock, end)
		avx2.Score(unsafe.Pointer(&avx2Consts), unsafe.Pointer(k), &b.WriteRate[s], &b.ReadRate[s], &b.MaxAge[s], &b.TopWriterRate[s],
			&b.PStale[s], &b.ExpectedStale[s], &b.Conflict[s], &b.RecMaxAge[s], &b.Action[s], e-s)
		finishMarked(k, b, s, e)
	}
	return end - lo
}

// finishMarked computes the conflict risk of the keys of [lo,hi) that the
// kernel marked. Eight action bytes are tested at once; marked keys are
// few, and are listed first so that the loop over them has no branch to
// mispredict and out-of-order execution overlaps their series.
func finishMarked(k *consts, b *Batch, lo, hi int) {
	act := b.Action[lo:hi]
	var list [vectorBlock]uint16
	n := 0
	i := 0
	for ; i+8 <= len(act); i += 8 {
		w := binary.LittleEndian.Uint64(act[i:]) & flagBytes
		for w != 0 {
			list[n%vectorBlock] = uint16(i + bits.TrailingZeros64(w)/8)
			n++
			w &= w - 1
		}
	}
	for ; i < len(act); i++ {
		if act[i]&flagShared != 0 {
			list[n%vectorBlock] = uint16(i)
			n++
		}
	}
	wr, tw, cf := b.WriteRate[lo:hi], b.TopWriterRate[lo:hi], b.Conflict[lo:hi]
	for _, j := range list[:n] {
		c := conflictRisk(k, wr[j], tw[j])
		cf[j] = c
		a := act[j] &^ flagShared
		if c >= k.conflict {
			a = ActionBatch
		}
		act[j] = a
	}
}
