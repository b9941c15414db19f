//go:build amd64 && !purego

package avx2

import "unsafe"

// Available reports whether the CPU has AVX2 and the OS saves the YMM
// registers.
func Available() bool

// Score scores n keys (n a multiple of 4) but for their conflict risk:
// tab is score's constants table, k its scoring parameters, the slices'
// first elements the batch's arrays at the first key. Keys with two writer
// groups get 0x80 in their action byte, for the caller to finish.
//
//go:noescape
func Score(tab, k unsafe.Pointer, wr, rr, ma, tw, ps, es, cf *float64, rec *uint32, act *uint8, n int)
